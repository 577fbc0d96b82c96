"""Query plans in tests: capture the statements a domain call runs, and ask the database how it would run one
(SQLite's EXPLAIN QUERY PLAN; PostgreSQL's EXPLAIN with sequential scans discouraged, since a test's tables are
small enough for a scan to win: the plan then shows the index the statement can use, and how)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from psycopg import pq

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


@contextmanager
def round_trips(svc: Services, trace_dir: Path) -> Iterator[list[str]]:
    """PostgreSQL: the statements the block sends to the server, one entry per round trip (libpq's own trace of
    every connection checked out of the store's pool meanwhile: a Sync ends an extended-protocol exchange, a
    Query message is one of its own). The list is filled when the block ends."""
    found: list[str] = []
    traced: list[tuple[Any, Any]] = []

    def checkout(dbapi_connection: Any, record: Any, proxy: Any) -> None:
        handle = (trace_dir / f"trace-{len(traced)}.txt").open("w")
        dbapi_connection.pgconn.trace(handle.fileno())
        dbapi_connection.pgconn.set_trace_flags(pq.Trace.SUPPRESS_TIMESTAMPS | pq.Trace.REGRESS_MODE)
        traced.append((dbapi_connection, handle))

    engine = svc.store.engine
    sa.event.listen(engine, "checkout", checkout)
    try:
        yield found
    finally:
        sa.event.remove(engine, "checkout", checkout)
        for dbapi_connection, handle in traced:
            dbapi_connection.pgconn.untrace()
            handle.close()
            found.extend(_exchanges(Path(handle.name).read_text()))


def _exchanges(trace: str) -> list[str]:
    """One entry per round trip in a libpq trace: the first word of its statement (a simple Query's, or the one an
    extended exchange parses), or the name of the server-side prepared statement it binds."""
    exchanges: list[str] = []
    pending = ""
    for kind, rest in _FRONTEND.findall(trace):
        if kind == "Query":
            exchanges.append(_first_word(rest.strip().strip('"')))
        elif kind == "Parse" and not pending:
            pending = _first_word(rest.split('"', 3)[-1])  # after the statement's name: "name" "SQL..."
        elif kind == "Bind" and not pending:
            pending = rest.split('"', 4)[3]  # "portal" "statement"
        elif kind == "Sync":
            exchanges.append(pending)
            pending = ""
    return exchanges


# A message the client sent: "F", its length, its type, the rest up to the next message (statements span lines).
_FRONTEND = re.compile(r"^F\t\d+\t(\w+)(.*?)(?=^[FB]\t\d+\t|\Z)", re.MULTILINE | re.DOTALL)


def _first_word(text: str) -> str:
    words = text.split()
    return words[0] if words else ""
