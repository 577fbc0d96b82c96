"""Prepared: a hot statement compiled once per dialect and run straight on the DBAPI cursor.

SQLAlchemy's execution path (cache lookup, execution context, result metadata) costs about 50 µs per
statement, ten to twenty times what SQLite needs to run the statement itself. The few statements every
portal task runs (session lookup, claim, submit) go through Prepared instead: the same Core statement,
compiled by SQLAlchemy for the connection's dialect on first use, with SQLAlchemy's own bind and
result processors (UtcDateTime) applied, inside the Connection's transaction. DBAPI errors come out as
SQLAlchemy's exceptions (IntegrityError, ...) like everywhere else.

Only statements whose parameters are all explicit `bindparam("name")`s or literal values: no expanding
IN, no INSERT whose columns depend on the parameters given.
"""

from __future__ import annotations

from collections import namedtuple
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Dialect

Processor = Callable[[Any], Any] | None


@dataclass(frozen=True)
class _Plan:
    sql: str
    positional: tuple[str, ...] | None  # parameter names in order (qmark), or None (named: pyformat)
    names: tuple[str, ...]  # every parameter name
    literals: dict[str, Any]  # values bound in the statement itself
    bind_processors: dict[str, Callable[[Any], Any]]
    result_names: tuple[str, ...] | None  # None: take the names from cursor.description (text()); (): no rows
    result_processors: tuple[Processor, ...]
    processes_results: bool  # any of result_processors is set


def _cursor(conn: Connection) -> Any:
    """The DBAPI connection's cursor for prepared statements, made once: a psycopg cursor costs as much to make
    as a short statement to run. It lives in the pool record's `info`, which SQLAlchemy clears when the DBAPI
    connection is closed or invalidated; a pooled connection serves one thread at a time."""
    info = conn.connection.info
    cursor = info.get(_CURSOR)
    if cursor is None:
        cursor = info[_CURSOR] = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    return cursor


_CURSOR = "crowdloop.prepared.cursor"


class Prepared:
    def __init__(self, statement: sa.ClauseElement) -> None:
        self.statement = statement
        self._plans: dict[str, _Plan] = {}
        self._row_types: dict[tuple[str, ...], type] = {}

    def all(self, conn: Connection, params: Mapping[str, Any]) -> list[Any]:
        """Every row, each a named tuple (attribute access by column name, like sqlalchemy's Row)."""
        plan = self._plans.get(conn.dialect.name) or self._compile(conn.dialect)
        cursor = _cursor(conn)
        values = self._values(plan, params)
        try:
            cursor.execute(plan.sql, values)
            if plan.result_names is not None:
                raw = cursor.fetchall() if plan.result_names else []
                names = plan.result_names
            else:  # psycopg builds the description anew on each access: read it once, and only here
                description = cursor.description
                raw = cursor.fetchall() if description else []
                names = tuple(d[0] for d in description or ())
        except conn.dialect.loaded_dbapi.Error as exc:
            raise sa.exc.DBAPIError.instance(
                plan.sql, values, exc, conn.dialect.loaded_dbapi.Error, dialect=conn.dialect
            ) from exc
        row_type = self._row_type(names)
        processors = plan.result_processors
        if plan.processes_results:
            return [
                row_type(*[value if p is None else p(value) for p, value in zip(processors, row, strict=True)])
                for row in raw
            ]
        return [row_type(*row) for row in raw]

    def first(self, conn: Connection, params: Mapping[str, Any]) -> Any | None:
        rows = self.all(conn, params)
        return rows[0] if rows else None

    def one(self, conn: Connection, params: Mapping[str, Any]) -> Any:
        rows = self.all(conn, params)
        if len(rows) != 1:
            raise (
                sa.exc.NoResultFound(f"expected one row, got {len(rows)}")
                if not rows
                else sa.exc.MultipleResultsFound(f"expected one row, got {len(rows)}")
            )
        return rows[0]

    def scalar(self, conn: Connection, params: Mapping[str, Any]) -> Any | None:
        row = self.first(conn, params)
        return row[0] if row is not None else None

    def _values(self, plan: _Plan, params: Mapping[str, Any]) -> Any:
        def value(name: str) -> Any:
            raw = params[name] if name in params else plan.literals[name]
            processor = plan.bind_processors.get(name)
            return processor(raw) if processor is not None and raw is not None else raw

        if plan.positional is not None:
            return tuple(value(name) for name in plan.positional)
        return {name: value(name) for name in plan.names}

    def _compile(self, dialect: Dialect) -> _Plan:
        compiled: Any = self.statement.compile(dialect=dialect)
        if compiled.literal_execute_params or compiled.post_compile_params:
            raise ValueError("Prepared statements cannot have expanding or literal-execute parameters")
        binds = {name: bind for bind, name in compiled.bind_names.items()}
        literals = {name: bind.effective_value for name, bind in binds.items() if not bind.required}
        bind_processors = {}
        for name, bind in binds.items():
            processor = bind.type.bind_processor(dialect)
            if processor is not None:
                bind_processors[name] = processor
        columns: list[Any] = []
        if isinstance(self.statement, sa.Select | sa.TextualSelect):  # text(...).columns(...): typed results
            columns = list(self.statement.selected_columns)
        elif isinstance(self.statement, sa.UpdateBase):
            columns = list(self.statement.exported_columns)
        if isinstance(self.statement, sa.UpdateBase) and not columns:
            result_names, result_processors = (), ()  # no rows to read: no description to build
        elif not columns:
            result_names, result_processors = None, ()
        else:
            result_names = tuple(column.key for column in columns)
            result_processors = tuple(column.type.result_processor(dialect, None) for column in columns)
        plan = _Plan(
            sql=compiled.string,
            positional=tuple(compiled.positiontup) if compiled.positional else None,
            names=tuple(binds),
            literals=literals,
            bind_processors=bind_processors,
            result_names=result_names,
            result_processors=result_processors,
            processes_results=any(result_processors),
        )
        self._plans[dialect.name] = plan
        return plan

    def _row_type(self, names: tuple[str, ...]) -> type:
        known = self._row_types.get(names)
        if known is not None:
            return known
        row_type: type = namedtuple("Row", names, rename=True)  # type: ignore[misc]
        self._row_types[names] = row_type
        return row_type
