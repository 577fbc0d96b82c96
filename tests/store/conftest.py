"""Fixtures of the store's own tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.pg import PostgresServer


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_database(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The URL of a database with nothing in it yet, on each backend."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'fresh.db'}"
    postgres: PostgresServer = request.getfixturevalue("postgres")
    return postgres.create_database()
