"""Releasing a labeling job's objects to its workers (spec §7.1, §13): while fewer than MaxConcurrentTaskCount
objects are out, the next queued ones (manifest order) get their task input — the built-in PRE-<Type>'s, the
pre-annotation Lambda's `taskInput`, or the manifest line itself without one — and a human loop of the job's
flow definition with NumberOfHumanWorkersPerDataObject slots, which the queue, the portal and the reaper serve
as any other loop.

A pre-annotation Lambda that fails (after its retries) or answers badly fails that object
(FailedNonRetryableError); `isHumanAnnotationRequired: false` skips it (its output line is the input line; it
leaves Unlabeled without counting as labeled or failed — docs/api.md). The Lambda runs outside any transaction;
a step that dies after calling it calls it again for the same objects (Lambdas are invoked at least once).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from crowdloop import queue
from crowdloop.groundtruth import consolidation, tasktypes
from crowdloop.labeling import lambdas
from crowdloop.labeling.jobs import LabelingJob
from crowdloop.labeling.runner import Claim
from crowdloop.model import HumanLoopStatus
from crowdloop.output import dumps_json, loads_json
from crowdloop.runtime import Services
from crowdloop.store.tables import flow_definitions, human_loops, labeling_jobs, labeling_objects

BATCH = 500  # objects released per transaction


@dataclass(frozen=True)
class _Prepared:
    object_index: int
    task_input: Any | None  # None: not released (skipped or failed)
    failure: str | None = None


def release(svc: Services, job: LabelingJob, claim: Claim) -> int:
    """Release queued objects up to the job's concurrency; how many were released."""
    assert job.flow_definition_id is not None
    hc = job.request["HumanTaskConfig"]
    room = int(hc["MaxConcurrentTaskCount"]) - job.released
    if room <= 0 or job.queued <= 0:  # the counters say there is nothing to do: no query
        return 0
    released, start_at = 0, job.next_release
    with svc.store.read() as conn:
        template_sha256 = conn.execute(
            sa.select(flow_definitions.c.template_sha256).where(flow_definitions.c.id == job.flow_definition_id)
        ).scalar_one()
    while room > 0:
        o = labeling_objects
        with svc.store.read() as conn:
            rows = conn.execute(
                sa.select(o.c.object_index, o.c.line)
                .where(o.c.job_id == job.id, o.c.state == "queued", o.c.object_index >= start_at)
                .order_by(o.c.object_index)
                .limit(min(room, BATCH))
            ).all()
        if not rows:
            break
        prepared = [_prepare(svc, job, int(row.object_index), loads_json(row.line)) for row in rows]
        claim.renew(svc)
        with svc.store.write() as conn:
            released += _open(conn, job, template_sha256, prepared, svc.clock.now())
        room -= len(rows)
        start_at = int(rows[-1].object_index) + 1
    return released


def _prepare(svc: Services, job: LabelingJob, index: int, line: dict[str, Any]) -> _Prepared:
    hc = job.request["HumanTaskConfig"]
    pre_arn = hc.get("PreHumanTaskLambdaArn")
    if job.task_type is not None and (pre_arn is None or tasktypes.lambda_task_type(str(pre_arn), "PRE") is not None):
        return _Prepared(index, _builtin_input(job, line))
    if pre_arn is None:
        return _Prepared(index, line)
    try:
        response = lambdas.LambdaInvoker.from_settings(svc.settings).invoke(
            str(pre_arn), lambdas.pre_annotation_event(job.arn, line)
        )
        pre = lambdas.read_pre_annotation_response(response, arn=str(pre_arn))
    except lambdas.LambdaFailed as exc:
        return _Prepared(index, None, str(exc)[:1024])
    if not pre.human_annotation_required:
        return _Prepared(index, None)
    return _Prepared(index, pre.task_input)


def _builtin_input(job: LabelingJob, line: dict[str, Any]) -> Any:
    assert job.task_type is not None
    config = job.label_config or {}
    extra: dict[str, Any] = {}
    if job.task_type.value == "NamedEntityRecognition":
        extra = {"label_objects": config.get("labels", []), "instructions": config.get("instructions") or {}}
    return consolidation.builtin_task_input(
        job.task_type, line, job.label_names, label_attribute_name=job.attribute, **extra
    )


def _open(conn: Connection, job: LabelingJob, template_sha256: str, prepared: list[_Prepared], now: datetime) -> int:
    """One transaction: the loops of the released objects, every object's new state, the job's counters."""
    hc = job.request["HumanTaskConfig"]
    workers = int(hc["NumberOfHumanWorkersPerDataObject"])
    created_at = now.replace(microsecond=now.microsecond // 1000 * 1000)
    available_until = created_at + timedelta(seconds=int(hc["TaskAvailabilityLifetimeInSeconds"]))
    o = labeling_objects
    released = skipped = failed = 0
    for item in prepared:
        where = sa.and_(o.c.job_id == job.id, o.c.object_index == item.object_index, o.c.state == "queued")
        if item.task_input is None:
            state = "skipped" if item.failure is None else "failed"
            if conn.execute(o.update().where(where).values(state=state, failure_reason=item.failure)).rowcount:
                skipped += state == "skipped"
                failed += state == "failed"
            continue
        name = f"~{job.id}-{item.object_index}"
        loop_id = queue.open_loop(
            conn,
            {
                "account": job.arn.split(":")[4],
                "region": job.arn.split(":")[3],
                "name": name,
                "name_key": name,
                "arn": f"{job.arn}/object/{item.object_index}",
                "flow_definition_id": job.flow_definition_id,
                "status": HumanLoopStatus.IN_PROGRESS.value,
                "created_at": created_at,
                "input_content": dumps_json(item.task_input).decode(),
                "data_attributes": None,
                "output_uri": f"{job.output_root}/annotations/worker-response",
                "template_sha256": template_sha256,
                "task_count": workers,
                "open_slots": workers,
                "answers_count": 0,
                "task_time_limit_seconds": int(hc["TaskTimeLimitInSeconds"]),
                "available_until": available_until,
                "output_written": False,
            },
        )
        if loop_id is None:  # a loop of that name exists already (a store restored from a backup): take it
            loop_id = conn.execute(
                sa.select(human_loops.c.id).where(
                    human_loops.c.account == job.arn.split(":")[4],
                    human_loops.c.region == job.arn.split(":")[3],
                    human_loops.c.name_key == name,
                )
            ).scalar_one()
        if conn.execute(o.update().where(where).values(state="released", loop_id=loop_id)).rowcount:
            released += 1
    j = labeling_jobs
    after = max(item.object_index for item in prepared) + 1
    conn.execute(
        j.update()
        .where(j.c.id == job.id)
        .values(
            queued=j.c.queued - released - skipped - failed,
            next_release=sa.case((j.c.next_release < after, after), else_=j.c.next_release),
            released=j.c.released + released,
            skipped=j.c.skipped + skipped,
            failed=j.c.failed + failed,
            updated_at=now if (skipped or failed) else j.c.updated_at,
        )
    )
    return released
