"""Which accounts own rows: every table with an `account` / `account_id` column, read generically so a
table added later is counted without changing this module."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from crowdloop.store.tables import metadata

_ACCOUNT_COLUMNS = ("account", "account_id")


def rows_per_account(conn: Connection) -> dict[str, dict[str, int]]:
    """account id -> {table name: number of its rows}."""
    found: dict[str, dict[str, int]] = {}
    for table in metadata.sorted_tables:
        column = next((table.c[name] for name in _ACCOUNT_COLUMNS if name in table.c), None)
        if column is None:
            continue
        for account, count in conn.execute(sa.select(column, sa.func.count()).group_by(column)):
            found.setdefault(account, {})[table.name] = count
    return found
