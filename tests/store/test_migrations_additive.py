"""Every migration after the first is additive, so the processes of the previous version keep working on the
upgraded schema during a rolling upgrade (docs/deployment.md "Upgrades"): no table or column goes away or is
renamed, no column changes its type or becomes NOT NULL, and a new column of an existing table is nullable or
has a server default (the old version's INSERTs do not name it). Indexes may come and go (the old version's
statements stay valid; only their plans change).

The database is upgraded one revision at a time; its tables and columns, as the database reports them, are
compared before and after each step. A migration that must break this needs a release note saying that
the upgrade stops every process (and this test's ALLOWED entry naming it, with that reason).
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import command
from alembic.script import ScriptDirectory

from crowdloop.store import schema

ALLOWED: dict[str, str] = {}  # revision -> why it may break processes of the version before it


def _revisions() -> list[str]:
    """Every revision, oldest first."""
    scripts = ScriptDirectory.from_config(schema.alembic_config("sqlite://"))
    return [script.revision for script in reversed(list(scripts.walk_revisions()))]


def _columns(url: str) -> dict[str, dict[str, tuple[str, bool, bool]]]:
    """table -> column -> (type, nullable, has a server default), as the database reports them."""
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    try:
        inspector = sa.inspect(engine)
        return {
            table: {
                column["name"]: (str(column["type"]), bool(column["nullable"]), column.get("default") is not None)
                for column in inspector.get_columns(table)
            }
            for table in inspector.get_table_names()
            if table != "alembic_version"
        }
    finally:
        engine.dispose()


def _breaks(before: dict[str, dict[str, tuple[str, bool, bool]]], after: dict[str, dict[str, Any]]) -> list[str]:
    found = []
    for table, columns in before.items():
        if table not in after:
            found.append(f"table {table} dropped or renamed")
            continue
        for name, (kind, nullable, _) in columns.items():
            if name not in after[table]:
                found.append(f"column {table}.{name} dropped or renamed")
                continue
            new_kind, new_nullable, _ = after[table][name]
            if new_kind != kind:
                found.append(f"column {table}.{name} changed type: {kind} -> {new_kind}")
            if nullable and not new_nullable:
                found.append(f"column {table}.{name} became NOT NULL")
        for name, (_, nullable, has_default) in after[table].items():
            if name not in columns and not nullable and not has_default:
                found.append(f"new column {table}.{name} is NOT NULL without a server default")
    return found


def test_every_migration_after_the_first_is_additive(empty_database: str) -> None:
    revisions = _revisions()
    assert len(revisions) > 1
    config = schema.alembic_config(empty_database)
    command.upgrade(config, revisions[0])
    before = _columns(empty_database)
    problems = {}
    for revision in revisions[1:]:
        command.upgrade(config, revision)
        after = _columns(empty_database)
        found = _breaks(before, after)
        if found and revision not in ALLOWED:
            problems[revision] = found
        before = after
    assert not problems, problems


def test_the_check_sees_what_breaks_old_processes() -> None:
    before = {"loops": {"id": ("INTEGER", False, False), "note": ("TEXT", True, False)}, "gone": {}}
    after = {
        "loops": {
            "id": ("BIGINT", False, False),
            "note": ("TEXT", False, False),
            "added": ("TEXT", False, False),
            "fine": ("TEXT", True, False),
            "defaulted": ("TEXT", False, True),
        }
    }
    assert _breaks(before, after) == [
        "column loops.id changed type: INTEGER -> BIGINT",
        "column loops.note became NOT NULL",
        "new column loops.added is NOT NULL without a server default",
        "table gone dropped or renamed",
    ]
    assert _breaks({"t": {"a": ("TEXT", True, False)}}, {"t": {}}) == ["column t.a dropped or renamed"]
