"""Migration 0004 on a store that already has loops and answers: the counters are filled from the stored rows,
the triggers keep them from then on, and the downgrade takes the triggers away with the tables."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import command

from crowdloop import loops, queue, stats
from crowdloop.runtime import Services
from crowdloop.store.schema import alembic_config
from tests.domain.loopsetup import CALLER, make_flow, make_worker, start
from tests.domain.test_stats_counters import loop_counters, loop_recount


def _answer(svc: Services, worker_pk: int, flow_id: int, spent: float) -> None:
    lease = queue.claim(svc, worker_pk, flow_id)
    assert lease is not None
    queue.submit(svc, lease.assignment_id, worker_pk, {"ok": True}, spent)


def test_upgrade_from_0003_fills_the_counters(services: Services) -> None:
    flow, other = make_flow(services, task_count=2), make_flow(services, task_count=1)
    ann, bob = make_worker(services), make_worker(services)
    names = [start(services, flow) for _ in range(4)] + [start(services, other) for _ in range(2)]
    _answer(services, ann.id, flow.id, 3.0)
    _answer(services, bob.id, flow.id, 30.0)  # the first loop completes
    _answer(services, ann.id, flow.id, 300.0)
    _answer(services, ann.id, other.id, 1.0)
    loops.stop_human_loop(services, CALLER, names[3])
    before = stats.progress(services, CALLER, flow.name)
    workers_before = stats.worker_stats(services, CALLER, flow.name)

    config = alembic_config(services.store.url)
    command.downgrade(config, "0003")
    with services.store.read() as conn:
        tables = sa.inspect(conn).get_table_names()
        assert "flow_loop_counts" not in tables
        conn.execute(sa.text("SELECT 1 FROM human_loops"))
    with services.store.write() as conn:  # writes to human_loops work without the counters' tables (today's
        # claim cannot run on the 0003 schema: assignments.response_order came with 0006)
        conn.execute(
            sa.text("UPDATE human_loops SET open_slots = open_slots WHERE id = (SELECT min(id) FROM human_loops)")
        )
    command.upgrade(config, "head")

    with services.store.read() as conn:
        assert loop_counters(conn) == loop_recount(conn) != {}
    after = stats.progress(services, CALLER, flow.name)
    assert after.loops == before.loops == {"InProgress": 2, "Completed": 1, "Stopped": 1, "Failed": 0, "Stopping": 0}
    assert (after.answers_received, after.answers_needed) == (before.answers_received, before.answers_needed)
    assert after.median_seconds == before.median_seconds
    assert stats.worker_stats(services, CALLER, flow.name) == workers_before
    assert stats.answers_by_flow(services) == [(flow.name, 3), (other.name, 1)]
    hours = stats.answers_per_hour(services, CALLER, flow.name, 1)
    assert hours == [(hours[0][0], 3)]

    start(services, other)  # the triggers are back
    with services.store.read() as conn:
        assert loop_counters(conn) == loop_recount(conn)
    assert stats.progress(services, CALLER, other.name).loops["InProgress"] == 2
