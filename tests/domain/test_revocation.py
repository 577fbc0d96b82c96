"""Revocation reaches held work (SQLite and PostgreSQL): whatever makes a worker unable to claim a task
(disabled, out of the team's groups, the work team changed or deleted, the flow definition deleted)
withdraws the tasks they hold at once; the slot goes back to the loop, once, for other workers; and every
lease action checks the same rule again even when nothing withdrew the lease."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import sqlalchemy as sa

from crowdloop import flows, loops, queue, reaper, teams, workers, workforce
from crowdloop.errors import TaskUnavailable
from crowdloop.model import HumanLoopStatus, Worker, WorkerStatus
from crowdloop.runtime import Services
from crowdloop.store.tables import assignments, human_loops
from crowdloop.store.tables import workers as workers_table
from tests.domain.loopsetup import CALLER, make_flow, make_worker, start

Revoke = Callable[[Services, Worker, flows.FlowDefinition], None]


def _disable(svc: Services, worker: Worker, flow: flows.FlowDefinition) -> None:
    workers.set_status(svc, worker.email, WorkerStatus.DISABLED)


def _leave_group(svc: Services, worker: Worker, flow: flows.FlowDefinition) -> None:
    workers.remove_from_groups(svc, worker.email, ["raters"])


def _team_drops_group(svc: Services, worker: Worker, flow: flows.FlowDefinition) -> None:
    workforce.update_workteam(
        svc, CALLER, _team_name(flow), member_definitions=[{"OidcMemberDefinition": {"Groups": ["seniors"]}}]
    )


def _groups_set(svc: Services, worker: Worker, flow: flows.FlowDefinition) -> None:
    workers.set_groups(svc, worker.email, ["others"])  # the console's groups field


def _team_regrouped(svc: Services, worker: Worker, flow: flows.FlowDefinition) -> None:
    teams.update_team(svc, CALLER, _team_name(flow), ["seniors"], "now seniors only")  # console / CLI


REVOCATIONS: dict[str, Revoke] = {
    "disabled": _disable,
    "left-group": _leave_group,
    "team-changed": _team_drops_group,
    "groups-set": _groups_set,
    "team-regrouped": _team_regrouped,
}


def _team_name(flow: flows.FlowDefinition) -> str:
    return flow.workteam_arn.rsplit("/", 1)[1]


def _state(svc: Services, assignment_id: int) -> str:
    with svc.store.read() as conn:
        return str(conn.execute(sa.select(assignments.c.state).where(assignments.c.id == assignment_id)).scalar_one())


def _loop(svc: Services, name: str) -> sa.Row:  # type: ignore[type-arg]
    with svc.store.read() as conn:
        return conn.execute(sa.select(human_loops).where(human_loops.c.name == name)).one()


def _claim(svc: Services, worker: Worker, flow: flows.FlowDefinition) -> queue.Lease:
    lease = queue.claim(svc, worker.id, flow.id)
    assert lease is not None
    return lease


def _assert_gone(svc: Services, lease: queue.Lease) -> None:
    for action in (
        lambda: queue.get_lease(svc, lease.assignment_id, lease.worker_pk),
        lambda: queue.submit(svc, lease.assignment_id, lease.worker_pk, {"late": True}, 1),
        lambda: queue.release(svc, lease.assignment_id, lease.worker_pk),
    ):
        with pytest.raises(TaskUnavailable) as refused:
            action()
        assert (refused.value.reason, refused.value.message) == ("gone", "This task is no longer available.")


@pytest.mark.parametrize("how", REVOCATIONS)
def test_revoked_worker_loses_the_held_task_and_the_slot_goes_to_another(services: Services, how: str) -> None:
    flow = make_flow(services, task_count=2)
    revoked, kept, newcomer = (
        make_worker(services, groups=("raters", "seniors")) if i == 1 else make_worker(services) for i in range(3)
    )
    name = start(services, flow)
    lost, held = _claim(services, revoked, flow), _claim(services, kept, flow)
    assert _loop(services, name).open_slots == 0
    assert queue.claim(services, newcomer.id, flow.id) is None

    REVOCATIONS[how](services, revoked, flow)

    assert _state(services, lost.assignment_id) == "withdrawn"
    assert _state(services, held.assignment_id) == "leased"  # the worker the team still selects keeps it
    _assert_gone(services, lost)
    assert queue.current_lease(services, revoked.id, flow.id) is None
    assert queue.claim(services, revoked.id, flow.id) is None
    assert _loop(services, name).open_slots == 1  # the slot went back once
    if how not in ("team-changed", "team-regrouped"):
        taken = _claim(services, newcomer, flow)
        assert taken.loop_id == lost.loop_id
        queue.submit(services, taken.assignment_id, newcomer.id, {"who": "newcomer"}, 1)
    else:  # the team now selects only "seniors": the slot waits for one of them
        assert queue.claim(services, newcomer.id, flow.id) is None
        senior = make_worker(services, groups=("seniors",))
        queue.submit(services, _claim(services, senior, flow).assignment_id, senior.id, {"who": "senior"}, 1)
    result = queue.submit(services, held.assignment_id, kept.id, {"who": "kept"}, 1)
    assert (result.status, result.answers_count) == (HumanLoopStatus.COMPLETED, 2)
    assert reaper.reap(services).withdrawn_leases == 0


def test_enabling_again_does_not_bring_a_withdrawn_task_back(services: Services) -> None:
    flow = make_flow(services)
    worker = make_worker(services)
    start(services, flow)
    lease = _claim(services, worker, flow)
    workers.set_status(services, worker.email, WorkerStatus.DISABLED)
    workers.set_status(services, worker.email, WorkerStatus.ACTIVE)
    _assert_gone(services, lease)
    again = _claim(services, worker, flow)  # the loop is offered again, as a new lease
    assert again.loop_id == lease.loop_id and again.assignment_id != lease.assignment_id


def test_oidc_sign_in_with_other_groups_withdraws(services: Services) -> None:
    flow = make_flow(services)
    start(services, flow)
    worker = workers.link_oidc_worker(
        services, "https://idp.example", "sub-1", email="o@example.org", groups=["raters"]
    )
    lease = _claim(services, worker, flow)
    workers.link_oidc_worker(services, "https://idp.example", "sub-1", email="o@example.org", groups=["raters", "more"])
    assert _state(services, lease.assignment_id) == "leased"  # still a member: nothing withdrawn
    workers.link_oidc_worker(services, "https://idp.example", "sub-1", email="o@example.org", groups=["others"])
    assert _state(services, lease.assignment_id) == "withdrawn"
    _assert_gone(services, lease)


def test_delete_workteam_withdraws_its_flows_tasks_only(services: Services) -> None:
    flow, other_flow = make_flow(services), make_flow(services)
    worker = make_worker(services)
    name, other_name = start(services, flow), start(services, other_flow)
    lease, other = _claim(services, worker, flow), _claim(services, worker, other_flow)
    workforce.delete_workteam(services, CALLER, _team_name(flow))
    assert (_state(services, lease.assignment_id), _state(services, other.assignment_id)) == ("withdrawn", "leased")
    _assert_gone(services, lease)
    assert (_loop(services, name).open_slots, _loop(services, other_name).open_slots) == (1, 0)
    queue.submit(services, other.assignment_id, worker.id, {"ok": True}, 1)


def test_delete_flow_definition_withdraws_and_removes_the_loop(services: Services) -> None:
    flow = make_flow(services, "leaving", task_count=2)
    a, b = make_worker(services), make_worker(services)
    name = start(services, flow)
    la, lb = _claim(services, a, flow), _claim(services, b, flow)
    queue.submit(services, la.assignment_id, a.id, {"who": "a"}, 1)
    flows.delete_flow_definition(services, CALLER, "leaving")
    with pytest.raises(TaskUnavailable):
        queue.get_lease(services, lb.assignment_id, b.id)
    with pytest.raises(TaskUnavailable):
        queue.submit(services, lb.assignment_id, b.id, {"who": "b"}, 1)
    with services.store.read() as conn:  # nobody works on it any more: deleted with its partial answers
        assert conn.execute(sa.select(human_loops.c.id).where(human_loops.c.name == name)).first() is None
    assert reaper.reap(services).purged_flow_definitions == 1


def test_every_action_checks_the_rule_even_when_nothing_withdrew(services: Services) -> None:
    flow = make_flow(services)
    worker, other = make_worker(services), make_worker(services)
    name = start(services, flow)
    lease = _claim(services, worker, flow)
    with services.store.write() as conn:  # a change that bypassed the domain functions
        conn.execute(workers_table.update().where(workers_table.c.id == worker.id).values(status="disabled"))
    assert _state(services, lease.assignment_id) == "leased"
    with pytest.raises(TaskUnavailable) as refused:
        queue.get_lease(services, lease.assignment_id, worker.id)
    assert refused.value.reason == "gone"
    assert queue.current_lease(services, worker.id, flow.id) is None
    assert queue.jobs_for_worker(services, worker.id) == []
    assert queue.job_for_worker(services, worker.id, flow.id) is None
    with pytest.raises(TaskUnavailable):
        queue.submit(services, lease.assignment_id, worker.id, {}, 1)
    assert _loop(services, name).answers_count == 0
    report = reaper.reap(services)  # the safety net withdraws it and returns the slot
    assert report.withdrawn_leases == 1
    assert _state(services, lease.assignment_id) == "withdrawn"
    assert _claim(services, other, flow).loop_id == lease.loop_id


def test_job_for_worker_follows_the_claim_rule(services: Services) -> None:
    flow = make_flow(services, "job-rule")
    worker, stranger = make_worker(services), make_worker(services, groups=("strangers",))
    assert queue.job_for_worker(services, worker.id, flow.id) is not None
    assert queue.job_for_worker(services, stranger.id, flow.id) is None
    workers.set_status(services, worker.email, WorkerStatus.DISABLED)
    assert queue.job_for_worker(services, worker.id, flow.id) is None
    workers.set_status(services, worker.email, WorkerStatus.ACTIVE)
    flows.delete_flow_definition(services, CALLER, "job-rule")
    assert queue.job_for_worker(services, worker.id, flow.id) is None


def test_revoking_one_worker_leaves_stopped_and_completed_loops_alone(services: Services) -> None:
    flow = make_flow(services, task_count=2)
    worker, other = make_worker(services), make_worker(services)
    stopped = start(services, flow)
    lease = _claim(services, worker, flow)
    queue.submit(services, _claim(services, other, flow).assignment_id, other.id, {"who": "other"}, 1)
    loops.stop_human_loop(services, CALLER, stopped)
    assert _state(services, lease.assignment_id) == "withdrawn"
    workers.set_status(services, worker.email, WorkerStatus.DISABLED)
    row = _loop(services, stopped)
    assert (row.status, row.open_slots, row.answers_count) == ("Stopped", 0, 1)
    assert queue.claim(services, make_worker(services).id, flow.id) is None
