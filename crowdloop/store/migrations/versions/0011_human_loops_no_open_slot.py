"""ix_human_loops_no_open_slot: the reaper's stalled-loop check reads a few loops, not every loop in progress

The check (queue._reopen_stalled) looks for loops in progress with no open slot. Without this partial index it
read every loop in progress on each sweep: 1.7 s of PostgreSQL CPU every few seconds with millions of loops in
progress (holding SQLite's write lock as long). The index holds only the loops whose slots are all leased.

Additive only (docs/deployment.md "Upgrades"): processes of the previous version run beside it unchanged. On a
big store the index is built by `crowdloop db upgrade` (one pass over human_loops).

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07 15:10:00.000000
"""

from alembic import op
import sqlalchemy as sa


revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

_PREDICATE = "status = 'InProgress' AND open_slots = 0"


def upgrade() -> None:
    op.create_index(
        "ix_human_loops_no_open_slot",
        "human_loops",
        ["status", "open_slots"],
        sqlite_where=sa.text(_PREDICATE),
        postgresql_where=sa.text(_PREDICATE),
    )


def downgrade() -> None:
    op.drop_index("ix_human_loops_no_open_slot", table_name="human_loops")
