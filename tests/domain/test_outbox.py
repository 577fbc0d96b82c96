"""The outbox (crowdloop/outbox.py): every output.json is written exactly once, whoever makes it due
(submit, StopHumanLoop, DeleteHumanLoop, the reaper) and however many writers drain it (two Services on
one database stand for two server processes); claims that ran out are taken over."""

from __future__ import annotations

import contextlib
import dataclasses
import json
import random
import threading
from collections import Counter
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from crowdloop import loops, outbox, output, queue, reaper
from crowdloop.blobs import LocalBlobStore
from crowdloop.clock import ManualClock, SystemClock
from crowdloop.config import Settings
from crowdloop.errors import CrowdloopError
from crowdloop.runtime import Services
from crowdloop.store import dialect, open_store
from crowdloop.store.tables import human_loops
from tests.domain.loopsetup import CALLER, make_flow, make_worker, start


class CountingBlobs:
    """Counts the writes of each object (shared by the Services of one test)."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.lock = threading.Lock()
        self.writes: Counter[str] = Counter()
        self.threads: set[str] = set()

    def put(self, uri: str, data: bytes, content_type: str = "application/json") -> None:
        self.inner.put(uri, data, content_type)
        with self.lock:
            self.writes[uri] += 1
            self.threads.add(threading.current_thread().name)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


@pytest.fixture
def pair(db_url: str, settings: Settings) -> Iterator[tuple[Services, Services, CountingBlobs]]:
    """Two Services on one database, each with its own store (engine) and outbox writer, one blob store."""
    blobs = CountingBlobs(LocalBlobStore(settings.output_path))
    bases = [
        Services(settings=settings, store=open_store(db_url, migrate=False), clock=SystemClock(), blobs=blobs)
        for _ in range(2)
    ]
    writers = [outbox.OutboxWriters(base, [output.KIND], poll_seconds=0.05) for base in bases]
    for w in writers:
        w.start()
    first, second = (dataclasses.replace(base, outbox=w) for base, w in zip(bases, writers, strict=True))
    try:
        yield first, second, blobs
    finally:
        for w in writers:
            w.close()
        for base in bases:
            base.store.dispose()


def _ignore_refusals(action: Any) -> None:
    with contextlib.suppress(CrowdloopError):  # lost a race (stopped, deleted, not ended): expected here
        action()


def test_each_output_written_once_under_concurrency(pair: tuple[Services, Services, CountingBlobs]) -> None:
    first, second, blobs = pair
    flow = make_flow(first, task_count=2)
    crew = [make_worker(first) for _ in range(4)]
    names = [start(first, flow) for _ in range(60)]
    answered: dict[str, str] = {}  # loops with an answer -> output URI: each must get exactly one output.json
    answered_lock = threading.Lock()
    stop = threading.Event()

    def answer(worker_pk: int, svc: Services) -> None:
        while not stop.is_set():
            lease = queue.claim(svc, worker_pk, flow.id)
            if lease is None:
                return
            try:
                result = queue.submit(svc, lease.assignment_id, worker_pk, {"by": worker_pk}, 1)
            except CrowdloopError:  # the loop was stopped under us
                continue
            with answered_lock:
                answered[result.human_loop_name] = result.output_uri

    def stop_and_delete(seed: int, svc: Services) -> None:
        rng = random.Random(seed)
        for name in rng.sample(names, 30):
            _ignore_refusals(lambda name=name: loops.stop_human_loop(svc, CALLER, name))
            _ignore_refusals(lambda name=name: loops.delete_human_loop(svc, CALLER, rng.choice(names)))

    def reap(svc: Services) -> None:
        while not stop.is_set():
            reaper.reap(svc)

    workers = [threading.Thread(target=answer, args=(w.id, first if i % 2 else second)) for i, w in enumerate(crew)] + [
        threading.Thread(target=stop_and_delete, args=(seed, svc)) for seed, svc in ((1, first), (2, second))
    ]
    reapers = [threading.Thread(target=reap, args=(svc,)) for svc in (first, second)]
    for thread in workers + reapers:
        thread.start()
    for thread in workers:
        thread.join(120)
    stop.set()
    for thread in reapers:
        thread.join(60)
    for name in names:  # end what is left, then delete every other loop: all outputs are then due
        _ignore_refusals(lambda name=name: loops.stop_human_loop(first, CALLER, name))
    for name in names[::2]:
        _ignore_refusals(lambda name=name: loops.delete_human_loop(second, CALLER, name))
    for svc in (first, second):
        assert isinstance(svc.outbox, outbox.OutboxWriters)
        svc.outbox.close()

    assert answered, "the workers should have answered"
    uris = set(answered.values())
    assert blobs.writes and set(blobs.writes) == uris
    assert max(blobs.writes.values()) == 1, [uri for uri, n in blobs.writes.items() if n > 1]
    assert all(name.startswith("crowdloop-outbox-") for name in blobs.threads)
    with first.store.read() as conn:
        assert outbox.due_count(conn, output.KIND.name) == 0
        left = conn.execute(sa.select(human_loops.c.name, human_loops.c.output_written)).all()
    assert all(written for name, written in left if name in answered)
    for uri in uris:
        assert json.loads(blobs.get(uri))["humanAnswers"]


def test_a_claim_that_ran_out_is_taken_over(services: Services) -> None:
    flow = make_flow(services)
    worker = make_worker(services)
    writers = outbox.OutboxWriters(services, [output.KIND], poll_seconds=60)  # never started: nothing drains
    svc = dataclasses.replace(services, outbox=writers)
    name = start(svc, flow)
    lease = queue.claim(svc, worker.id, flow.id)
    assert lease is not None
    uri = queue.submit(svc, lease.assignment_id, worker.id, {"ok": 1}, 1).output_uri
    now = services.clock.now()
    with services.store.write() as conn:  # a writer claims the row, then dies
        claimed = dialect.claim_outbox_rows(
            conn,
            "output",
            after=0,
            now=now,
            until=now + timedelta(seconds=outbox.CLAIM_SECONDS),
            token="dead",
            limit=10,
        )
    assert len(claimed) == 1
    assert outbox.drain(services, output.KIND) == 0  # held by the dead writer
    assert isinstance(services.clock, ManualClock)
    services.clock.advance(outbox.CLAIM_SECONDS)
    assert outbox.drain(services, output.KIND) == 1
    assert json.loads(services.blobs.get(uri))["humanLoopName"] == name
    assert outbox.drain(services, output.KIND) == 0


class _DownBlobs:
    def __init__(self, inner: Any) -> None:
        self.inner = inner

    def put(self, uri: str, data: bytes, content_type: str = "application/json") -> None:
        raise OSError("down")

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


def test_upgrade_carries_pending_outputs_into_the_outbox(services: Services) -> None:
    """Migration 0002: a loop whose output a store of revision 0001 still had to write is due after it."""
    from alembic import command

    from crowdloop.store.schema import alembic_config

    down = dataclasses.replace(services, blobs=_DownBlobs(services.blobs))
    flow = make_flow(down)
    worker = make_worker(down)
    name = start(down, flow)
    start(down, flow)  # stays in progress: no output
    lease = queue.claim(down, worker.id, flow.id)
    assert lease is not None
    uri = queue.submit(down, lease.assignment_id, worker.id, {"ok": 1}, 1).output_uri
    config = alembic_config(services.store.url)
    command.downgrade(config, "0001")
    command.upgrade(config, "head")
    with services.store.read() as conn:
        assert outbox.due_count(conn, output.KIND.name) == 1
    assert outbox.drain(services, output.KIND) == 1
    assert json.loads(services.blobs.get(uri))["humanLoopName"] == name


def test_a_close_during_the_linger_is_not_lost(services: Services) -> None:
    """close() while the woken writer lingers: the writer sends and stops, instead of sleeping a whole poll
    interval first (that delayed every shutdown, and bench/queue.py's figures, by the poll interval)."""
    writer = outbox.KindWriter(services, output.KIND, poll_seconds=60, linger_seconds=0.5)
    writer.start()  # woken at once: it lingers 0.5 s before its first pass
    threading.Event().wait(0.1)
    writer.close(timeout_seconds=10)
    assert not [t for t in threading.enumerate() if t.name == "crowdloop-outbox-output"]


def test_backlog_counts_waiting_messages_by_kind(services: Services) -> None:
    clock = services.clock
    assert isinstance(clock, ManualClock)
    assert outbox.backlog(services) == []
    first = clock.now()
    with services.store.write() as conn:
        outbox.mark_due(conn, "events", "a", first)
        outbox.mark_due(conn, "output", "1", first + timedelta(seconds=5))
        outbox.mark_due(conn, "output", "2", first - timedelta(seconds=30))
        outbox.mark_due(conn, "output", "2", first)  # the same message again: still one row, still as old
    assert outbox.backlog(services) == [
        outbox.Backlog("events", 1, first),
        outbox.Backlog("output", 2, first - timedelta(seconds=30)),
    ]
