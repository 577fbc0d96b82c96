"""The worker's job list: "Tasks available" comes from the loop counters, equals the loops the worker could
claim now (leased, answered, declined, expired and stopped loops taken into account), and no statement of the
job list reads a flow definition's loops."""

from __future__ import annotations

import random

import pytest
import sqlalchemy as sa

from crowdloop import loops, queue
from crowdloop.clock import ManualClock
from crowdloop.runtime import Services
from crowdloop.store.tables import assignments, human_loops
from tests.domain.loopsetup import CALLER, make_flow, make_worker, start
from tests.domain.plans import plan, statements


def _claimable(svc: Services, worker_pk: int, flow_id: int) -> int:
    """What the old job list counted over the loops: the reference the counters must agree with."""
    h, a = human_loops, assignments
    now = svc.clock.now()
    taken = sa.exists().where(
        a.c.loop_id == h.c.id, a.c.worker_id == worker_pk, a.c.state.in_(("leased", "submitted", "declined"))
    )
    with svc.store.read() as conn:
        return int(
            conn.execute(
                sa.select(sa.func.count()).where(
                    h.c.flow_definition_id == flow_id,
                    h.c.status == "InProgress",
                    h.c.open_slots > 0,
                    h.c.available_until > now,
                    ~taken,
                )
            ).scalar_one()
        )


def test_available_is_what_the_worker_could_claim(services: Services) -> None:
    assert isinstance(services.clock, ManualClock)
    rng = random.Random(7)
    triple = make_flow(services, "triple", task_count=3, lifetime=500)
    single = make_flow(services, "single", task_count=1, lifetime=500)
    short = make_flow(services, "short", task_count=2, lifetime=30)
    crew = [make_worker(services) for _ in range(4)]
    names = {flow.id: [start(services, flow) for _ in range(8)] for flow in (triple, single, short)}
    loops.stop_human_loop(services, CALLER, names[triple.id][0])
    for _ in range(40):
        worker = rng.choice(crew)
        flow = rng.choice((triple, single, short))
        lease = queue.current_lease(services, worker.id, flow.id) or queue.claim(services, worker.id, flow.id)
        if lease is None:
            continue
        action = rng.random()
        if action < 0.5:
            queue.submit(services, lease.assignment_id, worker.id, {"ok": True}, 1)
        elif action < 0.65:
            queue.decline(services, lease.assignment_id, worker.id)
        elif action < 0.8:
            queue.release(services, lease.assignment_id, worker.id)
        # else: the lease stays held
    services.clock.advance(31)  # "short" loops are past their availability lifetime; the reaper has not run
    for worker in [*crew, make_worker(services)]:
        listed = {job.flow_definition_id: job for job in queue.jobs_for_worker(services, worker.id)}
        for flow in (triple, single, short):
            expected = _claimable(services, worker.id, flow.id)
            found = listed[flow.id].available if flow.id in listed else 0
            assert found == expected, (flow.name, worker.id)
    assert all(
        job.available == 0 for job in queue.jobs_for_worker(services, crew[0].id) if job.flow_definition_id == short.id
    )


def test_every_leased_slot_leaves_nothing_available(services: Services) -> None:
    flow = make_flow(services, task_count=2)
    a, b, c = make_worker(services), make_worker(services), make_worker(services)
    start(services, flow)
    assert [j.available for j in queue.jobs_for_worker(services, c.id)] == [1]
    assert queue.claim(services, a.id, flow.id) is not None
    assert [j.available for j in queue.jobs_for_worker(services, c.id)] == [1]
    assert queue.claim(services, b.id, flow.id) is not None
    assert queue.jobs_for_worker(services, c.id) == []  # both slots leased
    assert [(j.available, j.held) for j in queue.jobs_for_worker(services, a.id)] == [(0, 1)]


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_the_job_list_reads_no_flow_definitions_loops(services: Services) -> None:
    """SQLite is told which index each part starts from (store.dialect._UNCLAIMABLE); PostgreSQL's plan for a
    test's handful of rows says nothing of its plan at scale (bench/scale.py times the job list at 1M loops)."""
    assert services.store.is_sqlite
    flow = make_flow(services, task_count=2)
    worker, other = make_worker(services), make_worker(services)
    for _ in range(6):
        start(services, flow)
    lease = queue.claim(services, other.id, flow.id)
    assert lease is not None
    queue.submit(services, lease.assignment_id, other.id, {}, 1)
    assert queue.claim(services, worker.id, flow.id) is not None
    with services.store.write() as conn:
        conn.exec_driver_sql("ANALYZE")
    with statements() as seen:
        jobs = queue.jobs_for_worker(services, other.id)
    assert [j.available for j in jobs] == [5]
    assert seen
    for statement, parameters in seen:
        found = plan(services, statement, parameters)
        for per_flow in ("ix_human_loops_claim", "ix_human_loops_list", "ix_human_loops_flow_status"):
            assert per_flow not in found, found  # an index over a flow definition's loops: a count over them
        assert "SCAN human_loops" not in found and "Seq Scan on human_loops" not in found, found
