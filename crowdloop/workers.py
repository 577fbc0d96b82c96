"""Worker accounts of the private workforce and the groups that work teams select them by.

Local accounts sign in with email + password. Workers of an OIDC workforce are linked to their identity
(issuer, sagemaker:sub) by link_oidc_worker at every sign-in: created on the first one, their groups
replaced by the groups the identity provider sends each time.

Disabling a worker or taking groups away withdraws, in the same transaction, the tasks they hold but could
no longer claim (queue.withdraw_ineligible_leases).
"""

from __future__ import annotations

import contextlib
import secrets
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from crowdloop import queue
from crowdloop.errors import AlreadyExists, InvalidInput, NotFound
from crowdloop.model import Worker, WorkerStatus
from crowdloop.runtime import Services
from crowdloop.store.tables import worker_groups, workers


def add_worker(
    svc: Services,
    email: str,
    *,
    password_hash: str | None = None,
    groups: Iterable[str] = (),
    status: WorkerStatus = WorkerStatus.ACTIVE,
) -> Worker:
    email = normalize_email(email)
    with svc.store.write() as conn:
        if conn.execute(sa.select(workers.c.id).where(workers.c.email == email)).first():
            raise AlreadyExists("worker", email, f"A worker with email {email} exists already.")
        worker_pk = conn.execute(
            workers.insert()
            .values(
                worker_id=secrets.token_hex(8),
                sub=str(uuid.uuid4()),
                email=email,
                password_hash=password_hash,
                status=status.value,
                created_at=svc.clock.now(),
            )
            .returning(workers.c.id)
        ).scalar_one()
        _add_groups(conn, worker_pk, groups)
        return _load(conn, worker_pk)


def get_worker(svc: Services, email: str) -> Worker:
    with svc.store.read() as conn:
        row = conn.execute(sa.select(workers.c.id).where(workers.c.email == normalize_email(email))).first()
        if row is None:
            raise NotFound("worker", email, f"No worker with email {email}.")
        return _load(conn, row.id)


def list_workers(svc: Services, group: str | None = None) -> list[Worker]:
    with svc.store.read() as conn:
        query = sa.select(workers.c.id).order_by(workers.c.email)
        if group is not None:
            query = query.where(
                workers.c.id.in_(sa.select(worker_groups.c.worker_id).where(worker_groups.c.group_name == group))
            )
        return [_load(conn, row.id) for row in conn.execute(query)]


def page_workers(svc: Services, *, after: str | None = None, limit: int = 100) -> tuple[list[Worker], str | None]:
    """Up to `limit` workers by email, after the email `after` (keyset on the unique email index: the cost
    of a page does not grow with the number of workers), and the email to continue after (None: the end)."""
    with svc.store.read() as conn:
        query = sa.select(workers).order_by(workers.c.email).limit(limit + 1)
        if after is not None:
            query = query.where(workers.c.email > after)
        rows = conn.execute(query).all()
        more = len(rows) > limit
        rows = rows[:limit]
        groups: dict[int, list[str]] = {row.id: [] for row in rows}
        if rows:
            for worker_pk, group in conn.execute(
                sa.select(worker_groups.c.worker_id, worker_groups.c.group_name)
                .where(worker_groups.c.worker_id.in_(list(groups)))
                .order_by(worker_groups.c.worker_id, worker_groups.c.group_name)
            ):
                groups[worker_pk].append(group)
    page = [_worker(row, groups[row.id]) for row in rows]
    return page, (page[-1].email if more else None)


def set_groups(svc: Services, email: str, groups: Iterable[str]) -> Worker:
    """Make the worker's groups exactly `groups`; the tasks they hold but could no longer claim are
    withdrawn in the same transaction."""
    wanted = list(dict.fromkeys(groups))
    with svc.store.write() as conn:
        worker_pk = _pk(conn, email)
        conn.execute(
            worker_groups.delete().where(
                worker_groups.c.worker_id == worker_pk, worker_groups.c.group_name.not_in(wanted)
            )
        )
        _add_groups(conn, worker_pk, wanted)
        queue.withdraw_ineligible_leases(conn, svc.clock.now(), worker_pk=worker_pk)
        return _load(conn, worker_pk)


def add_to_groups(svc: Services, email: str, groups: Iterable[str]) -> Worker:
    with svc.store.write() as conn:
        worker_pk = _pk(conn, email)
        _add_groups(conn, worker_pk, groups)
        return _load(conn, worker_pk)


def remove_from_groups(svc: Services, email: str, groups: Iterable[str]) -> Worker:
    with svc.store.write() as conn:
        worker_pk = _pk(conn, email)
        conn.execute(
            worker_groups.delete().where(
                worker_groups.c.worker_id == worker_pk, worker_groups.c.group_name.in_(list(groups))
            )
        )
        queue.withdraw_ineligible_leases(conn, svc.clock.now(), worker_pk=worker_pk)
        return _load(conn, worker_pk)


def set_status(svc: Services, email: str, status: WorkerStatus) -> Worker:
    with svc.store.write() as conn:
        worker_pk = _pk(conn, email)
        conn.execute(workers.update().where(workers.c.id == worker_pk).values(status=status.value))
        queue.withdraw_ineligible_leases(conn, svc.clock.now(), worker_pk=worker_pk)
        return _load(conn, worker_pk)


def link_oidc_worker(svc: Services, issuer: str, sub: str, *, email: str | None, groups: Sequence[str]) -> Worker:
    """The worker of the identity (issuer, sub), created on first use; an active worker's groups become
    exactly `groups` and their email the given one when no other worker has it. A worker that is not
    active is returned unchanged (the caller refuses the sign-in)."""
    if not issuer:
        raise InvalidInput("An OIDC identity needs an issuer.", "issuer")
    for attempt in (1, 2):
        try:
            with svc.store.write() as conn:
                return _link_oidc_worker(conn, svc, issuer, sub, email, groups)
        except IntegrityError:  # a concurrent first sign-in of the same identity (or email) won the race
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


def _link_oidc_worker(
    conn: Connection, svc: Services, issuer: str, sub: str, email: str | None, groups: Sequence[str]
) -> Worker:
    row = conn.execute(
        sa.select(workers.c.id, workers.c.worker_id, workers.c.email, workers.c.status).where(
            workers.c.issuer == issuer, workers.c.sub == sub
        )
    ).first()
    if row is not None and row.status != WorkerStatus.ACTIVE.value:
        return _load(conn, row.id)
    worker_id = row.worker_id if row is not None else secrets.token_hex(8)
    handle = _oidc_handle(conn, row.id if row is not None else None, email, issuer, sub, worker_id)
    if row is None:
        worker_pk = conn.execute(
            workers.insert()
            .values(
                worker_id=worker_id,
                issuer=issuer,
                sub=sub,
                email=handle,
                password_hash=None,
                status=WorkerStatus.ACTIVE.value,
                created_at=svc.clock.now(),
            )
            .returning(workers.c.id)
        ).scalar_one()
    else:
        worker_pk = int(row.id)
        if handle != row.email:
            conn.execute(workers.update().where(workers.c.id == worker_pk).values(email=handle))
    conn.execute(worker_groups.delete().where(worker_groups.c.worker_id == worker_pk))
    _add_groups(conn, worker_pk, groups)
    if row is not None:
        queue.withdraw_ineligible_leases(conn, svc.clock.now(), worker_pk=worker_pk)
    return _load(conn, worker_pk)


def _oidc_handle(
    conn: Connection, worker_pk: int | None, email: str | None, issuer: str, sub: str, worker_id: str
) -> str:
    """The email column of an OIDC worker: their email when no other worker has it, else
    "<sub>@<issuer host>", else "<worker id>@<issuer host>"."""
    host = urlsplit(issuer).hostname or "oidc"
    candidates = []
    if email:
        with contextlib.suppress(InvalidInput):  # not an address: fall back to the sub
            candidates.append(normalize_email(email))
    candidates += [f"{sub}@{host}".lower()[:320], f"{worker_id}@{host}".lower()]
    for candidate in candidates:
        holder = conn.execute(sa.select(workers.c.id).where(workers.c.email == candidate)).scalar()
        if holder is None or holder == worker_pk:
            return candidate
    return candidates[-1]


def issuer_of(svc: Services, worker_pk: int) -> str:
    """The OIDC issuer of a worker's identity; "" for a local account (or no such worker)."""
    with svc.store.read() as conn:
        return str(conn.execute(sa.select(workers.c.issuer).where(workers.c.id == worker_pk)).scalar() or "")


@dataclass(frozen=True)
class Credentials:
    """What a password sign-in checks (signin.py)."""

    worker_pk: int
    password_hash: str | None
    status: WorkerStatus


def credentials_of(svc: Services, email: str) -> Credentials | None:
    """The stored password hash and status of the worker with this (normalized) email, or None."""
    with svc.store.read() as conn:
        row = conn.execute(
            sa.select(workers.c.id, workers.c.password_hash, workers.c.status).where(workers.c.email == email)
        ).first()
    return None if row is None else Credentials(int(row.id), row.password_hash, WorkerStatus(row.status))


def email_of(conn: Connection, worker_pk: int) -> str:
    return str(conn.execute(sa.select(workers.c.email).where(workers.c.id == worker_pk)).scalar_one())


def emails_by_worker_id(conn: Connection, worker_ids: Iterable[str]) -> dict[str, str]:
    """Worker id (as output.json names workers) -> email, for the ids given that exist: how the export's worker
    scores (`crowdloop workers quality`) name the people behind the ids they read."""
    wanted = sorted(set(worker_ids))
    found: dict[str, str] = {}
    for start in range(0, len(wanted), 500):  # bounded IN lists
        rows = conn.execute(
            sa.select(workers.c.worker_id, workers.c.email).where(workers.c.worker_id.in_(wanted[start : start + 500]))
        )
        found.update({str(worker_id): str(email) for worker_id, email in rows})
    return found


def set_password(conn: Connection, worker_pk: int, password_hash: str, status: WorkerStatus) -> None:
    """Store a new password hash and status (invites.py: an accepted invitation, a reset)."""
    conn.execute(
        workers.update().where(workers.c.id == worker_pk).values(password_hash=password_hash, status=status.value)
    )


def normalize_email(email: str) -> str:
    email = email.strip().lower()
    if "@" not in email or len(email) > 320 or "\0" in email:
        raise InvalidInput(f"'{email}' is not an email address.", "email")
    return email


def _pk(conn: Connection, email: str) -> int:
    row = conn.execute(sa.select(workers.c.id).where(workers.c.email == normalize_email(email))).first()
    if row is None:
        raise NotFound("worker", email, f"No worker with email {email}.")
    return int(row.id)


def _add_groups(conn: Connection, worker_pk: int, groups: Iterable[str]) -> None:
    existing = set(
        conn.execute(sa.select(worker_groups.c.group_name).where(worker_groups.c.worker_id == worker_pk)).scalars()
    )
    for group in dict.fromkeys(groups):
        if not group or len(group) > 128:
            raise InvalidInput(f"Group name '{group}' must be 1-128 characters.", "group")
        if group not in existing:
            conn.execute(worker_groups.insert().values(worker_id=worker_pk, group_name=group))


def _load(conn: Connection, worker_pk: int) -> Worker:
    row = conn.execute(sa.select(workers).where(workers.c.id == worker_pk)).one()
    groups = (
        conn.execute(
            sa.select(worker_groups.c.group_name)
            .where(worker_groups.c.worker_id == worker_pk)
            .order_by(worker_groups.c.group_name)
        )
        .scalars()
        .all()
    )
    return _worker(row, groups)


def _worker(row: Any, groups: Sequence[str]) -> Worker:
    return Worker(
        id=row.id,
        worker_id=row.worker_id,
        sub=row.sub,
        email=row.email,
        status=WorkerStatus(row.status),
        groups=tuple(groups),
        created_at=row.created_at,
        issuer=row.issuer,
    )
