"""Job titles and descriptions for the portal's pages, cached (queue.job_info reads them; whether a worker
may open a job at all is queue.job_for_worker, by the rule the queue hands out tasks by)."""

from __future__ import annotations

from threading import Lock

from crowdloop import queue
from crowdloop.queue import JobInfo
from crowdloop.runtime import Services


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
        job = queue.job_info(self._svc, flow_definition_id)
        with self._lock:
            if len(self._jobs) >= self._size:
                self._jobs.clear()
            self._jobs[flow_definition_id] = job
        return job
