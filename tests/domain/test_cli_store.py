"""Only `serve` and `db upgrade` create or migrate a store: every other command, run against a missing or
outdated store, exits 1 with one line naming the file or URL it looked at and what to pass, and leaves
nothing behind (both databases; the real CLI through click's runner and as a subprocess)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import click
import pytest
import sqlalchemy as sa
from alembic import command
from click.testing import CliRunner, Result

from crowdloop.cli import main
from crowdloop.config import SETTINGS
from crowdloop.store.schema import alembic_config, describe
from tests.pg import PostgresServer

# Every command that opens the store, with the arguments it needs (serve and db upgrade create stores).
STORE_COMMANDS: dict[str, list[str]] = {
    "keys list": [],
    "keys create": [],
    "keys show": [],
    "keys delete": ["AKCLNOSUCHKEY"],
    "keys revoke": ["AKCLNOSUCHKEY"],
    "workers add": ["new@example.org", "--password", "a-long-password"],
    "workers invite": ["new@example.org"],
    "workers reset-password": ["new@example.org", "--password", "a-long-password"],
    "workers list": [],
    "workers disable": ["new@example.org"],
    "workers enable": ["new@example.org"],
    "workers join": ["new@example.org", "raters"],
    "workers leave": ["new@example.org", "raters"],
    "workers quality": ["--flow", "some-flow"],
    "teams create": ["raters", "--group", "raters"],
    "teams list": [],
    "teams delete": ["raters"],
    "export preferences": ["--source", "some-flow", "--output", "out.jsonl"],
    "export kto": ["--source", "some-flow", "--output", "out.jsonl"],
    "export rankings": ["--source", "some-flow", "--output", "out.jsonl"],
    "export ratings": ["--source", "some-flow", "--output", "out.jsonl"],
    "export labels": ["--source", "some-flow", "--output", "out.jsonl"],
    "report": ["--source", "some-flow"],
    "status": [],
    "loops list": ["--flow", "some-flow"],
    "console-link": [],
    "flows set": ["some-flow", "shuffle-responses=true"],
    "flows show": ["some-flow"],
    "gold add": ["--flow", "some-flow", "items.jsonl"],
    "gold list": ["--flow", "some-flow"],
    "gold delete": ["--flow", "some-flow", "gold-1"],
    "workers resume": ["--flow", "some-flow", "new@example.org"],
    "webhooks add": ["http://example.org/hook", "--all"],
    "webhooks list": [],
    "webhooks delete": ["1"],
    "webhooks deliveries": ["1"],
    "webhooks redeliver": ["1"],
    "events tail": ["--limit", "1", "--timeout", "1"],
}
CREATING = {"serve", "db upgrade"}
ANY_REVISION = {"backup"}  # copies a store of any revision (back up before an upgrade): tests/domain/test_backup.py


@pytest.fixture(autouse=True)
def _no_crowdloop_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for setting in SETTINGS:  # the settings' variables only (not the tests' own, e.g. a PostgreSQL URL)
        monkeypatch.delenv(setting.env, raising=False)
    work = tmp_path / "elsewhere"
    work.mkdir()
    monkeypatch.chdir(work)  # where the default ./crowdloop-data would appear


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_store(request: pytest.FixtureRequest, tmp_path: Path) -> list[str]:
    """Store flags naming no store: a data dir that does not exist, or an empty PostgreSQL database."""
    flags = ["--data-dir", str(tmp_path / "no-such-dir")]
    if request.param == "postgresql":
        postgres: PostgresServer = request.getfixturevalue("postgres")
        flags += ["--database-url", postgres.create_database()]
    return flags


def _cli(*args: str) -> Result:
    return CliRunner().invoke(main, list(args))


def _store_flag_commands(group: click.Group, prefix: str = "") -> set[str]:
    found: set[str] = set()
    for name, sub in group.commands.items():
        path = f"{prefix} {name}".strip()
        if isinstance(sub, click.Group):
            found |= _store_flag_commands(sub, path)
        elif any(param.name == "data_dir" for param in sub.params):
            found.add(path)
    return found


def test_the_table_lists_every_command_that_opens_the_store() -> None:
    assert _store_flag_commands(main) - CREATING - ANY_REVISION == set(STORE_COMMANDS)


def _target(flags: list[str]) -> str:
    if "--database-url" in flags:
        return describe(flags[flags.index("--database-url") + 1])
    return str(Path(flags[1]) / "crowdloop.db")


def _one_error_line(result: Result) -> str:
    lines = result.output.strip().splitlines()
    assert result.exit_code == 1, result.output
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.output
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return lines[0]


def test_a_missing_store_is_named_and_not_created(empty_store: list[str], tmp_path: Path) -> None:
    for name, args in STORE_COMMANDS.items():
        line = _one_error_line(_cli(*name.split(), *args, *empty_store))
        assert f"No crowdloop store at {_target(empty_store)}:" in line, name
        assert "--data-dir" in line and "--database-url" in line, name
        assert not (tmp_path / "no-such-dir").exists(), name
        assert list((tmp_path / "elsewhere").iterdir()) == [], name


@pytest.fixture(params=["sqlite", "postgresql"])
def old_store(request: pytest.FixtureRequest, tmp_path: Path) -> list[str]:
    """Store flags naming a store migrated to the first revision only."""
    data_dir = tmp_path / "data"
    if request.param == "sqlite":
        data_dir.mkdir()
        url = f"sqlite:///{data_dir / 'crowdloop.db'}"
        flags = ["--data-dir", str(data_dir)]
    else:
        url = request.getfixturevalue("postgres").create_database()
        flags = ["--data-dir", str(data_dir), "--database-url", url]
    command.upgrade(alembic_config(url), "0001")
    return flags


def test_an_outdated_store_asks_for_db_upgrade(old_store: list[str]) -> None:
    for name, args in STORE_COMMANDS.items():
        line = _one_error_line(_cli(*name.split(), *args, *old_store))
        assert f"The crowdloop store at {_target(old_store)} is at schema revision 0001" in line, name
        assert "run `crowdloop db upgrade`" in line, name


def test_db_upgrade_migrates_an_outdated_store(old_store: list[str]) -> None:
    upgraded = _cli("db", "upgrade", *old_store)
    assert upgraded.exit_code == 0, upgraded.output
    assert upgraded.output == f"database at {_target(old_store)} is up to date\n"
    listed = _cli("workers", "list", *old_store)
    assert listed.exit_code == 0 and listed.output == ""


def test_db_upgrade_creates_a_store(empty_store: list[str], tmp_path: Path) -> None:
    created = _cli("db", "upgrade", *empty_store)
    assert created.exit_code == 0, created.output
    if "--database-url" not in empty_store:
        assert (tmp_path / "no-such-dir" / "crowdloop.db").is_file()
    added = _cli("workers", "add", "a@example.org", "--password", "a-long-password", *empty_store)
    assert added.exit_code == 0, added.output


def test_the_database_url_is_shown_without_its_password() -> None:
    shown = describe("postgresql+psycopg://crowd:s3cret@db.example:5432/crowdloop")
    assert shown == "postgresql+psycopg://crowd:***@db.example:5432/crowdloop"
    refused = _cli("workers", "list", "--database-url", "postgresql+psycopg://crowd:s3cret@127.0.0.1:1/crowdloop")
    line = _one_error_line(refused)
    assert "s3cret" not in line and "postgresql+psycopg://crowd:***@127.0.0.1:1/crowdloop" in line


def test_a_new_user_in_another_folder_gets_one_line() -> None:
    """As found: `export` run from another folder created ./crowdloop-data and printed a long trace."""
    work = Path.cwd().resolve()  # an empty folder (see _no_crowdloop_environment)
    env = {name: value for name, value in os.environ.items() if not name.startswith("CROWDLOOP_")}
    result = subprocess.run(
        [sys.executable, "-m", "crowdloop", "export", "preferences", "--source", "my-flow", "-o", "x.jsonl"],
        capture_output=True,
        text=True,
        cwd=work,
        env=env,
        timeout=60,
    )
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr.splitlines() == [
        f"Error: No crowdloop store at {work / 'crowdloop-data' / 'crowdloop.db'}: pass --data-dir "
        "(CROWDLOOP_DATA_DIR) or --database-url (CROWDLOOP_DATABASE_URL) to name the store `crowdloop serve` uses "
        "(`crowdloop db upgrade` creates a new one there)."
    ]
    assert list(work.iterdir()) == []


def test_a_store_of_a_newer_crowdloop_is_left_alone(old_store: list[str]) -> None:
    if "--database-url" in old_store:
        url = old_store[old_store.index("--database-url") + 1]
    else:
        url = f"sqlite:///{_target(old_store)}"
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE alembic_version SET version_num = '0099'"))
    engine.dispose()
    for args in (["workers", "list"], ["db", "upgrade"]):
        line = _one_error_line(_cli(*args, *old_store))
        assert f"The crowdloop store at {_target(old_store)} is at schema revision 0099, which this" in line
        assert "migrated by a newer crowdloop" in line
