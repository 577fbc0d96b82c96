"""The event log: each status-change event is recorded in the transaction of the change it reports, then
logged and fanned out to the subscriptions it matches (docs/events.md).

    loop_started / loops_ended / answer_submitted   in the unit of work of the change (worker_paused too): the
                                                    event becomes an outbox row (kind "events", key the event's
                                                    id, payload its bytes), so it exists exactly when the change
                                                    committed
    after_commit(svc)                               wake the fan-out (or fan out now, in a process without
                                                    outbox writers)
    FANOUT                                          the outbox kind: one transaction appends a batch to the
                                                    `events` table and makes the deliveries of the
                                                    subscriptions each event matches due (deliveries.enqueue);
                                                    then the dispatcher and the live streams are woken
    read_after / latest_seq                         the live stream's reads, in log order
    prune                                           the retention sweep (the reaper)

When the event of a change is recorded: a loop started, in StartHumanLoop's transaction; an answer, in the
submit's; a worker paused (worker_paused), in the submit of the gold answer that paused them (gold.py); a
loop that Failed or Stopped without answers, in the transaction that ended it; a loop that Completed or
Stopped with answers, in the transaction that records its output.json as written (output.py), so
that whoever reacts to the event can read the output at once, as on AWS.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from crowdloop import deliveries, events, outbox
from crowdloop.model import HumanLoopStatus
from crowdloop.runtime import Services
from crowdloop.store import dialect
from crowdloop.store.tables import deliveries as delivery_rows
from crowdloop.store.tables import events as event_rows

log = logging.getLogger(__name__)

KIND_NAME = "events"
PRUNE_BATCH = 5000  # rows the retention sweep deletes per pass: a sweep's transaction stays short


def record(conn: Connection, now: datetime, event: events.Event) -> None:
    """Make an event due, in the caller's transaction (one outbox row; the same event twice is one row)."""
    outbox.mark_due(conn, KIND_NAME, event["id"], now, payload=events.encode(event))


def loop_started(
    conn: Connection, now: datetime, *, source: str, loop_arn: str, flow_arn: str, created_at: datetime
) -> None:
    record(
        conn,
        now,
        events.human_loop_started(
            source=source, human_loop_arn=loop_arn, flow_definition_arn=flow_arn, created_at=created_at
        ),
    )


def answer_submitted(
    conn: Connection,
    now: datetime,
    *,
    source: str,
    loop_arn: str,
    flow_arn: str,
    created_at: datetime,
    worker_id: str,
    accepted_at: datetime,
    time_spent_seconds: float,
) -> None:
    record(
        conn,
        now,
        events.answer_submitted(
            source=source,
            human_loop_arn=loop_arn,
            flow_definition_arn=flow_arn,
            created_at=created_at,
            worker_id=worker_id,
            accepted_at=accepted_at,
            submitted_at=now,
            time_spent_seconds=time_spent_seconds,
        ),
    )


def worker_paused(
    conn: Connection,
    now: datetime,
    *,
    source: str,
    flow_arn: str,
    worker_id: str,
    gold_answered: int,
    gold_accuracy: float,
    min_accuracy: float,
) -> None:
    record(
        conn,
        now,
        events.worker_paused(
            source=source,
            flow_definition_arn=flow_arn,
            worker_id=worker_id,
            paused_at=now,
            gold_answered=gold_answered,
            gold_accuracy=gold_accuracy,
            min_accuracy=min_accuracy,
        ),
    )


@dataclass(frozen=True)
class EndedLoop:
    """What the status change event of a loop that became Completed, Failed or Stopped says."""

    arn: str
    flow_arn: str
    status: str
    created_at: datetime
    output_uri: str
    failure_code: str | None = None
    failure_reason: str | None = None

    @classmethod
    def from_row(cls, row: Any, *, status: str | None = None, flow_arn: str | None = None) -> EndedLoop:
        """From a row with the columns arn, flow_arn, status, created_at, output_uri, failure_code and
        failure_reason (the last two may be missing: a loop that did not fail); `status` and `flow_arn`
        stand in for the row's (a status read before the change; a row without the flow's ARN)."""
        status = status or row.status
        failed = status == HumanLoopStatus.FAILED
        return cls(
            arn=row.arn,
            flow_arn=flow_arn or row.flow_arn,
            status=str(status),
            created_at=row.created_at,
            output_uri=row.output_uri,
            failure_code=getattr(row, "failure_code", None) if failed else None,
            failure_reason=getattr(row, "failure_reason", None) if failed else None,
        )


def loops_ended(conn: Connection, now: datetime, loops: Iterable[EndedLoop]) -> int:
    """Record the A2I status change event of each loop (changed at `now`); how many."""
    count = 0
    for loop in loops:
        record(
            conn,
            now,
            events.human_loop_status_change(
                human_loop_arn=loop.arn,
                flow_definition_arn=loop.flow_arn,
                status=loop.status,
                created_at=loop.created_at,
                changed_at=now,
                output_s3_uri=loop.output_uri,
                failure_code=loop.failure_code,
                failure_reason=loop.failure_reason,
            ),
        )
        count += 1
    return count


class Listeners:
    """Who in this process waits for events entering the log (Services.events): the delivery dispatcher,
    the live streams. Each listener is a callable that must return at once and never raise."""

    def __init__(self) -> None:
        self._listeners: list[Callable[[], None]] = []
        self._lock = threading.Lock()

    def add(self, listener: Callable[[], None]) -> None:
        with self._lock:
            self._listeners = [*self._listeners, listener]

    def remove(self, listener: Callable[[], None]) -> None:
        with self._lock:
            self._listeners = [known for known in self._listeners if known is not listener]

    def logged(self) -> None:
        for listener in self._listeners:
            listener()


def after_commit(svc: Services) -> None:
    """After a commit that recorded events: have them fanned out (never raises; what is not fanned out now
    stays due)."""
    outbox.notify(svc, FANOUT)


class _FanOut:
    """The "events" outbox kind: sending an event means logging it and making its deliveries due, both in
    the transaction that deletes its outbox row (so a crash repeats the whole step: the inserts skip what
    exists)."""

    name = KIND_NAME

    def prepare(self, svc: Services, messages: Sequence[outbox.Message]) -> dict[int, bytes | None]:
        return {m.id: (bytes(m.payload) if m.payload is not None else None) for m in messages}

    def send(self, svc: Services, item: bytes) -> None:
        """Nothing leaves the process here: `done` writes the log and the deliveries."""

    def done(self, svc: Services, conn: Connection, messages: Sequence[outbox.Message]) -> None:
        now = svc.clock.now()
        documents = [bytes(m.payload) for m in messages if m.payload is not None]
        parsed = [orjson.loads(body) for body in documents]
        dialect.insert_events_if_absent(
            conn,
            [
                {
                    "event_id": event["id"],
                    "detail_type": event["detail-type"],
                    "time": _event_time(event),
                    "logged_at": now,
                    "body": body,
                }
                for event, body in zip(parsed, documents, strict=True)
            ],
        )
        seqs = dict(
            conn.execute(
                sa.select(event_rows.c.event_id, event_rows.c.seq).where(
                    event_rows.c.event_id.in_([event["id"] for event in parsed])
                )
            ).all()
        )
        deliveries.enqueue(svc, conn, now, [(int(seqs[event["id"]]), event) for event in parsed])

    def settled(self, svc: Services, messages: Sequence[outbox.Message]) -> None:
        if svc.events is not None:
            svc.events.logged()

    def describe(self, message: outbox.Message) -> str:
        return f"event {message.key}"


FANOUT: outbox.Kind[bytes] = _FanOut()


def _event_time(event: events.Event) -> datetime:
    return datetime.strptime(str(event["time"]), "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)


@dataclass(frozen=True)
class LoggedEvent:
    seq: int
    event_id: str
    detail_type: str
    body: bytes


def read_after(conn: Connection, seq: int, limit: int) -> list[LoggedEvent]:
    """The logged events after `seq`, in log order (an index seek: the primary key)."""
    e = event_rows
    rows = conn.execute(
        sa.select(e.c.seq, e.c.event_id, e.c.detail_type, e.c.body).where(e.c.seq > seq).order_by(e.c.seq).limit(limit)
    ).all()
    return [LoggedEvent(int(r.seq), str(r.event_id), str(r.detail_type), bytes(r.body)) for r in rows]


def latest_seq(conn: Connection) -> int:
    """The newest event's place in the log (0: none yet)."""
    return int(conn.execute(sa.select(sa.func.coalesce(sa.func.max(event_rows.c.seq), 0))).scalar_one())


def prune(conn: Connection, now: datetime, retention_days: float) -> int:
    """Delete up to PRUNE_BATCH finished deliveries and events older than the retention, except events a
    pending delivery still needs; how many rows went."""
    cutoff = now - timedelta(days=retention_days)
    gone = deliveries.prune(conn, cutoff, PRUNE_BATCH)
    e, d = event_rows, delivery_rows
    old = (
        sa.select(e.c.seq)
        .where(e.c.logged_at < cutoff, ~sa.exists().where(d.c.event_seq == e.c.seq))
        .order_by(e.c.logged_at)
        .limit(PRUNE_BATCH)
    )
    ids = list(conn.execute(old).scalars())
    if ids:
        gone += conn.execute(e.delete().where(e.c.seq.in_(ids))).rowcount
    return gone
