"""Job titles and descriptions for the portal's pages, cached (queue.job_info reads them; whether a worker
may open a job at all is queue.job_for_worker, by the rule the queue hands out tasks by)."""

from __future__ import annotations

from crowdloop import queue
from crowdloop.caches import CacheSpec
from crowdloop.queue import JobInfo
from crowdloop.runtime import Services

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
        job = queue.job_info(self._svc, flow_definition_id)
        self._jobs.put(flow_definition_id, job)
        return job
