"""Who may work on a job is one rule (store.dialect's, asked only through queue.py): the job list, the job
pages and the claim agree on every case (SQLite and PostgreSQL)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from crowdloop import flows, queue, workers
from crowdloop.model import FlowDefinitionStatus, Worker, WorkerStatus
from crowdloop.runtime import Services
from crowdloop.store.tables import flow_definitions
from tests.domain.loopsetup import CALLER, make_flow, make_worker, start

Change = Callable[[Services, Worker, flows.FlowDefinition], None]


def _nothing(svc: Services, worker: Worker, flow: flows.FlowDefinition) -> None:
    pass


def _disable(svc: Services, worker: Worker, flow: flows.FlowDefinition) -> None:
    workers.set_status(svc, worker.email, WorkerStatus.DISABLED)


def _leave_group(svc: Services, worker: Worker, flow: flows.FlowDefinition) -> None:
    workers.remove_from_groups(svc, worker.email, ["raters"])


def _flow_status(status: FlowDefinitionStatus) -> Change:
    def change(svc: Services, worker: Worker, flow: flows.FlowDefinition) -> None:
        with svc.store.write() as conn:  # as a crash or an older version could leave it
            conn.execute(flow_definitions.update().where(flow_definitions.c.id == flow.id).values(status=status.value))

    return change


CASES: dict[str, tuple[Change, bool]] = {
    "member": (_nothing, True),
    "flow-initializing": (_flow_status(FlowDefinitionStatus.INITIALIZING), True),
    "worker-disabled": (_disable, False),
    "outside-the-team's-groups": (_leave_group, False),
    "flow-failed": (_flow_status(FlowDefinitionStatus.FAILED), False),
    "flow-deleting": (_flow_status(FlowDefinitionStatus.DELETING), False),
}


def _listed(svc: Services, worker: Worker, flow: flows.FlowDefinition) -> bool:
    return any(job.flow_definition_id == flow.id for job in queue.jobs_for_worker(svc, worker.id))


def _openable(svc: Services, worker: Worker, flow: flows.FlowDefinition) -> bool:
    return queue.job_for_worker(svc, worker.id, flow.id) is not None


def _claimable(svc: Services, worker: Worker, flow: flows.FlowDefinition) -> bool:
    return queue.claim(svc, worker.id, flow.id) is not None


@pytest.mark.parametrize("case", list(CASES))
def test_job_list_job_pages_and_claim_agree(services: Services, case: str) -> None:
    change, may_work = CASES[case]
    flow = make_flow(services)
    worker = make_worker(services)
    start(services, flow)
    change(services, worker, flow)
    seen = (_listed(services, worker, flow), _openable(services, worker, flow), _claimable(services, worker, flow))
    assert seen == (may_work, may_work, may_work)


def test_a_deleted_flow_definition_is_neither_listed_opened_nor_claimed(services: Services) -> None:
    flow = make_flow(services, "deleted-job")
    worker, other = make_worker(services), make_worker(services)
    start(services, flow)
    start(services, flow)
    assert queue.claim(services, other.id, flow.id) is not None
    flows.delete_flow_definition(services, CALLER, "deleted-job")
    seen = (_listed(services, worker, flow), _openable(services, worker, flow), _claimable(services, worker, flow))
    assert seen == (False, False, False)
