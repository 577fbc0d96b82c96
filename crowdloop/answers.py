"""Submitted answers in bulk: what the export reads (crowdloop.export.sources), loop by loop.

The assignment lifecycle (claim, submit, release, ...) lives in queue.py; this module only reads the
answers of ended loops, as many as a page of loops has, with the worker id output.json reports.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from crowdloop import shuffle
from crowdloop.model import AssignmentState
from crowdloop.store.rows import driver_rows
from crowdloop.store.tables import assignments, workers

_SUBMITTED = AssignmentState.SUBMITTED.value


def submitted_answers(conn: Connection, low_loop_id: int, high_loop_id: int) -> Sequence[Any]:
    """The submitted answers of the loops whose ids are between low_loop_id and high_loop_id (inclusive), as
    driver tuples (loop_id, state, worker_id, answer_content, response_order, time_spent_seconds) in loop order,
    then in the order they ended (the time spent flags answers faster than crowdloop:min-seconds). The caller keeps
    those of the loops it wants (a range of ids may hold other flow definitions' loops).

    The state is checked here in Python, not in SQL, so that SQLite (which has no statistics) looks answers
    up by loop instead of scanning every submitted answer."""
    a, w = assignments, workers
    query = (
        sa.select(a.c.loop_id, a.c.state, w.c.worker_id, a.c.answer_content, a.c.response_order, a.c.time_spent_seconds)
        .join(w, w.c.id == a.c.worker_id)
        .where(a.c.loop_id.between(sa.bindparam("low"), sa.bindparam("high")))
        .order_by(a.c.loop_id, a.c.ended_at, a.c.id)
    )
    rows = driver_rows(conn.execute(query, {"low": low_loop_id, "high": high_loop_id}))
    return [row for row in rows if row[1] == _SUBMITTED]


@dataclass(frozen=True)
class SubmittedAnswer:
    """One worker's submitted answer to a loop, as the console's loop page shows it."""

    assignment_id: int
    loop_id: int
    worker_pk: int
    worker_id: str
    email: str
    accepted_at: datetime
    submitted_at: datetime | None
    time_spent_seconds: float | None
    answer_content: str
    response_order: tuple[int, ...] | None = None  # the order the worker saw (crowdloop:shuffle-responses)


MAX_ANSWERS_SHOWN = 100  # the loop page shows this many answers of a loop at most

_ANSWER = sa.select(
    assignments.c.id,
    assignments.c.loop_id,
    assignments.c.worker_id,
    workers.c.worker_id.label("worker_name"),
    workers.c.email,
    assignments.c.accepted_at,
    assignments.c.ended_at,
    assignments.c.time_spent_seconds,
    assignments.c.answer_content,
    assignments.c.response_order,
).join(workers, workers.c.id == assignments.c.worker_id)


def _answer(row: Any) -> SubmittedAnswer:
    return SubmittedAnswer(
        assignment_id=int(row.id),
        loop_id=int(row.loop_id),
        worker_pk=int(row.worker_id),
        worker_id=str(row.worker_name),
        email=str(row.email),
        accepted_at=row.accepted_at,
        submitted_at=row.ended_at,
        time_spent_seconds=row.time_spent_seconds,
        answer_content=str(row.answer_content or "{}"),
        response_order=shuffle.decode(row.response_order),
    )


def answers_of_loop(conn: Connection, loop_id: int) -> list[SubmittedAnswer]:
    """The submitted answers of one loop in the order they arrived (ix_assignments_loop_state), at most
    MAX_ANSWERS_SHOWN."""
    a = assignments
    query = _ANSWER.where(a.c.loop_id == loop_id, a.c.state == _SUBMITTED).order_by(a.c.ended_at, a.c.id)
    return [_answer(row) for row in conn.execute(query.limit(MAX_ANSWERS_SHOWN))]


def submitted_answer(conn: Connection, assignment_id: int) -> SubmittedAnswer | None:
    """A submitted answer by its assignment id, or None."""
    a = assignments
    row = conn.execute(_ANSWER.where(a.c.id == assignment_id, a.c.state == _SUBMITTED)).first()
    return None if row is None else _answer(row)
