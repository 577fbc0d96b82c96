"""Fixtures: `aws` (auth = sigv4) and `aws_off` (auth = "off"), one server each per session.

`aws` serves ACCOUNT, the account of its key; `aws_off` serves another account, which every request gets
(auth = off has no keys to take an account from)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from awskit import (
    ACCOUNT,
    KEY_ID,
    OFF_ACCOUNT,
    SECRET,
    AwsServer,
    Fakes,
    OffsetClock,
    ServerThread,
    a2i_fakes,
    sagemaker_fakes,
)

from crowdloop.aws.app import AwsApi
from crowdloop.blobs import LocalBlobStore
from crowdloop.clock import SystemClock
from crowdloop.config import Settings
from crowdloop.runtime import Services
from crowdloop.store import open_store
from tests.pg import free_port


def _start(tmp: Path, auth: str, account: str) -> Iterator[AwsServer]:
    port = free_port()  # the settings name it: auth = off answers only the server's own Host names
    settings = Settings(data_dir=str(tmp), auth=auth, account_id=account, region="eu-central-1", port=port)
    store = open_store(settings.resolved_database_url)
    clock = OffsetClock()
    fakes = Fakes()
    services = Services(settings=settings, store=store, clock=SystemClock(), blobs=LocalBlobStore(settings.output_path))
    api = AwsApi(services, sagemaker_fakes(fakes), a2i_fakes(fakes), signature_clock=clock)
    server = AwsServer("", 0, settings, store, api, fakes, clock)
    server.add_key(KEY_ID, SECRET, ACCOUNT)
    settings.output_path.mkdir(parents=True, exist_ok=True)
    with ServerThread(api, port) as thread:
        server.url, server.port = f"http://127.0.0.1:{thread.port}", thread.port
        yield server
    api.close()
    store.dispose()


@pytest.fixture(scope="session")
def aws(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AwsServer]:
    yield from _start(tmp_path_factory.mktemp("aws"), "sigv4", ACCOUNT)


@pytest.fixture(scope="session")
def aws_off(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AwsServer]:
    yield from _start(tmp_path_factory.mktemp("aws-off"), "off", OFF_ACCOUNT)


@pytest.fixture(autouse=True)
def _reset_clock(request: pytest.FixtureRequest) -> Iterator[None]:
    yield
    for name in ("aws", "aws_off"):
        if name in request.fixturenames:
            request.getfixturevalue(name).clock.offset = 0.0
