"""Query plans in tests: capture the statements a domain call runs, and ask the database how it would run one
(SQLite's EXPLAIN QUERY PLAN; PostgreSQL's EXPLAIN with sequential scans discouraged, since a test's tables are
small enough for a scan to win: the plan then shows the index the statement can use, and how)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import sqlalchemy as sa

from crowdloop.runtime import Services


@contextmanager
def statements(table: str = "human_loops") -> Iterator[list[tuple[str, Any]]]:
    """(SQL, parameters) of every statement naming `table` that runs in the block, in order."""
    seen: list[tuple[str, Any]] = []

    def capture(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, many: bool) -> None:
        if table in statement and not statement.startswith("EXPLAIN"):
            seen.append((statement, parameters))

    sa.event.listen(sa.engine.Engine, "before_cursor_execute", capture)
    try:
        yield seen
    finally:
        sa.event.remove(sa.engine.Engine, "before_cursor_execute", capture)


def plan(svc: Services, statement: str, parameters: Any) -> str:
    """The plan of `statement` with `parameters`, one node per line."""
    with svc.store.write() as conn:
        if svc.store.is_sqlite:
            rows = conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters).all()
            return "\n".join(str(r[-1]) for r in rows)
        conn.exec_driver_sql("SET LOCAL enable_seqscan = off")
        return "\n".join(r[0] for r in conn.exec_driver_sql("EXPLAIN " + statement, parameters))
