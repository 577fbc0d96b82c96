"""outbox: messages leaving the process, output.json the first kind

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-06 01:27:04.489235

Every loop whose output.json is still to be written (Completed, or Stopped with answers, and not
output_written) gets its outbox row; the partial index the old scan for such loops used goes.
"""

from alembic import op
import sqlalchemy as sa
import crowdloop.store.tables


revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

_PENDING = "NOT output_written AND status IN ('Completed', 'Stopped')"


def upgrade() -> None:
    op.create_table(
        "outbox",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("payload", sa.LargeBinary(), nullable=True),
        sa.Column("due_at", crowdloop.store.tables.UtcDateTime(), nullable=False),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("claimed_until", crowdloop.store.tables.UtcDateTime(), nullable=True),
        sa.Column("claim_token", sa.String(length=32), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox")),
        sa.UniqueConstraint("kind", "key", name=op.f("uq_outbox_kind_key")),
    )
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.create_index("ix_outbox_kind_id", ["kind", "id"], unique=False)

    # due_at 0 (the epoch): due at once, whatever the clock says
    op.execute(
        "INSERT INTO outbox (kind, key, due_at, attempts)"
        " SELECT 'output', CAST(id AS VARCHAR(64)), 0, 0 FROM human_loops"
        f" WHERE {_PENDING} AND (status = 'Completed' OR answers_count > 0) ORDER BY id"
    )

    with op.batch_alter_table("human_loops", schema=None) as batch_op:
        batch_op.drop_index(
            "ix_human_loops_output_pending", sqlite_where=sa.text(_PENDING), postgresql_where=sa.text(_PENDING)
        )


def downgrade() -> None:
    with op.batch_alter_table("human_loops", schema=None) as batch_op:
        batch_op.create_index(
            "ix_human_loops_output_pending",
            ["id"],
            unique=False,
            sqlite_where=sa.text(_PENDING),
            postgresql_where=sa.text(_PENDING),
        )

    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_index("ix_outbox_kind_id")

    op.drop_table("outbox")
