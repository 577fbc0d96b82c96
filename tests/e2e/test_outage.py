"""Outages answer a clean, retryable 503 and lose nothing: a PostgreSQL server that goes away and comes
back, a full disk under SQLite. Real `crowdloop serve`, real boto3 (retries off), one keep-alive
connection for the portal that must survive every error answer."""

from __future__ import annotations

import json
import shutil
import stat
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from tests.conftest import RunningServer, start_server, stop_server
from tests.e2e.portal_connection import PortalConnection, Reply
from tests.e2e.simple_job import set_up_job, signed_in_portal, start_loop, wait_for_outputs
from tests.pg import PostgresServer
from tests.smalldisk import fill, small_tmpfs


def _assert_unavailable(call: Callable[[], Any]) -> None:
    with pytest.raises(ClientError) as raised:
        call()
    _assert_is_unavailable(raised.value)


def _assert_is_unavailable(error: ClientError) -> None:
    response = error.response
    assert (response["Error"]["Code"], response["ResponseMetadata"]["HTTPStatusCode"]) == ("ServiceUnavailable", 503), (
        response
    )
    assert int(response["ResponseMetadata"]["HTTPHeaders"]["retry-after"]) > 0


def _assert_portal_unavailable(reply: Reply, *, json_body: bool) -> None:
    assert reply.status == 503, (reply.status, reply.text)
    assert int(reply.headers["retry-after"]) > 0
    if json_body:
        assert "temporarily unavailable" in reply.json()["error"]
    else:
        assert reply.headers["content-type"].startswith("text/html")
        assert "Temporarily unavailable" in reply.text


def _until_it_works(call: Callable[[], Any], seconds: float = 60) -> Any:
    deadline = time.monotonic() + seconds
    while True:
        try:
            return call()
        except ClientError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)


def _loop_names(a2i: Any, flow_arn: str) -> set[str]:
    pages = a2i.get_paginator("list_human_loops").paginate(
        FlowDefinitionArn=flow_arn, CreationTimeAfter="2000-01-01T00:00:00Z"
    )
    return {loop["HumanLoopName"] for page in pages for loop in page["HumanLoopSummaries"]}


# --- PostgreSQL goes away ----------------------------------------------------------------------------------


@pytest.fixture
def own_postgres() -> Iterator[PostgresServer]:
    """A PostgreSQL server of this test's own, so stopping it leaves the session's server alone."""
    server = PostgresServer()
    if not server.controllable:
        pytest.skip("CROWDLOOP_TEST_POSTGRES_URL names a server this test cannot stop")
    yield server
    server.stop()


def test_postgres_outage_answers_503_and_loses_nothing(own_postgres: PostgresServer, tmp_path: Path) -> None:
    server = start_server(tmp_path, own_postgres.create_database(), "postgresql")
    portal: PortalConnection | None = None
    try:
        flow_arn = set_up_job(server)
        a2i = server.client("sagemaker-a2i-runtime")
        sm = server.client("sagemaker")
        acknowledged = {start_loop(a2i, flow_arn) for _ in range(3)}
        portal = signed_in_portal(server)
        [job_id] = portal.job_ids()
        assignment_id, lease = portal.open_task(job_id)
        ready = portal.get("/_crowdloop/ready")
        assert (ready.status, ready.text) == (200, "ready")

        own_postgres.pause()
        _assert_unavailable(lambda: start_loop(a2i, flow_arn))
        _assert_unavailable(lambda: sm.describe_flow_definition(FlowDefinitionName="outage-fd"))
        _assert_unavailable(lambda: a2i.list_human_loops(FlowDefinitionArn=flow_arn))
        for mode in ("legacy", "standard"):  # botocore's retry handlers take the 503 as retryable
            retrying = _client(server, "sagemaker", _credentials(server), {"max_attempts": 2, "mode": mode})
            with pytest.raises(ClientError) as raised:
                retrying.list_workteams()
            assert raised.value.response["ResponseMetadata"]["RetryAttempts"] >= 1, mode
        # an access key the server has not cached yet must be read from the database: S3 and STS too
        stranger = {"aws_access_key_id": "AKIAOUTAGEUNKNOWN001", "aws_secret_access_key": "x" * 40}
        _assert_unavailable(lambda: _client(server, "sts", stranger).get_caller_identity())
        _assert_unavailable(lambda: _client(server, "s3", stranger).list_buckets())
        _assert_portal_unavailable(portal.get("/"), json_body=False)
        _assert_portal_unavailable(portal.get(f"/tasks/{assignment_id}"), json_body=False)
        _assert_portal_unavailable(portal.submit(assignment_id, lease, {"label": "during"}), json_body=True)
        assert portal.get("/_crowdloop/health").status == 200  # alive, but not ready:
        not_ready = portal.get("/_crowdloop/ready")
        assert (not_ready.status, not_ready.text) == (503, "not ready: the database cannot be reached")
        assert portal.same_connection, "the server closed the portal connection after an error"

        own_postgres.resume()
        acknowledged.add(_until_it_works(lambda: start_loop(a2i, flow_arn)))
        assert portal.get("/_crowdloop/ready").status == 200
        reply = portal.submit(assignment_id, lease, {"label": "after"})
        assert reply.status == 200, reply.text
        assert reply.json()["next"].startswith("/tasks/")
        assert portal.same_connection
        assert _loop_names(a2i, flow_arn) == acknowledged
        [output] = wait_for_outputs(server, 1)
        assert json.loads(output.read_bytes())["humanAnswers"][0]["answerContent"] == {"label": "after"}
    finally:
        if portal is not None:
            portal.close()
        stop_server(server)


def _credentials(server: RunningServer) -> dict[str, str]:
    return {"aws_access_key_id": server.access_key_id, "aws_secret_access_key": server.secret_access_key}


def _client(
    server: RunningServer, service: str, credentials: dict[str, str], retries: dict[str, Any] | None = None
) -> Any:
    return boto3.client(
        service,
        endpoint_url=server.endpoint_url,
        region_name=server.region,
        config=Config(retries=retries or {"max_attempts": 1}),
        **credentials,
    )


# --- the disk fills up (SQLite) ------------------------------------------------------------------------------


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    with small_tmpfs(tmp_path / "disk") as disk:
        yield disk


def test_full_disk_answers_503_and_loses_nothing(small_disk: Path) -> None:
    data_dir = small_disk / "data"
    server = start_server(data_dir, f"sqlite:///{data_dir / 'crowdloop.db'}", "sqlite")
    portal: PortalConnection | None = None
    try:
        flow_arn = set_up_job(server)
        a2i = server.client("sagemaker-a2i-runtime")
        acknowledged = {start_loop(a2i, flow_arn) for _ in range(3)}
        portal = signed_in_portal(server)
        [job_id] = portal.job_ids()
        assignment_id, lease = portal.open_task(job_id)

        filler = fill(small_disk)
        failure: ClientError | None = None
        for _ in range(100):  # until the database needs more room than there is
            try:
                acknowledged.add(start_loop(a2i, flow_arn, padding=200_000))
            except ClientError as exc:
                failure = exc
                break
        assert failure is not None, "the disk never filled up"
        _assert_is_unavailable(failure)
        reply = portal.submit(assignment_id, lease, {"label": "x" * 3_000_000})
        _assert_portal_unavailable(reply, json_body=True)
        assert portal.get("/_crowdloop/health").status == 200
        # still ready: the store answers at its schema (reads work); each write that finds no room answers 503
        assert portal.get("/_crowdloop/ready").status == 200
        assert portal.same_connection, "the server closed the portal connection after an error"

        filler.unlink()
        acknowledged.add(_until_it_works(lambda: start_loop(a2i, flow_arn)))
        reply = portal.submit(assignment_id, lease, {"label": "after"})
        assert reply.status == 200, reply.text
        assert _loop_names(a2i, flow_arn) == acknowledged
        [output] = wait_for_outputs(server, 1)
        assert json.loads(output.read_bytes())["humanAnswers"][0]["answerContent"] == {"label": "after"}
    finally:
        if portal is not None:
            portal.close()
        stop_server(server)


# --- file modes ----------------------------------------------------------------------------------------------


def test_fresh_data_dir_and_database_are_private(tmp_path: Path) -> None:
    data_dir = tmp_path / "fresh"
    server = start_server(data_dir, f"sqlite:///{data_dir / 'crowdloop.db'}", "sqlite")
    try:
        server.client("sagemaker").list_workteams()
        assert stat.S_IMODE(data_dir.stat().st_mode) == 0o700
        files = sorted(data_dir.glob("crowdloop.db*"))
        assert [path.name for path in files][:1] == ["crowdloop.db"]
        for path in files:
            assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    finally:
        stop_server(server)
    shutil.rmtree(data_dir)
