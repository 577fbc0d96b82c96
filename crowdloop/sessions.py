"""Server-side portal sessions (the portal_sessions table; the portal holds only the cookie).

The browser holds a random token in an HttpOnly cookie; the store keeps its SHA-256, the worker and the
session's CSRF token. A session lasts SESSION_IDLE after the last request (refreshed at most every
TOUCH_EVERY, so most requests only read) and never longer than SESSION_MAX. A session whose worker is no
longer active ends on its next use: disabling a worker ends their sessions.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from crowdloop import workers
from crowdloop.model import WorkerStatus
from crowdloop.runtime import Services
from crowdloop.store.prepared import Prepared
from crowdloop.store.tables import portal_sessions
from crowdloop.store.tables import workers as workers_table

SESSION_IDLE = timedelta(hours=12)
SESSION_MAX = timedelta(days=7)
TOUCH_EVERY = timedelta(minutes=5)


@dataclass(frozen=True)
class Session:
    worker_pk: int
    email: str
    csrf_token: str


def start_session(svc: Services, worker_pk: int) -> tuple[str, Session]:
    """A new session for the worker: (cookie token, session). Their expired sessions are purged."""
    token = secrets.token_urlsafe(32)
    csrf_token = secrets.token_urlsafe(32)
    s = portal_sessions
    with svc.store.write() as conn:
        now = svc.clock.now()
        conn.execute(s.delete().where(s.c.worker_id == worker_pk, s.c.expires_at <= now))
        conn.execute(
            s.insert().values(
                token_sha256=_digest(token),
                worker_id=worker_pk,
                csrf_token=csrf_token,
                created_at=now,
                last_seen_at=now,
                expires_at=now + SESSION_IDLE,
            )
        )
        email = workers.email_of(conn, worker_pk)
    return token, Session(worker_pk=worker_pk, email=email, csrf_token=csrf_token)


_LOAD = Prepared(
    sa.select(
        portal_sessions.c.worker_id,
        portal_sessions.c.csrf_token,
        portal_sessions.c.created_at,
        portal_sessions.c.last_seen_at,
        portal_sessions.c.expires_at,
        workers_table.c.email,
        workers_table.c.status,
    )
    .join(workers_table, workers_table.c.id == portal_sessions.c.worker_id)
    .where(portal_sessions.c.token_sha256 == sa.bindparam("digest"))
)  # built once: it runs per request (one statement, so it reads the worker's email and status itself)


def load_session(svc: Services, token: str | None) -> Session | None:
    """The live session for a cookie token, or None (unknown, expired, or its worker is not active)."""
    if not token or len(token) > 128:
        return None
    s = portal_sessions
    digest = _digest(token)
    with svc.store.read_one_statement() as conn:
        now = svc.clock.now()
        row = _LOAD.first(conn, {"digest": digest})
    if row is None:
        return None
    if row.expires_at <= now or row.status != WorkerStatus.ACTIVE.value:
        end_session(svc, token)
        return None
    if now - row.last_seen_at >= TOUCH_EVERY:
        expires_at = min(now + SESSION_IDLE, row.created_at + SESSION_MAX)
        with svc.store.write() as conn:
            conn.execute(s.update().where(s.c.token_sha256 == digest).values(last_seen_at=now, expires_at=expires_at))
    return Session(worker_pk=row.worker_id, email=row.email, csrf_token=row.csrf_token)


def end_session(svc: Services, token: str) -> None:
    with svc.store.write() as conn:
        conn.execute(portal_sessions.delete().where(portal_sessions.c.token_sha256 == _digest(token)))


def end_worker_sessions(conn: Connection, worker_pk: int) -> None:
    """End every session of a worker, in the caller's transaction (a password reset)."""
    conn.execute(portal_sessions.delete().where(portal_sessions.c.worker_id == worker_pk))


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
