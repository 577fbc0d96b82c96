"""The A2I runtime API through real boto3 clients against `crowdloop serve` (SQLite and PostgreSQL):
the notebook path, idempotent starts, every modeled error with its status, paging and the wire format."""

from __future__ import annotations

import json
import re
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from botocore.exceptions import ClientError

from crowdloop import queue, workers
from crowdloop.runtime import Services
from crowdloop.store.tables import flow_definitions
from tests.api.sagemaker_helpers import ROLE, human_loop_config, regional_client, unique
from tests.conftest import RunningServer, start_server, stop_server

ISO_MS = re.compile(r'"CreationTime":\s*"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z"')


class Region:
    """A SageMaker and an A2I client signed for a region of their own (isolated lists and names)."""

    def __init__(self, server: RunningServer) -> None:
        self.sm = regional_client(server)
        self.region = self.sm.meta.region_name
        self.a2i = regional_client(server, "sagemaker-a2i-runtime", self.region)

    def flow(self, task_count: int = 1, output_path: str = "s3://a2i-bucket/results", **extra: Any) -> str:
        name = unique("fd")
        arn: str = self.sm.create_flow_definition(
            FlowDefinitionName=name,
            RoleArn=ROLE,
            OutputConfig={"S3OutputPath": output_path},
            HumanLoopConfig=human_loop_config(self.sm, TaskCount=task_count, **extra),
        )["FlowDefinitionArn"]
        assert self.sm.describe_flow_definition(FlowDefinitionName=name)["FlowDefinitionStatus"] in (
            "Initializing",
            "Active",
        )
        return arn

    def start(self, flow_arn: str, name: str | None = None, content: Any = None) -> str:
        name = name or unique("loop")
        self.a2i.start_human_loop(
            HumanLoopName=name,
            FlowDefinitionArn=flow_arn,
            HumanLoopInput={"InputContent": json.dumps(content or {"text": name})},
        )
        return name


@pytest.fixture
def region(server: RunningServer) -> Region:
    return Region(server)


def _error(call: Any, code: str, status: int, **kwargs: Any) -> str:
    with pytest.raises(ClientError) as caught:
        call(**kwargs)
    response = caught.value.response
    got = (response["Error"]["Code"], response["ResponseMetadata"]["HTTPStatusCode"])
    assert got == (code, status), response
    return str(response["Error"]["Message"])


def _answer(svc: Services, flow_arn: str, answers: list[dict[str, Any]]) -> None:
    """One new worker per answer claims the next task of the flow and submits it."""
    with svc.store.read() as conn:
        flow_id = conn.execute(sa.select(flow_definitions.c.id).where(flow_definitions.c.arn == flow_arn)).scalar_one()
    for answer in answers:
        worker = workers.add_worker(svc, f"{uuid.uuid4().hex}@example.org", groups=["raters"])
        lease = queue.claim(svc, worker.id, flow_id)
        assert lease is not None
        queue.submit(svc, lease.assignment_id, worker.id, answer, 4.2)


def test_notebook_path(region: Region, server_services: Services, server: RunningServer) -> None:
    flow_arn = region.flow(task_count=2)
    name = unique("loop")
    before = datetime.now(UTC) - timedelta(seconds=1)
    started = region.a2i.start_human_loop(
        HumanLoopName=name,
        FlowDefinitionArn=flow_arn,
        HumanLoopInput={"InputContent": json.dumps({"prompt": "p", "responses": ["a", "b"]})},
        DataAttributes={"ContentClassifiers": ["FreeOfPersonallyIdentifiableInformation"]},
    )
    assert started["HumanLoopArn"] == f"arn:aws:sagemaker:{region.region}:123456789012:human-loop/{name}"
    described = region.a2i.describe_human_loop(HumanLoopName=name)
    assert described["HumanLoopStatus"] == "InProgress"
    assert described["HumanLoopArn"] == started["HumanLoopArn"]
    assert described["FlowDefinitionArn"] == flow_arn
    created: datetime = described["CreationTime"]
    assert before <= created <= datetime.now(UTC) + timedelta(seconds=1)
    fd_name = flow_arn.rsplit("/", 1)[1]
    uri = described["HumanLoopOutput"]["OutputS3Uri"]
    assert uri == f"s3://a2i-bucket/results/{fd_name}/{created:%Y/%m/%d/%H/%M/%S}/{name}/output.json"
    assert "FailureReason" not in described and "FailureCode" not in described

    [summary] = region.a2i.list_human_loops(FlowDefinitionArn=flow_arn)["HumanLoopSummaries"]
    assert set(summary) == {"HumanLoopName", "HumanLoopStatus", "CreationTime", "FlowDefinitionArn"}
    assert (summary["HumanLoopName"], summary["HumanLoopStatus"]) == (name, "InProgress")

    _answer(server_services, flow_arn, [{"preference": {"label": "A"}}, {"preference": {"label": "B"}}])
    assert region.a2i.describe_human_loop(HumanLoopName=name)["HumanLoopStatus"] == "Completed"
    bucket, key = uri.removeprefix("s3://").split("/", 1)
    document = json.loads(server.client("s3").get_object(Bucket=bucket, Key=key)["Body"].read())
    assert document["flowDefinitionArn"] == flow_arn and document["humanLoopName"] == name
    assert document["inputContent"] == {"prompt": "p", "responses": ["a", "b"]}
    assert [a["answerContent"] for a in document["humanAnswers"]] == [
        {"preference": {"label": "A"}},
        {"preference": {"label": "B"}},
    ]


def test_timestamps_on_the_wire_are_iso_strings(region: Region) -> None:
    flow_arn = region.flow()
    name = region.start(flow_arn)
    bodies: list[bytes] = []
    region.a2i.meta.events.register(
        "after-call.sagemaker-a2i-runtime.*", lambda http_response, **_: bodies.append(http_response.content)
    )
    region.a2i.describe_human_loop(HumanLoopName=name)
    region.a2i.list_human_loops(FlowDefinitionArn=flow_arn)
    assert len(bodies) == 2 and all(ISO_MS.search(body.decode()) for body in bodies), bodies


def test_start_is_idempotent_and_conflicts(region: Region) -> None:
    flow_arn, other_arn = region.flow(), region.flow()
    name = region.start(flow_arn, content={"a": 1})
    again = region.a2i.start_human_loop(
        HumanLoopName=name, FlowDefinitionArn=flow_arn, HumanLoopInput={"InputContent": json.dumps({"a": 1})}
    )
    assert again["HumanLoopArn"].endswith(f"/{name}")
    _error(
        region.a2i.start_human_loop,
        "ConflictException",
        409,
        HumanLoopName=name,
        FlowDefinitionArn=flow_arn,
        HumanLoopInput={"InputContent": json.dumps({"a": 2})},
    )
    _error(
        region.a2i.start_human_loop,
        "ConflictException",
        409,
        HumanLoopName=name,
        FlowDefinitionArn=other_arn,
        HumanLoopInput={"InputContent": json.dumps({"a": 1})},
    )


def test_start_validation_errors(region: Region) -> None:
    flow_arn = region.flow()
    missing = flow_arn.rsplit("/", 1)[0] + "/no-such-flow"
    for arn, content in ((missing, "{}"), (flow_arn, "not json"), (flow_arn, "[1]")):
        _error(
            region.a2i.start_human_loop,
            "ValidationException",
            400,
            HumanLoopName=unique("loop"),
            FlowDefinitionArn=arn,
            HumanLoopInput={"InputContent": content},
        )


def test_describe_stop_delete_errors(region: Region, server_services: Services) -> None:
    flow_arn = region.flow()
    _error(region.a2i.describe_human_loop, "ResourceNotFoundException", 404, HumanLoopName="missing")
    _error(region.a2i.stop_human_loop, "ResourceNotFoundException", 404, HumanLoopName="missing")
    _error(region.a2i.delete_human_loop, "ResourceNotFoundException", 404, HumanLoopName="missing")
    _error(
        region.a2i.list_human_loops,
        "ResourceNotFoundException",
        404,
        FlowDefinitionArn=flow_arn.rsplit("/", 1)[0] + "/no-such-flow",
    )
    running = region.start(flow_arn)
    _error(region.a2i.delete_human_loop, "ValidationException", 400, HumanLoopName=running)
    assert region.a2i.stop_human_loop(HumanLoopName=running)["ResponseMetadata"]["HTTPStatusCode"] == 200
    region.a2i.stop_human_loop(HumanLoopName=running)  # again: fine
    assert region.a2i.describe_human_loop(HumanLoopName=running)["HumanLoopStatus"] == "Stopped"
    assert region.a2i.delete_human_loop(HumanLoopName=running)["ResponseMetadata"]["HTTPStatusCode"] == 200
    _error(region.a2i.describe_human_loop, "ResourceNotFoundException", 404, HumanLoopName=running)
    assert region.a2i.list_human_loops(FlowDefinitionArn=flow_arn)["HumanLoopSummaries"] == []
    done = region.start(flow_arn)
    _answer(server_services, flow_arn, [{"ok": True}])
    _error(region.a2i.stop_human_loop, "ValidationException", 400, HumanLoopName=done)


def test_list_paging_and_filters(region: Region) -> None:
    flow_arn = region.flow()
    names = [region.start(flow_arn) for _ in range(5)]
    paginator = region.a2i.get_paginator("list_human_loops")
    pages = list(
        paginator.paginate(FlowDefinitionArn=flow_arn, SortOrder="Ascending", PaginationConfig={"PageSize": 2})
    )
    assert [len(p["HumanLoopSummaries"]) for p in pages] == [2, 2, 1]
    listed = [s["HumanLoopName"] for p in pages for s in p["HumanLoopSummaries"]]
    assert sorted(listed) == sorted(names)
    created = [s["CreationTime"] for p in pages for s in p["HumanLoopSummaries"]]
    assert created == sorted(created)
    descending = region.a2i.list_human_loops(FlowDefinitionArn=flow_arn)["HumanLoopSummaries"]
    assert [s["HumanLoopName"] for s in descending] == listed[::-1]
    future = datetime.now(UTC) + timedelta(hours=1)
    assert region.a2i.list_human_loops(FlowDefinitionArn=flow_arn, CreationTimeAfter=future)["HumanLoopSummaries"] == []
    assert (
        len(region.a2i.list_human_loops(FlowDefinitionArn=flow_arn, CreationTimeBefore=future)["HumanLoopSummaries"])
        == 5
    )
    _error(region.a2i.list_human_loops, "ValidationException", 400, FlowDefinitionArn=flow_arn, NextToken="not-a-token")


def test_quota_is_402(tmp_path: Any) -> None:
    server = start_server(
        tmp_path, f"sqlite:///{tmp_path / 'quota.db'}", extra_env={"CROWDLOOP_MAX_IN_PROGRESS_LOOPS": "1"}
    )
    try:
        region = Region(server)
        flow_arn = region.flow()
        region.start(flow_arn, "first")
        message = _error(
            region.a2i.start_human_loop,
            "ServiceQuotaExceededException",
            402,
            HumanLoopName="second",
            FlowDefinitionArn=flow_arn,
            HumanLoopInput={"InputContent": "{}"},
        )
        assert "quota" in message
        region.a2i.stop_human_loop(HumanLoopName="first")
        region.start(flow_arn, "second")
    finally:
        stop_server(server)
