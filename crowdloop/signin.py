"""Password sign-in with rate limits (the sign_in_failures table; the portal's sign-in page calls it).

Each failed attempt is recorded twice, under "email:<address>" and "ip:<address>". While an email has
MAX_FAILURES_PER_EMAIL failures (or an IP address MAX_FAILURES_PER_IP) within WINDOW, further attempts are
refused before any password is checked (so guessing costs no argon2 time either). A successful sign-in
clears the email's failures. Unknown emails cost the same argon2 verification as known ones.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import Enum

import sqlalchemy as sa

from crowdloop.errors import InvalidInput
from crowdloop.model import WorkerStatus
from crowdloop.runtime import Services
from crowdloop.store.tables import sign_in_failures
from crowdloop.workers import credentials_of, normalize_email

WINDOW = timedelta(minutes=15)
MAX_FAILURES_PER_EMAIL = 5
MAX_FAILURES_PER_IP = 50


class Outcome(Enum):
    SIGNED_IN = "signed-in"
    WRONG = "wrong"  # unknown email, wrong password, or no password set yet
    DISABLED = "disabled"  # right password, but the worker is disabled
    LIMITED = "limited"  # too many failures; retry_after_seconds says when to try again


@dataclass(frozen=True)
class SignInResult:
    outcome: Outcome
    worker_pk: int | None = None
    retry_after_seconds: int = 0


def sign_in(svc: Services, email: str, password: str, ip: str) -> SignInResult:
    try:
        email = normalize_email(email)
    except InvalidInput:  # no account has it, but it costs the same check (NUL: PostgreSQL cannot store it)
        email = email.strip().lower()[:320].replace("\0", "\ufffd")
    subjects = (f"email:{email}", f"ip:{ip}"[:400])
    retry_after = _retry_after(svc, subjects)
    if retry_after:
        return SignInResult(Outcome.LIMITED, retry_after_seconds=retry_after)
    found = credentials_of(svc, email)
    stored = found.password_hash if found is not None else None
    # always one argon2 verification, so the time taken never tells whether the email exists
    matches = svc.passwords.verify(stored or svc.passwords.dummy_hash(), password)
    if found is None or not stored or not matches:
        _record_failure(svc, subjects)
        return SignInResult(Outcome.WRONG)
    if found.status != WorkerStatus.ACTIVE:
        return SignInResult(Outcome.DISABLED)
    with svc.store.write() as conn:
        conn.execute(sign_in_failures.delete().where(sign_in_failures.c.subject == subjects[0]))
    return SignInResult(Outcome.SIGNED_IN, worker_pk=found.worker_pk)


def retry_after(svc: Services, subjects: tuple[str, str]) -> int:
    """Seconds until `subjects` (an account's subject, then "ip:<address>") may try again; 0: now. The same
    limits as the portal's sign-in (the console signs in with access keys through it: crowdloop.consoleauth)."""
    return _retry_after(svc, subjects)


def record_failure(svc: Services, subjects: tuple[str, str]) -> None:
    _record_failure(svc, subjects)


def clear_failures(svc: Services, subject: str) -> None:
    """A successful sign-in clears the account's failures (not the address's)."""
    with svc.store.write() as conn:
        conn.execute(sign_in_failures.delete().where(sign_in_failures.c.subject == subject))


def _retry_after(svc: Services, subjects: tuple[str, str]) -> int:
    f = sign_in_failures
    with svc.store.read() as conn:
        now = svc.clock.now()
        since = now - WINDOW
        waits = []
        for subject, limit in zip(subjects, (MAX_FAILURES_PER_EMAIL, MAX_FAILURES_PER_IP), strict=True):
            times = (
                conn.execute(
                    sa.select(f.c.failed_at)
                    .where(f.c.subject == subject, f.c.failed_at > since)
                    .order_by(f.c.failed_at.desc())
                    .limit(limit)
                )
                .scalars()
                .all()
            )
            if len(times) >= limit:
                waits.append(_seconds_until(times[-1] + WINDOW, now))
    return max(waits, default=0)


def _seconds_until(moment: datetime, now: datetime) -> int:
    return max(1, int((moment - now).total_seconds() + 0.999))


def _record_failure(svc: Services, subjects: tuple[str, str]) -> None:
    f = sign_in_failures
    with svc.store.write() as conn:
        now = svc.clock.now()
        conn.execute(f.delete().where(f.c.failed_at <= now - WINDOW))
        conn.execute(f.insert(), [{"subject": subject, "failed_at": now} for subject in subjects])
