"""stats.py's reads on SQLite and PostgreSQL: a flow's progress, answers per hour, workers, the metrics' rows;
and the pure helpers (the histogram median, zero-filled hours)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from crowdloop import flows, loops, queue, reaper, stats
from crowdloop.clock import ManualClock
from crowdloop.errors import InvalidInput, NotFound
from crowdloop.runtime import Services
from crowdloop.store.dialect import ANSWER_TIME_EDGES
from tests.domain.loopsetup import CALLER, make_flow, make_worker, start


def _clock(svc: Services) -> ManualClock:
    assert isinstance(svc.clock, ManualClock)
    return svc.clock


def _move_to(clock: ManualClock, at: datetime) -> None:
    clock.advance((at - clock.now()).total_seconds())


def _answer(svc: Services, worker_pk: int, flow_id: int, spent: float) -> queue.SubmitResult:
    lease = queue.claim(svc, worker_pk, flow_id)
    assert lease is not None
    return queue.submit(svc, lease.assignment_id, worker_pk, {"ok": True}, spent)


def test_progress_of_a_flow(services: Services) -> None:
    flow = make_flow(services, task_count=2)
    ann, bob = make_worker(services, "ann@example.org"), make_worker(services, "bob@example.org")
    for _ in range(3):
        start(services, flow)
    empty = stats.progress(services, CALLER, flow.name)
    assert empty.loops["InProgress"] == 3 and empty.loops["Completed"] == 0
    assert (empty.answers_received, empty.answers_needed, empty.tasks_waiting) == (0, 6, 6)
    assert empty.median_seconds is None and empty.eta_seconds is None and empty.workers_active == 0

    _answer(services, ann.id, flow.id, 10.0)
    _answer(services, bob.id, flow.id, 20.0)  # bob answers the first loop too: it completes
    _answer(services, ann.id, flow.id, 30.0)
    held = queue.claim(services, bob.id, flow.id)  # bob holds the second loop's last slot
    assert held is not None
    now = stats.progress(services, CALLER, flow.name)
    assert now.loops["InProgress"] == 2 and now.loops["Completed"] == 1
    assert (now.answers_received, now.answers_needed, now.answers_last_hour) == (3, 6, 3)
    assert now.tasks_waiting == 6 - 3 - 1  # one answer missing on loop 2 is leased, loop 3 needs two
    assert now.workers_active == 2
    assert now.median_seconds is not None and 20 / 1.2 < now.median_seconds < 20 * 1.2
    assert now.eta_seconds == pytest.approx(3 / 3 * 3600)
    assert now.status == "Active" and now.arn == flow.arn

    _clock(services).advance(960)  # bob's lease (600 s) has run out: nobody is active
    later = stats.progress(services, CALLER, flow.name)
    assert later.workers_active == 0 and later.tasks_waiting == 3


def test_stopped_and_failed_loops_need_only_what_they_got(services: Services) -> None:
    flow = make_flow(services, task_count=3, lifetime=60)
    worker = make_worker(services)
    stopped, _expiring = start(services, flow), start(services, flow)
    _answer(services, worker.id, flow.id, 5.0)  # on `stopped`, the first loop
    loops.stop_human_loop(services, CALLER, stopped)
    _clock(services).advance(61)
    reaper.reap(services)
    got = stats.progress(services, CALLER, flow.name)
    assert got.loops["Stopped"] == 1 and got.loops["Failed"] == 1
    assert (got.answers_received, got.answers_needed, got.tasks_waiting) == (1, 1, 0)
    assert got.eta_seconds == 0


def test_unknown_flow_and_limits(services: Services) -> None:
    with pytest.raises(NotFound):
        stats.progress(services, CALLER, "nope")
    with pytest.raises(NotFound):
        stats.worker_stats(services, CALLER, "nope")
    flow = make_flow(services)
    for hours in (0, stats.MAX_HOURS + 1):
        with pytest.raises(InvalidInput):
            stats.answers_per_hour(services, CALLER, flow.name, hours)


def test_answers_per_hour_is_zero_filled(services: Services) -> None:
    clock = _clock(services)
    _move_to(clock, datetime(2026, 3, 1, 9, 30, tzinfo=UTC))
    flow = make_flow(services, task_count=1, lifetime=86400)
    worker, other = make_worker(services), make_worker(services)
    for _ in range(4):
        start(services, flow)
    _answer(services, worker.id, flow.id, 1.0)
    _answer(services, other.id, flow.id, 1.0)
    _move_to(clock, datetime(2026, 3, 1, 11, 59, tzinfo=UTC))
    _answer(services, worker.id, flow.id, 1.0)
    series = stats.answers_per_hour(services, CALLER, flow.name, 4)
    assert series == [
        (datetime(2026, 3, 1, 8, tzinfo=UTC), 0),
        (datetime(2026, 3, 1, 9, tzinfo=UTC), 2),
        (datetime(2026, 3, 1, 10, tzinfo=UTC), 0),
        (datetime(2026, 3, 1, 11, tzinfo=UTC), 1),
    ]
    # the last 60 minutes: 11:00-11:59 whole, and 1/60 of 10:00-10:59 (none)
    assert stats.progress(services, CALLER, flow.name).answers_last_hour == 1


def test_worker_stats_most_answers_first(services: Services) -> None:
    clock = _clock(services)
    flow = make_flow(services, task_count=2)
    ann, bob = make_worker(services, "ann@example.org"), make_worker(services, "bob@example.org")
    for _ in range(2):
        start(services, flow)
    first = clock.now()
    _answer(services, ann.id, flow.id, 4.0)
    clock.advance(30)
    _answer(services, ann.id, flow.id, 4.0)
    _answer(services, bob.id, flow.id, 100.0)
    rows = stats.worker_stats(services, CALLER, flow.name)
    assert [(r.email, r.answers) for r in rows] == [("ann@example.org", 2), ("bob@example.org", 1)]
    assert rows[0].worker_id == ann.worker_id and rows[0].worker_pk == ann.id
    assert rows[0].first_answer_at == first and rows[0].last_answer_at == first + timedelta(seconds=30)
    assert rows[0].median_seconds is not None and 4 / 1.2 < rows[0].median_seconds < 4 * 1.2


def test_metrics_rows_and_purge(services: Services) -> None:
    one, two = make_flow(services, "b-flow"), make_flow(services, "a-flow")
    worker = make_worker(services)
    start(services, one)
    start(services, one)
    start(services, two)
    _answer(services, worker.id, one.id, 1.0)
    rows = stats.loops_by_status(services)
    assert ("a-flow", "InProgress", 1) in rows and ("b-flow", "InProgress", 1) in rows
    assert ("b-flow", "Completed", 1) in rows and ("a-flow", "Failed", 0) in rows
    assert len(rows) == 10 and rows[0][0] == "a-flow"
    assert stats.answers_by_flow(services) == [("a-flow", 0), ("b-flow", 1)]
    assert [p.name for p in stats.overview(services, CALLER)] == ["a-flow", "b-flow"]

    flows.delete_flow_definition(services, CALLER, "b-flow")
    _clock(services).advance(1)
    reaper.reap(services)  # writes the completed loop's output, then purges the flow definition
    reaper.reap(services)
    assert [name for name, _status, _n in stats.loops_by_status(services)] == ["a-flow"] * 5
    assert stats.answers_by_flow(services) == [("a-flow", 0)]


# --- pure helpers ---------------------------------------------------------------------------------------


def test_buckets_cover_every_time() -> None:
    assert stats.time_bucket(0) == 0 and stats.time_bucket(-3) == 0
    assert stats.time_bucket(0.25) == 1
    assert stats.time_bucket(1e9) == len(ANSWER_TIME_EDGES)
    for bucket, edge in enumerate(ANSWER_TIME_EDGES, start=1):
        assert stats.time_bucket(edge) == bucket
        assert stats.time_bucket(edge * 0.999) == bucket - 1


def test_median_from_histogram() -> None:
    assert stats.median_seconds({}) is None
    assert stats.median_seconds({5: 0}) is None
    median = stats.median_seconds({0: 1})
    assert median is not None and 0 <= median < ANSWER_TIME_EDGES[0]
    for spent in (0.3, 1.0, 7.5, 42.0, 600.0, 3600.0):
        median = stats.median_seconds({stats.time_bucket(spent): 1})
        assert median is not None and spent / 1.2 <= median <= spent * 1.2
    times = [1.0] * 10 + [10.0] * 11 + [1000.0] * 10
    histogram: dict[int, int] = {}
    for spent in times:
        histogram[stats.time_bucket(spent)] = histogram.get(stats.time_bucket(spent), 0) + 1
    median = stats.median_seconds(histogram)
    assert median is not None and 10 / 1.2 <= median <= 10 * 1.2
    assert stats.median_seconds({len(ANSWER_TIME_EDGES): 3}) == ANSWER_TIME_EDGES[-1]


def test_zero_filled_hours() -> None:
    hour = stats.hour_of(datetime(2026, 1, 1, 5, 59, 59, tzinfo=UTC))
    assert datetime.fromtimestamp(hour * 3600, UTC) == datetime(2026, 1, 1, 5, tzinfo=UTC)
    filled = stats.zero_filled({hour: 3, hour + 5: 9}, hour - 1, hour + 1)
    assert [n for _at, n in filled] == [0, 3, 0]
    assert filled[0][0] == datetime(2026, 1, 1, 4, tzinfo=UTC)


def test_answers_per_hour_by_flow_equals_each_flows_own(services: Services) -> None:
    """The overview's one-statement read gives every flow definition exactly what answers_per_hour gives it."""
    clock = _clock(services)
    first, second, idle = (make_flow(services, task_count=1, lifetime=86400) for _ in range(3))
    worker, other = make_worker(services), make_worker(services)
    for flow in (first, first, second):
        start(services, flow)
    _answer(services, worker.id, first.id, 1.0)
    _move_to(clock, clock.now() + timedelta(hours=2))
    _answer(services, other.id, first.id, 1.0)
    _answer(services, worker.id, second.id, 1.0)
    together = stats.answers_per_hour_by_flow(services, CALLER, 24)
    assert set(together) == {first.name, second.name, idle.name}
    for flow in (first, second, idle):
        assert together[flow.name] == stats.answers_per_hour(services, CALLER, flow.name, 24)
    assert [sum(n for _, n in together[f.name]) for f in (first, second, idle)] == [2, 1, 0]
