"""STS GetCallerIdentity over the query protocol, as boto3's sts client calls it."""

from __future__ import annotations

from urllib.parse import quote
from xml.etree import ElementTree

import botocore.session
import pytest
from awskit import ACCOUNT, OTHER_ACCOUNT, AwsServer, error_of
from botocore.exceptions import ClientError
from botocore.parsers import create_parser

_STS = botocore.session.get_session().get_service_model("sts")


def test_get_caller_identity(aws: AwsServer) -> None:
    identity = aws.client("sts").get_caller_identity()
    assert identity["Account"] == ACCOUNT
    assert identity["Arn"] == f"arn:aws:iam::{ACCOUNT}:root"
    assert identity["UserId"] == ACCOUNT
    assert identity["ResponseMetadata"]["HTTPStatusCode"] == 200


def test_get_caller_identity_of_another_key(aws: AwsServer) -> None:
    aws.add_key("AKIASTSSECOND0000001", "sts-secret", ACCOUNT)
    identity = aws.client("sts", key="AKIASTSSECOND0000001", secret="sts-secret").get_caller_identity()
    assert identity["Account"] == ACCOUNT


def test_key_of_another_account_is_an_invalid_client_token(aws: AwsServer) -> None:
    aws.add_key("AKIASTSOTHER00000001", "sts-secret", OTHER_ACCOUNT)
    with pytest.raises(ClientError) as exc:
        aws.client("sts", key="AKIASTSOTHER00000001", secret="sts-secret").get_caller_identity()
    assert error_of(exc) == ("InvalidClientTokenId", 403, "The security token included in the request is invalid.")


@pytest.mark.parametrize(
    ("kwargs", "code"),
    [
        ({"secret": "wrong"}, "SignatureDoesNotMatch"),
        ({"key": "AKIAUNKNOWN000000000"}, "InvalidClientTokenId"),
    ],
)
def test_sts_auth_failures(aws: AwsServer, kwargs: dict[str, str], code: str) -> None:
    with pytest.raises(ClientError) as exc:
        aws.client("sts", **kwargs).get_caller_identity()
    assert error_of(exc)[:2] == (code, 403)


def test_expired_sts_signature(aws: AwsServer) -> None:
    aws.clock.offset = 3600
    with pytest.raises(ClientError) as exc:
        aws.client("sts").get_caller_identity()
    code, status, message = error_of(exc)
    assert (code, status) == ("SignatureDoesNotMatch", 403) and message.startswith("Signature expired")


def test_other_sts_actions_are_invalid(aws: AwsServer) -> None:
    with pytest.raises(ClientError) as exc:
        aws.client("sts").get_session_token()
    assert error_of(exc)[:2] == ("InvalidAction", 400)


def test_sts_with_auth_off(aws_off: AwsServer) -> None:
    identity = aws_off.client("sts", key="AKIAWHATEVER", secret="x").get_caller_identity()
    assert identity["Account"] == "999988887777"


@pytest.mark.parametrize("action", ["Get\x00CallerIdentity", "\x01\x1b\ufffe", "x\udfffy", "<&>"])
def test_echoed_action_is_valid_xml(aws: AwsServer, action: str) -> None:
    """The InvalidAction message echoes the action: characters XML 1.0 cannot hold become U+FFFD."""
    body = f"Action={quote(action.encode('utf-8', 'surrogatepass'), safe='')}&Version=2011-06-15".encode()
    status, headers, reply = aws.request(
        "POST",
        "/",
        body=body,
        service="sts",
        headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"},
    )
    parsed = create_parser("query").parse(
        {"status_code": status, "headers": headers, "body": reply},
        _STS.operation_model("GetCallerIdentity").output_shape,
    )
    assert (status, parsed["Error"]["Code"]) == (400, "InvalidAction"), reply
    assert parsed["Error"]["Message"].startswith("Could not find operation ")
    ElementTree.fromstring(reply)  # well-formed XML 1.0
