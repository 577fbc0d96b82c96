"""Human-loop lifecycle (spec §4, §6) on SQLite and PostgreSQL: start, describe, list, stop, delete."""

from __future__ import annotations

import dataclasses
import json
from datetime import timedelta

import pytest
import sqlalchemy as sa

from crowdloop import flows, loops, queue, reaper
from crowdloop.clock import ManualClock
from crowdloop.errors import Conflict, InvalidInput, NotFound, QuotaExceeded, TaskUnavailable
from crowdloop.model import HumanLoopStatus
from crowdloop.runtime import Caller, Services
from crowdloop.store.tables import flow_definitions, human_loops
from tests.domain.loopsetup import CALLER, make_flow, make_worker, start


def _clock(svc: Services) -> ManualClock:
    assert isinstance(svc.clock, ManualClock)
    return svc.clock


def _loop_row(svc: Services, name: str) -> sa.Row:  # type: ignore[type-arg]
    with svc.store.read() as conn:
        return conn.execute(sa.select(human_loops).where(human_loops.c.name == name)).one()


def test_start_then_describe(services: Services) -> None:
    flow = make_flow(services, "rank-fd", task_count=2, lifetime=120, output_path="s3://bucket/a2i-results")
    _clock(services).advance(3723.4567)  # 2026-01-01T01:02:03.456700Z
    arn = loops.start_human_loop(
        services, CALLER, "Loop-1", flow.arn, '{"text": "hi"}', {"ContentClassifiers": ["FreeOfAdultContent"]}
    )
    assert arn == "arn:aws:sagemaker:us-east-1:123456789012:human-loop/Loop-1"
    loop = loops.describe_human_loop(services, CALLER, "Loop-1")
    assert loop.status is HumanLoopStatus.IN_PROGRESS
    assert (loop.name, loop.arn, loop.flow_definition_arn) == ("Loop-1", arn, flow.arn)
    assert loop.created_at.isoformat() == "2026-01-01T01:02:03.456000+00:00"
    assert loop.output_uri == "s3://bucket/a2i-results/rank-fd/2026/01/01/01/02/03/Loop-1/output.json"
    assert loop.failure_reason is None and loop.failure_code is None
    row = _loop_row(services, "Loop-1")
    assert (row.open_slots, row.answers_count, row.task_count) == (2, 0, 2)
    assert row.available_until == loop.created_at + timedelta(seconds=120)
    assert row.template_sha256 == flow.template_sha256
    assert row.data_attributes == {"ContentClassifiers": ["FreeOfAdultContent"]}


def test_start_is_idempotent_by_name(services: Services) -> None:
    flow, other = make_flow(services), make_flow(services)
    first = loops.start_human_loop(services, CALLER, "Same", flow.arn, '{"a": 1}')
    _clock(services).advance(5)
    assert loops.start_human_loop(services, CALLER, "Same", flow.arn, '{"a": 1}') == first
    assert loops.start_human_loop(services, CALLER, "same", flow.arn, '{"a": 1}') == first  # case-insensitive
    with pytest.raises(Conflict):
        loops.start_human_loop(services, CALLER, "SAME", flow.arn, '{"a": 2}')
    with pytest.raises(Conflict):
        loops.start_human_loop(services, CALLER, "same", other.arn, '{"a": 1}')
    assert loops.describe_human_loop(services, CALLER, "sAmE").name == "Same"  # stored verbatim
    with services.store.read() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(human_loops)).scalar_one() == 1


def test_names_are_scoped_to_account_and_region(services: Services) -> None:
    flow = make_flow(services)
    west = Caller(account=CALLER.account, region="us-west-2")
    west_flow = make_flow(services, caller=west)
    start(services, flow, "shared")
    start(services, west_flow, "shared", caller=west)
    assert loops.describe_human_loop(services, west, "shared").flow_definition_arn == west_flow.arn
    with pytest.raises(InvalidInput):  # a flow definition of another region is unknown here
        loops.start_human_loop(services, CALLER, "x", west_flow.arn, "{}")


@pytest.mark.parametrize("content", ["not json", "[1, 2]", '"text"', "42", "null", '{"a": NaN}', ""])
def test_input_content_must_be_a_json_object(services: Services, content: str) -> None:
    flow = make_flow(services)
    with pytest.raises(InvalidInput) as err:
        loops.start_human_loop(services, CALLER, "bad", flow.arn, content)
    assert err.value.field == "humanLoopInput.inputContent"


def test_input_content_accepts_big_integers(services: Services) -> None:
    flow = make_flow(services)
    start(services, flow, "big", {"n": 2**70})
    assert json.loads(_loop_row(services, "big").input_content) == {"n": 2**70}


def test_unknown_flow_definition_is_invalid_input_not_not_found(services: Services) -> None:
    make_flow(services, "real")
    for arn in (
        "arn:aws:sagemaker:us-east-1:123456789012:flow-definition/nope",
        "arn:aws:sagemaker:us-east-1:999999999999:flow-definition/real",
        "arn:aws:sagemaker:eu-west-1:123456789012:flow-definition/real",
        "arn:aws:sagemaker:us-east-1:123456789012:human-task-ui/real",
    ):
        with pytest.raises(InvalidInput) as err:
            loops.start_human_loop(services, CALLER, "x", arn, "{}")
        assert err.value.field == "flowDefinitionArn"


def test_initializing_flow_definition_is_activated_by_use(services: Services) -> None:
    flow = make_flow(services, activate=False)
    with services.store.read() as conn:
        assert (
            conn.execute(sa.select(flow_definitions.c.status).where(flow_definitions.c.id == flow.id)).scalar_one()
            == "Initializing"
        )
    start(services, flow)
    with services.store.read() as conn:
        assert (
            conn.execute(sa.select(flow_definitions.c.status).where(flow_definitions.c.id == flow.id)).scalar_one()
            == "Active"
        )


@pytest.mark.parametrize("status", ["Deleting", "Failed"])
def test_flow_definition_not_usable(services: Services, status: str) -> None:
    flow = make_flow(services)
    start(services, flow)  # caches the flow's facts: the status must still be read every time
    with services.store.write() as conn:
        conn.execute(flow_definitions.update().where(flow_definitions.c.id == flow.id).values(status=status))
    with pytest.raises(InvalidInput, match=status):
        start(services, flow)


def test_deleted_task_ui_blocks_new_loops(services: Services) -> None:
    flow = make_flow(services, "fd-ui")
    start(services, flow)
    flows.delete_human_task_ui(services, CALLER, flow.human_task_ui_arn.rsplit("/", 1)[1])
    with pytest.raises(InvalidInput, match="task UI"):
        start(services, flow)


def test_flow_with_request_source_cannot_start_loops(services: Services) -> None:
    flow = make_flow(services)
    with services.store.write() as conn:
        request = {
            **flow.request,
            "HumanLoopRequestSource": {"AwsManagedHumanLoopRequestSource": "AWS/Textract/AnalyzeDocument/Forms/V1"},
        }
        conn.execute(flow_definitions.update().where(flow_definitions.c.id == flow.id).values(request=request))
    with pytest.raises(InvalidInput, match="HumanLoopRequestSource"):
        start(services, flow)


def test_recreated_flow_definition_is_not_served_from_cache(services: Services) -> None:
    flow = make_flow(services, "again", task_count=1)
    start(services, flow, "before")
    with services.store.write() as conn:  # as if deleted and purged, then created anew under the same name
        conn.execute(human_loops.delete())
        conn.execute(flow_definitions.delete())
    _clock(services).advance(1)
    again = make_flow(services, "again", task_count=3)
    start(services, again, "after")
    assert _loop_row(services, "after").task_count == 3


def test_quota_of_in_progress_loops(services: Services) -> None:
    settings = dataclasses.replace(services.settings, max_in_progress_loops=2)
    svc = dataclasses.replace(services, settings=settings)
    flow = make_flow(svc)
    start(svc, flow, "q1")
    start(svc, flow, "q2", {"x": 1})
    with pytest.raises(QuotaExceeded):
        start(svc, flow, "q3")
    with pytest.raises(NotFound):
        loops.describe_human_loop(svc, CALLER, "q3")
    start(svc, flow, "q2", {"x": 1})  # a retried start of an existing loop is not a new loop
    loops.stop_human_loop(svc, CALLER, "q1")
    start(svc, flow, "q3")
    other = Caller(account="210987654321", region="us-east-1")
    start(svc, make_flow(svc, caller=other), "elsewhere", caller=other)  # the quota is per account


def test_describe_unknown_loop(services: Services) -> None:
    with pytest.raises(NotFound):
        loops.describe_human_loop(services, CALLER, "missing")


def test_list_filters_sorts_and_pages(services: Services) -> None:
    flow, other = make_flow(services), make_flow(services)
    clock = _clock(services)
    t0 = clock.now()
    names = []
    for i in range(7):
        names.append(start(services, flow, f"l{i}"))
        clock.advance(10)
    start(services, other, "elsewhere")
    loops_, token = loops.list_human_loops(services, CALLER, flow.arn)
    assert [x.name for x in loops_] == names[::-1] and token is None  # default: Descending
    asc, _ = loops.list_human_loops(services, CALLER, flow.arn, sort_order="Ascending")
    assert [x.name for x in asc] == names
    window, _ = loops.list_human_loops(
        services,
        CALLER,
        flow.arn,
        sort_order="Ascending",
        created_after=t0 + timedelta(seconds=20),
        created_before=t0 + timedelta(seconds=50),
    )
    assert [x.name for x in window] == ["l2", "l3", "l4"]  # after is inclusive, before exclusive
    for order, expected in (("Ascending", names), ("Descending", names[::-1])):
        seen, token = [], None
        while True:
            page, token = loops.list_human_loops(
                services, CALLER, flow.arn, sort_order=order, max_results=3, next_token=token
            )
            seen += [x.name for x in page]
            assert len(page) <= 3
            if token is None:
                break
        assert seen == expected
    _, token = loops.list_human_loops(services, CALLER, flow.arn, max_results=2)
    assert token is not None
    with pytest.raises(InvalidInput):  # a token of another query
        loops.list_human_loops(services, CALLER, flow.arn, sort_order="Ascending", next_token=token)
    with pytest.raises(InvalidInput):
        loops.list_human_loops(services, CALLER, flow.arn, next_token="garbage!")


def test_list_same_creation_time_pages_by_id(services: Services) -> None:
    flow = make_flow(services)
    names = [start(services, flow, f"same-{i}") for i in range(5)]  # the clock does not move
    seen, token = [], None
    while True:
        page, token = loops.list_human_loops(
            services, CALLER, flow.arn, sort_order="Ascending", max_results=2, next_token=token
        )
        seen += [x.name for x in page]
        if token is None:
            break
    assert seen == names


def test_list_unknown_flow_is_not_found(services: Services) -> None:
    with pytest.raises(NotFound):
        loops.list_human_loops(services, CALLER, "arn:aws:sagemaker:us-east-1:123456789012:flow-definition/no")


def test_list_summary_fields(services: Services) -> None:
    flow = make_flow(services, lifetime=60)
    start(services, flow, "will-fail")
    _clock(services).advance(61)
    reaper.reap(services)
    [loop], _ = loops.list_human_loops(services, CALLER, flow.arn)
    assert loop.status is HumanLoopStatus.FAILED
    assert loop.failure_code == "Expired" and loop.failure_reason


def test_stop_without_lease_is_stopped_at_once(services: Services) -> None:
    flow = make_flow(services)
    start(services, flow, "s")
    loops.stop_human_loop(services, CALLER, "s")
    assert loops.describe_human_loop(services, CALLER, "s").status is HumanLoopStatus.STOPPED
    row = _loop_row(services, "s")
    assert row.open_slots == 0 and row.ended_at == services.clock.now()
    loops.stop_human_loop(services, CALLER, "S")  # a retried stop is fine
    assert loops.describe_human_loop(services, CALLER, "s").status is HumanLoopStatus.STOPPED


def test_stop_with_lease_is_stopped_at_once(services: Services) -> None:
    flow = make_flow(services, task_count=2)
    worker, other = make_worker(services), make_worker(services)
    start(services, flow, "s")
    lease = queue.claim(services, worker.id, flow.id)
    assert lease is not None
    loops.stop_human_loop(services, CALLER, "s")
    assert loops.describe_human_loop(services, CALLER, "s").status is HumanLoopStatus.STOPPED
    row = _loop_row(services, "s")
    assert (row.open_slots, row.answers_count, row.ended_at) == (0, 0, services.clock.now())
    assert queue.claim(services, other.id, flow.id) is None  # unstarted work is withdrawn at once
    with pytest.raises(TaskUnavailable):  # and so is the held task
        queue.submit(services, lease.assignment_id, worker.id, {"ok": True}, 3.0)
    loops.stop_human_loop(services, CALLER, "s")  # a retried stop is fine
    assert loops.describe_human_loop(services, CALLER, "s").status is HumanLoopStatus.STOPPED
    assert not services.blobs.exists(row.output_uri)  # no answers: no output.json


def test_stop_ignores_a_lease_that_has_run_out(services: Services) -> None:
    flow = make_flow(services, time_limit=30)
    worker = make_worker(services)
    start(services, flow, "s")
    assert queue.claim(services, worker.id, flow.id) is not None
    _clock(services).advance(30)
    loops.stop_human_loop(services, CALLER, "s")
    assert loops.describe_human_loop(services, CALLER, "s").status is HumanLoopStatus.STOPPED


def test_stop_completed_or_failed_is_invalid(services: Services) -> None:
    flow = make_flow(services, lifetime=60)
    worker = make_worker(services)
    start(services, flow, "done")
    lease = queue.claim(services, worker.id, flow.id)
    assert lease is not None
    queue.submit(services, lease.assignment_id, worker.id, {}, 1)
    with pytest.raises(InvalidInput):
        loops.stop_human_loop(services, CALLER, "done")
    start(services, flow, "failing")
    _clock(services).advance(61)
    reaper.reap(services)
    with pytest.raises(InvalidInput):
        loops.stop_human_loop(services, CALLER, "failing")
    with pytest.raises(NotFound):
        loops.stop_human_loop(services, CALLER, "missing")


def test_delete_only_ended_loops_then_gone(services: Services) -> None:
    flow = make_flow(services)
    start(services, flow, "d")
    with pytest.raises(InvalidInput):
        loops.delete_human_loop(services, CALLER, "d")
    loops.stop_human_loop(services, CALLER, "d")
    loops.delete_human_loop(services, CALLER, "D")
    with pytest.raises(NotFound):
        loops.describe_human_loop(services, CALLER, "d")
    with pytest.raises(NotFound):
        loops.delete_human_loop(services, CALLER, "d")
    with pytest.raises(NotFound):
        loops.stop_human_loop(services, CALLER, "d")
    assert loops.list_human_loops(services, CALLER, flow.arn) == ([], None)
    _clock(services).advance(1)
    start(services, flow, "d", {"new": True})  # the name can be used again
    assert loops.describe_human_loop(services, CALLER, "d").status is HumanLoopStatus.IN_PROGRESS


def test_delete_stopping_loop_is_invalid(services: Services) -> None:
    flow = make_flow(services)
    worker = make_worker(services)
    start(services, flow, "d")
    assert queue.claim(services, worker.id, flow.id) is not None
    with services.store.write() as conn:  # as StopHumanLoop of older versions left a loop with a lease
        conn.execute(human_loops.update().where(human_loops.c.name == "d").values(status="Stopping"))
    with pytest.raises(InvalidInput):
        loops.delete_human_loop(services, CALLER, "d")


def test_stopped_loop_with_a_withdrawn_lease_can_be_deleted(services: Services) -> None:
    flow = make_flow(services)
    worker = make_worker(services)
    start(services, flow, "d")
    assert queue.claim(services, worker.id, flow.id) is not None
    loops.stop_human_loop(services, CALLER, "d")
    loops.delete_human_loop(services, CALLER, "d")
    with pytest.raises(NotFound):
        loops.describe_human_loop(services, CALLER, "d")


def test_delete_keeps_output(services: Services) -> None:
    flow = make_flow(services)
    worker = make_worker(services)
    start(services, flow, "keep")
    lease = queue.claim(services, worker.id, flow.id)
    assert lease is not None
    queue.submit(services, lease.assignment_id, worker.id, {"a": 1}, 1)
    uri = loops.describe_human_loop(services, CALLER, "keep").output_uri
    loops.delete_human_loop(services, CALLER, "keep")
    assert json.loads(services.blobs.get(uri))["humanLoopName"] == "keep"
