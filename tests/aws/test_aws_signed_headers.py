"""A signature must cover what routes the request: `host` always, `x-amz-target` for SageMaker (botocore
signs both). Each request here carries a valid signature that leaves one of them out."""

from __future__ import annotations

import json

import pytest
from awskit import AwsServer

SAGEMAKER = {"X-Amz-Target": "SageMaker.ListHumanTaskUis", "Content-Type": "application/x-amz-json-1.1"}


def test_sagemaker_request_is_accepted_when_host_and_target_are_signed(aws: AwsServer) -> None:
    signed = aws.sign("POST", "/", body=b"{}", headers=SAGEMAKER)
    assert "host;" in signed["Authorization"] and "x-amz-target" in signed["Authorization"]
    status, _, body = aws.request("POST", "/", body=b"{}", headers=signed, service=None)
    assert status == 200 and json.loads(body)["HumanTaskUiSummaries"]


@pytest.mark.parametrize(("unsigned", "named"), [(("host",), "'Host'"), (("x-amz-target",), "'X-Amz-Target'")])
def test_sagemaker_signature_must_cover_host_and_target(aws: AwsServer, unsigned: tuple[str, ...], named: str) -> None:
    signed = aws.sign("POST", "/", body=b"{}", headers=SAGEMAKER, unsigned=unsigned)
    assert f"{unsigned[0]};" not in signed["Authorization"] and f";{unsigned[0]}," not in signed["Authorization"]
    status, _, body = aws.request("POST", "/", body=b"{}", headers=signed, service=None)
    error = json.loads(body)
    assert (status, error["__type"]) == (403, "IncompleteSignatureException")
    assert error["message"] == f"{named} must be a 'SignedHeader' in the AWS Authorization."


def test_a2i_signature_must_cover_host(aws: AwsServer) -> None:
    signed = aws.sign("GET", "/human-loops/loop-1")
    assert aws.request("GET", "/human-loops/loop-1", headers=signed, service=None)[0] == 200
    signed = aws.sign("GET", "/human-loops/loop-1", unsigned=("host",))
    status, headers, _ = aws.request("GET", "/human-loops/loop-1", headers=signed, service=None)
    assert (status, headers["x-amzn-errortype"]) == (403, "IncompleteSignatureException")


def test_sts_signature_must_cover_host(aws: AwsServer) -> None:
    body = b"Action=GetCallerIdentity&Version=2011-06-15"
    form = {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"}
    assert aws.request("POST", "/", body=body, headers=form, service="sts")[0] == 200
    signed = aws.sign("POST", "/", body=body, headers=form, service="sts", unsigned=("host",))
    status, _, reply = aws.request("POST", "/", body=body, headers=signed, service=None)
    assert status == 403 and b"<Code>IncompleteSignature</Code>" in reply


def test_s3_signature_must_cover_host(aws: AwsServer) -> None:
    (aws.output / "signed-headers").mkdir(exist_ok=True)
    (aws.output / "signed-headers" / "k.txt").write_bytes(b"kept")
    assert aws.request("GET", "/signed-headers/k.txt", service="s3")[2] == b"kept"
    signed = aws.sign("GET", "/signed-headers/k.txt", service="s3", unsigned=("host",))
    status, _, reply = aws.request("GET", "/signed-headers/k.txt", headers=signed, service=None)
    assert status == 403 and b"<Code>AccessDenied</Code>" in reply
    assert b"<HeadersNotSigned>host</HeadersNotSigned>" in reply


def test_presigned_url_must_cover_host(aws: AwsServer) -> None:
    (aws.output / "signed-headers").mkdir(exist_ok=True)
    (aws.output / "signed-headers" / "p.txt").write_bytes(b"presigned")
    url = aws.presign("/signed-headers/p.txt")
    assert "X-Amz-SignedHeaders=host" in url
    assert aws.request("GET", url, service=None)[2] == b"presigned"
    url = aws.presign("/signed-headers/p.txt", unsigned=("host",))
    assert "X-Amz-SignedHeaders=&" in url or url.endswith("X-Amz-SignedHeaders=")
    status, _, reply = aws.request("GET", url, service=None)
    assert status == 403 and b"<HeadersNotSigned>host</HeadersNotSigned>" in reply
