"""Property-based fuzzing of every operation crowdloop serves (SageMaker, A2I runtime, S3, STS) against a
real `crowdloop serve` on SQLite and PostgreSQL: requests built from botocore's service models, well-formed
and malformed (see fuzzkit), signed with SigV4 and sent over HTTP. Every answer must be below 500 and
parse with botocore's parser for the protocol, errors with a code botocore reads.

Hypothesis runs derandomized (the same examples on every run, so CI is stable) with a bounded number
of examples; the whole file takes well under two minutes per backend.
"""

from __future__ import annotations

import json
import uuid
from collections import Counter
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.credentials import Credentials
from fuzzkit import (
    SERVED,
    Connection,
    Draft,
    Strategies,
    World,
    check_answer,
    mutate,
    request_dict,
    service_model,
    signed,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import RunningServer

ROLE = "arn:aws:iam::123456789012:role/a2i"
EXAMPLES = {"sagemaker": 350, "sagemaker-a2i-runtime": 200, "s3": 400, "sts": 40}


@pytest.fixture
def world(server: RunningServer) -> World:
    """Resources in a region of the test's own (nothing it updates or deletes is another test's), a few
    object keys for S3, and real NextTokens to tamper with."""
    region = f"fuzz-{uuid.uuid4().hex[:8]}"
    sm, a2i = (
        boto3.client(
            name,
            endpoint_url=server.endpoint_url,
            region_name=region,
            aws_access_key_id=server.access_key_id,
            aws_secret_access_key=server.secret_access_key,
            config=Config(retries={"max_attempts": 1}),
        )
        for name in ("sagemaker", "sagemaker-a2i-runtime")
    )
    world = World(region)
    team = sm.create_workteam(
        WorkteamName="fuzz-team", Description="fuzz", MemberDefinitions=[{"OidcMemberDefinition": {"Groups": ["g"]}}]
    )["WorkteamArn"]
    sm.create_workteam(
        WorkteamName="fuzz-team-2", Description="fuzz", MemberDefinitions=[{"OidcMemberDefinition": {"Groups": ["g"]}}]
    )
    uis = [
        sm.create_human_task_ui(
            HumanTaskUiName=f"fuzz-ui-{i}",
            UiTemplate={"Content": "<crowd-form><p>{{ task.input.text }}</p></crowd-form>"},
        )["HumanTaskUiArn"]
        for i in range(2)
    ]
    flows = [
        sm.create_flow_definition(
            FlowDefinitionName=f"fuzz-flow-{i}",
            RoleArn=ROLE,
            OutputConfig={"S3OutputPath": "s3://fuzz-bucket/out"},
            HumanLoopConfig={
                "WorkteamArn": team,
                "HumanTaskUiArn": uis[0],
                "TaskTitle": "t",
                "TaskDescription": "d",
                "TaskCount": 1,
            },
        )["FlowDefinitionArn"]
        for i in range(2)
    ]
    for i in range(3):
        a2i.start_human_loop(
            HumanLoopName=f"fuzz-loop-{i}",
            FlowDefinitionArn=flows[0],
            HumanLoopInput={"InputContent": json.dumps({"text": f"loop {i}"})},
        )
    sm.add_tags(ResourceArn=flows[0], Tags=[{"Key": "a", "Value": "1"}, {"Key": "b", "Value": "2"}])
    world.known += [
        team,
        *uis,
        *flows,
        "fuzz-team",
        "fuzz-ui-0",
        "fuzz-flow-0",
        "fuzz-loop-0",
        "fuzz-loop-1",
        "default",
        "fuzz-bucket",
        "out/a.json",
        "out/",
        "out/sub/b.json",
        "out/ü ?&=.json",
    ]
    loop_names = [f"fuzz-loop-{i}" for i in range(3)]
    world.by_member = {
        "HumanLoopName": loop_names,
        "FlowDefinitionArn": flows,
        "FlowDefinitionName": ["fuzz-flow-0", "fuzz-flow-1"],
        "HumanTaskUiName": ["fuzz-ui-0", "fuzz-ui-1"],
        "HumanTaskUiArn": uis,
        "WorkteamName": ["fuzz-team"],
        "WorkteamArn": [team],
        "ResourceArn": [flows[0], team, uis[0]],
        "WorkforceName": ["default"],
        "RoleArn": [ROLE],
        "Bucket": ["fuzz-bucket"],
        "Prefix": ["out/", "", "out/s"],
        "Delimiter": ["/"],
        "Key": ["out/a.json", "out/sub/b.json", "out/ü ?&=.json", "out/\x01ctl.json"],
    }
    world.tokens += [
        token
        for token in (
            sm.list_human_task_uis(MaxResults=1).get("NextToken"),
            sm.list_flow_definitions(MaxResults=1).get("NextToken"),
            sm.list_workteams(MaxResults=1).get("NextToken"),
            a2i.list_human_loops(FlowDefinitionArn=flows[0], MaxResults=1).get("NextToken"),
        )
        if token
    ]
    bucket = server.settings.output_path / "fuzz-bucket"
    for key in ("out/a.json", "out/sub/b.json", "out/ü ?&=.json", "out/\x01ctl.json"):
        (bucket / key).parent.mkdir(parents=True, exist_ok=True)
        (bucket / key).write_text('{"fuzz": true}')
    return world


@pytest.fixture
def connection(server: RunningServer) -> Iterator[Connection]:
    conn = Connection(server.endpoint_url)
    yield conn
    conn.close()


def _fuzz(service_name: str, server: RunningServer, world: World, connection: Connection) -> Counter[str]:
    """Run the property for one service; returns how many answers of each status class it saw."""
    service = service_model(service_name)
    strategies = Strategies(world)
    credentials = Credentials(server.access_key_id, server.secret_access_key)
    seen: Counter[str] = Counter()
    operations = [service.operation_model(name) for name in SERVED[service_name]]

    @settings(
        max_examples=EXAMPLES[service_name],
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=[
            HealthCheck.too_slow,
            HealthCheck.data_too_large,
            HealthCheck.filter_too_much,
            HealthCheck.large_base_example,
        ],
    )
    @given(data=st.data())
    def property_(data: st.DataObject) -> None:
        op = data.draw(st.sampled_from(operations), label="operation")
        params: dict[str, Any] = (
            data.draw(strategies.structure(op.input_shape, 0), label="params") if op.input_shape is not None else {}
        )
        draft: Draft = mutate(data.draw, op, params, world)
        request = request_dict(service, op, draft)
        prepared = signed(service_name, server.endpoint_url, world.region, credentials, request)
        status, headers, body = connection.send(prepared)
        parsed = check_answer(service, op, prepared.method, status, headers, body)
        code = parsed.get("Error", {}).get("Code", "")
        if draft.well_formed:  # malformed ones may hold bytes that are not UTF-8, which signatures cannot cover
            assert code not in ("InvalidSignatureException", "SignatureDoesNotMatch", "IncompleteSignature"), (
                f"{op.name}: the fuzz signs every request, yet: {body[:300]!r}"
            )
        seen[f"{status // 100}xx"] += 1
        seen[f"{op.name}:{status // 100}xx"] += 1

    property_()
    return seen


@pytest.mark.parametrize("service_name", list(SERVED))
def test_no_answer_is_a_500_or_unparsable(
    service_name: str, server: RunningServer, world: World, connection: Connection
) -> None:
    seen = _fuzz(service_name, server, world, connection)
    # The fuzz is only worth something if well-formed requests get through to the handlers.
    assert seen["2xx"] > EXAMPLES[service_name] // 50, seen
    assert seen["4xx"] > EXAMPLES[service_name] // 10, seen
