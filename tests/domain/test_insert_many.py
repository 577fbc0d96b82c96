"""store.dialect.insert_many: COPY on PostgreSQL, executemany on SQLite, values converted by their columns'
types on both (a UtcDateTime column given a datetime, a JSON column a dict)."""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa

from crowdloop.store import Store, dialect
from crowdloop.store.tables import announcements, labeling_jobs


def test_rows_come_back_as_given(store: Store) -> None:
    moments = [datetime(2026, 12, 7, 5, 20, 1, 123456, tzinfo=UTC), datetime(1999, 1, 2, 3, 4, 5, tzinfo=UTC)]
    rows = [(f"name-{i}", f"value {i} ✓", moment) for i, moment in enumerate(moments)]
    with store.write() as conn:
        dialect.insert_many(conn, announcements, ("name", "value", "announced_at"), rows)
    with store.read() as conn:
        found = conn.execute(
            sa.select(announcements.c.name, announcements.c.value, announcements.c.announced_at).order_by(
                announcements.c.name
            )
        ).all()
    assert [tuple(row) for row in found] == rows


def test_json_columns_are_written_as_json(store: Store) -> None:
    now = datetime(2026, 12, 7, tzinfo=UTC)
    columns = (
        "account",
        "region",
        "name",
        "name_key",
        "arn",
        "status",
        "created_at",
        "updated_at",
        "job_reference_code",
        "workteam_arn",
        "request",
        "next_step_at",
    )
    request = {"LabelingJobName": "J", "HumanTaskConfig": {"TaskTitle": "t ✓", "NumberOfHumanWorkersPerDataObject": 3}}
    row = ("123456789012", "us-east-1", "J", "j", "arn:j", "Stopped", now, now, "c", "arn:t", request, now)
    with store.write() as conn:
        dialect.insert_many(conn, labeling_jobs, columns, [row])
    with store.read() as conn:
        stored = conn.execute(sa.select(labeling_jobs.c.request, labeling_jobs.c.created_at)).one()
    assert stored.request == request and stored.created_at == now
