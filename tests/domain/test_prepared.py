"""Prepared statements give the same rows, types and errors as SQLAlchemy's own execution (both backends)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from crowdloop.store import Store
from crowdloop.store.prepared import Prepared
from crowdloop.store.tables import UtcDateTime, portal_sessions, workers

MOMENT = datetime(2026, 11, 22, 20, 30, 15, 123456, tzinfo=UTC)

_INSERT_WORKER = Prepared(
    workers.insert()
    .values(
        worker_id=sa.bindparam("worker_id"),
        sub=sa.bindparam("sub"),
        email=sa.bindparam("email"),
        status="active",
        created_at=sa.bindparam("created_at", type_=UtcDateTime),
    )
    .returning(workers.c.id, workers.c.created_at)
)

# `since` appears twice (two placeholders on SQLite), `status` is a literal bound in the statement.
_SINCE = sa.bindparam("since", type_=UtcDateTime)
_SELECT = Prepared(
    sa.select(workers.c.email, workers.c.created_at.label("joined"))
    .where(
        sa.or_(workers.c.created_at == _SINCE, workers.c.created_at > _SINCE),
        workers.c.created_at < sa.bindparam("until", type_=UtcDateTime),
        workers.c.status == "active",
    )
    .order_by(workers.c.email)
)


def _worker_values(name: str, created_at: datetime) -> dict[str, object]:
    return {"worker_id": f"id-{name}", "sub": f"sub-{name}", "email": f"{name}@example.org", "created_at": created_at}


def test_rows_match_sqlalchemy_execution(store: Store) -> None:
    with store.write() as conn:
        inserted = _INSERT_WORKER.one(conn, _worker_values("b", MOMENT))
        _INSERT_WORKER.one(conn, _worker_values("a", MOMENT + timedelta(hours=1)))
        _INSERT_WORKER.one(conn, _worker_values("late", MOMENT + timedelta(days=3)))
        conn.execute(workers.update().where(workers.c.email == "late@example.org").values(status="disabled"))
    assert isinstance(inserted.id, int) and inserted.created_at == MOMENT  # RETURNING, converted back
    with store.read() as conn:
        window = {"since": MOMENT, "until": MOMENT + timedelta(days=1)}
        rows = _SELECT.all(conn, window)
        reference = conn.execute(_SELECT.statement, window).all()
    assert [(r.email, r.joined) for r in rows] == [
        ("a@example.org", MOMENT + timedelta(hours=1)),
        ("b@example.org", MOMENT),
    ]
    assert [tuple(r) for r in rows] == [tuple(r) for r in reference]
    with store.read() as conn:
        assert _SELECT.first(conn, {**window, "since": MOMENT + timedelta(hours=2)}) is None
        assert _SELECT.scalar(conn, window) == "a@example.org"
        with pytest.raises(sa.exc.MultipleResultsFound):
            _SELECT.one(conn, window)


def test_database_errors_are_sqlalchemy_errors_and_roll_back(store: Store) -> None:
    with store.write() as conn:
        _INSERT_WORKER.one(conn, _worker_values("a", MOMENT))
    with pytest.raises(sa.exc.IntegrityError), store.write() as conn:
        _INSERT_WORKER.one(conn, _worker_values("b", MOMENT))
        _INSERT_WORKER.one(conn, {**_worker_values("c", MOMENT), "email": "a@example.org"})  # email is unique
    with store.read() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(workers)).scalar_one() == 1


def test_missing_parameter_is_refused(store: Store) -> None:
    with pytest.raises(KeyError, match="until"), store.read() as conn:
        _SELECT.all(conn, {"since": MOMENT})


def test_expanding_parameters_are_refused(store: Store) -> None:
    statement = Prepared(
        sa.select(portal_sessions.c.worker_id).where(
            portal_sessions.c.worker_id.in_(sa.bindparam("ids", expanding=True))
        )
    )
    with pytest.raises(ValueError, match="expanding"), store.read() as conn:
        statement.all(conn, {"ids": [1]})


def test_single_statements_and_pinned_connections_see_committed_data(store: Store) -> None:
    def count(conn: sa.Connection) -> int:
        return int(conn.execute(sa.select(sa.func.count()).select_from(workers)).scalar_one())

    def pinned_thread() -> list[int]:
        store.pin_connections()
        seen = []
        with store.read_one_statement() as conn:
            seen.append(count(conn))
        with store.write() as conn:
            _INSERT_WORKER.one(conn, _worker_values("w", MOMENT))
            with store.read_one_statement() as nested:  # the pinned reader is free: no open transaction
                seen.append(count(nested))
            with store.read() as reader, store.read_one_statement() as inner:  # reader busy: a pooled one
                seen.append(count(reader) + 10 * count(inner))
        with store.read_one_statement() as conn:
            seen.append(count(conn))
        return seen

    with ThreadPoolExecutor(1) as pool:  # pinning is per thread; keep it off the test's thread
        assert pool.submit(pinned_thread).result() == [0, 0, 0, 1]


_RENAME = Prepared(workers.update().where(workers.c.email == sa.bindparam("email")).values(sub=sa.bindparam("sub")))


def test_statements_without_rows_answer_an_empty_list(store: Store) -> None:
    with store.write() as conn:
        _INSERT_WORKER.one(conn, _worker_values("a", MOMENT))
        assert _RENAME.all(conn, {"email": "a@example.org", "sub": "renamed"}) == []
        assert _RENAME.first(conn, {"email": "nobody@example.org", "sub": "x"}) is None
    with store.read() as conn:
        assert conn.execute(sa.select(workers.c.sub)).scalar_one() == "renamed"


def test_the_cursor_outlives_errors_and_a_lost_connection(store: Store) -> None:
    """One cursor per pooled connection serves its statements; after a failed statement it serves the next
    transaction, and a connection that was invalidated (its DBAPI connection closed) gets a new one."""
    with store.write() as conn:
        _INSERT_WORKER.one(conn, _worker_values("a", MOMENT))
    for attempt in range(3):
        with pytest.raises(sa.exc.IntegrityError), store.write() as conn:
            _INSERT_WORKER.one(conn, _worker_values(f"dup{attempt}", MOMENT) | {"email": "a@example.org"})
        with store.read() as conn:
            assert _SELECT.scalar(conn, {"since": MOMENT, "until": MOMENT + timedelta(days=1)}) == "a@example.org"
    window = {"since": MOMENT, "until": MOMENT + timedelta(days=1)}
    with store.engine.connect() as conn:
        assert _SELECT.scalar(conn, window) == "a@example.org"
        closed = conn.connection.dbapi_connection
        conn.invalidate()  # the DBAPI connection is closed: its cursor cannot run anything
        assert _SELECT.scalar(conn, window) == "a@example.org"
        assert conn.connection.dbapi_connection is not closed
