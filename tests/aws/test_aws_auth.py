"""SigV4 verification as real boto3 clients exercise it (SageMaker, A2I runtime), and auth = off."""

from __future__ import annotations

import json
from typing import Any

import pytest
from awskit import ACCOUNT, KEY_ID, OTHER_ACCOUNT, AwsServer, error_of
from botocore import UNSIGNED
from botocore.exceptions import ClientError


def test_signed_request_is_accepted_with_account_and_region_of_the_key(aws: AwsServer) -> None:
    sm = aws.client("sagemaker", region="eu-west-1")
    reply = sm.create_human_task_ui(HumanTaskUiName="ui-1", UiTemplate={"Content": "<p>x</p>"})
    assert reply["HumanTaskUiArn"] == f"arn:aws:sagemaker:eu-west-1:{ACCOUNT}:human-task-ui/ui-1"
    caller, _ = aws.fakes.calls["CreateHumanTaskUi"]
    assert (caller.account, caller.region, caller.access_key_id) == (ACCOUNT, "eu-west-1", KEY_ID)


def test_wrong_secret_is_invalid_signature(aws: AwsServer) -> None:
    sm = aws.client("sagemaker", secret="not-the-secret")
    with pytest.raises(ClientError) as exc:
        sm.list_human_task_uis()
    code, status, message = error_of(exc)
    assert (code, status) == ("InvalidSignatureException", 403)
    assert message.startswith("The request signature we calculated does not match")


def test_unknown_key_is_unrecognized_client(aws: AwsServer) -> None:
    a2i = aws.client("sagemaker-a2i-runtime", key="AKIAUNKNOWN000000000")
    with pytest.raises(ClientError) as exc:
        a2i.describe_human_loop(HumanLoopName="loop-1")
    assert error_of(exc) == (
        "UnrecognizedClientException",
        403,
        "The security token included in the request is invalid.",
    )


def test_unsigned_request_is_missing_authentication_token(aws: AwsServer) -> None:
    sm = aws.client("sagemaker", signature_version=UNSIGNED)
    with pytest.raises(ClientError) as exc:
        sm.list_human_task_uis()
    assert error_of(exc)[:2] == ("MissingAuthenticationTokenException", 403)


def test_signature_older_than_the_window_is_expired(aws: AwsServer) -> None:
    aws.clock.offset = aws.settings.signature_window_seconds + 60  # the server is 16 min ahead
    with pytest.raises(ClientError) as exc:
        aws.client("sagemaker").list_human_task_uis()
    code, status, message = error_of(exc)
    assert (code, status) == ("InvalidSignatureException", 403)
    assert message.startswith("Signature expired: ") and message.endswith(" - 15 min.)")


def test_signature_from_the_future_is_rejected(aws: AwsServer) -> None:
    aws.clock.offset = -(aws.settings.signature_window_seconds + 60)
    with pytest.raises(ClientError) as exc:
        aws.client("sagemaker-a2i-runtime").describe_human_loop(HumanLoopName="x")
    code, _, message = error_of(exc)
    assert code == "InvalidSignatureException" and message.startswith("Signature not yet current: ")


def test_signature_inside_the_window_is_accepted(aws: AwsServer) -> None:
    aws.clock.offset = aws.settings.signature_window_seconds - 60
    assert aws.client("sagemaker").list_human_task_uis()["HumanTaskUiSummaries"]


def test_key_added_while_running_is_found(aws: AwsServer) -> None:
    aws.add_key("AKIALATERKEY00000001", "later-secret", ACCOUNT)
    sm = aws.client("sagemaker", key="AKIALATERKEY00000001", secret="later-secret")
    assert f":{ACCOUNT}:" in sm.create_flow_definition(**_flow("fd-later"))["FlowDefinitionArn"]
    _, params = aws.fakes.calls["CreateFlowDefinition"]
    assert params["FlowDefinitionName"] == "fd-later"


def test_key_of_another_account_is_refused_like_an_unknown_key(aws: AwsServer) -> None:
    """The server serves one account (settings.account_id); a key stored for another is not honoured."""
    aws.add_key("AKIAOTHERACCOUNT0001", "other-secret", OTHER_ACCOUNT)
    aws.fakes.calls.pop("CreateFlowDefinition", None)
    sm = aws.client("sagemaker", key="AKIAOTHERACCOUNT0001", secret="other-secret")
    with pytest.raises(ClientError) as exc:
        sm.create_flow_definition(**_flow("fd-other"))
    assert error_of(exc) == (
        "UnrecognizedClientException",
        403,
        "The security token included in the request is invalid.",
    )
    a2i = aws.client("sagemaker-a2i-runtime", key="AKIAOTHERACCOUNT0001", secret="other-secret")
    with pytest.raises(ClientError) as exc:
        a2i.describe_human_loop(HumanLoopName="loop-1")
    assert error_of(exc)[:2] == ("UnrecognizedClientException", 403)
    assert "CreateFlowDefinition" not in aws.fakes.calls


def test_session_token_is_signed_and_accepted(aws: AwsServer) -> None:
    a2i = aws.client("sagemaker-a2i-runtime", token="FwoGZXIvYXdzE+token/=")
    assert a2i.describe_human_loop(HumanLoopName="loop-1")["HumanLoopName"] == "loop-1"


def test_non_ascii_json_body_verifies_and_arrives_intact(aws: AwsServer) -> None:
    content = json.dumps({"text": "héllo ✓ 😀 \u2028 日本語"}, ensure_ascii=False)
    arn = f"arn:aws:sagemaker:us-east-1:{ACCOUNT}:flow-definition/fd"
    aws.client("sagemaker-a2i-runtime").start_human_loop(
        HumanLoopName="loop-utf8", FlowDefinitionArn=arn, HumanLoopInput={"InputContent": content}
    )
    _, params = aws.fakes.calls["StartHumanLoop"]
    assert params["HumanLoopInput"]["InputContent"] == content


def test_query_string_with_special_characters_verifies(aws: AwsServer) -> None:
    token = "tok/+= ~%&é?#"
    arn = f"arn:aws:sagemaker:us-east-1:{ACCOUNT}:flow-definition/fd"
    reply = aws.client("sagemaker-a2i-runtime").list_human_loops(
        FlowDefinitionArn=arn, NextToken=token, SortOrder="Ascending", MaxResults=5
    )
    assert reply["HumanLoopSummaries"][0]["HumanLoopName"] == "l1"
    _, params = aws.fakes.calls["ListHumanLoops"]
    assert params == {"FlowDefinitionArn": arn, "NextToken": token, "SortOrder": "Ascending", "MaxResults": 5}


def test_label_with_encoded_characters_verifies_and_is_decoded(aws: AwsServer) -> None:
    with pytest.raises(ClientError) as exc:
        aws.client("sagemaker-a2i-runtime").describe_human_loop(HumanLoopName="a b/c%d")
    code, _, message = error_of(exc)
    assert code == "ValidationException"
    assert message.startswith("1 validation error detected: Value 'a b/c%d' at 'humanLoopName'")


def test_credential_scoped_to_another_service_is_rejected(aws: AwsServer) -> None:
    status, _, body = aws.request(
        "POST",
        "/",
        body=b"{}",
        service="execute-api",
        headers={"X-Amz-Target": "SageMaker.ListHumanTaskUis", "Content-Type": "application/x-amz-json-1.1"},
    )
    assert status == 403
    assert json.loads(body)["__type"] == "InvalidSignatureException"
    assert "Credential should be scoped to correct service: 'sagemaker'" in json.loads(body)["message"]


def test_tampered_body_is_rejected(aws: AwsServer) -> None:
    signed = aws.sign(
        "POST", "/human-loops/stop", body=b'{"HumanLoopName": "a"}', headers={"Content-Type": "application/json"}
    )
    status, _, _ = aws.request(
        "POST", "/human-loops/stop", body=b'{"HumanLoopName": "a"}', headers=signed, service=None
    )
    assert status == 200
    status, headers, _ = aws.request(
        "POST", "/human-loops/stop", body=b'{"HumanLoopName": "b"}', headers=signed, service=None
    )
    assert status == 403 and headers["x-amzn-errortype"] == "InvalidSignatureException"


def test_auth_off_accepts_unsigned_requests_as_the_configured_account(aws_off: AwsServer) -> None:
    sm = aws_off.client("sagemaker", signature_version=UNSIGNED)
    assert sm.create_flow_definition(**_flow("fd-off"))["FlowDefinitionArn"] == (
        "arn:aws:sagemaker:eu-central-1:999988887777:flow-definition/fd-off"
    )


def test_auth_off_takes_the_region_from_any_signature(aws_off: AwsServer) -> None:
    sm = aws_off.client("sagemaker", key="AKIAANYTHING", secret="whatever", region="ap-south-1")
    assert sm.create_flow_definition(**_flow("fd-any"))["FlowDefinitionArn"] == (
        "arn:aws:sagemaker:ap-south-1:999988887777:flow-definition/fd-any"
    )


def _flow(name: str) -> dict[str, object]:
    return {
        "FlowDefinitionName": name,
        "RoleArn": "arn:aws:iam::111122223333:role/a2i",
        "HumanLoopConfig": {
            "WorkteamArn": "arn:aws:sagemaker:us-east-1:111122223333:workteam/private-crowd/t",
            "HumanTaskUiArn": "arn:aws:sagemaker:us-east-1:111122223333:human-task-ui/ui",
            "TaskTitle": "Title",
            "TaskDescription": "Description",
            "TaskCount": 1,
        },
        "OutputConfig": {"S3OutputPath": "s3://bucket/out"},
    }


# --- auth = off: no requests from web pages (crowdloop.aws.unsigned) ------------------------------------------

LIST_UIS = {"X-Amz-Target": "SageMaker.ListHumanTaskUis", "Content-Type": "application/x-amz-json-1.1"}


def _list_uis(server: AwsServer, host: str | None = None, **headers: str) -> tuple[int, dict[str, Any]]:
    status, _, body = server.request("POST", "/", body=b"{}", headers={**LIST_UIS, **headers}, service=None, host=host)
    return status, json.loads(body)


def test_auth_off_answers_only_its_own_host_names(aws_off: AwsServer) -> None:
    port = aws_off.port
    for host in (f"127.0.0.1:{port}", f"localhost:{port}", f"LOCALHOST:{port}", f"[::1]:{port}"):
        assert _list_uis(aws_off, host)[0] == 200, host
    for host in (f"rebound.attacker.example:{port}", "127.0.0.1", f"127.0.0.1:{port + 1}", f"localhost.evil:{port}"):
        status, body = _list_uis(aws_off, host)
        assert (status, body["__type"]) == (421, "MisdirectedRequestException"), host
    status, headers, _ = aws_off.request(
        "GET", "/human-loops?FlowDefinitionArn=x", service=None, host=f"attacker.example:{port}"
    )
    assert (status, headers["x-amzn-errortype"]) == (421, "MisdirectedRequestException")
    status, _, body = aws_off.request(
        "GET", "/?Action=GetCallerIdentity&Version=2011-06-15", service=None, host=f"attacker.example:{port}"
    )
    assert status == 421 and b"<Code>MisdirectedRequest</Code>" in body
    (aws_off.output / "vhost").mkdir(exist_ok=True)
    (aws_off.output / "vhost" / "k.txt").write_bytes(b"v")
    assert aws_off.request("GET", "/k.txt", service="s3", host=f"vhost.localhost:{port}")[0] == 200
    status, _, body = aws_off.request("GET", "/vhost/k.txt", service="s3", host=f"attacker.example:{port}")
    assert status == 421 and b"<Code>MisdirectedRequest</Code>" in body


def test_auth_off_refuses_requests_from_other_origins(aws_off: AwsServer) -> None:
    own = f"http://127.0.0.1:{aws_off.port}"
    assert _list_uis(aws_off, Origin=own)[0] == 200
    assert _list_uis(aws_off, **{"Sec-Fetch-Site": "same-origin"})[0] == 200
    assert _list_uis(aws_off, **{"Sec-Fetch-Site": "none"})[0] == 200
    for headers in (
        {"Origin": "http://attacker.example"},
        {"Origin": "null"},
        {"Origin": f"http://localhost:{aws_off.port}"},
        {"Sec-Fetch-Site": "cross-site"},
        {"Sec-Fetch-Site": "same-site"},
        {"Origin": own, "Sec-Fetch-Site": "cross-site"},
    ):
        status, body = _list_uis(aws_off, **headers)
        assert (status, body["__type"]) == (403, "AccessDeniedException"), headers
    form = b"Action=GetCallerIdentity&Version=2011-06-15"
    status, _, body = aws_off.request(
        "POST",
        "/",
        body=form,
        service=None,
        headers={"Content-Type": "application/x-www-form-urlencoded", "Origin": "http://attacker.example"},
    )
    assert status == 403 and b"<Code>AccessDenied</Code>" in body
    status, _, body = aws_off.request(
        "POST",
        "/human-loops",
        service=None,
        body=b'{"HumanLoopName": "x"}',
        headers={"Content-Type": "text/plain", "Sec-Fetch-Site": "cross-site"},
    )
    assert status == 403 and json.loads(body)["__type"] == "AccessDeniedException"


def test_signed_requests_are_not_held_to_the_auth_off_rules(aws: AwsServer) -> None:
    status, headers, _ = aws.request("POST", "/", body=b"{}", headers={**LIST_UIS, "Origin": "null"})
    assert status == 200, headers


def test_body_cut_short_by_a_disconnect_reaches_no_handler(aws_off: AwsServer) -> None:
    """auth=off checks no payload hash, so a body the client never finished must not run as if whole."""
    import socket
    import time

    body = json.dumps(_flow("fd-cut-short")).encode()
    head = (
        f"POST / HTTP/1.1\r\nHost: 127.0.0.1:{aws_off.port}\r\nX-Amz-Target: SageMaker.CreateFlowDefinition\r\n"
        f"Content-Type: application/x-amz-json-1.1\r\nContent-Length: {len(body) + 64}\r\n\r\n"
    ).encode()
    aws_off.fakes.calls.pop("CreateFlowDefinition", None)
    with socket.create_connection(("127.0.0.1", aws_off.port)) as conn:
        conn.sendall(head + body)  # a valid JSON document, but 64 bytes short of what was announced
        time.sleep(0.3)
    time.sleep(0.5)
    assert "CreateFlowDefinition" not in aws_off.fakes.calls
    sm = aws_off.client("sagemaker", signature_version=UNSIGNED)  # the same request sent whole is handled
    sm.create_flow_definition(**_flow("fd-cut-short"))
    assert aws_off.fakes.calls["CreateFlowDefinition"][1]["FlowDefinitionName"] == "fd-cut-short"
