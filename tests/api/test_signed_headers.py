"""Over the real server: a signature that does not cover X-Amz-Target cannot be replayed as another
operation (DescribeWorkteam -> DeleteWorkteam), and boto3's own requests keep working."""

from __future__ import annotations

import http.client
import json
from typing import Any

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from tests.api.sagemaker_helpers import make_workteam, unique
from tests.conftest import RunningServer


class _TargetNotSigned(SigV4Auth):
    def headers_to_sign(self, request: AWSRequest) -> Any:
        headers = super().headers_to_sign(request)
        del headers["x-amz-target"]
        return headers


def _send(server: RunningServer, headers: dict[str, str], body: bytes) -> tuple[int, dict[str, Any]]:
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    try:
        connection.request("POST", "/", body=body, headers=headers)
        reply = connection.getresponse()
        return reply.status, json.loads(reply.read())
    finally:
        connection.close()


def test_describe_signature_replayed_as_delete_is_refused(server: RunningServer, sm: Any) -> None:
    name = unique("replayed")
    make_workteam(sm, name)
    body = json.dumps({"WorkteamName": name}).encode()
    request = AWSRequest(
        method="POST",
        url=f"{server.endpoint_url}/",
        data=body,
        headers={"X-Amz-Target": "SageMaker.DescribeWorkteam", "Content-Type": "application/x-amz-json-1.1"},
    )
    _TargetNotSigned(Credentials(server.access_key_id, server.secret_access_key), "sagemaker", server.region).add_auth(
        request
    )
    captured = dict(request.headers.items())
    assert "x-amz-target" not in captured["Authorization"]

    for target in ("SageMaker.DescribeWorkteam", "SageMaker.DeleteWorkteam"):
        status, error = _send(server, {**captured, "X-Amz-Target": target}, body)
        assert (status, error["__type"]) == (403, "IncompleteSignatureException"), error
        assert "'X-Amz-Target' must be a 'SignedHeader'" in error["message"]
    assert sm.describe_workteam(WorkteamName=name)["Workteam"]["WorkteamName"] == name  # boto3 still works
    sm.delete_workteam(WorkteamName=name)
