"""Which accounts own rows: every table with an `account` / `account_id` column, read generically so a
table added later is counted without changing this module.

The resource tables are unique on (account, region, name), so the index on that key answers "rows of
another account than X" with two empty range scans (`< X`, `> X`) when there are none: `serve` asks at
every start, and a big store must not be read in full for it.
"""

from __future__ import annotations

from collections.abc import Iterator

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from crowdloop.store.tables import metadata

_ACCOUNT_COLUMNS = ("account", "account_id")


def rows_of_other_accounts(conn: Connection, account: str) -> dict[str, dict[str, int]]:
    """Every account but `account` that owns rows: account id -> {table name: number of its rows}."""
    found: dict[str, dict[str, int]] = {}
    for table, column in _account_columns():
        for other_side in (column < account, column > account):  # two range scans (one OR is a full scan)
            for other, count in conn.execute(sa.select(column, sa.func.count()).where(other_side).group_by(column)):
                found.setdefault(other, {})[table.name] = count
    return found


def has_rows_of(conn: Connection, account: str) -> bool:
    return any(
        conn.execute(sa.select(column).where(column == account).limit(1)).first() is not None
        for _, column in _account_columns()
    )


def _account_columns() -> Iterator[tuple[sa.Table, sa.Column[str]]]:
    for table in metadata.sorted_tables:
        for name in _ACCOUNT_COLUMNS:
            if name in table.c:
                yield table, table.c[name]
