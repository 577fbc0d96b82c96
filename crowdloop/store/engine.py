"""The Store: one SQLAlchemy engine per process, transactions as context managers.

Two ways to open one: open_store creates the database (a private SQLite file) and migrates it (`serve`,
`db upgrade`); open_existing_store creates and migrates nothing and raises StoreNotReady for a store that
is missing or not at the newest migration (every other command; see schema.py).

SQLite runs in WAL mode with `BEGIN IMMEDIATE` for writes (one writer at a time, no upgrade deadlocks);
reads use a deferred transaction so they never wait for the writer. PostgreSQL uses READ COMMITTED.
Units of work commit once, at the edge: `with store.write() as conn: ...`. A database outage escaping a
transaction (disk full, server down: see outages.py) comes out as crowdloop.errors.Unavailable.

The SQLite write-ahead log is kept bounded: a background thread checkpoints it (PASSIVE, every second,
never waiting for anyone) and, when the file grows past WAL_LIMIT_BYTES anyway (PASSIVE cannot restart a
log that is written to without pause), runs a TRUNCATE checkpoint while holding the process's write
lock, so the log starts over from zero. Writers of this process wait for that checkpoint (it copies what
PASSIVE has not yet copied and syncs the database file: 150-400 ms on our test machine, at most once per
WAL_LIMIT_BYTES written). Shutdown truncates the log too.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine

from crowdloop.store import schema
from crowdloop.store.outages import outages_as_unavailable

WAL_LIMIT_BYTES = 64 * 1024 * 1024
_WAL_CHECK_SECONDS = 0.1  # how often the checkpointer looks at the WAL's size (one stat call)
_CHECKPOINT_BUSY_MS = 5000  # a TRUNCATE checkpoint waits this long for readers, then tries again later
log = logging.getLogger("crowdloop.store")
# PostgreSQL sessions of crowdloop run without JIT compilation: our statements are short index reads whose
# estimated cost can still pass jit_above_cost on a big table (the reaper's sweep at 1M loops spent ~100 ms
# compiling a query that ran in 3 ms). Set at connect (a startup option), so every connection has it.
POSTGRESQL_CONNECT_ARGS = {"options": "-c jit=off"}
# psycopg prepares a statement on the server once a connection has run it PREPARE_THRESHOLD times. Behind a
# pooler in transaction mode (pgbouncer before 1.21) the next transaction may run on another server connection:
# "prepared statement _pg3_0 does not exist" / "already exists". `?prepare_threshold=none` in the database URL
# turns server-side prepared statements off (docs/deployment.md "Behind pgbouncer"); a number sets psycopg's.
PREPARE_THRESHOLD = "prepare_threshold"


class Store:
    def __init__(self, url: str, *, background_checkpoints: bool = False) -> None:
        """background_checkpoints (SQLite): this process's commits never run a WAL checkpoint (the
        fsyncs live there); call start_checkpointer() so a background thread does them instead."""
        self.url = url
        self.is_sqlite = url.startswith("sqlite")
        self._checkpointer: threading.Thread | None = None
        self._stop_checkpoints = threading.Event()
        self._connections = threading.local()
        if self.is_sqlite:
            autocheckpoint = 0 if background_checkpoints else 1000
            self._writer = _sqlite_engine(url, begin="BEGIN IMMEDIATE", autocheckpoint=autocheckpoint)
            # SQLite has one writer at a time. Threads of this process queue on this lock instead of on
            # SQLite's busy handler, which sleeps in steps of up to 100 ms and wrecks latency.
            self._write_lock: threading.Lock | None = threading.Lock()
            self._reader = _sqlite_engine(url, begin="BEGIN", autocheckpoint=autocheckpoint)
        else:
            engine_url, connect_args = engine_arguments(url)
            # No pre-ping: it cost a round trip per transaction. A connection that died with the server fails
            # its statement (503, crowdloop.errors.Unavailable), and SQLAlchemy then discards every connection
            # of the pool opened before that failure, so one request notices an outage's end, not forty.
            self._writer = sa.create_engine(engine_url, pool_size=20, max_overflow=20, connect_args=connect_args)
            # Reads in autocommit: under READ COMMITTED (PostgreSQL's default, crowdloop's) each statement of a
            # read transaction sees a snapshot of its own anyway, so BEGIN and COMMIT were two round trips that
            # bought nothing. A block that needs one snapshot for several statements uses write().
            self._reader = self._writer.execution_options(isolation_level="AUTOCOMMIT")
            self._write_lock = None

    @property
    def engine(self) -> Engine:
        return self._writer

    @property
    def dialect(self) -> str:
        return "sqlite" if self.is_sqlite else "postgresql"

    @contextmanager
    def write(self) -> Iterator[Connection]:
        """A read-write transaction, committed when the block exits without an exception."""
        with outages_as_unavailable():
            if self._write_lock is None:
                with self._writer.begin() as conn:
                    yield conn
                return
            with self._write_lock, self._transaction(self._writer, "writer") as conn:
                yield conn

    @contextmanager
    def read(self) -> Iterator[Connection]:
        with outages_as_unavailable():
            if not self.is_sqlite:
                with self._reader.connect() as conn:
                    yield conn
                return
            with self._transaction(self._reader, "reader") as conn:
                yield conn

    @contextmanager
    def read_one_statement(self) -> Iterator[Connection]:
        """For a block that runs exactly one statement: on SQLite, a pinned connection runs it without
        BEGIN/COMMIT (a single statement is atomic on its own); otherwise the same as read()."""
        conn: Connection | None = getattr(self._connections, "reader", None)
        if (
            not self.is_sqlite
            or not getattr(self._connections, "pinned", False)
            or conn is None
            or conn.closed
            or conn.invalidated
            or conn.in_transaction()
        ):
            with self.read() as transactional:
                yield transactional
            return
        with outages_as_unavailable():
            yield conn

    @contextmanager
    def write_one_statement(self) -> Iterator[Connection]:
        """For a block that runs exactly one statement, which writes: on PostgreSQL in autocommit (the
        statement is atomic on its own: no BEGIN and COMMIT round trips); on SQLite the same as write()."""
        if self.is_sqlite:
            with self.write() as conn:
                yield conn
            return
        with outages_as_unavailable(), self._reader.connect() as conn:
            yield conn

    def pin_connections(self) -> None:
        """SQLite: from now on this thread keeps its own reader and writer connections between
        transactions instead of checking one out of the pool for each (which cost more than the queries of
        a portal request). For the few long-lived threads that do most of the work (the event loop, the
        output writer); every pinned thread holds two connections until it calls unpin_connections. On
        PostgreSQL nothing is pinned (its pool is cheap; a pinned connection outliving its thread would be
        closed only by the garbage collector)."""
        if self.is_sqlite:
            self._connections.pinned = True

    def unpin_connections(self) -> None:
        """Close this thread's pinned connections (a long-lived thread that ends)."""
        self._connections.pinned = False
        for role in ("reader", "writer"):
            conn: Connection | None = getattr(self._connections, role, None)
            if conn is not None:
                setattr(self._connections, role, None)
                conn.close()

    @contextmanager
    def _transaction(self, engine: Engine, role: str) -> Iterator[Connection]:
        """A transaction on this thread's pinned connection of `engine` when it has one (see
        pin_connections); otherwise, or when that connection is already in a transaction, a pooled one."""
        if not getattr(self._connections, "pinned", False):
            with engine.begin() as pooled:
                yield pooled
            return
        conn: Connection | None = getattr(self._connections, role, None)
        if conn is None or conn.closed or conn.invalidated:
            conn = engine.connect()
            setattr(self._connections, role, conn)
        elif conn.in_transaction():
            with engine.begin() as nested:
                yield nested
            return
        with conn.begin():
            yield conn

    def upgrade(self) -> None:
        """Bring the schema to the newest migration."""
        from alembic import command
        from alembic.util import CommandError

        try:
            command.upgrade(schema.alembic_config(self.url), "head")
        except CommandError:
            self.check_schema()  # StoreNotReady for a revision this version does not know (a newer crowdloop's)
            raise

    def check_schema(self) -> None:
        """StoreNotReady unless this database holds a crowdloop store at the newest migration."""
        schema.check_schema(self.url, self._reader)  # the reader: SQLite's BEGIN IMMEDIATE would wait for writers

    def start_checkpointer(self, interval_seconds: float = 1.0, wal_limit_bytes: int = WAL_LIMIT_BYTES) -> None:
        """SQLite only: checkpoint the WAL from a background thread every interval (PASSIVE: never waits
        for, nor blocks, readers and writers), and truncate it whenever it exceeds wal_limit_bytes."""
        if not self.is_sqlite or self._checkpointer is not None:
            return
        wal = Path(f"{self._database_path()}-wal")

        def run() -> None:
            next_passive = time.monotonic() + interval_seconds
            while not self._stop_checkpoints.wait(_WAL_CHECK_SECONDS):
                try:
                    if _file_size(wal) > wal_limit_bytes:
                        self.truncate_wal()
                    elif time.monotonic() >= next_passive:
                        _checkpoint(self._database_path(), "PASSIVE")
                        next_passive = time.monotonic() + interval_seconds
                except Exception:  # a failed checkpoint is retried next round; commits are unaffected
                    log.warning("WAL checkpoint failed", exc_info=True)

        self._checkpointer = threading.Thread(target=run, name="crowdloop-checkpoint", daemon=True)
        self._checkpointer.start()

    def stop_checkpointer(self) -> None:
        """Stop the checkpointer thread (if it runs) and wait for it."""
        self._stop_checkpoints.set()
        if self._checkpointer is not None and self._checkpointer is not threading.current_thread():
            self._checkpointer.join(timeout=_CHECKPOINT_BUSY_MS / 1000 * 2)

    def truncate_wal(self) -> bool:
        """SQLite: copy the whole WAL into the database and cut the WAL file to zero bytes, holding the
        process's write lock so that no writer of ours appends meanwhile. False when readers kept it
        from completing (it is tried again later); True on PostgreSQL."""
        if not self.is_sqlite or self._write_lock is None:
            return True
        started = time.monotonic()
        with self._write_lock:
            busy, _, _ = _checkpoint(self._database_path(), "TRUNCATE")
        log.debug("WAL truncation took %.0f ms", (time.monotonic() - started) * 1000)
        if busy:
            log.info("WAL truncation waited %d ms for readers and gave up; will retry", _CHECKPOINT_BUSY_MS)
        return not busy

    def _database_path(self) -> str:
        return str(sa.engine.make_url(self.url).database)

    def dispose(self) -> None:
        """Stop the checkpointer (and then truncate the WAL) and close the pools."""
        self.stop_checkpointer()
        if self._checkpointer is not None:  # the serving process: leave no WAL behind
            try:
                self.truncate_wal()
            except sqlite3.Error:
                log.warning("truncating the WAL at shutdown failed", exc_info=True)
        self._writer.dispose()
        if self._reader is not self._writer:
            self._reader.dispose()


def engine_arguments(url: str) -> tuple[sa.URL, dict[str, Any]]:
    """The URL SQLAlchemy gets and the driver's connect arguments for a PostgreSQL store's URL: JIT off, and
    the URL's own `prepare_threshold` query parameter (none, or a whole number) taken out of the URL and
    given to psycopg as its prepare_threshold. Other URLs are returned as they are, with no arguments."""
    parsed = sa.engine.make_url(url)
    if parsed.get_backend_name() != "postgresql":
        return parsed, {}
    connect_args: dict[str, Any] = dict(POSTGRESQL_CONNECT_ARGS)
    given = parsed.query.get(PREPARE_THRESHOLD)
    if given is not None:
        value = given if isinstance(given, str) else given[-1]
        if value.lower() == "none":
            connect_args[PREPARE_THRESHOLD] = None
        elif value.isdigit():
            connect_args[PREPARE_THRESHOLD] = int(value)
        else:
            raise ValueError(f"the database URL's prepare_threshold must be 'none' or a whole number, not {value!r}")
        parsed = parsed.difference_update_query([PREPARE_THRESHOLD])
    return parsed, connect_args


def open_store(url: str, *, migrate: bool = True, background_checkpoints: bool = False) -> Store:
    if url.startswith("sqlite:///"):
        _create_private_file(sa.engine.make_url(url).database or "")
    store = Store(url, background_checkpoints=background_checkpoints)
    if migrate:
        try:
            store.upgrade()
        except BaseException:  # e.g. a newer crowdloop's store: close what checking it opened
            store.dispose()
            raise
    return store


def open_existing_store(url: str) -> Store:
    """The store at `url` as it is: nothing is created (no SQLite file, no folder) and nothing migrated.
    StoreNotReady (naming the file, or the URL with its password masked) when there is no crowdloop store
    there, it is behind the newest migration, or it cannot be opened."""
    where = schema.describe(url)
    try:
        parsed = sa.engine.make_url(url)
    except sa.exc.ArgumentError as exc:
        raise schema.unreachable(where, exc) from exc
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database or ""
        if database.startswith("file:") or database in ("", ":memory:"):
            raise schema.missing(where)  # a new, empty database: never a store
        if not Path(database).is_file():
            raise schema.missing(where)
        _make_private(Path(database))
    try:
        store = Store(url)
    except (sa.exc.ArgumentError, ImportError) as exc:  # unknown dialect or driver not installed
        raise schema.unreachable(where, exc) from exc
    try:
        store.check_schema()
    except BaseException:
        store.dispose()
        raise
    return store


def _create_private_file(database: str) -> None:
    """Create the SQLite file (and its folder) readable by this user only, before SQLite does: it holds
    API secrets, and SQLite gives the -wal and -shm files the mode of the database file."""
    if not database or database == ":memory:" or database.startswith("file:"):
        return
    path = Path(database)
    if path.exists():
        _make_private(path)
        return
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT | getattr(os, "O_CLOEXEC", 0), 0o600))


def _make_private(path: Path) -> None:
    """Tighten a database made readable by others (by older versions): ours becomes 0600, others are reported."""
    for file in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        try:
            status = file.stat()
        except FileNotFoundError:
            continue
        if not status.st_mode & 0o077:
            continue
        if status.st_uid == os.getuid():
            file.chmod(0o600)
            log.warning("%s holds API secret keys and was readable by other users: changed to mode 0600", file)
        else:
            log.warning("%s holds API secret keys and is readable by other users: chmod 600 it", file)


def _file_size(path: Path) -> int:
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return 0


def _checkpoint(database: str, mode: str) -> tuple[int, int, int]:
    """PRAGMA wal_checkpoint(mode) on a connection of its own: (busy, WAL frames, frames checkpointed)."""
    conn = sqlite3.connect(database, timeout=_CHECKPOINT_BUSY_MS / 1000, isolation_level=None, check_same_thread=False)
    try:
        row = conn.execute(f"PRAGMA wal_checkpoint({mode})").fetchone()
    finally:
        conn.close()
    return int(row[0]), int(row[1]), int(row[2])


def _sqlite_engine(url: str, begin: str, autocheckpoint: int) -> Engine:
    engine = sa.create_engine(
        url, connect_args={"check_same_thread": False, "timeout": 30}, pool_size=8, max_overflow=24
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # we issue BEGIN ourselves
        cursor = dbapi_conn.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        # NORMAL in WAL mode survives a crash of the process (the case we promise); only an OS crash or
        # power loss can lose the last commits. Set CROWDLOOP_DATABASE_URL to PostgreSQL for more.
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute(f"PRAGMA wal_autocheckpoint={int(autocheckpoint)}")
        # when the log restarts by itself, its file is cut back to this size (else it keeps its peak)
        cursor.execute(f"PRAGMA journal_size_limit={WAL_LIMIT_BYTES}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        conn.exec_driver_sql(begin)

    return engine
