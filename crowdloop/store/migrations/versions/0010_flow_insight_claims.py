"""flow_insight_claims: one process at a time computes a flow definition's agreement figures

Additive only (docs/deployment.md "Upgrades"): processes of the previous version run beside it unchanged (they
do not claim, so a refresh of theirs may still run beside one of the new version's, as before).

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07 12:00:00.000000
"""

from alembic import op
import sqlalchemy as sa
import crowdloop.store.tables


revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "flow_insight_claims",
        sa.Column("flow_definition_id", sa.Integer(), nullable=False),
        sa.Column("claimed_until", crowdloop.store.tables.UtcDateTime(), nullable=False),
        sa.Column("claim_token", sa.String(length=32), nullable=False),
        sa.ForeignKeyConstraint(
            ["flow_definition_id"],
            ["flow_definitions.id"],
            name=op.f("fk_flow_insight_claims_flow_definition_id_flow_definitions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("flow_definition_id", name=op.f("pk_flow_insight_claims")),
    )


def downgrade() -> None:
    op.drop_table("flow_insight_claims")
