"""Which database errors are outages (the store cannot serve now; retrying later will work) rather than
faults of the statement or the data. The one place that knows the drivers' error codes.

    SQLite      sqlite_errorcode FULL, IOERR*, BUSY, LOCKED, CANTOPEN, READONLY, NOMEM
    PostgreSQL  the connection failed or was lost (no SQLSTATE, or SQLAlchemy saw a disconnect), or
                SQLSTATE class 08 (connection exception), 53 (insufficient resources: disk full, out of
                memory, too many connections), 57P (server shutting down, starting up, crashed)
    any         the connection pool timed out

Everything else (IntegrityError, DataError, programming errors) is not an outage and is left alone.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager

import sqlalchemy as sa

from crowdloop.errors import Unavailable

log = logging.getLogger("crowdloop.store")

# Primary result codes (the low byte of an extended code): https://sqlite.org/rescode.html
_SQLITE_OUTAGE_CODES = frozenset(
    {
        5,  # SQLITE_BUSY: another process held the write lock beyond busy_timeout
        6,  # SQLITE_LOCKED
        7,  # SQLITE_NOMEM
        8,  # SQLITE_READONLY: the file or its folder became read-only
        10,  # SQLITE_IOERR (every extended IOERR_* code)
        13,  # SQLITE_FULL: the disk is full
        14,  # SQLITE_CANTOPEN
    }
)
_POSTGRES_OUTAGE_SQLSTATES = ("08", "53", "57P")


def is_outage(exc: BaseException) -> bool:
    """True when exc (SQLAlchemy's wrapper or a driver error) means the database cannot serve now."""
    if isinstance(exc, sa.exc.TimeoutError):  # no pooled connection came free in time
        return True
    if isinstance(exc, sa.exc.DBAPIError):
        if exc.connection_invalidated:
            return True
        return _driver_error_is_outage(exc)
    return False


def _driver_error_is_outage(exc: sa.exc.DBAPIError) -> bool:
    orig = exc.orig
    if isinstance(orig, sqlite3.Error):
        code = getattr(orig, "sqlite_errorcode", None)
        return code is not None and code & 0xFF in _SQLITE_OUTAGE_CODES
    sqlstate = getattr(orig, "sqlstate", None)
    if sqlstate is None:  # the driver talked to no server: connection refused, closed or lost
        return isinstance(exc, sa.exc.OperationalError | sa.exc.InterfaceError)
    return str(sqlstate).startswith(_POSTGRES_OUTAGE_SQLSTATES)


@contextmanager
def outages_as_unavailable() -> Iterator[None]:
    """Raise Unavailable (chained to the original) for an outage escaping the block; anything else as is."""
    try:
        yield
    except (sa.exc.DBAPIError, sa.exc.TimeoutError) as exc:
        if not is_outage(exc):
            raise
        log.warning("database unavailable: %s", str(exc.orig if isinstance(exc, sa.exc.DBAPIError) else exc).strip())
        raise Unavailable("The database is temporarily unavailable. Try again shortly.") from exc
