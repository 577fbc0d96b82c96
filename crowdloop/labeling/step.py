"""One step of a labeling job (runner.py claims the job and calls run_step): whatever its state calls for now.

Initializing   read its S3 objects, store its objects, go InProgress (start.py) — or Failed
Stopping       no new tasks; stop the loops nobody holds (the held ones may still be answered)
any active     consolidate the objects whose loops ended (collect.py)
InProgress     a stopping condition met (a streaming job: idle too long): Stopping; else release queued
               objects (release.py)
the end        nothing out with workers: write the output manifest, Completed (a streaming job: only after
               a stop) or Stopped (finish.py)
"""

from __future__ import annotations

from crowdloop import queue
from crowdloop.labeling import collect, finish, release, start, streaming
from crowdloop.labeling.jobs import LabelingJob, get_job
from crowdloop.labeling.runner import Claim
from crowdloop.model import LabelingJobStatus
from crowdloop.runtime import Services


def run_step(svc: Services, claim: Claim) -> None:
    job = _load(svc, claim.job_id)
    if job is None or job.ended:
        return
    if job.status == LabelingJobStatus.INITIALIZING:
        start.initialize(svc, job, claim)
        job = _load(svc, claim.job_id)
        if job is None or job.ended:
            return
        if job.status == LabelingJobStatus.INITIALIZING:  # a stop came first: nothing was released yet
            return
    if job.status == LabelingJobStatus.STOPPING:
        _withdraw(svc, job)
    collect.collect(svc, job, claim)
    job = _load(svc, claim.job_id)
    if job is None or job.ended:
        return
    if job.status == LabelingJobStatus.IN_PROGRESS and _stops_by_itself(svc, job):
        with svc.store.write() as conn:
            finish.started_stopping(conn, job, svc.clock.now())
        return  # the next step withdraws its tasks
    if job.status == LabelingJobStatus.IN_PROGRESS:
        released = release.release(svc, job, claim)
        if not job.streaming and released == 0 and not finish.unfinished(job, queued_too=True):
            finish.complete(svc, job, LabelingJobStatus.COMPLETED)
    elif job.status == LabelingJobStatus.STOPPING and not finish.unfinished(job, queued_too=False):
        finish.complete(svc, job, LabelingJobStatus.STOPPED)


def _stops_by_itself(svc: Services, job: LabelingJob) -> bool:
    """A one-shot job's stopping condition is met (streaming jobs ignore them), or a streaming job has been
    idle for streaming.IDLE_DAYS with nothing left to do (spec §4.4, §6.3)."""
    if not job.streaming:
        return finish.stopping_condition_met(job)
    return streaming.idle(job, svc.clock.now().timestamp()) and not finish.unfinished(job, queued_too=True)


def _withdraw(svc: Services, job: LabelingJob) -> None:
    if job.flow_definition_id is None:
        return
    with svc.store.write() as conn:  # the leases held stay workable: their answers are consolidated
        queue.close_flow_slots(conn, job.flow_definition_id)
        queue.stop_idle_loops(conn, svc.clock.now(), job.flow_definition_id)


def _load(svc: Services, job_id: int) -> LabelingJob | None:
    with svc.store.read() as conn:
        return get_job(conn, job_id)
