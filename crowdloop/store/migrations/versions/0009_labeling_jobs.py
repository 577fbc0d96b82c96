"""Ground Truth labeling jobs: labeling_jobs, labeling_objects, flow_definitions.labeling_job_id

Additive only (docs/deployment.md "Upgrades"): processes of the previous version run beside it unchanged.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07 04:10:00.000000
"""

from alembic import op
import sqlalchemy as sa
import crowdloop.store.tables


revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    utc = crowdloop.store.tables.UtcDateTime
    op.add_column("flow_definitions", sa.Column("labeling_job_id", sa.Integer(), nullable=True))
    op.create_table(
        "labeling_jobs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account", sa.String(length=12), nullable=False),
        sa.Column("region", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=63), nullable=False),
        sa.Column("name_key", sa.String(length=63), nullable=False),
        sa.Column("arn", sa.String(length=1024), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_at", utc(), nullable=False),
        sa.Column("updated_at", utc(), nullable=False),
        sa.Column("job_reference_code", sa.String(length=28), nullable=False),
        sa.Column("workteam_arn", sa.String(length=256), nullable=False),
        sa.Column("task_type", sa.String(length=64), nullable=True),
        sa.Column("request", sa.JSON(), nullable=False),
        sa.Column("flow_definition_id", sa.Integer(), nullable=True),
        sa.Column("labels", sa.JSON(), nullable=True),
        sa.Column("failure_reason", sa.String(length=1024), nullable=True),
        sa.Column("objects", sa.Integer(), server_default="0", nullable=False),
        sa.Column("labeled", sa.Integer(), server_default="0", nullable=False),
        sa.Column("failed", sa.Integer(), server_default="0", nullable=False),
        sa.Column("skipped", sa.Integer(), server_default="0", nullable=False),
        sa.Column("released", sa.Integer(), server_default="0", nullable=False),
        sa.Column("queued", sa.Integer(), server_default="0", nullable=False),
        sa.Column("next_release", sa.Integer(), server_default="0", nullable=False),
        sa.Column("next_step_at", utc(), nullable=False),
        sa.Column("claimed_until", utc(), nullable=True),
        sa.Column("claim_token", sa.String(length=32), nullable=True),
        sa.Column("wakes", sa.Integer(), server_default="0", nullable=False),
        sa.Column("last_batch_at", utc(), nullable=True),
        sa.ForeignKeyConstraint(
            ["flow_definition_id"],
            ["flow_definitions.id"],
            name=op.f("fk_labeling_jobs_flow_definition_id_flow_definitions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_labeling_jobs")),
        sa.UniqueConstraint("account", "region", "name_key", name=op.f("uq_labeling_jobs_account_region_name_key")),
        sa.UniqueConstraint("arn", name=op.f("uq_labeling_jobs_arn")),
    )
    op.create_index("ix_labeling_jobs_list", "labeling_jobs", ["account", "region", "created_at", "id"])
    op.create_index("ix_labeling_jobs_due", "labeling_jobs", ["next_step_at"])
    op.create_table(
        "labeling_objects",
        sa.Column("job_id", sa.Integer(), nullable=False),
        sa.Column("object_index", sa.Integer(), nullable=False),
        sa.Column("line", sa.Text(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("loop_id", sa.Integer(), nullable=True),
        sa.Column("label", sa.Text(), nullable=True),
        sa.Column("failure_reason", sa.String(length=1024), nullable=True),
        sa.Column("batch_at", utc(), nullable=True),
        sa.Column("object_key", sa.String(length=1024), nullable=True),
        sa.ForeignKeyConstraint(
            ["job_id"], ["labeling_jobs.id"], name=op.f("fk_labeling_objects_job_id_labeling_jobs"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("job_id", "object_index", name=op.f("pk_labeling_objects")),
    )
    op.create_index("ix_labeling_objects_state", "labeling_objects", ["job_id", "state", "object_index"])
    op.create_index("uq_labeling_objects_key", "labeling_objects", ["job_id", "object_key"], unique=True)


def downgrade() -> None:
    op.drop_index("uq_labeling_objects_key", table_name="labeling_objects")
    op.drop_index("ix_labeling_objects_state", table_name="labeling_objects")
    op.drop_table("labeling_objects")
    op.drop_index("ix_labeling_jobs_due", table_name="labeling_jobs")
    op.drop_index("ix_labeling_jobs_list", table_name="labeling_jobs")
    op.drop_table("labeling_jobs")
    with op.batch_alter_table("flow_definitions") as batch:
        batch.drop_column("labeling_job_id")
