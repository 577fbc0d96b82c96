"""The labeling jobs' background step: each job that is Initializing, InProgress or Stopping is looked at when
something woke it (created, stopped) and at least every STEP_SECONDS (answers, expired tasks), by one process
at a time whatever the number of processes: a job is claimed with one conditional UPDATE of its row
(`claimed_until`, `claim_token`), renewed while a long step runs, and let go with its next time.

    run_due(svc)      claim due jobs one by one and run their step (step.run_step) until none is due
    LabelingRunner    the server's thread that calls run_due when woken and every STEP_SECONDS

A wake that arrives while the job is claimed is not lost: it bumps `wakes`, and the step's release makes the
job due again at once when `wakes` moved.
"""

from __future__ import annotations

import logging
import secrets
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa

from crowdloop.errors import Unavailable
from crowdloop.labeling import jobs
from crowdloop.runtime import Services
from crowdloop.store.tables import UtcDateTime, labeling_jobs

log = logging.getLogger(__name__)

STEP_SECONDS = 1.0  # an active job is looked at this often (answers, expired tasks, a stop)
CLAIM_SECONDS = 60.0  # a claim's length; a process killed mid-step delays its job by at most this
RETRY_SECONDS = 5.0  # after a step that failed (an outage, a bug): look again then


@dataclass
class Claim:
    """A job held by this process's step."""

    job_id: int
    token: str
    wakes: int
    until: datetime

    def renew(self, svc: Services) -> None:
        """Keep the job (a long step calls it between chunks of work)."""
        now = svc.clock.now()
        if self.until - now > timedelta(seconds=CLAIM_SECONDS / 2):
            return
        self.until = now + timedelta(seconds=CLAIM_SECONDS)
        j = labeling_jobs
        with svc.store.write() as conn:
            conn.execute(
                j.update().where(j.c.id == self.job_id, j.c.claim_token == self.token).values(claimed_until=self.until)
            )


def claim_due(svc: Services) -> Claim | None:
    """Take one due, unclaimed active job, or None."""
    j = labeling_jobs
    token = secrets.token_hex(8)
    with svc.store.write() as conn:
        now = svc.clock.now()
        free = sa.or_(j.c.claimed_until.is_(None), j.c.claimed_until < now)
        due = (
            sa.select(j.c.id)
            .where(j.c.status.in_(jobs.ACTIVE), j.c.next_step_at <= now, free)
            .order_by(j.c.next_step_at, j.c.id)
            .limit(1)
            .scalar_subquery()
        )
        until = now + timedelta(seconds=CLAIM_SECONDS)
        row = conn.execute(
            j.update()
            .where(j.c.id == due, free)
            .values(claimed_until=until, claim_token=token)
            .returning(j.c.id, j.c.wakes)
        ).first()
    return None if row is None else Claim(int(row.id), token, int(row.wakes), until)


def let_go(svc: Services, claim: Claim, after_seconds: float) -> None:
    """Release the job; due again after `after_seconds`, or at once if it was woken meanwhile."""
    j = labeling_jobs
    with svc.store.write() as conn:
        now = svc.clock.now()
        later = now + timedelta(seconds=after_seconds)
        conn.execute(
            j.update()
            .where(j.c.id == claim.job_id, j.c.claim_token == claim.token)
            .values(
                claimed_until=None,
                claim_token=None,
                next_step_at=sa.case(
                    (j.c.wakes != claim.wakes, sa.literal(now, UtcDateTime())), else_=sa.literal(later, UtcDateTime())
                ),
            )
        )


def run_due(svc: Services, *, limit: int = 100) -> int:
    """Run the step of every due job (at most `limit` steps); how many ran."""
    from crowdloop.labeling import step  # the steps import this module's Claim

    ran = 0
    while ran < limit:
        claim = claim_due(svc)
        if claim is None:
            return ran
        ran += 1
        after = STEP_SECONDS
        try:
            step.run_step(svc, claim)
        except Unavailable as exc:
            log.warning("labeling job %d: step postponed: %s", claim.job_id, exc.message)
            after = RETRY_SECONDS
        except Exception:
            log.exception("labeling job %d: step failed; retrying in %.0fs", claim.job_id, RETRY_SECONDS)
            after = RETRY_SECONDS
        try:
            let_go(svc, claim, after)
        except Unavailable:  # the claim runs out by itself
            log.warning("labeling job %d: could not let go of it; its claim runs out", claim.job_id)
    return ran


class LabelingRunner:
    """The thread running the labeling jobs' steps in a server process (Services.labeling)."""

    def __init__(self, svc: Services, *, poll_seconds: float = STEP_SECONDS) -> None:
        self._svc = svc
        self._poll_seconds = poll_seconds
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def bind(self, svc: Services) -> None:
        self._svc = svc

    def wake(self) -> None:
        self._wake.set()

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="crowdloop-labeling", daemon=True)
            self._thread.start()

    def close(self, timeout_seconds: float = 10.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout_seconds)

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(self._poll_seconds)
            self._wake.clear()
            if self._stop.is_set():
                return
            try:
                run_due(self._svc)
            except Unavailable as exc:
                log.warning("labeling jobs: steps postponed: %s", exc.message)
            except Exception:
                log.exception("labeling jobs: steps failed; retrying")
