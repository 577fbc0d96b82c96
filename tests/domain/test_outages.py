"""Database outages come out of the Store as Unavailable; errors of the statement itself do not (both
backends). Full disks and a PostgreSQL server going away mid-run are in tests/e2e/test_outage.py."""

from __future__ import annotations

import stat
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa

from crowdloop.blobs import LocalBlobStore, S3BlobStore
from crowdloop.errors import Unavailable
from crowdloop.store import Store, open_store
from crowdloop.store.tables import workers
from tests.pg import free_port
from tests.smalldisk import fill, small_tmpfs


def test_sqlite_file_that_cannot_be_opened_is_unavailable(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path / 'no-such-folder' / 'crowdloop.db'}")
    try:
        with pytest.raises(Unavailable), store.read() as conn:
            conn.execute(sa.select(1))
        with pytest.raises(Unavailable), store.write() as conn:
            conn.execute(sa.select(1))
    finally:
        store.dispose()


def test_postgres_server_that_refuses_connections_is_unavailable() -> None:
    store = Store(f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/postgres")
    try:
        with pytest.raises(Unavailable) as raised, store.write() as conn:
            conn.execute(sa.select(1))
        assert isinstance(raised.value.__cause__, sa.exc.OperationalError)
        with pytest.raises(Unavailable), store.read_one_statement() as conn:
            conn.execute(sa.select(1))
    finally:
        store.dispose()


def test_errors_of_the_statement_are_not_outages(store: Store) -> None:
    with pytest.raises(sa.exc.DBAPIError) as raised, store.read() as conn:
        conn.exec_driver_sql("SELECT no_such_column FROM workers")
    assert not isinstance(raised.value, Unavailable)
    row = {
        "worker_id": "w",
        "sub": "s",
        "email": "a@example.org",
        "status": "active",
        "created_at": datetime(2026, 1, 1, tzinfo=UTC),
    }
    with store.write() as conn:
        conn.execute(workers.insert().values(**row))
    with pytest.raises(sa.exc.IntegrityError), store.write() as conn:
        conn.execute(workers.insert().values(**row))
    with store.read() as conn:  # the store still works
        assert conn.execute(sa.select(sa.func.count()).select_from(workers)).scalar_one() == 1


def test_unreachable_s3_is_unavailable() -> None:
    blobs = S3BlobStore(f"http://127.0.0.1:{free_port()}", "key", "secret", "us-east-1")
    with pytest.raises(Unavailable):
        blobs.put("s3://bucket/out/output.json", b"{}")


def test_full_output_folder_is_unavailable_until_there_is_room(tmp_path: Path) -> None:
    with small_tmpfs(tmp_path / "disk", size_mib=4) as disk:
        blobs = LocalBlobStore(disk)
        filler = fill(disk)
        with pytest.raises(Unavailable):
            blobs.put("s3://bucket/out/output.json", b"{" + b" " * 100_000 + b"}")
        assert not list((disk / ".incoming").glob("*.part"))  # no partial file left behind
        filler.unlink()
        blobs.put("s3://bucket/out/output.json", b"{}")
        assert blobs.get("s3://bucket/out/output.json") == b"{}"


def test_new_sqlite_database_is_private(tmp_path: Path) -> None:
    database = tmp_path / "fresh" / "crowdloop.db"
    store = open_store(f"sqlite:///{database}")
    try:
        with store.write() as conn:
            conn.execute(sa.select(1))
        assert stat.S_IMODE(database.parent.stat().st_mode) == 0o700
        for path in database.parent.glob("crowdloop.db*"):
            assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    finally:
        store.dispose()


def test_database_left_readable_by_an_older_version_is_made_private(tmp_path: Path) -> None:
    database = tmp_path / "crowdloop.db"
    open_store(f"sqlite:///{database}").dispose()
    database.chmod(0o644)
    store = open_store(f"sqlite:///{database}")
    try:
        with store.write() as conn:
            conn.execute(sa.select(1))
        for path in tmp_path.glob("crowdloop.db*"):
            assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    finally:
        store.dispose()
