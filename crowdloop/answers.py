"""Submitted answers in bulk: what the export reads (crowdloop.export.sources), loop by loop.

The assignment lifecycle (claim, submit, release, ...) lives in queue.py; this module only reads the
answers of ended loops, as many as a page of loops has, with the worker id output.json reports.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from crowdloop.model import AssignmentState
from crowdloop.store.rows import driver_rows
from crowdloop.store.tables import assignments, workers

_SUBMITTED = AssignmentState.SUBMITTED.value


def submitted_answers(conn: Connection, low_loop_id: int, high_loop_id: int) -> Sequence[Any]:
    """The submitted answers of the loops whose ids are between low_loop_id and high_loop_id (inclusive), as
    driver tuples (loop_id, state, worker_id, answer_content) in loop order, then in the order they ended.
    The caller keeps those of the loops it wants (a range of ids may hold other flow definitions' loops).

    The state is checked here in Python, not in SQL, so that SQLite (which has no statistics) looks answers
    up by loop instead of scanning every submitted answer."""
    a, w = assignments, workers
    query = (
        sa.select(a.c.loop_id, a.c.state, w.c.worker_id, a.c.answer_content)
        .join(w, w.c.id == a.c.worker_id)
        .where(a.c.loop_id.between(sa.bindparam("low"), sa.bindparam("high")))
        .order_by(a.c.loop_id, a.c.ended_at, a.c.id)
    )
    rows = driver_rows(conn.execute(query, {"low": low_loop_id, "high": high_loop_id}))
    return [row for row in rows if row[1] == _SUBMITTED]
