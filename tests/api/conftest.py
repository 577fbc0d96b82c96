"""Fixtures of the writable S3 API tests: one `crowdloop serve` over HTTP and one over HTTPS (boto3 sends
aws-chunked bodies with trailing checksums only over TLS), each with s3_max_object_bytes = 12 MiB."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.api.s3_helpers import running
from tests.conftest import RunningServer


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    with running(tmp_path_factory.mktemp("s3-write")) as server:
        yield server


@pytest.fixture(scope="session")
def s3_tls_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    with running(tmp_path_factory.mktemp("s3-write-tls"), args=("--tls", "self-signed")) as server:
        yield server
