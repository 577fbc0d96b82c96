"""32 workers claiming, releasing, declining and submitting on an adaptive flow at once, on SQLite and
PostgreSQL: never more than TaskCount answers, never a worker twice, no loop left without a slot or a lease,
and a loop completes before TaskCount only when its answers agree."""

from __future__ import annotations

import random
from collections import Counter, defaultdict
from typing import Any

import sqlalchemy as sa

from crowdloop import agreement_item, output, queue, reaper
from crowdloop.clock import ManualClock
from crowdloop.model import HumanLoopStatus
from crowdloop.runtime import Services
from crowdloop.store.tables import assignments, human_loops
from tests.domain.loopsetup import make_worker, start
from tests.domain.test_adaptive import BEST_FIRST, BEST_LAST, ITEM, adaptive_flow
from tests.domain.test_queue_concurrency import _run_all

WORKERS = 32
LOOPS = 30
TASK_COUNT = 5
MINIMUM = 2
TARGET = 0.8


def _check_invariants(svc: Services, quiet: bool) -> None:
    a, h = assignments, human_loops
    with svc.store.read() as conn:
        rows = conn.execute(sa.select(a.c.loop_id, a.c.worker_id, a.c.state, a.c.answer_content)).all()
        loop_rows = conn.execute(sa.select(h.c.id, h.c.task_count, h.c.open_slots, h.c.answers_count, h.c.status)).all()
    holding = Counter((r.loop_id, r.worker_id) for r in rows if r.state in ("leased", "submitted", "declined"))
    assert max(holding.values()) == 1, "a worker held or answered a loop twice"
    answers: dict[int, list[tuple[str, Any]]] = defaultdict(list)
    for r in rows:
        if r.state == "submitted":
            answers[r.loop_id].append((str(r.worker_id), output.loads_json(r.answer_content)))
    leased = Counter(r.loop_id for r in rows if r.state == "leased")
    for loop in loop_rows:
        got = answers[loop.id]
        assert len(got) == loop.answers_count <= loop.task_count == TASK_COUNT
        assert loop.open_slots + leased[loop.id] + loop.answers_count <= loop.task_count
        if loop.status == HumanLoopStatus.COMPLETED:
            assert loop.answers_count >= MINIMUM and loop.open_slots == 0 and leased[loop.id] == 0
            if loop.answers_count < loop.task_count:
                agreement = agreement_item.item_agreement(ITEM, got)
                assert agreement is not None and agreement >= TARGET
        elif quiet:  # nothing running: a loop in progress can always be worked on
            assert loop.open_slots + leased[loop.id] >= 1, "a loop in progress was left without a slot"
            assert loop.open_slots + leased[loop.id] + loop.answers_count >= MINIMUM


def test_concurrent_workers_on_an_adaptive_flow(services: Services) -> None:
    clock = services.clock
    assert isinstance(clock, ManualClock)
    flow = adaptive_flow(services, task_count=TASK_COUNT, minimum=MINIMUM, target=str(TARGET))
    for i in range(LOOPS):
        start(services, flow, f"a-{i}", content=ITEM)
    crew = [make_worker(services) for _ in range(WORKERS)]
    abandoned: list[int] = []
    more = [make_worker(services) for _ in range(WORKERS)]  # fresh workers: the others may have declined

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
                content = BEST_FIRST if rnd.random() < 0.6 else BEST_LAST
                queue.submit(services, lease.assignment_id, worker_pk, content, 1.0)

    def finish(worker_pk: int) -> None:
        while (lease := queue.claim(services, worker_pk, flow.id)) is not None:
            queue.submit(services, lease.assignment_id, worker_pk, BEST_FIRST, 1.0)

    def finish_serially() -> None:  # a slot opened after every other worker stopped looking
        for worker in crew + more:
            finish(worker.id)

    _run_all([lambda w=w.id, i=i: churn(w, i) for i, w in enumerate(crew)])  # type: ignore[misc]
    _check_invariants(services, quiet=False)
    clock.advance(61)
    assert reaper.reap(services).expired_leases == len(abandoned)
    _check_invariants(services, quiet=True)
    _run_all([lambda w=w.id: finish(w) for w in crew + more])  # type: ignore[misc]
    finish_serially()
    _check_invariants(services, quiet=True)
    h = human_loops
    with services.store.read() as conn:
        statuses = Counter(conn.execute(sa.select(h.c.status)).scalars())
        spent = conn.execute(sa.select(sa.func.sum(h.c.answers_count))).scalar_one()
    assert statuses == {"Completed": LOOPS}
    assert spent < LOOPS * TASK_COUNT  # some loops agreed early
