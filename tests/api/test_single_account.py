"""crowdloop serves one account (setting account_id): a key of any other account is refused by every API,
and `serve` will not start on a store that holds another account's keys or resources."""

from __future__ import annotations

import os
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from click.testing import CliRunner

from crowdloop import flows, keys
from crowdloop.cli import main
from crowdloop.clock import SystemClock
from crowdloop.runtime import Caller, Services
from crowdloop.store import open_store
from tests.conftest import RunningServer
from tests.pg import free_port

OTHER = "444455556666"
BUCKET = "single-account"
KEY = "a2i/fd/loop/output.json"


@pytest.fixture
def foreign_key(server: RunningServer, server_services: Services) -> Iterator[keys.AccessKey]:
    """A key of another account, stored through the keys domain API (as an older version could have)."""
    key = keys.create_key(server_services.store, SystemClock(), OTHER)
    yield key
    keys.delete_key(server_services.store, key.access_key_id)


@pytest.fixture
def output_object(server: RunningServer) -> bytes:
    path = server.settings.output_path / BUCKET / KEY
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b'{"humanAnswers": []}')
    return path.read_bytes()


def _client(server: RunningServer, service: str, key: keys.AccessKey, **config: Any) -> Any:
    return boto3.client(
        service,
        endpoint_url=server.endpoint_url,
        region_name=server.region,
        aws_access_key_id=key.access_key_id,
        aws_secret_access_key=key.secret_access_key,
        config=Config(retries={"max_attempts": 1}, **config),
    )


def _code(call: Any, **kwargs: Any) -> tuple[str, int]:
    with pytest.raises(ClientError) as caught:
        call(**kwargs)
    response = caught.value.response
    return response["Error"]["Code"], response["ResponseMetadata"]["HTTPStatusCode"]


def test_key_of_another_account_is_refused_by_every_api(
    server: RunningServer, foreign_key: keys.AccessKey, output_object: bytes, s3: Any
) -> None:
    assert s3.get_object(Bucket=BUCKET, Key=KEY)["Body"].read() == output_object  # the server's own key reads
    assert BUCKET in [b["Name"] for b in s3.list_buckets()["Buckets"]]
    sm = _client(server, "sagemaker", foreign_key)
    assert _code(sm.list_workteams) == ("UnrecognizedClientException", 403)
    assert _code(sm.describe_workforce, WorkforceName="default") == ("UnrecognizedClientException", 403)
    a2i = _client(server, "sagemaker-a2i-runtime", foreign_key)
    arn = f"arn:aws:sagemaker:{server.region}:123456789012:flow-definition/fd"
    assert _code(a2i.list_human_loops, FlowDefinitionArn=arn) == ("UnrecognizedClientException", 403)
    other_s3 = _client(server, "s3", foreign_key)
    assert _code(other_s3.list_buckets) == ("InvalidAccessKeyId", 403)
    assert _code(other_s3.get_object, Bucket=BUCKET, Key=KEY) == ("InvalidAccessKeyId", 403)
    assert _code(_client(server, "sts", foreign_key).get_caller_identity) == ("InvalidClientTokenId", 403)


@pytest.mark.parametrize("signature_version", ["s3v4", "s3"])
def test_url_presigned_by_another_account_is_refused(
    server: RunningServer, foreign_key: keys.AccessKey, output_object: bytes, signature_version: str
) -> None:
    def presigned(key: keys.AccessKey) -> str:
        s3 = _client(server, "s3", key, signature_version=signature_version)
        url: str = s3.generate_presigned_url("get_object", Params={"Bucket": BUCKET, "Key": KEY})
        return url

    own = keys.AccessKey(server.access_key_id, server.secret_access_key, "123456789012")
    with urllib.request.urlopen(presigned(own)) as reply:
        assert reply.read() == output_object
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(presigned(foreign_key))
    assert caught.value.code == 403 and b"<Code>InvalidAccessKeyId</Code>" in caught.value.read()


def _serve(data_dir: Path, db_url: str, *flags: str) -> subprocess.CompletedProcess[str]:
    """`crowdloop serve` expected to refuse to start (the timeout fails the test if it serves instead)."""
    return subprocess.run(
        [sys.executable, "-m", "crowdloop", "serve", "--data-dir", str(data_dir), "--port", str(free_port()), *flags],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "CROWDLOOP_DATABASE_URL": db_url, "PYTHONUNBUFFERED": "1"},
    )


def test_serve_refuses_a_store_holding_another_accounts_key(db_url: str, tmp_path: Path) -> None:
    store = open_store(db_url)
    own = keys.create_key(store, SystemClock(), "123456789012")
    other = keys.create_key(store, SystemClock(), OTHER)
    store.dispose()
    result = _serve(tmp_path, db_url)
    assert result.returncode == 1, result.stdout + result.stderr
    errors = result.stderr.strip().splitlines()
    assert errors == [
        "Error: crowdloop serves a single account (account_id 123456789012), but this store also holds data of "
        f"another account (account {OTHER}: access keys: 1): delete those access keys (`crowdloop keys list`, "
        "`crowdloop keys delete ACCESS_KEY_ID`), or serve a new --data-dir / --database-url."
    ]
    assert own.secret_access_key not in result.stdout and other.secret_access_key not in result.stdout


def test_serve_refuses_a_store_holding_another_accounts_resources(services: Services, tmp_path: Path) -> None:
    flows.create_human_task_ui(services, Caller(OTHER, "us-east-1"), "older-ui", "<p>x</p>")
    result = _serve(tmp_path / "data", services.settings.resolved_database_url)
    assert result.returncode == 1, result.stdout + result.stderr
    message = result.stderr.strip()
    assert f"another account (account {OTHER}: human task uis: 1)" in message
    assert f"use --account-id {OTHER} (CROWDLOOP_ACCOUNT_ID) if that is the account this store serves" in message
    assert "keys delete" not in message  # deleting keys would not help


def test_keys_create_makes_keys_of_the_served_account_only(services: Services) -> None:
    store_flags = ["--data-dir", services.settings.data_dir, "--database-url", services.settings.resolved_database_url]
    created = CliRunner().invoke(main, ["keys", "create", *store_flags])
    assert created.exit_code == 0, created.output
    refused = CliRunner().invoke(main, ["keys", "create", "--account-id", OTHER, *store_flags])
    assert refused.exit_code == 1
    assert "crowdloop serves a single account (account_id 444455556666)" in refused.output
    assert [key.account_id for key in keys.list_keys(services.store)] == ["123456789012"]
