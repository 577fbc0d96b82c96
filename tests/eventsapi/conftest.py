"""Events API fixtures: the real server (SQLite and PostgreSQL) with private webhook targets allowed, and a
real webhook receiver on 127.0.0.1."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.events.receivers import HttpReceiver
from tests.eventsapi.kit import LiveServer, serve


@pytest.fixture
def live(tmp_path: Path, db_url: str) -> Iterator[LiveServer]:
    with serve(tmp_path, db_url, webhook_allow_private_targets=True) as server:
        yield server


@pytest.fixture
def receiver() -> Iterator[HttpReceiver]:
    with HttpReceiver() as running:
        yield running
