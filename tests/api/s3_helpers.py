"""Helpers for the writable S3 API tests: a `crowdloop serve` of their own (sqlite), boto3 clients that are
closed after use, and raw requests signed by botocore's own signer (for what boto3 would never send)."""

from __future__ import annotations

import http.client
import ssl
import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials
from botocore.exceptions import ClientError

from tests.conftest import RunningServer, start_server, stop_server

MAX_OBJECT_BYTES = 12 * 1024 * 1024  # the test servers' s3_max_object_bytes: above boto3's 8 MiB parts


@contextmanager
def running(tmp: Path, args: tuple[str, ...] = ()) -> Iterator[RunningServer]:
    server = start_server(
        tmp,
        f"sqlite:///{tmp / 'crowdloop.db'}",
        extra_env={"CROWDLOOP_S3_MAX_OBJECT_BYTES": str(MAX_OBJECT_BYTES)},
        args=args,
    )
    try:
        yield server
    finally:
        stop_server(server)


@contextmanager
def s3_client(server: RunningServer, region: str = "us-east-1", **config: Any) -> Iterator[Any]:
    client = boto3.client(
        "s3",
        endpoint_url=server.endpoint_url,
        region_name=region,
        aws_access_key_id=server.access_key_id,
        aws_secret_access_key=server.secret_access_key,
        config=Config(retries={"max_attempts": 1}, **config),
        verify=server.exports.get("AWS_CA_BUNDLE"),
    )
    try:
        yield client
    finally:
        client.close()


def error(caught: pytest.ExceptionInfo[ClientError]) -> tuple[str, int]:
    response = caught.value.response
    return response["Error"]["Code"], response["ResponseMetadata"]["HTTPStatusCode"]


def output(server: RunningServer) -> Path:
    return server.data_dir / "output"


def signed_request(
    server: RunningServer,
    method: str,
    path: str,
    body: bytes = b"",
    headers: dict[str, str] | None = None,
    *,
    send: bytes | None = None,
    trailer: bool = False,
) -> tuple[int, bytes]:
    """`method path` signed with the server's key by botocore's S3 SigV4 signer (payload hash of `body`, or
    STREAMING-UNSIGNED-PAYLOAD-TRAILER with `trailer`), sending `send` (default: `body`) as the body."""
    url = server.endpoint_url + path
    request = AWSRequest(method=method, url=url, data=body, headers=headers or {})
    if trailer:
        request.context["checksum"] = {"request_algorithm": {"in": "trailer"}}
    credentials = Credentials(server.access_key_id, server.secret_access_key)
    S3SigV4Auth(credentials, "s3", "us-east-1").add_auth(request)
    return raw_request(server, method, path, send if send is not None else body, dict(request.headers.items()))


def raw_request(
    server: RunningServer, method: str, path: str, body: bytes = b"", headers: dict[str, str] | None = None
) -> tuple[int, bytes]:
    parts = urllib.parse.urlsplit(server.endpoint_url)
    connection: http.client.HTTPConnection
    if parts.scheme == "https":
        context = ssl.create_default_context(cafile=server.exports["AWS_CA_BUNDLE"])
        connection = http.client.HTTPSConnection(parts.netloc, context=context, timeout=30)
    else:
        connection = http.client.HTTPConnection(parts.netloc, timeout=30)
    try:
        connection.request(method, path, body=body, headers=headers or {})
        reply = connection.getresponse()
        return reply.status, reply.read()
    finally:
        connection.close()
