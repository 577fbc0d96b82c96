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
from typing import Any, Generic, TypedDict, TypeVar

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Row
from sqlalchemy.sql import ColumnElement, Select

from crowdloop.paging import PageRequest, invalid_token
from crowdloop.store.tables import UtcDateTime

T = TypeVar("T")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Page(Generic[T]):
    items: list[T]
    next_token: str | None


class PageArgs(TypedDict, total=False):
    """The page a List* asks for: MaxResults and NextToken."""

    max_results: int | None
    next_token: str | None


class CreationListing(PageArgs, total=False):
    """The keyword arguments of a List* over creation time (ListHumanTaskUis, ListFlowDefinitions)."""

    created_after: datetime | None
    created_before: datetime | None
    sort_order: str | None


class NameListing(PageArgs, total=False):
    """The keyword arguments of a List* sorted by name or creation date (ListWorkteams, ListWorkforces)."""

    sort_by: str | None
    sort_order: str | None
    name_contains: str | None


def fetch_page(
    conn: Connection, query: Select[Any], order_by: Sequence[sa.Column[Any]], *, descending: bool, page: PageRequest
) -> tuple[list[Row[Any]], str | None]:
    """Rows of `query` for this page in (order_by...) order, and the token of the next page (or None)."""
    position = page.position()
    if position is not None:
        if len(position) != len(order_by):
            raise invalid_token()
        query = query.where(
            _after(order_by, [_decode(col, value) for col, value in zip(order_by, position, strict=True)], descending)
        )
    ordering = [col.desc() if descending else col.asc() for col in order_by]
    rows = list(conn.execute(query.order_by(*ordering).limit(page.limit + 1)))
    if len(rows) <= page.limit:
        return rows, None
    rows = rows[: page.limit]
    last = rows[-1]
    return rows, page.token_after([_encode(last._mapping[col]) for col in order_by])


def _after(columns: Sequence[sa.Column[Any]], values: Sequence[Any], descending: bool) -> ColumnElement[bool]:
    """(c1, c2, ...) > (v1, v2, ...) (or < when descending) as one row-value comparison: both databases read it
    as a range of an index on (filter columns..., c1, c2, ...) and start the scan at the position. The same
    test spelled as ORs (c1 > v1 OR c1 = v1 AND c2 > v2) is an index range on neither: SQLite and PostgreSQL
    then walk every row before the position (O(depth))."""
    bound = [sa.bindparam(None, value, type_=column.type) for column, value in zip(columns, values, strict=True)]
    if len(columns) == 1:
        return columns[0] < bound[0] if descending else columns[0] > bound[0]
    row, position = sa.tuple_(*columns), sa.tuple_(*bound)
    return row < position if descending else row > position


def _encode(value: Any) -> Any:
    if isinstance(value, datetime):
        delta = value - _EPOCH
        return (delta.days * 86400 + delta.seconds) * 1_000_000 + delta.microseconds
    return value


_INT64 = (-(2**63), 2**63 - 1)


def _decode(column: sa.Column[Any], value: Any) -> Any:
    """The token's value for `column`, checked against the column's type and range (a token from this
    server always passes; the checks keep a leaked key or a bug from reaching the database)."""
    if isinstance(column.type, UtcDateTime | sa.Integer):
        if not isinstance(value, int) or isinstance(value, bool) or not _INT64[0] <= value <= _INT64[1]:
            raise invalid_token()
        if isinstance(column.type, UtcDateTime):
            try:
                return _EPOCH + timedelta(microseconds=value)
            except OverflowError as exc:
                raise invalid_token() from exc
        return value
    if isinstance(column.type, sa.String) and not isinstance(value, str):
        raise invalid_token()
    return value
