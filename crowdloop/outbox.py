"""The outbox: messages that leave the process (output.json; status events, eventlog.py), each written as a
row of the `outbox` table in the same transaction as the change it reports, and sent afterwards by one
writer per kind of message.

    mark_due(conn, kind, key, now)   in the unit of work that makes the message due (one row per key)
    backlog(svc)                     what is waiting, by kind (the metrics' writer lag)
    notify(svc, kind)                after that commit: wake the kind's writer
    drain(svc, kind)                 one pass of a writer: claim due rows, send each, mark done / retry later
    OutboxWriters                    the server's writer threads, one per kind, started and stopped with
                                     the app's lifespan

A kind (`Kind`) says how to turn claimed rows into what it sends (`prepare`, one read for a batch), how
to send one (`send`: the blocking I/O, only ever in a writer's thread) and what to record in the
transaction that marks rows done (`done`), and whom to tell once that committed (`settled`).

What is guaranteed. A row is claimed by one writer at a time: the claim is one UPDATE statement
(store.dialect.claim_outbox_rows; PostgreSQL `FOR UPDATE SKIP LOCKED`, SQLite `BEGIN IMMEDIATE`) that
gives the row to a writer for CLAIM_SECONDS, which the writer renews while it works through a batch.
A row is deleted (and the kind's `done` recorded) in one transaction after its message was sent. So every
message is sent at least once, and exactly once unless (a) the process dies, or its database transaction
fails, between a send and that transaction: the row is claimed again once its claim has run out and the
message sent again, the same message; or (b) a single send outlasts the claim's remaining time (at least
CLAIM_SECONDS - RENEW_SECONDS): another writer may then claim it too. Two processes on one database never
send the same message otherwise. A send that fails is retried at the writer's next pass.

Where sending runs: in a server, always in the writer threads (`OutboxWriters`), never in a request; a
process without writers (a script, a CLI command, the tests' Services) sends in the thread that
committed, which is never an event loop there (crowdloop.blocking).
"""

from __future__ import annotations

import logging
import secrets
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol, TypeVar

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from crowdloop.errors import Unavailable
from crowdloop.runtime import Services
from crowdloop.store import dialect
from crowdloop.store.tables import outbox

log = logging.getLogger(__name__)

BATCH = 256  # rows claimed at once
CLAIM_SECONDS = 10.0  # a claim's length; a writer killed mid-batch delays its rows by at most this
RENEW_SECONDS = 5.0  # a writer renews its claim when less than this is left
LINGER_SECONDS = 0.02  # a woken writer waits this long to collect a batch


@dataclass(frozen=True)
class Message:
    id: int
    key: str
    payload: bytes | None
    attempts: int


Item = TypeVar("Item")


class Kind(Protocol[Item]):
    """One kind of outgoing message."""

    @property
    def name(self) -> str: ...

    def prepare(self, svc: Services, messages: Sequence[Message]) -> dict[int, Item | None]:
        """What to send for each message id (one read for the batch); None: nothing to send any more
        (the row is deleted); a message left out is retried later."""
        ...

    def send(self, svc: Services, item: Item) -> None:
        """Send one message (blocking I/O). Raise Unavailable when the destination is down: the rest of
        the batch waits for the next pass."""
        ...

    def done(self, svc: Services, conn: Connection, messages: Sequence[Message]) -> None:
        """Record, in the transaction that deletes their rows, that these messages were sent."""
        ...

    def settled(self, svc: Services, messages: Sequence[Message]) -> None:
        """After the transaction that recorded these messages as sent committed (wake whoever reads what
        `done` wrote). Must not raise."""
        ...

    def describe(self, message: Message) -> str:
        """For the log: what this message is ("output.json of human loop 7")."""
        ...


def mark_due(conn: Connection, kind: str, key: str, now: datetime, payload: bytes | None = None) -> None:
    """Make a message due, in the caller's transaction. A second call for a (kind, key) whose row is
    still there changes nothing, except that a payload given replaces the row's."""
    dialect.insert_outbox_row(conn, kind, key, now, payload, replace_payload=payload is not None)


def notify(svc: Services, kind: Kind[Any]) -> int:
    """After the commit that made messages of `kind` due: wake the process's writer for the kind, or, in a
    process without one, send them now in this thread. Returns how many were sent here. Never raises:
    whatever is not sent stays due."""
    if svc.outbox is not None and svc.outbox.wake(kind.name):
        return 0
    try:
        return drain(svc, kind)
    except Exception:  # the database is down: the rows stay due, the next pass sends them
        log.warning("sending %s messages failed; will retry", kind.name, exc_info=True)
        return 0


def drain(svc: Services, kind: Kind[Any], *, batch: int = BATCH) -> int:
    """Send every message of `kind` that is due and unclaimed now, in batches, each row at most once per
    pass (a failed one waits for the next). Returns how many were sent; stops early on an outage."""
    token = secrets.token_hex(8)
    after, sent = 0, 0
    while True:
        with svc.store.write() as conn:
            now = svc.clock.now()
            rows = dialect.claim_outbox_rows(
                conn, kind.name, after=after, now=now, until=_until(now), token=token, limit=batch
            )
        if not rows:
            return sent
        after = int(rows[-1].id)
        messages = [Message(int(r.id), str(r.key), r.payload, int(r.attempts)) for r in rows]
        delivered, outage = _deliver(svc, kind, messages, token)
        sent += delivered
        if outage or len(rows) < batch:
            return sent


def _deliver(svc: Services, kind: Kind[Any], messages: list[Message], token: str) -> tuple[int, bool]:
    """Send a claimed batch and settle its rows: (how many were sent, whether an outage cut it short)."""
    try:
        items = kind.prepare(svc, messages)
    except Exception:
        _settle(svc, kind, token, done=[], obsolete=[], failed=[], unsent=messages)
        raise
    renew_at = time.monotonic() + CLAIM_SECONDS - RENEW_SECONDS
    done: list[Message] = []
    failed: list[Message] = []
    obsolete = [m for m in messages if m.id in items and items[m.id] is None]
    todo = [m for m in messages if items.get(m.id) is not None]
    outage = False
    for index, message in enumerate(todo):
        if time.monotonic() >= renew_at:
            _renew(svc, todo[index:], token)
            renew_at = time.monotonic() + CLAIM_SECONDS - RENEW_SECONDS
        try:
            kind.send(svc, items[message.id])
        except Unavailable as exc:  # the destination is down: the rest would fail the same way
            log.warning("sending %d %s messages postponed: %s", len(todo) - index, kind.name, exc.message)
            outage = True
            break
        except Exception:  # retried next pass: a failed send must not undo the committed change
            log.warning("sending %s failed; will retry", kind.describe(message), exc_info=True)
            failed.append(message)
            continue
        done.append(message)
    settled = {m.id for m in (*done, *failed, *obsolete)}
    unsent = [m for m in messages if m.id not in settled]
    _settle(svc, kind, token, done=done, obsolete=obsolete, failed=failed, unsent=unsent)
    if done:
        kind.settled(svc, done)
    return len(done), outage


def _settle(
    svc: Services,
    kind: Kind[Any],
    token: str,
    *,
    done: list[Message],
    obsolete: list[Message],
    failed: list[Message],
    unsent: list[Message],
) -> None:
    """One transaction: record `kind.done` and delete the rows sent, delete the obsolete ones, let go of
    the others (the failed ones counting an attempt)."""
    with svc.store.write() as conn:
        if done:  # first: DeleteHumanLoop locks the loop row before it touches the loop's outbox row
            kind.done(svc, conn, done)
        finished = [m.id for m in (*done, *obsolete)]
        if finished:
            deleted = conn.execute(_DELETE_SENT, {"ids": finished, "token": token}).rowcount
            if deleted != len(finished):  # a claim ran out mid-batch: another writer holds those rows now
                log.warning(
                    "%d %s messages were claimed again before they were marked sent", len(finished) - deleted, kind.name
                )
        for messages, statement in ((failed, _RELEASE_FAILED), (unsent, _RELEASE_UNSENT)):
            if messages:
                conn.execute(statement, {"ids": [m.id for m in messages], "token": token})


# The settling statements, built once (a writer settles every batch).
_MINE = sa.and_(outbox.c.id.in_(sa.bindparam("ids", expanding=True)), outbox.c.claim_token == sa.bindparam("token"))
_DELETE_SENT = outbox.delete().where(_MINE)
_RELEASE_FAILED = (
    outbox.update().where(_MINE).values(claimed_until=None, claim_token=None, attempts=outbox.c.attempts + 1)
)
_RELEASE_UNSENT = outbox.update().where(_MINE).values(claimed_until=None, claim_token=None)


def _renew(svc: Services, messages: Sequence[Message], token: str) -> None:
    o = outbox
    with svc.store.write() as conn:
        conn.execute(
            o.update()
            .where(o.c.id.in_([m.id for m in messages]), o.c.claim_token == token)
            .values(claimed_until=_until(svc.clock.now()))
        )


def _until(now: datetime) -> datetime:
    return now + timedelta(seconds=CLAIM_SECONDS)


def waiting(svc: Services, kind: str) -> bool:
    """Whether a message of `kind` is waiting (a read: an idle poll takes no write lock)."""
    with svc.store.read() as conn:
        return conn.execute(sa.select(outbox.c.id).where(outbox.c.kind == kind).limit(1)).first() is not None


def due_count(conn: Connection, kind: str) -> int:
    """How many messages of `kind` are waiting (claimed or not)."""
    return int(conn.execute(sa.select(sa.func.count()).where(outbox.c.kind == kind)).scalar_one())


@dataclass(frozen=True)
class Backlog:
    kind: str
    pending: int  # messages waiting (claimed or not)
    oldest_due_at: datetime  # since when the oldest of them is due


def backlog(svc: Services) -> list[Backlog]:
    """The messages waiting, by kind (kinds with none are left out): one grouped read of the outbox, whose
    rows are deleted once sent, so its cost follows the backlog, not the store."""
    o = outbox
    with svc.store.read() as conn:
        rows = conn.execute(
            sa.select(o.c.kind, sa.func.count(), sa.func.min(o.c.due_at)).group_by(o.c.kind).order_by(o.c.kind)
        ).all()
    return [Backlog(str(kind), int(count), due_at) for kind, count, due_at in rows]


class KindWriter:
    """The thread sending one kind's messages. It runs a pass (`drain`) when woken, at the latest every
    poll_seconds (retries, and rows other processes made due), and one when it starts (whatever an
    earlier process left). Woken, it first lingers LINGER_SECONDS to collect a batch: one wake-up per
    batch, not per message (waking a thread is a cross-CPU interrupt; on virtual machines one per answer
    cost more than writing the file)."""

    def __init__(
        self,
        svc: Services,
        kind: Kind[Any],
        *,
        poll_seconds: float,
        linger_seconds: float = LINGER_SECONDS,
        peek: bool = False,
    ):
        self._svc = svc
        self.kind = kind
        self._poll_seconds = poll_seconds
        self._linger_seconds = linger_seconds
        self._peek = peek  # poll with a read first: a write transaction only when something is due
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is not None:
            return
        self._wake.set()  # the first pass sends what is already due
        self._thread = threading.Thread(target=self._run, name=f"crowdloop-outbox-{self.kind.name}", daemon=True)
        self._thread.start()

    def wake(self) -> None:
        self._wake.set()

    def bind(self, svc: Services) -> None:
        """Use these Services from now on (the app's, which carry these writers)."""
        self._svc = svc

    def close(self, timeout_seconds: float = 10.0) -> None:
        """Send what is due, then stop."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout_seconds)

    def _run(self) -> None:
        self._svc.store.pin_connections()
        try:
            self._loop()
        finally:
            self._svc.store.unpin_connections()

    def _loop(self) -> None:
        while True:
            woken = self._wake.wait(self._poll_seconds)
            if woken and not self._stop.is_set():
                time.sleep(self._linger_seconds)
            self._wake.clear()
            # read after the clear: a close() that came before it is seen here, one after it wakes the next wait
            # (read before, a close() during the linger was lost and the writer slept a whole poll interval)
            closing = self._stop.is_set()
            try:
                if not woken and self._peek and not closing and not waiting(self._svc, self.kind.name):
                    continue
                drain(self._svc, self.kind)
            except Unavailable as exc:  # the database is down: the next pass retries
                log.warning("sending %s messages postponed: %s", self.kind.name, exc.message)
            except Exception:
                log.exception("sending %s messages failed; will retry", self.kind.name)
            if closing:
                return


class OutboxWriters:
    """The server's writers, one thread per kind (Services.outbox). Nothing runs until start(). Kinds named
    in `elsewhere` are sent by another process (crowdloop.deliverer): waking them does nothing here."""

    def __init__(
        self,
        svc: Services,
        kinds: Sequence[Kind[Any]],
        *,
        poll_seconds: float,
        peek: bool = False,
        elsewhere: Sequence[str] = (),
    ) -> None:
        self._writers = {kind.name: KindWriter(svc, kind, poll_seconds=poll_seconds, peek=peek) for kind in kinds}
        self._elsewhere = frozenset(elsewhere)

    def wake(self, kind: str) -> bool:
        if kind in self._elsewhere:
            return True
        writer = self._writers.get(kind)
        if writer is None:
            return False
        writer.wake()  # before start(): start's first pass sends it
        return True

    def bind(self, svc: Services) -> None:
        """Hand the writers the Services that carry them (so what they send can wake the others)."""
        for writer in self._writers.values():
            writer.bind(svc)

    def start(self) -> None:
        for writer in self._writers.values():
            writer.start()

    def close(self, timeout_seconds: float = 10.0) -> None:
        for writer in self._writers.values():
            writer.close(timeout_seconds)
