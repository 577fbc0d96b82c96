"""The counters under concurrent writers (both databases): threads start loops on one flow definition, answer,
release and stop at once; afterwards the counters equal a recount. On PostgreSQL the writers of one flow used
several shards (their rows), so they did not queue on one."""

from __future__ import annotations

import contextlib
import random
from collections import Counter

import sqlalchemy as sa

from crowdloop import loops, queue, stats
from crowdloop.errors import CrowdloopError
from crowdloop.runtime import Services
from crowdloop.store.tables import assignments, flow_answer_hours, flow_loop_counts, human_loops
from tests.domain.loopsetup import CALLER, make_flow, make_worker
from tests.domain.test_queue_concurrency import _run_all
from tests.domain.test_stats_counters import loop_counters, loop_recount

THREADS = 12
LOOPS_EACH = 8


def test_concurrent_writers_keep_the_counters(services: Services) -> None:
    flow = make_flow(services, task_count=2)
    crew = [make_worker(services) for _ in range(THREADS)]

    def work(i: int) -> None:
        rnd = random.Random(i)
        for n in range(LOOPS_EACH):
            loops.start_human_loop(services, CALLER, f"t{i}-{n}", flow.arn, '{"text": "x"}')
            lease = queue.claim(services, crew[i].id, flow.id)
            if lease is None:
                continue
            with contextlib.suppress(CrowdloopError):  # another thread stopped the loop meanwhile
                if rnd.random() < 0.2:
                    queue.release(services, lease.assignment_id, crew[i].id)
                else:
                    queue.submit(services, lease.assignment_id, crew[i].id, {"n": n}, rnd.random() * 30)
            if rnd.random() < 0.2:
                with contextlib.suppress(CrowdloopError):  # completed meanwhile
                    loops.stop_human_loop(services, CALLER, f"t{i}-{n}")

    _run_all([lambda i=i: work(i) for i in range(THREADS)])  # type: ignore[misc]

    with services.store.read() as conn:
        assert loop_counters(conn) == loop_recount(conn)
        submitted = conn.execute(
            sa.select(sa.func.count()).select_from(assignments).where(assignments.c.state == "submitted")
        ).scalar_one()
        shards = Counter(conn.execute(sa.select(flow_loop_counts.c.shard)).scalars())
        hour_shards = Counter(conn.execute(sa.select(flow_answer_hours.c.shard)).scalars())
        loops_stored = conn.execute(sa.select(sa.func.count()).select_from(human_loops)).scalar_one()
    progress = stats.progress(services, CALLER, flow.name)
    assert sum(progress.loops.values()) == loops_stored == THREADS * LOOPS_EACH
    assert progress.answers_received == submitted
    assert sum(w.answers for w in stats.worker_stats(services, CALLER, flow.name)) == submitted
    assert sum(n for _at, n in stats.answers_per_hour(services, CALLER, flow.name, 1)) == submitted
    if services.store.is_sqlite:
        assert set(shards) == {0} and set(hour_shards) == {0}
    else:
        assert len(shards) > 1 and len(hour_shards) > 1  # pooled connections: several backends, several rows
