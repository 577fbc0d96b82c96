"""Bad input is a ValidationException, never a 500, through real boto3 against `crowdloop serve` (SQLite and
PostgreSQL): forged and tampered NextTokens, NUL characters, JSON nested too deep, unpaired surrogates, and
the largest InputContent AWS accepts (3,145,728 non-ASCII characters)."""

from __future__ import annotations

import base64
import json
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from crowdloop.runtime import Services
from tests.api.sagemaker_helpers import ROLE, make_task_ui, unique
from tests.api.test_a2i_runtime import Region, _answer
from tests.conftest import RunningServer

AWS_MAX_INPUT_CHARACTERS = 3_145_728


@pytest.fixture
def region(server: RunningServer) -> Region:
    return Region(server)


def _validation_error(call: Any, **kwargs: Any) -> str:
    with pytest.raises(ClientError) as caught:
        call(**kwargs)
    response = caught.value.response
    assert (response["Error"]["Code"], response["ResponseMetadata"]["HTTPStatusCode"]) == (
        "ValidationException",
        400,
    ), response
    return str(response["Error"]["Message"])


def _b64(value: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")


def _tampered(token: str) -> list[str]:
    payload, _, mac = token.partition(".")
    position = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    forged = [2**63 if isinstance(v, int) else v for v in position]
    return [_b64(forged) + "." + mac, payload + "." + mac[::-1], payload, token + "x", _b64(position) + ".", "." + mac]


FORGED = [
    _b64({"q": "0" * 16, "p": [2**63, 2**63]}),
    _b64({"q": "0" * 16, "p": [10**30, 1]}),
    _b64([2**31, 2**31]),
    "not-a-token",
    "%%%",
    "a.b",
]


def test_forged_and_tampered_next_tokens_are_invalid(region: Region) -> None:
    flow_arn = region.flow()
    region.flow()
    for _ in range(3):
        region.start(flow_arn)
    lists: list[tuple[Any, dict[str, Any]]] = [
        (region.sm.list_human_task_uis, {}),
        (region.sm.list_flow_definitions, {}),
        (region.sm.list_workteams, {}),
        (region.a2i.list_human_loops, {"FlowDefinitionArn": flow_arn}),
    ]
    for call, kwargs in lists:
        token = call(MaxResults=1, **kwargs)["NextToken"]
        assert call(MaxResults=1, NextToken=token, **kwargs)  # the real one pages on
        for bad in [*FORGED, *_tampered(token)]:
            message = _validation_error(call, NextToken=bad, MaxResults=1, **kwargs)
            assert "Invalid NextToken" in message, (call, bad, message)
    token = region.sm.list_human_task_uis(MaxResults=1)["NextToken"]
    assert "Invalid NextToken" in _validation_error(region.sm.list_flow_definitions, NextToken=token)
    assert "Invalid NextToken" in _validation_error(
        region.sm.list_human_task_uis, NextToken=token, SortOrder="Ascending"
    )


def test_next_tokens_are_opaque_and_signed(region: Region) -> None:
    region.flow()
    region.flow()
    token = region.sm.list_flow_definitions(MaxResults=1)["NextToken"]
    payload, dot, mac = token.partition(".")
    assert dot and len(base64.urlsafe_b64decode(mac + "==")) == 16
    position = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    assert isinstance(position, list) and len(position) == 2  # the sort key only: the query is in the MAC


def test_nul_characters_in_free_text_members(region: Region) -> None:
    message = _validation_error(
        region.sm.create_workteam,
        WorkteamName=unique("team"),
        Description="a\x00b",
        MemberDefinitions=[{"OidcMemberDefinition": {"Groups": ["g"]}}],
    )
    assert "at 'description' failed to satisfy constraint: Member must not contain the NUL character" in message
    message = _validation_error(
        region.sm.create_human_task_ui, HumanTaskUiName=unique("ui"), UiTemplate={"Content": "<p>\x00</p>"}
    )
    assert "'uiTemplate.content'" in message and "NUL" in message
    ui_arn = make_task_ui(region.sm)
    message = _validation_error(region.sm.add_tags, ResourceArn=ui_arn, Tags=[{"Key": "k", "Value": "\x00"}])
    assert "'tags.1.member.value'" in message and "NUL" in message
    message = _validation_error(
        region.sm.render_ui_template, UiTemplate={"Content": "<p>x</p>"}, Task={"Input": '{"a": "\x00"}'}, RoleArn=ROLE
    )
    assert "'task.input'" in message


def _nested(depth: int) -> str:
    return '{"d": ' + "[" * (depth - 1) + "1" + "]" * (depth - 1) + "}"


def test_input_content_nesting_limit(region: Region) -> None:
    flow_arn = region.flow()
    region.a2i.start_human_loop(
        HumanLoopName=unique("deep"), FlowDefinitionArn=flow_arn, HumanLoopInput={"InputContent": _nested(256)}
    )
    for depth in (257, 1100, 100_000):
        message = _validation_error(
            region.a2i.start_human_loop,
            HumanLoopName=unique("deep"),
            FlowDefinitionArn=flow_arn,
            HumanLoopInput={"InputContent": _nested(depth)},
        )
        assert "HumanLoopInput.InputContent" in message, message
        assert "nests deeper than 256 levels" in message or depth > 1024, message


def test_render_ui_template_task_input_limits(region: Region) -> None:
    template = {"Content": "<p>{{ task.input.a }}</p>{{ task.input | to_json }}"}
    for depth in (257, 1100, 60_000):  # Task.Input holds at most 128,000 characters
        message = _validation_error(
            region.sm.render_ui_template, UiTemplate=template, Task={"Input": _nested(depth)}, RoleArn=ROLE
        )
        assert "task.input" in message and "nests deeper than 256 levels" in message, message
    rendered = region.sm.render_ui_template(UiTemplate=template, Task={"Input": '{"a": "x\\ud800y"}'}, RoleArn=ROLE)[
        "RenderedContent"
    ]
    assert "<p>x\ufffdy</p>" in rendered


def test_deep_value_of_the_wrong_type_is_a_validation_error(server: RunningServer) -> None:
    """The error message shows the value (cut to 256 characters); showing a deep one used to recurse."""
    client = boto3.client(
        "sagemaker",
        endpoint_url=server.endpoint_url,
        region_name=unique("t"),
        aws_access_key_id=server.access_key_id,
        aws_secret_access_key=server.secret_access_key,
        config=Config(retries={"max_attempts": 1}, parameter_validation=False),
    )
    deep: Any = "x"
    for _ in range(600):
        deep = [deep]
    message = _validation_error(client.describe_workteam, WorkteamName=deep)
    assert (
        "Value '[[[[" in message
        and "...' at 'workteamName' failed to satisfy constraint: Member must be a string" in message
    )


@pytest.mark.slow
def test_non_ascii_input_content_up_to_the_aws_limit(
    region: Region, server: RunningServer, server_services: Services
) -> None:
    """boto3 sends each non-ASCII character as a 6-byte \\uXXXX escape (12 bytes outside the BMP): the
    largest valid request is far beyond the old 8 MiB body limit, and must still be accepted."""
    flow_arn = region.flow(output_path=f"s3://{unique('big')}/out")
    frame = '{"text": ""}'
    korean = '{"text": "' + "\ud55c" * (AWS_MAX_INPUT_CHARACTERS - len(frame)) + '"}'
    assert len(korean) == AWS_MAX_INPUT_CHARACTERS
    name = unique("korean")
    region.a2i.start_human_loop(HumanLoopName=name, FlowDefinitionArn=flow_arn, HumanLoopInput={"InputContent": korean})
    _answer(server_services, flow_arn, [{"ok": True}])
    described = region.a2i.describe_human_loop(HumanLoopName=name)
    assert described["HumanLoopStatus"] == "Completed"
    bucket, _, key = described["HumanLoopOutput"]["OutputS3Uri"].removeprefix("s3://").partition("/")
    document = json.loads(server.client("s3").get_object(Bucket=bucket, Key=key)["Body"].read())
    assert document["inputContent"] == json.loads(korean)

    emoji = '{"text": "' + "\U0001f600" * (AWS_MAX_INPUT_CHARACTERS - len(frame)) + '"}'
    region.a2i.start_human_loop(
        HumanLoopName=unique("emoji"), FlowDefinitionArn=flow_arn, HumanLoopInput={"InputContent": emoji}
    )  # 37.7 MB on the wire
    message = _validation_error(
        region.a2i.start_human_loop,
        HumanLoopName=unique("over"),
        FlowDefinitionArn=flow_arn,
        HumanLoopInput={"InputContent": korean[:-2] + '한"}'},
    )
    assert "Member must have length less than or equal to 3145728" in message
