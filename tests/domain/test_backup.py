"""`crowdloop backup` (crowdloop/backup.py): a consistent copy of a SQLite store, also while writes go on and
on a store of an older schema revision; refusals in one line (PostgreSQL, an existing target, no store)."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import pytest
from alembic import command
from click.testing import CliRunner, Result

from crowdloop.cli import main
from crowdloop.config import SETTINGS
from crowdloop.runtime import Services
from crowdloop.store import open_existing_store
from crowdloop.store.schema import alembic_config
from tests.domain.loopsetup import make_flow, start


@pytest.fixture(autouse=True)
def _no_crowdloop_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for setting in SETTINGS:
        monkeypatch.delenv(setting.env, raising=False)


def _backup(url: str, target: Path) -> Result:
    return CliRunner().invoke(main, ["backup", str(target), "--database-url", url])


def _loops(path: Path) -> int:
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        return int(conn.execute("SELECT count(*) FROM human_loops").fetchone()[0])


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_a_backup_taken_while_loops_start_is_a_consistent_store(services: Services, tmp_path: Path) -> None:
    flow = make_flow(services, task_count=1)
    for _ in range(50):
        start(services, flow)
    stop = threading.Event()
    started = [50]

    def keep_writing() -> None:
        while not stop.is_set():
            start(services, flow)
            started[0] += 1

    writer = threading.Thread(target=keep_writing)
    writer.start()
    try:
        result = _backup(services.settings.resolved_database_url, tmp_path / "copy.db")
    finally:
        stop.set()
        writer.join()
    assert result.exit_code == 0, result.output
    assert f"backup written: {tmp_path / 'copy.db'}" in result.output
    copied = _loops(tmp_path / "copy.db")
    assert 50 <= copied <= started[0]  # one committed state: everything up to some moment of the writes
    restored = open_existing_store(f"sqlite:///{tmp_path / 'copy.db'}")  # a store at the current schema
    restored.dispose()
    assert not (tmp_path / "copy.db.partial").exists()


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_refusals_are_one_line(services: Services, tmp_path: Path) -> None:
    url = services.settings.resolved_database_url
    (tmp_path / "taken.db").write_text("x")
    taken = _backup(url, tmp_path / "taken.db")
    assert taken.exit_code == 1 and taken.output.strip().splitlines() == [
        f"Error: {tmp_path / 'taken.db'} exists already: name a new file (a backup never overwrites one)."
    ]
    assert (tmp_path / "taken.db").read_text() == "x"
    missing = _backup(f"sqlite:///{tmp_path / 'nothing.db'}", tmp_path / "copy.db")
    assert missing.exit_code == 1 and f"No crowdloop store at {tmp_path / 'nothing.db'}" in missing.output
    assert not (tmp_path / "copy.db").exists() and not (tmp_path / "nothing.db").exists()


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_postgresql_is_sent_to_pg_dump(db_url: str, tmp_path: Path) -> None:
    result = _backup(db_url, tmp_path / "copy.db")
    assert result.exit_code == 1 and "is PostgreSQL: back it up with pg_dump" in result.output
    assert "Traceback" not in result.output and not (tmp_path / "copy.db").exists()


def test_an_outdated_store_can_be_backed_up_before_its_upgrade(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'old.db'}"
    command.upgrade(alembic_config(url), "0001")
    result = _backup(url, tmp_path / "copy.db")
    assert result.exit_code == 0, result.output
    assert _loops(tmp_path / "copy.db") == 0
