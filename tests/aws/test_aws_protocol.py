"""Wire behaviour of both JSON protocols: dispatch, serialisation, and domain error -> AWS code/status."""

from __future__ import annotations

import json
import re
import uuid
from typing import Any

import pytest
from awskit import ACCOUNT, AwsServer, error_of
from botocore.exceptions import ClientError

from crowdloop.aws import s3, wire
from crowdloop.dispatch import AWS_APIS, destination

FD_ARN = f"arn:aws:sagemaker:us-east-1:{ACCOUNT}:flow-definition/fd"


def _scope(method: str, path: str, headers: dict[str, str] | None = None, query: str = "") -> dict[str, Any]:
    return {
        "type": "http",
        "method": method,
        "path": path,
        "query_string": query.encode(),
        "headers": [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()],
    }


SIGNED = (
    "AWS4-HMAC-SHA256 Credential=AKID/20260101/us-east-1/{}/aws4_request, SignedHeaders=host, Signature=" + "0" * 64
)
JSON = {"Content-Type": "application/json"}


@pytest.mark.parametrize(
    ("scope", "expected"),
    [
        (_scope("POST", "/", {"X-Amz-Target": "SageMaker.ListWorkteams"}), True),
        (_scope("GET", "/human-loops"), True),
        (_scope("DELETE", "/human-loops/loop-1"), True),
        (_scope("GET", "/bucket/key", {"Authorization": SIGNED.format("s3")}), True),
        (
            _scope(
                "GET",
                "/bucket/key",
                query="X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKID%2F20260101"
                "%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Signature=00",
            ),
            True,
        ),
        (
            _scope(
                "POST",
                "/",
                {"Authorization": SIGNED.format("sts"), "Content-Type": "application/x-www-form-urlencoded"},
            ),
            True,
        ),
        (_scope("POST", "/", {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"}), True),
        (_scope("GET", "/", query="Action=GetCallerIdentity&Version=2011-06-15"), True),
        (_scope("GET", "/"), False),
        (_scope("GET", "/tasks/12"), False),
        (_scope("POST", "/login", {"Content-Type": "application/x-www-form-urlencoded"}), False),
        (_scope("GET", "/human-loopsx"), False),
        ({"type": "websocket", "path": "/human-loops", "headers": []}, False),
    ],
)
def test_is_aws_request(scope: dict[str, Any], expected: bool) -> None:
    assert (destination(scope) in AWS_APIS) is expected


# --- serialisation -----------------------------------------------------------------------------------


def test_sagemaker_reply_has_epoch_timestamps_request_id_and_no_nulls(aws: AwsServer) -> None:
    status, headers, body = aws.request(
        "POST",
        "/",
        body=b'{"FlowDefinitionName": "fd"}',
        headers={"X-Amz-Target": "SageMaker.DescribeFlowDefinition", "Content-Type": "application/x-amz-json-1.1"},
    )
    assert status == 200
    assert headers["content-type"] == "application/x-amz-json-1.1"
    uuid.UUID(headers["x-amzn-requestid"])
    data = json.loads(body)
    assert data["CreationTime"] == 1700000000.456
    assert "FailureReason" not in data and "TaskKeywords" not in data["HumanLoopConfig"]
    assert b"null" not in body


def test_a2i_reply_has_iso_timestamps_with_milliseconds(aws: AwsServer) -> None:
    status, headers, body = aws.request("GET", "/human-loops/loop-1")
    assert status == 200
    assert headers["content-type"] == "application/json"
    uuid.UUID(headers["x-amzn-requestid"])
    data = json.loads(body)
    assert data["CreationTime"] == "2023-11-14T22:13:20.456Z"
    assert "FailureCode" not in data


def test_boto3_parses_both_timestamp_forms_and_the_request_id(aws: AwsServer) -> None:
    described = aws.client("sagemaker").describe_flow_definition(FlowDefinitionName="fd")
    loop = aws.client("sagemaker-a2i-runtime").describe_human_loop(HumanLoopName="loop-1")
    assert described["CreationTime"] == loop["CreationTime"]
    assert described["CreationTime"].isoformat() == "2023-11-14T22:13:20.456000+00:00"
    assert re.fullmatch(r"[0-9a-f-]{36}", loop["ResponseMetadata"]["RequestId"])


def test_a2i_routes_reach_the_right_operation(aws: AwsServer) -> None:
    a2i = aws.client("sagemaker-a2i-runtime")
    a2i.stop_human_loop(HumanLoopName="loop-9")
    assert aws.fakes.calls["StopHumanLoop"][1] == {"HumanLoopName": "loop-9"}
    a2i.delete_human_loop(HumanLoopName="loop-8")
    assert aws.fakes.calls["DeleteHumanLoop"][1] == {"HumanLoopName": "loop-8"}
    assert a2i.describe_human_loop(HumanLoopName="stop")["HumanLoopName"] == "stop"  # GET /human-loops/stop
    a2i.start_human_loop(
        HumanLoopName="loop-7",
        FlowDefinitionArn=FD_ARN,
        HumanLoopInput={"InputContent": "{}"},
        DataAttributes={"ContentClassifiers": ["FreeOfAdultContent"]},
    )
    assert aws.fakes.calls["StartHumanLoop"][1]["DataAttributes"] == {"ContentClassifiers": ["FreeOfAdultContent"]}


def test_list_human_loops_query_is_typed_per_the_model(aws: AwsServer) -> None:
    arn = FD_ARN.replace(":", "%3A").replace("/", "%2F")
    status, _, _ = aws.request(
        "GET",
        f"/human-loops?FlowDefinitionArn={arn}"
        "&CreationTimeAfter=2020-02-24T00%3A00%3A00Z"
        "&CreationTimeBefore=2020-03-01T00%3A00%3A00.123Z"
        "&MaxResults=7&SortOrder=Descending&Unknown=1",
    )
    assert status == 200
    params = aws.fakes.calls["ListHumanLoops"][1]
    assert params["MaxResults"] == 7
    assert params["CreationTimeAfter"].isoformat() == "2020-02-24T00:00:00+00:00"
    assert params["CreationTimeBefore"].isoformat() == "2020-03-01T00:00:00.123000+00:00"
    assert "Unknown" not in params


def test_list_human_loops_with_boto3_datetimes(aws: AwsServer) -> None:
    from datetime import UTC, datetime

    after = datetime(2020, 2, 24, 1, 2, 3, 456789, tzinfo=UTC)
    aws.client("sagemaker-a2i-runtime").list_human_loops(FlowDefinitionArn=FD_ARN, CreationTimeAfter=after)
    assert aws.fakes.calls["ListHumanLoops"][1]["CreationTimeAfter"] == after


def test_sagemaker_epoch_input_timestamps_become_aware_datetimes(aws: AwsServer) -> None:
    aws.client("sagemaker").list_human_task_uis(CreationTimeAfter=1582502400, SortOrder="Ascending")
    params = aws.fakes.calls["ListHumanTaskUis"][1]
    assert params["CreationTimeAfter"].isoformat() == "2020-02-24T00:00:00+00:00"
    status, _, _ = aws.request(
        "POST",
        "/",
        body=b'{"CreationTimeBefore": 1582502400.25}',
        headers={"X-Amz-Target": "SageMaker.ListHumanTaskUis", "Content-Type": "application/x-amz-json-1.1"},
    )
    assert status == 200
    assert aws.fakes.calls["ListHumanTaskUis"][1]["CreationTimeBefore"].isoformat() == (
        "2020-02-24T00:00:00.250000+00:00"
    )


# --- protocol-level failures ---------------------------------------------------------------------------


def _sagemaker_raw(aws: AwsServer, target: str, body: bytes) -> tuple[int, dict[str, Any]]:
    status, _, reply = aws.request(
        "POST", "/", body=body, headers={"X-Amz-Target": target, "Content-Type": "application/x-amz-json-1.1"}
    )
    return status, json.loads(reply)


def test_unknown_sagemaker_operation(aws: AwsServer) -> None:
    status, data = _sagemaker_raw(aws, "SageMaker.CreateTrainingJob", b"{}")
    assert (status, data["__type"]) == (400, "UnknownOperationException")
    status, data = _sagemaker_raw(aws, "AmazonSSM.GetParameter", b"{}")
    assert (status, data["__type"]) == (400, "UnknownOperationException")


def test_unknown_a2i_route(aws: AwsServer) -> None:
    status, headers, _ = aws.request("PUT", "/human-loops/x")
    assert (status, headers["x-amzn-errortype"]) == (404, "UnknownOperationException")
    status, headers, _ = aws.request("GET", "/human-loops/a/b")
    assert (status, headers["x-amzn-errortype"]) == (404, "UnknownOperationException")


def test_malformed_json_is_a_serialization_error(aws: AwsServer) -> None:
    for body in (b"{nope", b"[1]", b"\xff"):
        status, data = _sagemaker_raw(aws, "SageMaker.ListHumanTaskUis", body)
        assert (status, data["__type"]) == (400, "SerializationException")


def test_empty_body_means_no_members(aws: AwsServer) -> None:
    assert _sagemaker_raw(aws, "SageMaker.ListHumanTaskUis", b"")[0] == 200


def test_body_over_the_limit_is_rejected_and_just_under_is_accepted(aws: AwsServer) -> None:
    assert wire.MAX_BODY_BYTES == 40 * 1024 * 1024  # docs/api.md: 3,145,728 escaped astral characters fit
    content = "x" * (3 * 1024 * 1024)
    body = json.dumps(
        {"HumanLoopName": "big", "FlowDefinitionArn": FD_ARN, "HumanLoopInput": {"InputContent": content}}
    ).encode()
    status, _, _ = aws.request("POST", "/human-loops", body=body, headers=JSON)
    assert status == 200
    assert len(aws.fakes.calls["StartHumanLoop"][1]["HumanLoopInput"]["InputContent"]) == len(content)
    huge = b'{"HumanLoopName": "' + b"x" * wire.MAX_BODY_BYTES + b'"}'
    status, headers, _ = aws.request("POST", "/human-loops", body=huge, headers=JSON)
    assert (status, headers["x-amzn-errortype"]) == (413, "ValidationException")


def test_sts_and_s3_xml_bodies_have_a_small_limit(aws: AwsServer) -> None:
    body = b"Action=GetCallerIdentity&Version=2011-06-15&x=" + b"y" * wire.MAX_XML_API_BODY_BYTES
    status, _, reply = aws.request(
        "POST", "/", body=body, service="sts", headers={"Content-Type": "application/x-www-form-urlencoded"}
    )
    assert status == 400 and b"<Code>ValidationError</Code>" in reply
    xml = b"<Delete>" + b" " * s3.MAX_XML_BODY_BYTES + b"</Delete>"  # S3's XML documents: 4 MiB
    status, _, reply = aws.request("POST", "/bucket?delete", body=xml, service="s3")
    assert status == 400 and b"<Code>EntityTooLarge</Code>" in reply  # as S3 answers an oversized body


def test_escaped_input_content_near_the_limit_arrives_intact(aws: AwsServer) -> None:
    content = json.dumps({"q": '"quoted" é\n' * 120_000})  # > 3 MB once JSON-escaped again by boto3
    aws.client("sagemaker-a2i-runtime").start_human_loop(
        HumanLoopName="escaped", FlowDefinitionArn=FD_ARN, HumanLoopInput={"InputContent": content}
    )
    assert aws.fakes.calls["StartHumanLoop"][1]["HumanLoopInput"]["InputContent"] == content


# --- domain errors -> AWS codes -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("call", "code", "message"),
    [
        (
            lambda sm: sm.describe_flow_definition(FlowDefinitionName="missing"),
            "ResourceNotFound",
            "Could not find flow definition missing",
        ),
        (lambda sm: sm.describe_workteam(WorkteamName="t"), "ValidationException", "The work team t does not exist."),
        (lambda sm: sm.describe_workforce(WorkforceName="w"), "ValidationException", "No workforce found for w."),
        (
            lambda sm: sm.create_human_task_ui(HumanTaskUiName="exists", UiTemplate={"Content": "x"}),
            "ResourceInUse",
            None,
        ),
        (lambda sm: sm.delete_human_task_ui(HumanTaskUiName="ui"), "ResourceInUse", "The human task UI is in use."),
        (lambda sm: sm.delete_workteam(WorkteamName="t"), "ConflictException", "Conflict."),
        (lambda sm: sm.create_workforce(WorkforceName="w"), "ResourceLimitExceeded", "One workforce per region."),
        (
            lambda sm: sm.create_workteam(
                WorkteamName="t", Description="d", MemberDefinitions=[{"OidcMemberDefinition": {"Groups": ["g"]}}]
            ),
            "ResourceLimitExceeded",
            "Too many work teams.",
        ),
        (lambda sm: sm.describe_human_task_ui(HumanTaskUiName="ui"), "ValidationException", "gone"),
    ],
)
def test_sagemaker_error_codes(aws: AwsServer, call: Any, code: str, message: str | None) -> None:
    with pytest.raises(ClientError) as exc:
        call(aws.client("sagemaker"))
    got_code, status, got_message = error_of(exc)
    assert (got_code, status) == (code, 400)
    if message is not None:
        assert got_message == message


def test_sagemaker_modeled_errors_map_to_boto3_exception_classes(aws: AwsServer) -> None:
    sm = aws.client("sagemaker")
    with pytest.raises(sm.exceptions.ResourceNotFound):
        sm.describe_flow_definition(FlowDefinitionName="missing")
    with pytest.raises(sm.exceptions.ResourceInUse):
        sm.delete_human_task_ui(HumanTaskUiName="ui")


def test_sagemaker_error_body_has_type_and_both_message_keys(aws: AwsServer) -> None:
    status, data = _sagemaker_raw(aws, "SageMaker.DescribeFlowDefinition", b'{"FlowDefinitionName": "missing"}')
    assert status == 400
    assert data == {
        "__type": "ResourceNotFound",
        "message": "Could not find flow definition missing",
        "Message": "Could not find flow definition missing",
    }


def test_unexpected_exception_is_internal_failure_500(aws: AwsServer, caplog: pytest.LogCaptureFixture) -> None:
    with pytest.raises(ClientError) as exc:
        aws.client("sagemaker").render_ui_template(
            UiTemplate={"Content": "x"}, Task={"Input": "{}"}, RoleArn="arn:aws:iam::111122223333:role/a2i"
        )
    assert error_of(exc)[:2] == ("InternalFailure", 500)
    assert "boom" in caplog.text


@pytest.mark.parametrize(
    ("name", "code", "status"),
    [
        ("invalid", "ValidationException", 400),
        ("inuse", "ValidationException", 400),
        ("conflict", "ConflictException", 409),
        ("exists", "ConflictException", 409),
        ("quota", "ServiceQuotaExceededException", 402),
        ("limit", "ServiceQuotaExceededException", 402),
        ("crash", "InternalServerException", 500),
    ],
)
def test_a2i_error_codes_and_statuses(aws: AwsServer, name: str, code: str, status: int) -> None:
    a2i = aws.client("sagemaker-a2i-runtime")
    with pytest.raises(ClientError) as exc:
        a2i.start_human_loop(HumanLoopName=name, FlowDefinitionArn=FD_ARN, HumanLoopInput={"InputContent": "{}"})
    assert error_of(exc)[:2] == (code, status)


def test_a2i_not_found_is_404_with_the_modeled_exception_class(aws: AwsServer) -> None:
    a2i = aws.client("sagemaker-a2i-runtime")
    with pytest.raises(a2i.exceptions.ResourceNotFoundException) as exc:
        a2i.describe_human_loop(HumanLoopName="missing")
    assert error_of(exc) == ("ResourceNotFoundException", 404, "Human loop missing not found")
    with pytest.raises(a2i.exceptions.ResourceNotFoundException):
        a2i.delete_human_loop(HumanLoopName="missing")


def test_a2i_error_reply_carries_header_and_body_type(aws: AwsServer) -> None:
    status, headers, body = aws.request("GET", "/human-loops/missing")
    assert status == 404
    assert headers["x-amzn-errortype"] == "ResourceNotFoundException"
    assert json.loads(body) == {"__type": "ResourceNotFoundException", "message": "Human loop missing not found"}
