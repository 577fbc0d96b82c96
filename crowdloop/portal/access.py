"""Which jobs (flow definitions) a worker may open: those whose work team selects one of the worker's
groups. The queue enforces the same rule when it hands out tasks; the portal asks only to tell "not your
job" (404) from "no tasks left"."""

from __future__ import annotations

from dataclasses import dataclass
from threading import Lock
from typing import Any

import sqlalchemy as sa

from crowdloop.runtime import Services
from crowdloop.store.tables import flow_definitions, worker_groups, workteam_groups, workteams


@dataclass(frozen=True)
class JobInfo:
    flow_definition_id: int
    title: str
    description: str
    task_time_limit_seconds: int


_COLUMNS = (flow_definitions.c.id, flow_definitions.c.task_title, flow_definitions.c.task_description,
            flow_definitions.c.task_time_limit_seconds)


def job_for_worker(svc: Services, worker_pk: int, flow_definition_id: int) -> JobInfo | None:
    """The job if the worker belongs to its work team, else None (also for unknown ids)."""
    f, t, tg, wg = flow_definitions, workteams, workteam_groups, worker_groups
    with svc.store.read() as conn:
        row = conn.execute(
            sa.select(*_COLUMNS).join(t, t.c.arn == f.c.workteam_arn)
            .join(tg, tg.c.workteam_id == t.c.id).join(wg, wg.c.group_name == tg.c.group_name)
            .where(f.c.id == flow_definition_id, wg.c.worker_id == worker_pk).limit(1)
        ).first()
    return _info(row) if row is not None else None


class JobCache:
    """Job titles and descriptions by flow definition id (a flow definition never changes)."""

    def __init__(self, svc: Services, size: int = 1024) -> None:
        self._svc = svc
        self._size = size
        self._jobs: dict[int, JobInfo] = {}
        self._lock = Lock()

    def get(self, flow_definition_id: int) -> JobInfo:
        with self._lock:
            job = self._jobs.get(flow_definition_id)
        if job is not None:
            return job
        with self._svc.store.read() as conn:
            row = conn.execute(sa.select(*_COLUMNS).where(flow_definitions.c.id == flow_definition_id)).one()
        job = _info(row)
        with self._lock:
            if len(self._jobs) >= self._size:
                self._jobs.clear()
            self._jobs[flow_definition_id] = job
        return job


def _info(row: Any) -> JobInfo:
    return JobInfo(flow_definition_id=row.id, title=row.task_title, description=row.task_description,
                   task_time_limit_seconds=row.task_time_limit_seconds)
