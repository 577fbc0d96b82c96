"""The end of a labeling job (spec §4.1, §8.1, §10; events.md §3): the output manifest — one line per input
line, in input order: the line, plus `<LabelAttributeName>` and its `-metadata` for a labeled object — then
Completed (every object labeled, failed or skipped) or Stopped (after StopLabelingJob or a stopping condition),
with the "SageMaker Ground Truth Labeling Job State Change" event recorded in the transaction of the change.

The manifest is written before the status changes, so whoever sees Completed can read it; a step that dies
between the two writes the same manifest again. Lines are read in ranges of object indices and streamed to the
object store (BlobStore.put_stream) chunk by chunk, so a million-line manifest is never held in memory whole.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from crowdloop import eventlog, events
from crowdloop.labeling import paths
from crowdloop.labeling.jobs import LabelingJob
from crowdloop.model import LabelingJobStatus
from crowdloop.output import dumps_json, loads_json
from crowdloop.runtime import Services
from crowdloop.store.tables import labeling_jobs, labeling_objects

CHUNK = 10_000  # manifest lines read per query


def unfinished(job: LabelingJob, *, queued_too: bool) -> bool:
    """Whether any object of the job is still out with workers or being consolidated (or queued): from the
    job's counters, whatever the number of its objects."""
    return job.released > 0 or (queued_too and job.queued > 0)


def complete(svc: Services, job: LabelingJob, status: LabelingJobStatus) -> None:
    """Write the output manifest, then end the job with `status` (Completed or Stopped)."""
    svc.blobs.put_stream(paths.output_manifest(job.output_root), manifest_chunks(svc, job), "application/jsonlines")
    with svc.store.write() as conn:
        end_job(svc, conn, job, status)
    eventlog.after_commit(svc)


def manifest_bytes(svc: Services, job: LabelingJob) -> bytes:
    """The whole output manifest (small jobs, tests): manifest_chunks joined."""
    return b"".join(manifest_chunks(svc, job))


def manifest_chunks(svc: Services, job: LabelingJob) -> Iterator[bytes]:
    """The output manifest, one piece per CHUNK lines: each stored line with its label merged in (compact
    JSON, `\\n` after each line). The objects' indices are 0 .. objects - 1 (start.py numbers every stored
    line), so each piece is the range [low, low + CHUNK): a bounded read in its own short transaction, cheap
    whatever plan the database picks (an open-ended `object_index > after … LIMIT` sorted every later row
    on PostgreSQL before its statistics knew the table's size)."""
    o = labeling_objects
    for low in range(0, job.objects, CHUNK):
        with svc.store.read() as conn:
            rows = conn.execute(
                sa.select(o.c.line, o.c.label)
                .where(o.c.job_id == job.id, o.c.object_index >= low, o.c.object_index < low + CHUNK)
                .order_by(o.c.object_index)
            ).all()
        if rows:
            yield b"".join([_merged(row.line, row.label) for row in rows])


def _merged(line: str, label: str | None) -> bytes:
    """`{input keys..., <attr>: ..., <attr>-metadata: ...}`: a label key the line has already is replaced in
    place (spec §8.1: "The label and the value overwrites any existing JSON data"), the others follow."""
    if label is None:
        return line.encode() + b"\n"
    merged = loads_json(line)
    merged.update(loads_json(label))
    return dumps_json(merged) + b"\n"


def end_job(
    svc: Services,
    conn: Connection,
    job: LabelingJob,
    status: LabelingJobStatus,
    *,
    failure_reason: str | None = None,
) -> None:
    """Set the job's final status (from an active one) and record its state change event."""
    j = labeling_jobs
    now = svc.clock.now()
    changed = conn.execute(
        j.update()
        .where(j.c.id == job.id, j.c.status.in_(("Initializing", "InProgress", "Stopping")))
        .values(status=status.value, updated_at=now, failure_reason=failure_reason)
    ).rowcount
    if changed:
        eventlog.record(
            conn, now, events.labeling_job_state_change(labeling_job_arn=job.arn, status=status.value, changed_at=now)
        )


def stopping_condition_met(job: LabelingJob) -> bool:
    """Whether a stopping condition of the job is met (spec §4.4): then it stops as if StopLabelingJob."""
    conditions = job.request.get("StoppingConditions") or {}
    labeled = job.counters.human_labeled
    count = conditions.get("MaxHumanLabeledObjectCount")
    if count is not None and labeled >= int(count):
        return True
    percentage = conditions.get("MaxPercentageOfInputDatasetLabeled")
    return percentage is not None and job.objects > 0 and labeled * 100 >= int(percentage) * job.objects


def started_stopping(conn: Connection, job: LabelingJob, now: datetime) -> None:
    j = labeling_jobs
    conn.execute(
        j.update()
        .where(j.c.id == job.id, j.c.status == LabelingJobStatus.IN_PROGRESS.value)
        .values(status=LabelingJobStatus.STOPPING.value, updated_at=now)
    )
