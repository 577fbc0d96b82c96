"""`crowdloop backup`: a consistent copy of a SQLite store while the server runs (docs/deployment.md "Backups").

SQLite's online backup API (sqlite3.Connection.backup) copies the database a batch of pages at a time and
starts over by itself when a writer changes a page it has copied, so the copy is one committed state of the
store however busy the server is; the server's writes are not blocked for longer than one batch. The copy
is written next to the target, fsynced and renamed onto it, so a crash never leaves half a backup under the
target's name. PostgreSQL stores are backed up with pg_dump (the refusal says so).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path

import sqlalchemy as sa

from crowdloop.blobs import replace_durably
from crowdloop.errors import InvalidInput
from crowdloop.store import schema

PAGES_PER_STEP = 1024  # 4 MiB at SQLite's default page size: the longest a step holds the database


def sqlite_backup(url: str, target: Path, progress: Callable[[int, int], None] | None = None) -> int:
    """Copy the SQLite store at `url` to `target` (which must not exist); returns the copy's size in bytes.
    progress(pages copied, pages in all) is called after each step."""
    source_path = check(url, target)
    partial = target.with_name(target.name + ".partial")
    partial.unlink(missing_ok=True)
    source = sqlite3.connect(f"file:{source_path}?mode=ro", uri=True)
    try:
        copy = sqlite3.connect(partial)
        try:
            source.backup(copy, pages=PAGES_PER_STEP, progress=_reporter(progress))
            copy.execute("PRAGMA journal_mode=DELETE")  # a single file, whatever the source's WAL mode
        finally:
            copy.close()
    finally:
        source.close()
    replace_durably(partial, target)
    return target.stat().st_size


def check(url: str, target: Path) -> Path:
    """The SQLite file to copy to `target`; InvalidInput / StoreNotReady (one line) when it cannot be done."""
    parsed = sa.engine.make_url(url)
    if not parsed.get_backend_name().startswith("sqlite"):
        raise InvalidInput(
            f"crowdloop backup copies SQLite stores; the store at {schema.describe(url)} is PostgreSQL: back it "
            "up with pg_dump (docs/deployment.md, Backups).",
            "database_url",
        )
    source_path = Path(str(parsed.database))
    if not source_path.is_file():
        raise schema.missing(schema.describe(url))
    if target.exists():
        raise InvalidInput(f"{target} exists already: name a new file (a backup never overwrites one).", "target")
    return source_path


def _reporter(progress: Callable[[int, int], None] | None) -> Callable[[int, int, int], object] | None:
    if progress is None:
        return None

    def report(status: int, remaining: int, total: int) -> None:
        progress(total - remaining, total)

    return report
