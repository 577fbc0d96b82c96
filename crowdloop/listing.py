"""Keyset pagination for the List* operations: stable order, opaque tokens bound to the query.

A page is read with one SELECT ordered by the sort columns (the last of which must be unique, e.g. the
primary key), fetching one row more than asked to learn whether another page exists. The token holds
the sort key of the last row returned (times as epoch microseconds), so rows created or deleted between
calls never shift the pages.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Generic, TypeVar

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Row
from sqlalchemy.sql import ColumnElement, Select

from crowdloop.errors import InvalidInput
from crowdloop.paging import PageRequest
from crowdloop.store.tables import UtcDateTime

T = TypeVar("T")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Page(Generic[T]):
    items: list[T]
    next_token: str | None


def fetch_page(conn: Connection, query: Select[Any], order_by: Sequence[sa.Column[Any]], *,
               descending: bool, page: PageRequest) -> tuple[list[Row[Any]], str | None]:
    """Rows of `query` for this page in (order_by...) order, and the token of the next page (or None)."""
    position = page.position()
    if position is not None:
        if len(position) != len(order_by):
            raise InvalidInput("The NextToken is not valid for this request.", "nextToken")
        query = query.where(_after(order_by, [_decode(col, value) for col, value in zip(order_by, position,
                                                                                          strict=True)],
                                   descending))
    ordering = [col.desc() if descending else col.asc() for col in order_by]
    rows = list(conn.execute(query.order_by(*ordering).limit(page.limit + 1)))
    if len(rows) <= page.limit:
        return rows, None
    rows = rows[:page.limit]
    last = rows[-1]
    return rows, page.token_after([_encode(last._mapping[col]) for col in order_by])


def _after(columns: Sequence[sa.Column[Any]], values: Sequence[Any], descending: bool) -> ColumnElement[bool]:
    """(c1, c2, ...) > (v1, v2, ...) lexicographically (or < when descending), portable SQL."""
    clauses = []
    for i, column in enumerate(columns):
        equal = [columns[j] == values[j] for j in range(i)]
        beyond = column < values[i] if descending else column > values[i]
        clauses.append(sa.and_(*equal, beyond))
    return sa.or_(*clauses)


def _encode(value: Any) -> Any:
    if isinstance(value, datetime):
        delta = value - _EPOCH
        return (delta.days * 86400 + delta.seconds) * 1_000_000 + delta.microseconds
    return value


def _decode(column: sa.Column[Any], value: Any) -> Any:
    if isinstance(column.type, UtcDateTime):
        if not isinstance(value, int) or isinstance(value, bool):
            raise InvalidInput("The NextToken is not valid for this request.", "nextToken")
        try:
            return _EPOCH + timedelta(microseconds=value)
        except OverflowError as exc:
            raise InvalidInput("The NextToken is not valid for this request.", "nextToken") from exc
    if isinstance(column.type, sa.Integer) and (not isinstance(value, int) or isinstance(value, bool)):
        raise InvalidInput("The NextToken is not valid for this request.", "nextToken")
    if isinstance(column.type, sa.String) and not isinstance(value, str):
        raise InvalidInput("The NextToken is not valid for this request.", "nextToken")
    return value
