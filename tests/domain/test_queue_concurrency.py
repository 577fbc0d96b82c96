"""32 workers hammering one job at once, on SQLite and PostgreSQL: a worker never holds or answers a loop
twice, no loop gets more than TaskCount answers, and nothing is stranded once abandoned leases expire."""

from __future__ import annotations

import contextlib
import json
import random
import threading
from collections import Counter
from collections.abc import Callable

import sqlalchemy as sa

from crowdloop import loops, queue, reaper, workers
from crowdloop.clock import ManualClock
from crowdloop.errors import InvalidInput, TaskUnavailable
from crowdloop.model import HumanLoopStatus, WorkerStatus
from crowdloop.runtime import Services
from crowdloop.store.tables import assignments, human_loops
from tests.domain.loopsetup import CALLER, make_flow, make_worker, start

WORKERS = 32
LOOPS = 40
TASK_COUNT = 3


def _run_all(targets: list[Callable[[], None]]) -> None:
    errors: list[BaseException] = []
    barrier = threading.Barrier(len(targets))

    def run(target: Callable[[], None]) -> None:
        try:
            barrier.wait()
            target()
        except BaseException as exc:  # reported below: a thread's failure must fail the test
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(t,)) for t in targets]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    assert not any(t.is_alive() for t in threads), "a worker thread hung"
    assert not errors, errors


def _check_invariants(svc: Services) -> None:
    a, h = assignments, human_loops
    with svc.store.read() as conn:
        rows = conn.execute(sa.select(a.c.loop_id, a.c.worker_id, a.c.state)).all()
        loop_rows = conn.execute(sa.select(h.c.id, h.c.task_count, h.c.open_slots, h.c.answers_count, h.c.status)).all()
    holding = Counter((r.loop_id, r.worker_id) for r in rows if r.state in ("leased", "submitted", "declined"))
    assert max(holding.values()) == 1, "a worker held or answered a loop twice"
    submitted = Counter(r.loop_id for r in rows if r.state == "submitted")
    leased = Counter(r.loop_id for r in rows if r.state == "leased")
    for loop in loop_rows:
        assert submitted[loop.id] == loop.answers_count <= loop.task_count
        assert leased[loop.id] + submitted[loop.id] <= loop.task_count
        if loop.status == HumanLoopStatus.IN_PROGRESS:
            assert loop.open_slots == loop.task_count - loop.answers_count - leased[loop.id]
        assert (loop.status == HumanLoopStatus.COMPLETED) == (loop.answers_count == loop.task_count)
        if loop.status != HumanLoopStatus.IN_PROGRESS:
            assert loop.open_slots == 0 and leased[loop.id] == 0


def test_concurrent_workers(services: Services) -> None:
    clock = services.clock
    assert isinstance(clock, ManualClock)
    flow = make_flow(services, task_count=TASK_COUNT, time_limit=60)
    names = [start(services, flow, f"c-{i}") for i in range(LOOPS)]
    crew = [make_worker(services) for _ in range(WORKERS)]
    abandoned: list[int] = []

    def churn(worker_pk: int, seed: int) -> None:
        rnd = random.Random(seed)
        while (lease := queue.claim(services, worker_pk, flow.id)) is not None:
            roll = rnd.random()
            if roll < 0.05:
                abandoned.append(lease.assignment_id)  # walk away holding the lease
                return
            if roll < 0.15:
                queue.release(services, lease.assignment_id, worker_pk)
            elif roll < 0.2:
                queue.decline(services, lease.assignment_id, worker_pk)
            else:
                queue.submit(services, lease.assignment_id, worker_pk, {"by": worker_pk}, rnd.random() * 10)

    def finish(worker_pk: int) -> None:
        while (lease := queue.claim(services, worker_pk, flow.id)) is not None:
            queue.submit(services, lease.assignment_id, worker_pk, {"by": worker_pk}, 1.0)

    _run_all([lambda w=w.id, i=i: churn(w, i) for i, w in enumerate(crew)])  # type: ignore[misc]
    _check_invariants(services)

    clock.advance(60)
    assert reaper.reap(services).expired_leases == len(abandoned)
    _run_all([lambda w=w.id: finish(w) for w in crew])  # type: ignore[misc]
    _check_invariants(services)

    for name in names:
        loop = loops.describe_human_loop(services, CALLER, name)
        assert loop.status is HumanLoopStatus.COMPLETED, name
        document = json.loads(services.blobs.get(loop.output_uri))
        answers = document["humanAnswers"]
        assert len(answers) == TASK_COUNT
        assert len({answer["workerId"] for answer in answers}) == TASK_COUNT
    assert queue.jobs_for_worker(services, crew[0].id) == []


def test_revocations_racing_submissions(services: Services) -> None:
    """Workers submit the last answers while StopHumanLoop and disabling run at the same time: no deadlock,
    no error, a stopped loop never completes, and every answer or slot is counted exactly once."""
    flow = make_flow(services, task_count=2, time_limit=600)
    names = [start(services, flow, f"r-{i}") for i in range(24)]
    crew = [make_worker(services) for _ in range(2 * len(names))]
    emails = {worker.id: worker.email for worker in crew}
    leases: dict[str, list[queue.Lease]] = {name: [] for name in names}
    for worker in crew:
        lease = queue.claim(services, worker.id, flow.id)
        assert lease is not None
        leases[lease.human_loop_name].append(lease)
    stopped: list[str] = []

    def submit_all(batch: list[queue.Lease]) -> None:
        for lease in batch:
            with contextlib.suppress(TaskUnavailable):  # withdrawn first: the invariants check the rest
                queue.submit(services, lease.assignment_id, lease.worker_pk, {"by": lease.worker_pk}, 1.0)

    def stop_all() -> None:
        for name in names[::2]:
            try:
                loops.stop_human_loop(services, CALLER, name)
                stopped.append(name)
            except InvalidInput:
                pass  # completed first

    def disable_some() -> None:
        for name in names[1::2]:
            workers.set_status(services, emails[leases[name][0].worker_pk], WorkerStatus.DISABLED)

    firsts = [ls[0] for ls in leases.values()]
    seconds = [ls[1] for ls in leases.values()]
    _run_all([lambda: submit_all(firsts), lambda: submit_all(seconds), stop_all, disable_some])
    _check_invariants(services)
    for name in stopped:
        loop = loops.describe_human_loop(services, CALLER, name)
        assert loop.status is HumanLoopStatus.STOPPED, name
