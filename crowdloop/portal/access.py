"""Which jobs (flow definitions) a worker may open: by the rule the queue hands out tasks by
(store.dialect.worker_may_work_on_flow: an active worker in a group the job's work team selects, and the
job Initializing or Active). The portal asks only to tell "not your job" (404) from "no tasks left"."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from crowdloop.caches import CacheSpec
from crowdloop.runtime import Services
from crowdloop.store import dialect
from crowdloop.store.tables import flow_definitions


@dataclass(frozen=True)
class JobInfo:
    flow_definition_id: int
    title: str
    description: str
    task_time_limit_seconds: int


_COLUMNS = (
    flow_definitions.c.id,
    flow_definitions.c.task_title,
    flow_definitions.c.task_description,
    flow_definitions.c.task_time_limit_seconds,
)
_MAY_WORK = dialect.worker_may_work_on_flow(":worker", f"{flow_definitions.name}.{flow_definitions.c.id.name}")


def job_for_worker(svc: Services, worker_pk: int, flow_definition_id: int) -> JobInfo | None:
    """The job if the worker may work on it, else None (also for unknown ids)."""
    with svc.store.read() as conn:
        row = conn.execute(
            sa.select(*_COLUMNS).where(flow_definitions.c.id == flow_definition_id, _MAY_WORK), {"worker": worker_pk}
        ).first()
    return _info(row) if row is not None else None


JOBS: CacheSpec[int, JobInfo] = CacheSpec(
    "job titles",
    "keyed by what cannot change: a flow definition's title, description and time limit are fixed at creation",
    max_entries=1024,
)


class JobCache:
    """Job titles and descriptions by flow definition id (svc.caches[JOBS])."""

    def __init__(self, svc: Services) -> None:
        self._svc = svc
        self._jobs = svc.caches[JOBS]

    def get(self, flow_definition_id: int) -> JobInfo:
        job = self._jobs.get(flow_definition_id)
        if job is not None:
            return job
        with self._svc.store.read() as conn:
            row = conn.execute(sa.select(*_COLUMNS).where(flow_definitions.c.id == flow_definition_id)).one()
        job = _info(row)
        self._jobs.put(flow_definition_id, job)
        return job


def _info(row: Any) -> JobInfo:
    return JobInfo(
        flow_definition_id=row.id,
        title=row.task_title,
        description=row.task_description,
        task_time_limit_seconds=row.task_time_limit_seconds,
    )
