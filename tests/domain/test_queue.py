"""Lease rules (queue.py) on SQLite and PostgreSQL: claim, submit, release, decline, expiry, availability,
stop, reap, and what the portal reads (jobs, current lease)."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from crowdloop import flows, loops, queue, reaper, workers
from crowdloop.clock import ManualClock
from crowdloop.errors import NotFound, TaskUnavailable
from crowdloop.model import HumanLoopStatus, WorkerStatus
from crowdloop.runtime import Services
from crowdloop.store.tables import assignments, human_loops
from crowdloop.tags import Tag
from tests.domain.loopsetup import CALLER, make_flow, make_worker, start
from tests.domain.plans import round_trips


def _clock(svc: Services) -> ManualClock:
    assert isinstance(svc.clock, ManualClock)
    return svc.clock


def _status(svc: Services, name: str) -> HumanLoopStatus:
    return loops.describe_human_loop(svc, CALLER, name).status


def _open_slots(svc: Services, name: str) -> int:
    with svc.store.read() as conn:
        return int(conn.execute(sa.select(human_loops.c.open_slots).where(human_loops.c.name == name)).scalar_one())


def _states(svc: Services, name: str) -> dict[int, str]:
    """worker pk -> state of their assignment on the loop."""
    a, h = assignments, human_loops
    with svc.store.read() as conn:
        return {
            r.worker_id: r.state
            for r in conn.execute(
                sa.select(a.c.worker_id, a.c.state).join(h, h.c.id == a.c.loop_id).where(h.c.name == name)
            )
        }


def _claim(svc: Services, worker_pk: int, flow_id: int) -> queue.Lease:
    lease = queue.claim(svc, worker_pk, flow_id)
    assert lease is not None
    return lease


def test_claim_gives_a_lease_fifo(services: Services) -> None:
    flow = make_flow(services, time_limit=300)
    worker = make_worker(services)
    first, second = start(services, flow, "first"), start(services, flow, "second")
    lease = _claim(services, worker.id, flow.id)
    assert lease.human_loop_name == first
    assert lease.accepted_at == services.clock.now()
    assert lease.expires_at == lease.accepted_at + timedelta(seconds=300)
    assert lease.task_input == {"text": "first"}
    assert lease.template_sha256 == flow.template_sha256
    assert _claim(services, worker.id, flow.id) == lease  # the held lease comes back, no second slot
    assert queue.current_lease(services, worker.id, flow.id) == lease
    assert queue.get_lease(services, lease.assignment_id, worker.id) == lease
    other = make_worker(services)
    assert _claim(services, other.id, flow.id).human_loop_name == second
    assert queue.claim(services, make_worker(services).id, flow.id) is None


def test_claim_only_for_the_work_team_and_active_workers(services: Services) -> None:
    flow = make_flow(services, groups=("raters", "experts"))
    start(services, flow)
    outsider = make_worker(services, groups=("others",))
    nobody = make_worker(services, groups=())
    expert = make_worker(services, "expert@example.org", groups=("experts",))
    assert queue.claim(services, outsider.id, flow.id) is None
    assert queue.claim(services, nobody.id, flow.id) is None
    workers.set_status(services, "expert@example.org", WorkerStatus.DISABLED)
    assert queue.claim(services, expert.id, flow.id) is None
    workers.set_status(services, "expert@example.org", WorkerStatus.ACTIVE)
    assert queue.claim(services, expert.id, flow.id) is not None
    assert queue.claim(services, 999_999, flow.id) is None


def test_task_count_distinct_workers_then_completed(services: Services) -> None:
    flow = make_flow(services, task_count=3)
    name = start(services, flow)
    crew = [make_worker(services) for _ in range(4)]
    leases = [_claim(services, w.id, flow.id) for w in crew[:3]]
    assert {lease.human_loop_name for lease in leases} == {name}
    assert queue.claim(services, crew[3].id, flow.id) is None  # 3 slots, all leased
    assert _open_slots(services, name) == 0
    results = [
        queue.submit(services, lease.assignment_id, lease.worker_pk, {"n": i}, 1.0) for i, lease in enumerate(leases)
    ]
    assert [r.answers_count for r in results] == [1, 2, 3]
    assert [r.status for r in results] == [HumanLoopStatus.IN_PROGRESS] * 2 + [HumanLoopStatus.COMPLETED]
    assert _status(services, name) is HumanLoopStatus.COMPLETED
    with services.store.read() as conn:
        assert conn.execute(sa.select(human_loops.c.ended_at)).scalar_one() == services.clock.now()
    assert queue.claim(services, crew[3].id, flow.id) is None


def test_a_worker_never_gets_a_loop_twice(services: Services) -> None:
    flow = make_flow(services, task_count=2)
    worker = make_worker(services)
    name = start(services, flow)
    lease = _claim(services, worker.id, flow.id)
    queue.submit(services, lease.assignment_id, worker.id, {}, 1.0)
    assert _open_slots(services, name) == 1
    assert queue.claim(services, worker.id, flow.id) is None  # answered it already
    assert _claim(services, make_worker(services).id, flow.id).human_loop_name == name


def test_submit_errors(services: Services) -> None:
    flow = make_flow(services, task_count=2, time_limit=60)
    worker, other = make_worker(services), make_worker(services)
    start(services, flow)
    lease = _claim(services, worker.id, flow.id)
    with pytest.raises(TaskUnavailable) as err:
        queue.submit(services, lease.assignment_id, other.id, {}, 1.0)
    assert err.value.reason == "not-yours"
    with pytest.raises(TaskUnavailable) as err:
        queue.submit(services, 123_456, worker.id, {}, 1.0)
    assert err.value.reason == "gone"
    queue.submit(services, lease.assignment_id, worker.id, {}, 1.0)
    with pytest.raises(TaskUnavailable) as err:
        queue.submit(services, lease.assignment_id, worker.id, {}, 1.0)
    assert err.value.reason == "gone"
    late = _claim(services, other.id, flow.id)
    _clock(services).advance(60)
    with pytest.raises(TaskUnavailable) as err:
        queue.submit(services, late.assignment_id, other.id, {}, 1.0)
    assert err.value.reason == "expired"
    with pytest.raises(TaskUnavailable) as err:
        queue.get_lease(services, late.assignment_id, other.id)
    assert err.value.reason == "expired"
    assert queue.current_lease(services, other.id, flow.id) is None
    reaper.reap(services)
    with pytest.raises(TaskUnavailable) as err:
        queue.release(services, late.assignment_id, other.id)
    assert err.value.reason == "expired"


def test_release_returns_the_slot_and_the_worker_may_come_back(services: Services) -> None:
    flow = make_flow(services)
    worker = make_worker(services)
    name = start(services, flow)
    lease = _claim(services, worker.id, flow.id)
    queue.release(services, lease.assignment_id, worker.id)
    assert _open_slots(services, name) == 1
    with pytest.raises(TaskUnavailable):
        queue.submit(services, lease.assignment_id, worker.id, {}, 1.0)
    again = _claim(services, worker.id, flow.id)
    assert again.human_loop_name == name and again.assignment_id != lease.assignment_id
    assert queue.submit(services, again.assignment_id, worker.id, {}, 1.0).status is HumanLoopStatus.COMPLETED


def test_decline_bars_the_worker_from_that_loop(services: Services) -> None:
    flow = make_flow(services)
    worker = make_worker(services)
    declined, other_loop = start(services, flow), start(services, flow)
    lease = _claim(services, worker.id, flow.id)
    assert lease.human_loop_name == declined
    queue.decline(services, lease.assignment_id, worker.id)
    assert _open_slots(services, declined) == 1
    assert _claim(services, worker.id, flow.id).human_loop_name == other_loop
    assert _claim(services, make_worker(services).id, flow.id).human_loop_name == declined
    with pytest.raises(TaskUnavailable):
        queue.decline(services, lease.assignment_id, worker.id)


def test_expired_lease_goes_back_to_the_pool_after_reap(services: Services) -> None:
    flow = make_flow(services, time_limit=60)
    worker, other = make_worker(services), make_worker(services)
    name = start(services, flow)
    lease = _claim(services, worker.id, flow.id)
    _clock(services).advance(59.9)
    assert reaper.reap(services).expired_leases == 0
    assert queue.claim(services, other.id, flow.id) is None
    _clock(services).advance(0.1)
    report = reaper.reap(services)
    assert report.expired_leases == 1
    assert _open_slots(services, name) == 1
    with services.store.read() as conn:
        row = conn.execute(sa.select(assignments).where(assignments.c.id == lease.assignment_id)).one()
    assert row.state == "expired" and row.ended_at == lease.expires_at
    taken = _claim(services, other.id, flow.id)
    assert queue.submit(services, taken.assignment_id, other.id, {}, 5).status is HumanLoopStatus.COMPLETED


def test_the_expired_worker_may_take_the_loop_again(services: Services) -> None:
    flow = make_flow(services, time_limit=60)
    worker = make_worker(services)
    name = start(services, flow)
    _claim(services, worker.id, flow.id)
    _clock(services).advance(61)
    reaper.reap(services)
    assert _claim(services, worker.id, flow.id).human_loop_name == name


def test_availability_lifetime(services: Services) -> None:
    flow = make_flow(services, task_count=2, lifetime=100, time_limit=200)
    worker, other = make_worker(services), make_worker(services)
    held, idle, partial = start(services, flow), start(services, flow), start(services, flow)
    lease = _claim(services, worker.id, flow.id)
    assert lease.human_loop_name == held
    _clock(services).advance(50)
    lease2 = _claim(services, other.id, flow.id)
    assert lease2.human_loop_name == held
    queue.submit(services, lease2.assignment_id, other.id, {}, 1)
    answered = _claim(services, other.id, flow.id)
    assert answered.human_loop_name == idle
    queue.release(services, answered.assignment_id, other.id)
    _clock(services).advance(45)  # t=95
    p = _claim(services, make_worker(services).id, flow.id)
    assert p.human_loop_name == idle
    queue.decline(services, p.assignment_id, p.worker_pk)
    p = _claim(services, p.worker_pk, flow.id)
    assert p.human_loop_name == partial
    queue.submit(services, p.assignment_id, p.worker_pk, {}, 1)
    _clock(services).advance(5)  # t=100: nothing can be claimed any more
    assert queue.claim(services, make_worker(services).id, flow.id) is None
    assert queue.jobs_for_worker(services, make_worker(services).id) == []
    report = reaper.reap(services)
    assert report.failed_loops == 2
    for name in (idle, partial):
        loop = loops.describe_human_loop(services, CALLER, name)
        assert loop.status is HumanLoopStatus.FAILED and loop.failure_code == "Expired"
        assert "TaskAvailabilityLifetimeInSeconds" in (loop.failure_reason or "")
    assert _status(services, held) is HumanLoopStatus.IN_PROGRESS  # a worker still holds it
    assert queue.submit(services, lease.assignment_id, worker.id, {}, 1).status is HumanLoopStatus.COMPLETED
    assert not services.blobs.exists(loops.describe_human_loop(services, CALLER, partial).output_uri)


def test_lease_ending_after_availability_fails_the_loop(services: Services) -> None:
    flow = make_flow(services, lifetime=100, time_limit=60)
    worker = make_worker(services)
    name = start(services, flow)
    _clock(services).advance(90)
    _claim(services, worker.id, flow.id)
    _clock(services).advance(20)
    assert reaper.reap(services).failed_loops == 0
    _clock(services).advance(40)
    report = reaper.reap(services)
    assert (report.expired_leases, report.failed_loops) == (1, 1)
    assert _status(services, name) is HumanLoopStatus.FAILED


def test_stop_withdraws_held_leases_at_once(services: Services) -> None:
    flow = make_flow(services, task_count=3, time_limit=60)
    a, b, c = (make_worker(services) for _ in range(3))
    name = start(services, flow)
    la, lb, lc = (_claim(services, w.id, flow.id) for w in (a, b, c))
    queue.submit(services, la.assignment_id, a.id, {"who": "a"}, 1)
    loops.stop_human_loop(services, CALLER, name)
    assert _status(services, name) is HumanLoopStatus.STOPPED
    assert _open_slots(services, name) == 0
    assert _states(services, name) == {a.id: "submitted", b.id: "withdrawn", c.id: "withdrawn"}
    for lease, worker in ((lb, b), (lc, c)):
        with pytest.raises(TaskUnavailable) as gone:
            queue.get_lease(services, lease.assignment_id, worker.id)
        assert (gone.value.reason, gone.value.message) == ("gone", "This task is no longer available.")
        with pytest.raises(TaskUnavailable):
            queue.submit(services, lease.assignment_id, worker.id, {"late": True}, 1)
        with pytest.raises(TaskUnavailable):
            queue.release(services, lease.assignment_id, worker.id)
        assert queue.current_lease(services, worker.id, flow.id) is None
    other = make_worker(services)
    assert queue.claim(services, other.id, flow.id) is None  # the withdrawn slots are not offered
    assert queue.claim(services, b.id, flow.id) is None
    report = reaper.reap(services)
    assert (report.expired_leases, report.withdrawn_leases, report.stopped_loops) == (0, 0, 0)
    loop = loops.describe_human_loop(services, CALLER, name)
    assert loop.status is HumanLoopStatus.STOPPED
    document = json.loads(services.blobs.get(loop.output_uri))
    assert [answer["answerContent"] for answer in document["humanAnswers"]] == [{"who": "a"}]


@pytest.mark.parametrize("task_count", [1, 2])
def test_an_answer_after_stop_never_completes_the_loop(services: Services, task_count: int) -> None:
    flow = make_flow(services, task_count=task_count)
    crew = [make_worker(services) for _ in range(task_count)]
    name = start(services, flow)
    leases = [_claim(services, w.id, flow.id) for w in crew]
    for lease, worker in zip(leases[:-1], crew[:-1], strict=True):
        queue.submit(services, lease.assignment_id, worker.id, {"early": True}, 1)
    loops.stop_human_loop(services, CALLER, name)
    with pytest.raises(TaskUnavailable):  # the last answer would have reached TaskCount
        queue.submit(services, leases[-1].assignment_id, crew[-1].id, {"late": True}, 1)
    assert _status(services, name) is HumanLoopStatus.STOPPED
    with services.store.read() as conn:
        assert (
            conn.execute(sa.select(human_loops.c.answers_count).where(human_loops.c.name == name)).scalar_one()
            == task_count - 1
        )


def test_a_loop_left_stopping_by_an_older_version_is_finished_by_the_reaper(services: Services) -> None:
    flow = make_flow(services, task_count=2)
    a, b = make_worker(services), make_worker(services)
    name = start(services, flow)
    la, lb = _claim(services, a.id, flow.id), _claim(services, b.id, flow.id)
    queue.submit(services, la.assignment_id, a.id, {"who": "a"}, 1)
    with services.store.write() as conn:  # what StopHumanLoop used to leave: Stopping while b holds a lease
        conn.execute(human_loops.update().where(human_loops.c.name == name).values(status="Stopping", open_slots=0))
    with pytest.raises(TaskUnavailable):
        queue.submit(services, lb.assignment_id, b.id, {"who": "b"}, 1)
    report = reaper.reap(services)
    assert (report.withdrawn_leases, report.stopped_loops, report.outputs_written) == (1, 1, 1)
    assert _status(services, name) is HumanLoopStatus.STOPPED
    assert _states(services, name) == {a.id: "submitted", b.id: "withdrawn"}


def test_jobs_for_worker(services: Services) -> None:
    flow = make_flow(services, "jobs-a", task_count=2, time_limit=120)
    other_flow = make_flow(services, "jobs-b")
    foreign = make_flow(services, "jobs-c", groups=("strangers",))
    worker = make_worker(services)
    for _ in range(3):
        start(services, flow)
    start(services, other_flow)
    start(services, foreign)
    jobs = queue.jobs_for_worker(services, worker.id)
    assert [(j.flow_definition_name, j.available, j.held) for j in jobs] == [("jobs-a", 3, 0), ("jobs-b", 1, 0)]
    job = jobs[0]
    assert (job.title, job.description, job.keywords, job.task_time_limit_seconds) == (
        "Title jobs-a",
        "Description jobs-a",
        ("rank", "text"),
        120,
    )
    assert job.flow_definition_arn == flow.arn and job.flow_definition_id == flow.id
    lease = _claim(services, worker.id, other_flow.id)
    jobs = queue.jobs_for_worker(services, worker.id)
    assert [(j.flow_definition_name, j.available, j.held) for j in jobs] == [("jobs-a", 3, 0), ("jobs-b", 0, 1)]
    queue.submit(services, lease.assignment_id, worker.id, {}, 1)
    first = _claim(services, worker.id, flow.id)
    queue.submit(services, first.assignment_id, worker.id, {}, 1)
    assert [(j.flow_definition_name, j.available) for j in queue.jobs_for_worker(services, worker.id)] == [
        ("jobs-a", 2)
    ]
    assert [
        (j.flow_definition_name, j.available) for j in queue.jobs_for_worker(services, make_worker(services).id)
    ] == [("jobs-a", 3)]


def test_deleting_flow_offers_nothing_and_is_purged_by_the_reaper(services: Services) -> None:
    flow = make_flow(services, "going", task_count=2)
    worker, other = make_worker(services), make_worker(services)
    name = start(services, flow)
    lease = _claim(services, worker.id, flow.id)
    flows.delete_flow_definition(services, CALLER, "going")
    assert queue.claim(services, other.id, flow.id) is None
    with pytest.raises(TaskUnavailable):  # withdrawn with the flow definition
        queue.submit(services, lease.assignment_id, worker.id, {}, 1)
    assert queue.claim(services, worker.id, flow.id) is None
    assert queue.jobs_for_worker(services, worker.id) == []
    assert reaper.reap(services).purged_flow_definitions == 1
    with pytest.raises(NotFound):
        loops.describe_human_loop(services, CALLER, name)


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_a_claim_on_postgresql_is_one_round_trip_unless_python_decides(services: Services, tmp_path: Path) -> None:
    """dialect.claim_lease: a plain flow's claim (the held lease, else a new one) is one statement in autocommit,
    no BEGIN and COMMIT; a flow whose claim draws a response order claims in a transaction."""
    plain, shuffled = make_flow(services), make_flow(services, tags=[Tag("crowdloop:shuffle-responses", "true")])
    worker = make_worker(services)
    first = start(services, plain, "first")
    start(services, shuffled, "shuffled", {"responses": ["a", "b"]})
    queue.claim(services, make_worker(services).id, shuffled.id)  # reads both flows' settings into the cache
    queue.claim(services, make_worker(services).id, plain.id)
    start(services, plain, "second")
    start(services, shuffled, "shuffled again", {"responses": ["a", "b"]})

    with round_trips(services, tmp_path) as trips:
        lease = _claim(services, worker.id, plain.id)
    assert lease.human_loop_name != first and _open_slots(services, lease.human_loop_name) == 0
    assert trips == ["WITH"], trips
    with round_trips(services, tmp_path) as trips:
        assert _claim(services, worker.id, plain.id) == lease  # held: the same lease, no second slot
    assert len(trips) == 1, trips

    with round_trips(services, tmp_path) as trips:
        _claim(services, worker.id, shuffled.id)
    assert trips[0] == "BEGIN" and trips[-1] == "COMMIT" and len(trips) >= 4, trips
