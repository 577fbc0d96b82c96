"""Deliveries: one row per (subscription, event it matches), pending until its target took it, then
delivered, or failed once the retry window (setting `webhook_retry_hours`) is over (docs/events.md).

    enqueue      the fan-out (eventlog.FANOUT), in its transaction: a pending delivery per matching subscription
    claim        a dispatcher lane takes a subscription's due deliveries for CLAIM_SECONDS (one UPDATE; on
                 PostgreSQL SKIP LOCKED): two lanes, in one process or two, never hold the same delivery
    settle       one transaction for a lane's results: delivered, retried later (webhook_retry's backoff with
                 jitter, or the receiver's Retry-After), failed; the rest of a batch held back behind a failure
    listing, detail, redeliver, summary, prune    the console, the CLI and the API
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from crowdloop import subscriptions, webhook_retry
from crowdloop.errors import InvalidInput, NotFound
from crowdloop.runtime import Services
from crowdloop.store import dialect
from crowdloop.store.tables import deliveries, events

PENDING, DELIVERED, FAILED = "pending", "delivered", "failed"
STATES = (PENDING, DELIVERED, FAILED)
CLAIM_SECONDS = 60.0  # the longest claim; a lane sends only while its claim has more than an attempt left
ERROR_CHARS = 512
SUMMARY_CAP = 10_000  # the console counts at most this many (a bounded read), then says "10,000+"


def enqueue(svc: Services, conn: Connection, now: datetime, logged: Sequence[tuple[int, dict[str, Any]]]) -> int:
    """Make a delivery due for each (event, subscription whose pattern matches it); how many."""
    if not logged:
        return 0
    patterns = subscriptions.matchers(svc, conn)
    rows = [
        {"subscription_id": sub_id, "event_seq": seq, "state": PENDING, "created_at": now, "next_attempt_at": now}
        for seq, event in logged
        for sub_id, pattern in patterns
        if pattern.matches(event)
    ]
    dialect.insert_deliveries_if_absent(conn, rows)
    return len(rows)


@dataclass(frozen=True)
class Claimed:
    id: int
    event_id: str
    body: bytes
    attempts: int  # attempts before this one
    created_at: datetime  # the retry window starts here


def claim(
    svc: Services, subscription_id: int, token: str, limit: int, claim_seconds: float = CLAIM_SECONDS
) -> list[Claimed]:
    """Take up to `limit` due deliveries of the subscription for this lane for `claim_seconds` (a lane that
    dies holds them that long), with their events."""
    with svc.store.write() as conn:
        now = svc.clock.now()
        until = now + timedelta(seconds=min(claim_seconds, CLAIM_SECONDS))
        rows = dialect.claim_deliveries(conn, subscription_id, now=now, until=until, token=token, limit=limit)
        if not rows:
            return []
        bodies = {
            int(seq): (str(event_id), bytes(body))
            for seq, event_id, body in conn.execute(
                sa.select(events.c.seq, events.c.event_id, events.c.body).where(
                    events.c.seq.in_([int(r.event_seq) for r in rows])
                )
            )
        }
    claimed = [
        Claimed(int(r.id), *bodies[int(r.event_seq)], attempts=int(r.attempts), created_at=r.created_at) for r in rows
    ]
    return sorted(claimed, key=lambda c: c.id)


# A delivery sent: one statement for every row of a batch (executemany), built once.
_DELIVERED = (
    deliveries.update()
    .where(deliveries.c.id == sa.bindparam("delivery"), deliveries.c.claim_token == sa.bindparam("token"))
    .values(
        state=DELIVERED,
        attempts=deliveries.c.attempts + 1,
        last_attempt_at=sa.bindparam("now", type_=deliveries.c.last_attempt_at.type),
        last_status=sa.bindparam("status", type_=sa.Integer),
        last_error=None,
        ended_at=sa.bindparam("now", type_=deliveries.c.ended_at.type),
        claimed_until=None,
        claim_token=None,
    )
)


class Outcome(Protocol):
    """One attempt's result (webhook_http.Attempt)."""

    @property
    def ok(self) -> bool: ...
    @property
    def status(self) -> int | None: ...
    @property
    def error(self) -> str: ...
    @property
    def retry_after_seconds(self) -> float | None: ...


def settle(
    svc: Services,
    token: str,
    results: Sequence[tuple[Claimed, Outcome]],
    held_back: Sequence[Claimed] = (),
    rng: random.Random | None = None,
) -> datetime | None:
    """Record a lane's attempts in one transaction. Deliveries `held_back` (not tried: an earlier one of the
    batch failed) wait until the first failure's next attempt, their attempt counts unchanged, or fail with it
    when it was the last. Returns that next attempt time (None: every attempt succeeded, or the window ended)."""
    rng = rng or random.Random()
    policy = webhook_retry.RetryPolicy.from_settings(svc.settings)
    d = deliveries
    mine = d.c.claim_token == token
    hold_until: datetime | None = None
    hold_error = ""
    with svc.store.write() as conn:
        now = svc.clock.now()
        delivered = [{"delivery": c.id, "token": token, "now": now, "status": o.status} for c, o in results if o.ok]
        if delivered:
            conn.execute(_DELIVERED, delivered)
        for claimed, outcome in results:
            if outcome.ok:
                continue
            attempts = claimed.attempts + 1
            next_at = webhook_retry.next_attempt(attempts, claimed.created_at, now, rng, policy)
            if next_at is not None and outcome.retry_after_seconds:
                deadline = claimed.created_at + policy.window
                next_at = min(max(next_at, now + timedelta(seconds=outcome.retry_after_seconds)), deadline)
            error = outcome.error[:ERROR_CHARS]
            values: dict[str, Any] = {
                "attempts": attempts,
                "last_attempt_at": now,
                "last_status": outcome.status,
                "last_error": error,
                "claimed_until": None,
                "claim_token": None,
            }
            if next_at is None:
                values.update(state=FAILED, ended_at=now)
            else:
                values.update(next_attempt_at=next_at)
            conn.execute(d.update().where(d.c.id == claimed.id, mine).values(**values))
            if hold_until is None:
                hold_until, hold_error = next_at or now, error
        if held_back:
            _hold_back(conn, token, held_back, hold_until or now, hold_error, policy, now)
    return hold_until


def _hold_back(
    conn: Connection,
    token: str,
    held: Sequence[Claimed],
    until: datetime,
    error: str,
    policy: webhook_retry.RetryPolicy,
    now: datetime,
) -> None:
    """Deliveries not tried behind a failure: those whose retry window is over fail, the others wait."""
    d = deliveries
    mine = d.c.claim_token == token
    expired = [c.id for c in held if c.created_at + policy.window <= now]
    waiting = [c.id for c in held if c.created_at + policy.window > now]
    if expired:
        conn.execute(
            d.update()
            .where(d.c.id.in_(expired), mine)
            .values(
                state=FAILED,
                ended_at=now,
                last_error=f"not tried: the target was failing when the retry window ended ({error})"[:ERROR_CHARS],
                claimed_until=None,
                claim_token=None,
            )
        )
    if waiting:
        conn.execute(
            d.update()
            .where(d.c.id.in_(waiting), mine)
            .values(next_attempt_at=until, claimed_until=None, claim_token=None)
        )


def release(svc: Services, token: str, claimed: Sequence[Claimed]) -> None:
    """Let go of deliveries not tried (the process is stopping): due again at once."""
    if claimed:
        with svc.store.write() as conn:
            conn.execute(
                deliveries.update()
                .where(deliveries.c.id.in_([c.id for c in claimed]), deliveries.c.claim_token == token)
                .values(claimed_until=None, claim_token=None)
            )


@dataclass(frozen=True)
class Delivery:
    id: int
    subscription_id: int
    event_id: str
    detail_type: str
    event_time: datetime
    state: str
    attempts: int
    created_at: datetime
    next_attempt_at: datetime | None  # None once ended
    last_attempt_at: datetime | None
    last_status: int | None
    last_error: str | None
    ended_at: datetime | None

    def public(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "subscriptionId": self.subscription_id,
            "eventId": self.event_id,
            "detailType": self.detail_type,
            "eventTime": self.event_time,
            "state": self.state,
            "attempts": self.attempts,
            "createdAt": self.created_at,
            "nextAttemptAt": self.next_attempt_at,
            "lastAttemptAt": self.last_attempt_at,
            "lastStatus": self.last_status,
            "lastError": self.last_error,
            "endedAt": self.ended_at,
        }


_COLUMNS = (
    deliveries.c.id,
    deliveries.c.subscription_id,
    events.c.event_id,
    events.c.detail_type,
    events.c.time.label("event_time"),
    deliveries.c.state,
    deliveries.c.attempts,
    deliveries.c.created_at,
    deliveries.c.next_attempt_at,
    deliveries.c.last_attempt_at,
    deliveries.c.last_status,
    deliveries.c.last_error,
    deliveries.c.ended_at,
)


def _to_delivery(row: Any) -> Delivery:
    return Delivery(
        id=int(row.id),
        subscription_id=int(row.subscription_id),
        event_id=row.event_id,
        detail_type=row.detail_type,
        event_time=row.event_time,
        state=row.state,
        attempts=int(row.attempts),
        created_at=row.created_at,
        next_attempt_at=row.next_attempt_at if row.state == PENDING else None,
        last_attempt_at=row.last_attempt_at,
        last_status=row.last_status,
        last_error=row.last_error,
        ended_at=row.ended_at,
    )


def listing(
    svc: Services, subscription_id: int, *, state: str | None = None, before_id: int | None = None, limit: int = 50
) -> list[Delivery]:
    """A subscription's deliveries, newest first, optionally in one state; `before_id` continues a page (a
    keyset seek on ix_deliveries_list, whatever the number of deliveries)."""
    if state is not None and state not in STATES:
        raise InvalidInput(f"Value '{state}' at 'state' must be one of: {', '.join(STATES)}.", "state")
    if not 1 <= limit <= 1000:
        raise InvalidInput("The limit must be from 1 to 1000.", "limit")
    subscriptions.get(svc, subscription_id)  # NotFound for an unknown one
    d = deliveries
    query = (
        sa.select(*_COLUMNS).join(events, events.c.seq == d.c.event_seq).where(d.c.subscription_id == subscription_id)
    )
    if state is not None:
        query = query.where(d.c.state == state)
    if before_id is not None:
        query = query.where(d.c.id < before_id)
    with svc.store.read() as conn:
        rows = conn.execute(query.order_by(d.c.id.desc()).limit(limit)).all()
    return [_to_delivery(row) for row in rows]


def detail(svc: Services, delivery_id: int) -> tuple[Delivery, bytes]:
    """One delivery and the exact bytes of its event."""
    d = deliveries
    with svc.store.read() as conn:
        row = conn.execute(
            sa.select(*_COLUMNS, events.c.body).join(events, events.c.seq == d.c.event_seq).where(d.c.id == delivery_id)
        ).first()
    if row is None:
        raise NotFound("delivery", str(delivery_id), f"Delivery {delivery_id} does not exist.")
    return _to_delivery(row), bytes(row.body)


def redeliver(svc: Services, delivery_id: int) -> Delivery:
    """Send a delivery again now, whatever its state, with a new retry window (same event: same webhook-id)."""
    with svc.store.write() as conn:
        now = svc.clock.now()
        gone = not conn.execute(
            deliveries.update().where(deliveries.c.id == delivery_id).values(**_again(now))
        ).rowcount
    if gone:
        raise NotFound("delivery", str(delivery_id), f"Delivery {delivery_id} does not exist.")
    _wake(svc)
    return detail(svc, delivery_id)[0]


def redeliver_failed(svc: Services, subscription_id: int) -> int:
    """Send every failed delivery of a subscription again; how many."""
    subscriptions.get(svc, subscription_id)
    d = deliveries
    with svc.store.write() as conn:
        count = conn.execute(
            d.update()
            .where(d.c.subscription_id == subscription_id, d.c.state == FAILED)
            .values(**_again(svc.clock.now()))
        ).rowcount
    _wake(svc)
    return int(count)


def _again(now: datetime) -> dict[str, Any]:
    return {
        "state": PENDING,
        "created_at": now,
        "next_attempt_at": now,
        "ended_at": None,
        "claimed_until": None,
        "claim_token": None,
    }


def _wake(svc: Services) -> None:
    if svc.events is not None:
        svc.events.logged()


def summary(svc: Services, subscription_id: int) -> dict[str, int]:
    """How many deliveries of the subscription are pending and failed, each counted up to SUMMARY_CAP (an
    index range read of at most that many entries)."""
    d = deliveries
    counts = {}
    with svc.store.read() as conn:
        for state in (PENDING, FAILED):
            capped = (
                sa.select(d.c.id).where(d.c.subscription_id == subscription_id, d.c.state == state).limit(SUMMARY_CAP)
            ).subquery()
            counts[state] = int(conn.execute(sa.select(sa.func.count()).select_from(capped)).scalar_one())
    return counts


def prune(conn: Connection, cutoff: datetime, limit: int) -> int:
    """Delete up to `limit` deliveries that ended before `cutoff` (the retention sweep, eventlog.prune)."""
    d = deliveries
    ids = list(
        conn.execute(
            sa.select(d.c.id).where(d.c.ended_at < cutoff, d.c.state != PENDING).order_by(d.c.ended_at).limit(limit)
        ).scalars()
    )
    if not ids:
        return 0
    return int(conn.execute(d.delete().where(d.c.id.in_(ids))).rowcount)


@dataclass(frozen=True)
class Backlog:
    subscription_id: int
    pending: int  # capped at SUMMARY_CAP
    failed: int  # capped at SUMMARY_CAP
    oldest_due_at: datetime | None  # the earliest due time among pending deliveries (None: none pending)


def backlog(svc: Services) -> list[Backlog]:
    """Per subscription: pending and failed deliveries (bounded counts) and the oldest due time (an index
    seek): the metrics' delivery lag."""
    d = deliveries
    found = []
    for subscription in subscriptions.list_all(svc):
        counts = summary(svc, subscription.id)
        with svc.store.read() as conn:
            oldest = conn.execute(
                sa.select(sa.func.min(d.c.next_attempt_at)).where(
                    d.c.subscription_id == subscription.id, d.c.state == PENDING
                )
            ).scalar()
        found.append(Backlog(subscription.id, counts[PENDING], counts[FAILED], oldest))
    return found
