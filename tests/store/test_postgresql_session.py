"""crowdloop's PostgreSQL connections run without JIT compilation (store/engine.py), whichever way a unit of
work gets its connection."""

from __future__ import annotations

import pytest

from crowdloop.store import Store


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
