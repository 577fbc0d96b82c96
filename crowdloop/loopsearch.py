"""The requester console's reads of human loops: the flow page's loops table (search_loops: filters and
keyset pages that cost the same at any depth) and the loop page (loop_detail: a loop with its answers).
loops.py keeps the lifecycle (start, describe, list, stop, delete) and the export's bulk reads."""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from crowdloop import answers as answers_module
from crowdloop import loops, queue
from crowdloop.errors import InvalidInput, NotFound
from crowdloop.model import HumanLoopStatus
from crowdloop.paging import PageRequest, invalid_token
from crowdloop.runtime import Caller, Services
from crowdloop.store.tables import flow_definitions, human_loops

# --- the console's loops table (crowdloop/console/flows.py) ------------------------------------------------
# Every page is a seek on an index, whatever the page's depth and the store's size:
# * newest first, keyset (created_at, id): ix_human_loops_flow_status (flow_definition_id, status, created_at,
#   id) with a status filter, ix_human_loops_list (flow_definition_id, created_at, id) without. The position is
#   read as two index ranges (the rest of the loops created at the last row's instant, then older ones), as in
#   loop_page: SQLite would read a row-value or OR comparison as a walk from created_at <= at.
# * with a name prefix, the matches are listed by name, keyset name_key: the unique index (account, region,
#   name_key) serves the range name_key >= prefix AND name_key < successor(prefix); newest first would either
#   sort every match or walk the flow's loops by time testing each name (a rare prefix: the whole flow).
#   The range is exact for byte-order collations (SQLite's BINARY; PostgreSQL's C and C.UTF-8). A
#   substr() = prefix test repeats it, so under another collation a match can be missed but never wrong.

SEARCH_PAGE_MAX = 200
NAME_PREFIX_MAX = 63
_NAME_PREFIX = re.compile(r"[a-z0-9-]*")  # what a loop name may hold (AWS: ^[a-z0-9](-*[a-z0-9])*$)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class LoopSummary:
    """One row of the console's loops table."""

    name: str
    status: HumanLoopStatus
    created_at: datetime
    answers: int
    task_count: int


@dataclass(frozen=True)
class LoopSearch:
    """What the console's loops table filters on (every part optional)."""

    status: HumanLoopStatus | None = None
    name_prefix: str | None = None
    created_after: datetime | None = None  # inclusive
    created_before: datetime | None = None  # exclusive


_SUMMARY_COLUMNS = (
    human_loops.c.id,
    human_loops.c.name,
    human_loops.c.name_key,
    human_loops.c.status,
    human_loops.c.created_at,
    human_loops.c.answers_count,
    human_loops.c.task_count,
    human_loops.c.output_written,
)


def search_loops(
    svc: Services,
    caller: Caller,
    flow_name: str,
    *,
    status: HumanLoopStatus | None = None,
    name_prefix: str | None = None,
    created_after: datetime | None = None,
    created_before: datetime | None = None,
    cursor: str | None = None,
    limit: int = 50,
) -> tuple[list[LoopSummary], str | None]:
    """One page of a flow definition's loops, newest first (by name when name_prefix is given), and the
    signed cursor of the next page (None on the last). NotFound for an unknown flow definition; InvalidInput
    for a cursor this server did not issue for this search."""
    if not 1 <= limit <= SEARCH_PAGE_MAX:
        raise InvalidInput(f"limit must be between 1 and {SEARCH_PAGE_MAX}.", "limit")
    prefix = (name_prefix or "").lower() or None
    if prefix is not None and (len(prefix) > NAME_PREFIX_MAX or not _NAME_PREFIX.fullmatch(prefix)):
        raise InvalidInput(f"A loop name prefix has at most {NAME_PREFIX_MAX} letters, digits and hyphens.", "name")
    search = LoopSearch(status, prefix, created_after, created_before)
    page = PageRequest(
        query={"console-loops": flow_name, "search": dataclasses.astuple(search), "limit": limit},
        max_results=limit,
        next_token=cursor,
        key=svc.paging_key,
    )
    position = page.position()
    with svc.store.read() as conn:
        f = flow_definitions
        flow_id = conn.execute(
            sa.select(f.c.id).where(f.c.account == caller.account, f.c.region == caller.region, f.c.name == flow_name)
        ).scalar()
        if flow_id is None:
            raise NotFound("flow definition", flow_name, f"Flow definition {flow_name} does not exist.")
        if prefix is not None:
            rows = _by_name(conn, caller, int(flow_id), search, prefix, _name_position(position), limit + 1)
        else:
            rows = _newest_first(conn, int(flow_id), search, _time_position(position), limit + 1)
    more = len(rows) > limit
    rows = rows[:limit]
    summaries = [
        LoopSummary(r.name, loops.reported_status(r), r.created_at, int(r.answers_count), int(r.task_count))
        for r in rows
    ]
    if not more:
        return summaries, None
    last = rows[-1]
    return summaries, page.token_after([last.name_key] if prefix is not None else [_us(last.created_at), last.id])


def _us(at: datetime) -> int:
    delta = at - _EPOCH
    return (delta.days * 86400 + delta.seconds) * 1_000_000 + delta.microseconds


def _time_position(position: list[Any] | None) -> tuple[datetime, int] | None:
    if position is None:
        return None
    if len(position) != 2 or not all(isinstance(v, int) and not isinstance(v, bool) for v in position):
        raise invalid_token()
    try:
        return _EPOCH + timedelta(microseconds=position[0]), int(position[1])
    except OverflowError as exc:
        raise invalid_token() from exc


def _name_position(position: list[Any] | None) -> str | None:
    if position is None:
        return None
    if len(position) != 1 or not isinstance(position[0], str):
        raise invalid_token()
    return position[0]


def _filters(flow_id: int, search: LoopSearch) -> list[sa.ColumnElement[bool]]:
    h = human_loops
    where = [h.c.flow_definition_id == flow_id]
    if search.status is not None:
        where.append(h.c.status == search.status.value)
    if search.created_after is not None:
        where.append(h.c.created_at >= search.created_after)
    if search.created_before is not None:
        where.append(h.c.created_at < search.created_before)
    return where


def _newest_first(
    conn: Connection, flow_id: int, search: LoopSearch, after: tuple[datetime, int] | None, size: int
) -> list[Any]:
    h = human_loops
    query = sa.select(*_SUMMARY_COLUMNS).where(*_filters(flow_id, search))
    rows: list[Any] = []
    if after is not None:
        at, last = after
        same_instant = query.where(h.c.created_at == at, h.c.id < last).order_by(h.c.id.desc()).limit(size)
        rows = list(conn.execute(same_instant))
        query = query.where(h.c.created_at < at)
    if len(rows) < size:
        older = query.order_by(h.c.created_at.desc(), h.c.id.desc()).limit(size - len(rows))
        rows += conn.execute(older)
    return rows


def _by_name(
    conn: Connection, caller: Caller, flow_id: int, search: LoopSearch, prefix: str, after: str | None, size: int
) -> list[Any]:
    h = human_loops
    query = (
        sa.select(*_SUMMARY_COLUMNS)
        .where(h.c.account == caller.account, h.c.region == caller.region, *_filters(flow_id, search))
        .where(h.c.name_key >= prefix, h.c.name_key < _successor(prefix))
        .where(sa.func.substr(h.c.name_key, 1, len(prefix)) == prefix)
    )
    if after is not None:
        query = query.where(h.c.name_key > after)
    return list(conn.execute(query.order_by(h.c.name_key).limit(size)))


def _successor(prefix: str) -> str:
    """The least string above every string that starts with prefix (code point order; prefix is [a-z0-9-]+)."""
    return prefix[:-1] + chr(ord(prefix[-1]) + 1)


# --- the console's loop page (crowdloop/console/loops.py) -------------------------------------------------


@dataclass(frozen=True)
class LoopDetail:
    """A loop as the console's loop page shows it, with its submitted answers."""

    id: int
    name: str
    arn: str
    status: HumanLoopStatus
    flow_name: str
    flow_definition_id: int
    created_at: datetime
    ended_at: datetime | None
    input_content: str
    template_sha256: str
    task_count: int
    output_uri: str
    output_written: bool
    failure_reason: str | None
    answers: list[answers_module.SubmittedAnswer]
    ended: bool  # Completed, Stopped or Failed (it may be deleted), even while its output is being written


def loop_detail(svc: Services, caller: Caller, flow_name: str, name: str) -> LoopDetail:
    """The loop `name` of flow definition `flow_name` and its answers; NotFound when either is missing or
    the loop belongs to another flow definition."""
    h, f = human_loops, flow_definitions
    with svc.store.read() as conn:
        row = conn.execute(
            sa.select(
                *loops.LOOP_COLUMNS,
                f.c.name.label("flow_name"),
                h.c.flow_definition_id,
                h.c.ended_at,
                h.c.input_content,
                h.c.template_sha256,
                h.c.task_count,
            )
            .join(f, f.c.id == h.c.flow_definition_id)
            .where(
                h.c.account == caller.account,
                h.c.region == caller.region,
                h.c.name_key == name.lower(),
                f.c.labeling_job_id.is_(None),  # a labeling job's loops are its own, not an A2I flow's
            )
        ).first()
        if row is None or row.flow_name != flow_name:
            raise NotFound("human loop", name, f"Human loop {name} of flow definition {flow_name} does not exist.")
        answers = answers_module.answers_of_loop(conn, int(row.id))
    failed = row.status == HumanLoopStatus.FAILED
    return LoopDetail(
        id=int(row.id),
        name=row.name,
        arn=row.arn,
        status=loops.reported_status(row),
        flow_name=row.flow_name,
        flow_definition_id=int(row.flow_definition_id),
        created_at=row.created_at,
        ended_at=row.ended_at,
        input_content=row.input_content,
        template_sha256=row.template_sha256,
        task_count=int(row.task_count),
        output_uri=row.output_uri,
        output_written=bool(row.output_written),
        failure_reason=row.failure_reason if failed else None,
        answers=answers,
        ended=row.status in queue.ENDED,
    )


def answer_in_account(
    svc: Services, caller: Caller, assignment_id: int
) -> tuple[answers_module.SubmittedAnswer, str, str] | None:
    """A submitted answer of a loop of the caller's account: (answer, the loop's input, its template's
    SHA-256), or None."""
    h = human_loops
    with svc.store.read() as conn:
        answer = answers_module.submitted_answer(conn, assignment_id)
        if answer is None:
            return None
        row = conn.execute(
            sa.select(h.c.input_content, h.c.template_sha256).where(
                h.c.id == answer.loop_id, h.c.account == caller.account, h.c.region == caller.region
            )
        ).first()
    return None if row is None else (answer, str(row.input_content), str(row.template_sha256))


def latest_input(svc: Services, caller: Caller, flow_name: str) -> str | None:
    """The input of the flow definition's newest loop (ix_human_loops_list), or None."""
    h, f = human_loops, flow_definitions
    with svc.store.read() as conn:
        flow_id = conn.execute(
            sa.select(f.c.id).where(f.c.account == caller.account, f.c.region == caller.region, f.c.name == flow_name)
        ).scalar()
        if flow_id is None:
            return None
        text = conn.execute(
            sa.select(h.c.input_content)
            .where(h.c.flow_definition_id == flow_id)
            .order_by(h.c.created_at.desc(), h.c.id.desc())
            .limit(1)
        ).scalar()
    return None if text is None else str(text)
