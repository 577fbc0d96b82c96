"""Access keys from the command line: the admin secret is printed once (`keys show` prints it again),
`keys revoke` (or `keys delete`) revokes a key on the running server within keys.KEY_CACHE_SECONDS."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from click.testing import CliRunner

from crowdloop.cli import main
from crowdloop.keys import KEY_CACHE_SECONDS
from tests.conftest import RunningServer, keys_show, start_server, stop_server
from tests.pg import free_port


def _cli(server: RunningServer, *args: str) -> Any:
    return CliRunner().invoke(main, [*args, "--data-dir", str(server.data_dir), "--database-url", server.database_url])


def _sts(server: RunningServer, key_id: str, secret: str) -> Any:
    return boto3.client(
        "sts",
        endpoint_url=server.endpoint_url,
        region_name=server.region,
        aws_access_key_id=key_id,
        aws_secret_access_key=secret,
        config=Config(retries={"max_attempts": 1}),
    )


@pytest.mark.parametrize("command", ["revoke", "delete"])
def test_a_revoked_key_is_refused_by_the_running_server_within_the_cache_time(
    server: RunningServer, command: str
) -> None:
    created = _cli(server, "keys", "create")
    assert created.exit_code == 0, created.output
    exports = dict(line.removeprefix("export ").split("=", 1) for line in created.output.splitlines())
    key_id, secret = exports["AWS_ACCESS_KEY_ID"], exports["AWS_SECRET_ACCESS_KEY"]
    sts = _sts(server, key_id, secret)
    assert sts.get_caller_identity()["Account"] == "123456789012"  # the server has the key cached now
    assert key_id in _cli(server, "keys", "list").output

    revoked = _cli(server, "keys", command, key_id)
    assert revoked.exit_code == 0 and f"revoked {key_id}" in revoked.output
    started = time.monotonic()
    while True:
        try:
            sts.get_caller_identity()
        except ClientError as exc:
            assert exc.response["Error"]["Code"] == "InvalidClientTokenId"
            break
        assert time.monotonic() - started < KEY_CACHE_SECONDS + 10, "the deleted key still works"
        time.sleep(0.2)
    assert time.monotonic() - started < KEY_CACHE_SECONDS + 10
    assert key_id not in _cli(server, "keys", "list").output
    again = _cli(server, "keys", command, key_id)
    assert again.exit_code == 1 and f"No access key {key_id}." in again.output
    assert _sts(server, server.access_key_id, server.secret_access_key).get_caller_identity()


def test_admin_secret_is_printed_on_first_start_only(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'crowdloop.db'}"
    first = start_server(tmp_path, url)
    stop_server(first)
    secret = first.secret_access_key
    assert secret and first.exports["AWS_ACCESS_KEY_ID"].startswith("AKCL")

    port = free_port()
    restarted = subprocess.Popen(
        [sys.executable, "-m", "crowdloop", "serve", "--data-dir", str(tmp_path), "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "CROWDLOOP_DATABASE_URL": url, "PYTHONUNBUFFERED": "1"},
    )
    try:
        assert restarted.stdout is not None
        printed = []
        for line in restarted.stdout:
            printed.append(line)
            if "keys show" in line or "Uvicorn running" in line:
                break
    finally:
        restarted.terminate()
        restarted.wait(timeout=20)
        restarted.stdout.close()
    output = "".join(printed)
    assert secret not in output and "AWS_SECRET_ACCESS_KEY" not in output
    demo_password = (tmp_path / "demo-worker.txt").read_text().split()[1]
    assert oct((tmp_path / "demo-worker.txt").stat().st_mode & 0o777) == "0o600"
    assert demo_password not in output
    assert f"Demo worker (group 'demo'): demo@crowdloop.local  password in {tmp_path / 'demo-worker.txt'}" in output
    assert (
        f"API access key: {first.access_key_id} (account 123456789012); `crowdloop keys show --data-dir "
        f"{tmp_path} --port {port} --database-url ...` prints its export lines."
    ) in output

    shown = keys_show(tmp_path, url, port)
    assert shown == {
        **first.exports,
        **{name: f"http://127.0.0.1:{port}" for name in shown if name.startswith("AWS_ENDPOINT_URL")},
    }
    again = start_server(tmp_path, url)  # the test helper gets the secret from `keys show` too
    try:
        assert again.secret_access_key == secret
        assert again.client("sts").get_caller_identity()["Account"] == "123456789012"
    finally:
        stop_server(again)


def test_keys_show_without_a_key_says_how_to_make_one(tmp_path: Path) -> None:
    created = CliRunner().invoke(main, ["db", "upgrade", "--data-dir", str(tmp_path)])  # a store, with no key yet
    assert created.exit_code == 0, created.output
    result = CliRunner().invoke(main, ["keys", "show", "--data-dir", str(tmp_path)])
    assert result.exit_code == 1
    assert "No access key of account 123456789012 yet: `crowdloop serve` creates one on first start" in result.output
    assert "export" not in result.output
