"""The store's schema revision (Alembic) and what to tell a user whose store is missing or not migrated.

    alembic_config(url)                -> Config   crowdloop's migrations, for `url`
    describe(url)                      -> str      where a store lives, for messages: the SQLite file, or
                                                   the URL with its password masked
    check_schema(url, engine)          -> None     StoreNotReady unless the database holds a store at
                                                   the newest migration
    head_revision()                    -> str      that newest migration (read once per process)

Only `serve` and `db upgrade` migrate (engine.open_store); every other command opens the store with
engine.open_existing_store, which runs check_schema and creates nothing.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from crowdloop.errors import StoreNotReady

_FLAGS = "pass --data-dir (CROWDLOOP_DATA_DIR) or --database-url (CROWDLOOP_DATABASE_URL)"


def alembic_config(url: str) -> Any:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(Path(__file__).parent / "migrations"))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def describe(url: str) -> str:
    """The SQLite file a URL names, or the URL with its password masked."""
    try:
        parsed = sa.engine.make_url(url)
    except sa.exc.ArgumentError:
        return "an unparseable --database-url"
    if parsed.get_backend_name() == "sqlite" and parsed.database:
        return parsed.database
    return parsed.render_as_string(hide_password=True)


def missing(where: str) -> StoreNotReady:
    return StoreNotReady(
        f"No crowdloop store at {where}: {_FLAGS} to name the store `crowdloop serve` uses "
        "(`crowdloop db upgrade` creates a new one there).",
        "missing",
        where,
    )


def unreachable(where: str, exc: BaseException) -> StoreNotReady:
    lines = str(getattr(exc, "orig", None) or exc).strip().splitlines()
    reason = lines[0].strip() if lines else type(exc).__name__
    return StoreNotReady(f"Cannot open the crowdloop store at {where} ({reason}): {_FLAGS}.", "unreachable", where)


@functools.cache
def head_revision() -> str | None:
    """The newest migration this crowdloop version knows (read from the migration scripts once per process)."""
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()


def check_schema(url: str, engine: Engine) -> None:
    """StoreNotReady unless the database holds crowdloop's tables at the newest migration."""
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    where = describe(url)
    try:
        with engine.connect() as conn:
            current = MigrationContext.configure(conn).get_current_revision()
    except sa.exc.DBAPIError as exc:
        raise unreachable(where, exc) from exc
    if current is None:
        raise missing(where)
    head = head_revision()
    if current == head:
        return
    script = ScriptDirectory.from_config(alembic_config(url))
    if current in {revision.revision for revision in script.walk_revisions()}:
        raise StoreNotReady(
            f"The crowdloop store at {where} is at schema revision {current}, older than this version's "
            f"{head}: run `crowdloop db upgrade` (with the same --data-dir / --database-url) first.",
            "outdated",
            where,
        )
    raise StoreNotReady(
        f"The crowdloop store at {where} is at schema revision {current}, which this crowdloop version does "
        f"not know (its newest is {head}): it was migrated by a newer crowdloop; use that version.",
        "newer",
        where,
    )
