"""ix_assignments_worker_accepted (worker_id, state, accepted_at) replaces ix_assignments_worker_state

The job list counts a worker's assignments of the last availability lifetime (queue.jobs_for_worker) as an
index range; the new index serves every query the old one did (its first two columns).

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-06 20:30:00.000000
"""

from alembic import op


revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_assignments_worker_accepted", "assignments", ["worker_id", "state", "accepted_at"])
    op.drop_index("ix_assignments_worker_state", table_name="assignments")


def downgrade() -> None:
    op.create_index("ix_assignments_worker_state", "assignments", ["worker_id", "state"])
    op.drop_index("ix_assignments_worker_accepted", table_name="assignments")
