"""Test kit for the AWS protocol layer: a real uvicorn server on 127.0.0.1 hosting AwsApi with small fake
handler registries (test doubles of the sagemaker / a2i_runtime handlers) and a real SQLite store holding
the access keys. Fixtures live in conftest.py; this module has a unique name so tests can import it."""

from __future__ import annotations

import http.client
import socket
import threading
import time
import urllib.parse
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest
import sqlalchemy as sa
import uvicorn
from botocore.auth import S3SigV4Auth, S3SigV4QueryAuth, SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials
from botocore.exceptions import ClientError

from crowdloop import errors
from crowdloop.aws.app import AwsApi, Handler
from crowdloop.config import Settings
from crowdloop.runtime import Caller, Services
from crowdloop.store import Store
from crowdloop.store.tables import access_keys

ACCOUNT = "111122223333"  # the account the `aws` server serves and its keys belong to
OTHER_ACCOUNT = "444455556666"  # a key of this account is refused like an unknown one
OFF_ACCOUNT = "999988887777"  # what the auth = off server serves
KEY_ID = "AKIATESTCROWDLOOP001"
SECRET = "secret/with+chars=0123456789abcdefghij"
CREATED = datetime(2023, 11, 14, 22, 13, 20, 456000, tzinfo=UTC)


# One boto3 session (service models load once) and one client per configuration: creating a SageMaker
# client costs about a second.
_SESSION = boto3.session.Session()
_clients: dict[tuple[object, ...], Any] = {}


def error_of(exc: pytest.ExceptionInfo[ClientError]) -> tuple[str, int, str]:
    """(code, HTTP status, message) as boto3 reports them."""
    response = exc.value.response
    return (
        response["Error"]["Code"],
        response["ResponseMetadata"]["HTTPStatusCode"],
        response["Error"].get("Message", ""),
    )


class OffsetClock:
    """The system clock shifted by `offset` seconds (to test the signature window)."""

    def __init__(self) -> None:
        self.offset = 0.0

    def now(self) -> datetime:
        return datetime.now(UTC) + timedelta(seconds=self.offset)


@dataclass
class Fakes:
    """The last (caller, params) each fake handler saw."""

    calls: dict[str, tuple[Caller, dict[str, Any]]] = field(default_factory=dict)

    def record(self, operation: str, caller: Caller, params: dict[str, Any]) -> None:
        self.calls[operation] = (caller, params)


def _arn(caller: Caller, kind: str, name: str) -> str:
    return f"arn:aws:sagemaker:{caller.region}:{caller.account}:{kind}/{name}"


def sagemaker_fakes(fakes: Fakes) -> dict[str, Handler]:
    def create_human_task_ui(svc: Services, caller: Caller, params: dict[str, Any]) -> dict[str, Any]:
        fakes.record("CreateHumanTaskUi", caller, params)
        if params["HumanTaskUiName"] == "exists":
            raise errors.AlreadyExists("human-task-ui", "exists")
        return {"HumanTaskUiArn": _arn(caller, "human-task-ui", params["HumanTaskUiName"])}

    def create_flow_definition(svc: Services, caller: Caller, params: dict[str, Any]) -> dict[str, Any]:
        fakes.record("CreateFlowDefinition", caller, params)
        return {"FlowDefinitionArn": _arn(caller, "flow-definition", params["FlowDefinitionName"])}

    def describe_flow_definition(svc: Services, caller: Caller, params: dict[str, Any]) -> dict[str, Any]:
        name = params["FlowDefinitionName"]
        if name == "missing":
            raise errors.NotFound("flow-definition", name, f"Could not find flow definition {name}")
        return {
            "FlowDefinitionArn": _arn(caller, "flow-definition", name),
            "FlowDefinitionName": name,
            "FlowDefinitionStatus": "Active",
            "CreationTime": CREATED,
            "FailureReason": None,
            "HumanLoopConfig": {
                "WorkteamArn": _arn(caller, "workteam", "private-crowd/t"),
                "HumanTaskUiArn": _arn(caller, "human-task-ui", "ui"),
                "TaskTitle": "T",
                "TaskDescription": "D",
                "TaskCount": 1,
                "TaskKeywords": None,
            },
            "OutputConfig": {"S3OutputPath": "s3://bucket/out"},
            "RoleArn": f"arn:aws:iam::{caller.account}:role/a2i",
        }

    def list_human_task_uis(svc: Services, caller: Caller, params: dict[str, Any]) -> dict[str, Any]:
        fakes.record("ListHumanTaskUis", caller, params)
        summary = {
            "HumanTaskUiName": "ui",
            "HumanTaskUiArn": _arn(caller, "human-task-ui", "ui"),
            "CreationTime": CREATED,
        }
        return {"HumanTaskUiSummaries": [summary], "NextToken": None}

    def raiser(exc: Exception) -> Handler:
        def handler(svc: Services, caller: Caller, params: dict[str, Any]) -> dict[str, Any]:
            raise exc

        return handler

    return {
        "CreateHumanTaskUi": create_human_task_ui,
        "CreateFlowDefinition": create_flow_definition,
        "DescribeFlowDefinition": describe_flow_definition,
        "ListHumanTaskUis": list_human_task_uis,
        "DescribeWorkteam": raiser(errors.NotFound("workteam", "t", "The work team t does not exist.")),
        "DescribeWorkforce": raiser(errors.NotFound("workforce", "w", "No workforce found for w.")),
        "DeleteHumanTaskUi": raiser(errors.InUse("The human task UI is in use.")),
        "DeleteWorkteam": raiser(errors.Conflict("Conflict.")),
        "CreateWorkforce": raiser(errors.LimitExceeded("One workforce per region.")),
        "CreateWorkteam": raiser(errors.QuotaExceeded("Too many work teams.")),
        "DescribeHumanTaskUi": raiser(errors.TaskUnavailable("gone")),
        "RenderUiTemplate": raiser(RuntimeError("boom")),
    }


def a2i_fakes(fakes: Fakes) -> dict[str, Handler]:
    failures: dict[str, Exception] = {
        "conflict": errors.Conflict("Human loop conflict has different input."),
        "exists": errors.AlreadyExists("human-loop", "exists"),
        "quota": errors.QuotaExceeded("Too many loops in progress."),
        "limit": errors.LimitExceeded("Limit."),
        "inuse": errors.InUse("The human loop is in progress."),
        "invalid": errors.InvalidInput("The flow definition is not active.", "flowDefinitionArn"),
        "missing": errors.NotFound("human-loop", "missing", "Human loop missing not found"),
        "crash": RuntimeError("boom"),
    }

    def handler(operation: str, output: dict[str, Any]) -> Handler:
        def run(svc: Services, caller: Caller, params: dict[str, Any]) -> dict[str, Any]:
            fakes.record(operation, caller, params)
            failure = failures.get(params.get("HumanLoopName", ""))
            if failure is not None:
                raise failure
            return output

        return run

    def describe(svc: Services, caller: Caller, params: dict[str, Any]) -> dict[str, Any]:
        handler("DescribeHumanLoop", {})(svc, caller, params)
        name = params["HumanLoopName"]
        return {
            "CreationTime": CREATED,
            "HumanLoopStatus": "InProgress",
            "HumanLoopName": name,
            "HumanLoopArn": _arn(caller, "human-loop", name),
            "FailureCode": None,
            "FlowDefinitionArn": _arn(caller, "flow-definition", "fd"),
            "HumanLoopOutput": {"OutputS3Uri": f"s3://bucket/out/{name}/output.json"},
        }

    def start(svc: Services, caller: Caller, params: dict[str, Any]) -> dict[str, Any]:
        handler("StartHumanLoop", {})(svc, caller, params)
        return {"HumanLoopArn": _arn(caller, "human-loop", params["HumanLoopName"])}

    return {
        "StartHumanLoop": start,
        "DescribeHumanLoop": describe,
        "ListHumanLoops": handler(
            "ListHumanLoops",
            {
                "HumanLoopSummaries": [
                    {
                        "HumanLoopName": "l1",
                        "HumanLoopStatus": "Completed",
                        "CreationTime": CREATED,
                        "FlowDefinitionArn": "arn:aws:sagemaker:us-east-1:111122223333:flow-definition/fd",
                    }
                ]
            },
        ),
        "StopHumanLoop": handler("StopHumanLoop", {}),
        "DeleteHumanLoop": handler("DeleteHumanLoop", {}),
    }


def _leaving_out(signer: Any, unsigned: tuple[str, ...]) -> Any:
    """A botocore signer class that does not sign the headers named in `unsigned`."""
    if not unsigned:
        return signer

    class LeavingOut(signer):  # type: ignore[misc, valid-type]
        def headers_to_sign(self, request: AWSRequest) -> Any:
            headers = super().headers_to_sign(request)
            for name in unsigned:
                del headers[name]
            return headers

    return LeavingOut


class ServerThread:
    def __init__(self, app: Any, port: int = 0) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", port))
        self.port: int = self.sock.getsockname()[1]
        config = uvicorn.Config(app, lifespan="off", log_level="warning", ws="none", access_log=False)
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.sock]}, daemon=True)

    def __enter__(self) -> ServerThread:
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.01)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)
        self.sock.close()


@dataclass
class AwsServer:
    url: str
    port: int
    settings: Settings
    store: Store
    api: AwsApi
    fakes: Fakes
    clock: OffsetClock

    @property
    def output(self) -> Path:
        return self.settings.output_path

    def client(
        self,
        service: str,
        *,
        key: str = KEY_ID,
        secret: str = SECRET,
        region: str = "us-east-1",
        token: str | None = None,
        endpoint_url: str | None = None,
        **config: Any,
    ) -> Any:
        endpoint_url = endpoint_url or self.url
        cache_key = (endpoint_url, service, key, secret, region, token, repr(sorted(config.items())))
        if cache_key not in _clients:
            _clients[cache_key] = _SESSION.client(
                service,
                endpoint_url=endpoint_url,
                region_name=region,
                aws_access_key_id=key,
                aws_secret_access_key=secret,
                aws_session_token=token,
                config=Config(retries={"max_attempts": 1, "mode": "standard"}, **config),
            )
        return _clients[cache_key]

    def add_key(self, key_id: str, secret: str, account: str) -> None:
        with self.store.write() as conn:
            conn.execute(
                sa.insert(access_keys).values(
                    access_key_id=key_id, secret_access_key=secret, account_id=account, created_at=datetime.now(UTC)
                )
            )

    def sign(
        self,
        method: str,
        path: str,
        *,
        body: bytes = b"",
        headers: dict[str, str] | None = None,
        service: str = "sagemaker",
        region: str = "us-east-1",
        key: str = KEY_ID,
        secret: str = SECRET,
        host: str | None = None,
        unsigned: tuple[str, ...] = (),
    ) -> dict[str, str]:
        """Headers signed by botocore's own signer (S3SigV4Auth for service "s3"); the headers named in
        `unsigned` are sent but left out of SignedHeaders (a valid signature that does not cover them)."""
        host = host or f"127.0.0.1:{self.port}"
        aws_request = AWSRequest(method=method, url=f"http://{host}{path}", data=body, headers=headers or {})
        signer_class = _leaving_out(S3SigV4Auth if service == "s3" else SigV4Auth, unsigned)
        signer_class(Credentials(key, secret), service, region).add_auth(aws_request)
        return dict(aws_request.headers.items())

    def presign(
        self, path: str, *, expires: int = 300, unsigned: tuple[str, ...] = (), key: str = KEY_ID, secret: str = SECRET
    ) -> str:
        """A presigned S3 GET (path and query) made by botocore's S3SigV4QueryAuth, minus `unsigned`."""
        aws_request = AWSRequest(method="GET", url=f"http://127.0.0.1:{self.port}{path}")
        signer = _leaving_out(S3SigV4QueryAuth, unsigned)(Credentials(key, secret), "s3", "us-east-1", expires=expires)
        signer.add_auth(aws_request)
        url = urllib.parse.urlsplit(aws_request.url)
        return f"{url.path}?{url.query}"

    def request(
        self,
        method: str,
        path: str,
        *,
        body: bytes = b"",
        headers: dict[str, str] | None = None,
        service: str | None = "sagemaker",
        host: str | None = None,
        **sign: Any,
    ) -> tuple[int, dict[str, str], bytes]:
        """A hand-made request, signed for `service` unless it is None (then `headers` are sent as given)."""
        host = host or f"127.0.0.1:{self.port}"
        headers = dict(headers or {})
        if service is not None:
            headers = self.sign(method, path, body=body, headers=headers, service=service, host=host, **sign)
        headers["Host"] = host
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        try:
            connection.request(method, path, body=body, headers=headers)
            reply = connection.getresponse()
            return reply.status, {k.lower(): v for k, v in reply.getheaders()}, reply.read()
        finally:
            connection.close()
