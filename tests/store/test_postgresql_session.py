"""crowdloop's PostgreSQL connections run without JIT compilation (store/engine.py), whichever way a unit of
work gets its connection; and `?prepare_threshold=none` in the URL (for pgbouncer) turns psycopg's server-side
prepared statements off."""

from __future__ import annotations

import pytest

from crowdloop.store import Store
from crowdloop.store.engine import engine_arguments


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)  # SQLite has no JIT
def test_jit_is_off_on_every_crowdloop_connection(store: Store) -> None:
    assert not store.is_sqlite
    with store.write() as conn:
        assert conn.exec_driver_sql("SHOW jit").scalar_one() == "off"
    with store.read() as first, store.read() as second:  # two pooled connections at once
        assert first.exec_driver_sql("SHOW jit").scalar_one() == "off"
        assert second.exec_driver_sql("SHOW jit").scalar_one() == "off"
    with store.engine.connect() as raw:
        assert raw.exec_driver_sql("SHOW jit").scalar_one() == "off"


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_prepare_threshold_none_in_the_url_turns_server_side_prepared_statements_off(db_url: str) -> None:
    """For pgbouncer in transaction mode (docs/deployment.md "Behind pgbouncer"): psycopg never prepares."""
    store = Store(db_url + "?prepare_threshold=none")
    try:
        for _ in range(10):  # psycopg would prepare it from the 5th time on
            with store.read() as conn:
                assert conn.exec_driver_sql("SELECT 1").scalar_one() == 1
        with store.read() as conn:
            assert conn.connection.dbapi_connection.prepare_threshold is None  # type: ignore[union-attr]
            assert conn.exec_driver_sql("SELECT count(*) FROM pg_prepared_statements").scalar_one() == 0
            assert conn.exec_driver_sql("SHOW jit").scalar_one() == "off"
    finally:
        store.dispose()


def test_engine_arguments_read_prepare_threshold_from_the_url() -> None:
    url, args = engine_arguments("postgresql+psycopg://app:secret@db:6432/crowdloop?prepare_threshold=none")
    assert url.render_as_string(hide_password=False) == "postgresql+psycopg://app:secret@db:6432/crowdloop"
    assert args == {"options": "-c jit=off", "prepare_threshold": None}
    assert engine_arguments("postgresql+psycopg://db/crowdloop?prepare_threshold=3")[1]["prepare_threshold"] == 3
    assert "prepare_threshold" not in engine_arguments("postgresql+psycopg://db/crowdloop")[1]
    assert engine_arguments("sqlite:///x.db?prepare_threshold=none")[1] == {}
    with pytest.raises(ValueError, match="prepare_threshold must be 'none' or a whole number, not 'off'"):
        engine_arguments("postgresql+psycopg://db/crowdloop?prepare_threshold=off")
