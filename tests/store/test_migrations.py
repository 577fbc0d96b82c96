"""The Alembic migrations and crowdloop/store/tables.py describe the same schema.

A fresh database (SQLite and PostgreSQL) is upgraded to head with the migrations alone, then Alembic's
autogenerate compares it with `tables.metadata`: a migration that forgets a column, an index, a type or a
constraint of tables.py (or a table changed without a migration) shows up as a difference.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext

import crowdloop.store
from crowdloop.store.tables import metadata

MIGRATIONS = Path(crowdloop.store.__file__).parent / "migrations"


def upgrade_to_head(url: str) -> None:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    command.upgrade(config, "head")


def differences(url: str, target: sa.MetaData = metadata) -> list[tuple[Any, ...]]:
    """autogenerate's operations that would turn the database into tables.py, one tuple per change."""
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True, "compare_server_default": True})
            found = compare_metadata(context, target)
    finally:
        engine.dispose()
    # column changes come grouped in a list per column; everything else is one tuple
    changes = [change for diff in found for change in (diff if isinstance(diff, list) else [diff])]
    return [change for change in changes if not is_dialect_noise(change, engine.dialect.name)]


def is_dialect_noise(change: tuple[Any, ...], dialect: str) -> bool:
    """A difference in how a database reports a schema, not in the schema."""
    if dialect == "sqlite" and change[0] == "modify_default":
        # An empty-string default (workers.issuer) never equals itself on SQLite: alembic takes tables.py's
        # as the bare text "", and the database's as ('') which it unwraps to '' but cannot unquote (its
        # pattern '(.+)' needs one character or more). Any other default is still compared.
        reflected, declared = _default_text(change[5]), _default_text(change[6])
        return reflected in ("''", "('')") and declared == ""
    return False


def _default_text(default: Any) -> str | None:
    """The SQL text of a server default as tables.py declares it or as the database reports it."""
    arg = getattr(default, "arg", default)
    return None if arg is None else str(getattr(arg, "text", arg))


def test_migrations_build_the_schema_of_tables_py(empty_database: str) -> None:
    upgrade_to_head(empty_database)
    assert differences(empty_database) == []


def test_the_comparison_sees_what_a_migration_would_miss(tmp_path: Path) -> None:
    """The check itself works: a column, an index, a type and a default that tables.py would have and the
    migrations not are each reported (the empty-string default's exception hides no other default)."""
    url = f"sqlite:///{tmp_path / 'fresh.db'}"
    upgrade_to_head(url)
    changed = sa.MetaData(naming_convention=metadata.naming_convention)
    for table in metadata.tables.values():
        table.to_metadata(changed)
    templates, workers = changed.tables["templates"], changed.tables["workers"]
    templates.append_column(sa.Column("note", sa.Text))
    sa.Index("ix_templates_content", templates.c.content)
    changed.tables["access_keys"].c.account_id.type = sa.String(20)
    workers.c.issuer.server_default = sa.DefaultClause("nobody")
    found = sorted(change[0] for change in differences(url, changed))
    assert found == ["add_column", "add_index", "modify_default", "modify_type"]
