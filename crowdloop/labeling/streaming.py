"""Streaming labeling jobs (spec §6.3): a job with an SnsDataSource takes data objects while it runs, until it is
stopped (or idle for IDLE_DAYS), instead of ending when its manifest is done.

Objects arrive through crowdloop's endpoint `POST /_crowdloop/v1/labeling-jobs/<name>/objects` (docs/labeling.md
"Streaming jobs"; the edge is crowdloop.eventsapi.labeling), one manifest line each, as the SNS message body of
AWS's streaming jobs. Each object has an id: the value of the attribute its `dataset-objectid-attribute-name`
names, or else the SHA-256 of the line, which the output line then carries as
`"dataset-objectid-attribute-name": "$<LabelAttributeName>-object-id"`. An object sent again with the same id
is the same object (a producer's retry), so sending is idempotent.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import sqlalchemy as sa

from crowdloop.errors import InvalidInput
from crowdloop.labeling import jobs
from crowdloop.labeling.jobs import LabelingJob
from crowdloop.labeling.start import check_line
from crowdloop.model import LabelingJobStatus
from crowdloop.output import dumps_json, loads_json
from crowdloop.runtime import Caller, Services
from crowdloop.store.tables import labeling_jobs, labeling_objects

MAX_OBJECTS_PER_CALL = 1000
MAX_KEY_CHARACTERS = 1024
IDLE_DAYS = 10  # a streaming job that got nothing new for this long is stopped (spec §6.3)
KEY_ATTRIBUTE = "dataset-objectid-attribute-name"


@dataclass(frozen=True)
class Received:
    dataset_object_id: str
    object_id: str
    new: bool  # False: an object of that id was there already


def add_objects(svc: Services, caller: Caller, job_name: str, lines: Sequence[bytes]) -> list[Received]:
    """Queue these manifest lines as objects of the streaming job `job_name` (in order)."""
    if not lines:
        raise InvalidInput("Send at least one object (one JSON manifest line each).", "objects")
    if len(lines) > MAX_OBJECTS_PER_CALL:
        raise InvalidInput(f"Send at most {MAX_OBJECTS_PER_CALL} objects per request.", "objects")
    job, _ = jobs.describe_labeling_job(svc, caller, job_name)
    _check_open(job)
    prepared = [_prepared(job, position, raw) for position, raw in enumerate(lines)]
    o, j = labeling_objects, labeling_jobs
    with svc.store.write() as conn:
        now = svc.clock.now()
        known = dict(
            conn.execute(
                sa.select(o.c.object_key, o.c.object_index).where(
                    o.c.job_id == job.id, o.c.object_key.in_({key for key, _ in prepared})
                )
            ).all()
        )
        fresh: dict[str, str] = {}
        for key, line in prepared:
            if key not in known:
                fresh.setdefault(key, line)
        total = conn.execute(
            j.update()
            .where(j.c.id == job.id, j.c.status == LabelingJobStatus.IN_PROGRESS.value)
            .values(
                objects=j.c.objects + len(fresh),
                queued=j.c.queued + len(fresh),
                updated_at=now,
                wakes=j.c.wakes + 1,
                next_step_at=now,
            )
            .returning(j.c.objects)
        ).scalar()
        if total is None:
            raise InvalidInput(f"Labeling job {job.name} is no longer in progress.", "labelingJobName")
        first = int(total) - len(fresh)
        indices = {key: first + offset for offset, key in enumerate(fresh)}
        if fresh:
            conn.execute(
                o.insert(),
                [
                    {"job_id": job.id, "object_index": indices[key], "line": line, "state": "queued", "object_key": key}
                    for key, line in fresh.items()
                ],
            )
    jobs.wake_runner(svc)
    index_of = {**known, **indices}
    received, seen = [], set(known)
    for key, _ in prepared:
        received.append(Received(str(index_of[key]), key, key not in seen))
        seen.add(key)
    return received


def _check_open(job: LabelingJob) -> None:
    if not job.streaming:
        raise InvalidInput(
            f"Labeling job {job.name} is not a streaming job (it has no SnsDataSource): its objects come from its "
            "manifest.",
            "labelingJobName",
        )
    if job.status == LabelingJobStatus.INITIALIZING:
        raise InvalidInput(
            f"Labeling job {job.name} is Initializing; send objects once it is InProgress.", "labelingJobName"
        )
    if job.status != LabelingJobStatus.IN_PROGRESS:
        raise InvalidInput(
            f"Labeling job {job.name} is {job.status.value}; it takes no more objects.", "labelingJobName"
        )


def _prepared(job: LabelingJob, position: int, raw: bytes) -> tuple[str, str]:
    """(object id, the line to store) of one sent line; InvalidInput naming its position when it is invalid."""
    text, problem = check_line(raw.rstrip(b"\r\n"))
    if problem is not None:
        raise InvalidInput(f"Object {position}: {problem}", f"objects.{position}")
    line: dict[str, Any] = loads_json(text)
    attribute = line.get(KEY_ATTRIBUTE)
    if attribute is not None:
        key = line.get(attribute) if isinstance(attribute, str) else None
        if not isinstance(key, str) or not key or len(key) > MAX_KEY_CHARACTERS:
            raise InvalidInput(
                f"Object {position}: '{KEY_ATTRIBUTE}' names '{attribute}', which must hold the object's id "
                f"(1 to {MAX_KEY_CHARACTERS} characters).",
                f"objects.{position}",
            )
        return key, text
    key = hashlib.sha256(text.encode()).hexdigest()
    own = f"${job.attribute}-object-id"
    return key, dumps_json({**line, KEY_ATTRIBUTE: own, own: key}).decode()


def idle(job: LabelingJob, now_seconds: float) -> bool:
    """Whether a streaming job got nothing new for IDLE_DAYS (its LastModifiedTime is that old)."""
    return job.streaming and now_seconds - job.updated_at.timestamp() > timedelta(days=IDLE_DAYS).total_seconds()
