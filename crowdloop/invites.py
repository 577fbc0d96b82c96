"""Worker credentials the admin hands out: invitation links (the worker picks a password) and admin
password resets.

    invite_worker(svc, email, groups, expires_hours) -> Invitation   the link to send; worker is 'invited'
    invitation_email(svc, token)                     -> str          whom a live link is for
    accept_invitation(svc, token, password)          -> Worker       password set, worker 'active'
    reset_password(svc, email, password)             -> Worker       new password, portal sessions ended

Tokens are random; only their SHA-256 is stored. A link works once, until it expires, and only while the
worker is still 'invited' (a disabled worker's link does nothing).
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa

from crowdloop import sessions, workers
from crowdloop.errors import InUse, InvalidInput, NotFound
from crowdloop.model import Worker, WorkerStatus
from crowdloop.runtime import Services
from crowdloop.store.tables import invitations
from crowdloop.store.tables import workers as workers_table
from crowdloop.urls import PublicUrls

DEFAULT_EXPIRES_HOURS = 72
MIN_PASSWORD_LENGTH = 8
MAX_PASSWORD_LENGTH = 1024


@dataclass(frozen=True)
class Invitation:
    email: str
    token: str
    url: str
    expires_at: datetime


def invite_worker(
    svc: Services, email: str, *, groups: Iterable[str] = (), expires_hours: float = DEFAULT_EXPIRES_HOURS
) -> Invitation:
    """Create (or re-invite) a worker without a password and return a one-time link to set one.
    Earlier links of the same worker stop working. An active or disabled worker cannot be invited."""
    if not 0 < expires_hours <= 24 * 365:
        raise InvalidInput("An invitation must expire within 1 to 8760 hours.", "expires_hours")
    email = workers.normalize_email(email)
    try:
        worker = workers.get_worker(svc, email)
    except NotFound:
        worker = workers.add_worker(svc, email, groups=groups, status=WorkerStatus.INVITED)
    else:
        if worker.signs_in_with_oidc:
            raise InUse(_OIDC_NO_PASSWORD.format(email=email, issuer=worker.issuer))
        if worker.status != WorkerStatus.INVITED:
            raise InUse(
                f"Worker {email} is {worker.status.value}; use `crowdloop workers reset-password` "
                "to give them a new password."
            )
        worker = workers.add_to_groups(svc, email, groups)
    token = secrets.token_urlsafe(32)
    now = svc.clock.now()
    expires_at = now + timedelta(hours=expires_hours)
    with svc.store.write() as conn:
        conn.execute(invitations.delete().where(invitations.c.worker_id == worker.id))
        conn.execute(
            invitations.insert().values(
                token_sha256=_digest(token), worker_id=worker.id, created_at=now, expires_at=expires_at
            )
        )
    url = PublicUrls.of(svc.settings).invitation(token)
    return Invitation(email=email, token=token, url=url, expires_at=expires_at)


def invitation_email(svc: Services, token: str) -> str:
    """The email a live invitation is for; NotFound when the link is unknown, used or expired."""
    with svc.store.read() as conn:
        row = _live(conn, token, svc.clock.now())
    return str(row.email)


def accept_invitation(svc: Services, token: str, password: str) -> Worker:
    """Set the invited worker's password and activate them; the link is used up."""
    check_password(password)
    password_hash = svc.passwords.hash(password)
    with svc.store.write() as conn:
        now = svc.clock.now()
        row = _live(conn, token, now)
        i = invitations
        used = conn.execute(
            i.update().where(i.c.token_sha256 == _digest(token), i.c.used_at.is_(None)).values(used_at=now)
        ).rowcount
        if used != 1:
            raise _link_not_found()
        workers.set_password(conn, row.worker_id, password_hash, WorkerStatus.ACTIVE)
    return workers.get_worker(svc, row.email)


def reset_password(svc: Services, email: str, password: str) -> Worker:
    """Give a worker a new password (an invited worker becomes active; a disabled one stays disabled).
    Their portal sessions and open invitation links end."""
    check_password(password)
    worker = workers.get_worker(svc, email)
    if worker.signs_in_with_oidc:
        raise InUse(_OIDC_NO_PASSWORD.format(email=worker.email, issuer=worker.issuer))
    password_hash = svc.passwords.hash(password)
    status = WorkerStatus.ACTIVE if worker.status == WorkerStatus.INVITED else worker.status
    with svc.store.write() as conn:
        workers.set_password(conn, worker.id, password_hash, status)
        sessions.end_worker_sessions(conn, worker.id)
        conn.execute(invitations.delete().where(invitations.c.worker_id == worker.id))
    return workers.get_worker(svc, email)


def check_password(password: str) -> None:
    if not MIN_PASSWORD_LENGTH <= len(password) <= MAX_PASSWORD_LENGTH:
        raise InvalidInput(
            f"A password must be {MIN_PASSWORD_LENGTH} to {MAX_PASSWORD_LENGTH} characters long.", "password"
        )


def _live(conn: sa.Connection, token: str, now: datetime) -> Any:
    i, w = invitations, workers_table
    row = conn.execute(
        sa.select(i.c.worker_id, w.c.email)
        .join(w, w.c.id == i.c.worker_id)
        .where(
            i.c.token_sha256 == _digest(token),
            i.c.used_at.is_(None),
            i.c.expires_at > now,
            w.c.status == WorkerStatus.INVITED.value,
        )
    ).first()
    if row is None:
        raise _link_not_found()
    return row


_OIDC_NO_PASSWORD = (
    "Worker {email} signs in through the workforce's OIDC provider ({issuer}) and has no "
    "password here; manage them at the provider."
)


def _link_not_found() -> NotFound:
    return NotFound(
        "invitation",
        "link",
        "This invitation link is not valid: it was used already, has "
        "expired, or was replaced by a newer one. Ask for a new invitation.",
    )


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
