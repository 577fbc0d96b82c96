"""Human-loop lifecycle (spec §4, §6): start (idempotent by name), describe, list, stop, delete.

Worker-side transitions (answers, leases, expiry) live in queue.py, which owns the loop rows: this module
validates, reads, and asks queue.py to open, stop or delete a loop; output.json is output.py's.

StartHumanLoop is the hot path: one write transaction with two statements (flow lookup, INSERT ... ON
CONFLICT DO NOTHING). The immutable facts of a flow definition are cached (FLOW_FACTS), keyed by
(id, created_at) so a deleted and re-created flow is never served stale facts; its status and whether its
task UI still exists are read on every call. The in-progress quota reads the account's InProgress loops
from the loop counters (stats.in_progress_loops_of_account: flow_loop_counts, kept by the database's
triggers, so exact in the transaction and a few rows per flow definition at any number of loops) whenever
the account is near it, and otherwise trusts a count read at most QUOTA_REFRESH_SECONDS ago plus the loops
this process started since (IN_PROGRESS_COUNTS): a soft limit across processes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from crowdloop import arns, eventlog, flows, output, quality, queue, stats
from crowdloop.caches import CacheSpec
from crowdloop.errors import Conflict, InvalidInput, NotFound, QuotaExceeded
from crowdloop.jsoncheck import document_problem
from crowdloop.listing import fetch_page
from crowdloop.model import FlowDefinitionStatus, HumanLoopStatus
from crowdloop.paging import PageRequest
from crowdloop.runtime import Caller, Services
from crowdloop.store.rows import driver_rows
from crowdloop.store.tables import flow_definitions, human_loops, human_task_uis

QUOTA_REFRESH_SECONDS = 2.0


@dataclass(frozen=True)
class HumanLoop:
    name: str
    arn: str
    status: HumanLoopStatus
    created_at: datetime
    flow_definition_arn: str
    output_uri: str
    failure_reason: str | None = None
    failure_code: str | None = None


@dataclass(frozen=True)
class _FlowFacts:
    """What never changes about a flow definition once created."""

    id: int
    name: str
    template_sha256: str
    task_count: int
    task_time_limit_seconds: int
    task_availability_lifetime_seconds: int
    output_path: str
    has_request_source: bool


FLOW_FACTS: CacheSpec[tuple[int, datetime], _FlowFacts] = CacheSpec(
    "flow definition facts",
    "keyed by what cannot change: (id, created_at) names one flow definition, whose facts never change",
    max_entries=4096,
)
IN_PROGRESS_COUNTS: CacheSpec[str, int] = CacheSpec(
    "in-progress loops per account",
    "time to live QUOTA_REFRESH_SECONDS (then counted again); StartHumanLoop adds the loops it starts",
    max_entries=4096,
    ttl_seconds=QUOTA_REFRESH_SECONDS,
)


def parse_input_content(text: str) -> dict[str, Any]:
    """InputContent must be a JSON object (the template sees it as task.input) within jsoncheck's limits."""
    field = "humanLoopInput.inputContent"
    try:
        value = output.loads_json(text)
    except ValueError:
        value = None
    if not isinstance(value, dict):
        raise InvalidInput("HumanLoopInput.InputContent must be a JSON object serialized as a string.", field)
    problem = document_problem(value)
    if problem is not None:
        raise InvalidInput(f"HumanLoopInput.InputContent {problem}.", field)
    return value


def start_human_loop(
    svc: Services,
    caller: Caller,
    name: str,
    flow_definition_arn: str,
    input_content: str,
    data_attributes: dict[str, Any] | None = None,
) -> str:
    """Start a loop and return its ARN. The same name, flow definition and input again returns the same
    ARN (a retried request); the same name with anything else is Conflict."""
    parse_input_content(input_content)
    flow_name = arns.parse(flow_definition_arn, "flow-definition", "flowDefinitionArn").name
    with svc.store.write() as conn:
        now = svc.clock.now()
        flow = _usable_flow(svc, conn, caller, flow_name, flow_definition_arn)
        created_at = now.replace(microsecond=now.microsecond // 1000 * 1000)
        arn = arns.build("human-loop", name, caller.account, caller.region)
        loop_id = queue.open_loop(
            conn,
            {
                "account": caller.account,
                "region": caller.region,
                "name": name,
                "name_key": name.lower(),
                "arn": arn,
                "flow_definition_id": flow.id,
                "status": HumanLoopStatus.IN_PROGRESS.value,
                "created_at": created_at,
                "input_content": input_content,
                "data_attributes": data_attributes,
                "output_uri": output.output_uri(flow.output_path, flow.name, name, created_at),
                "template_sha256": flow.template_sha256,
                "task_count": flow.task_count,
                "open_slots": quality.current_config(svc, conn, flow.id).first_workers(flow.task_count),
                "answers_count": 0,
                "task_time_limit_seconds": flow.task_time_limit_seconds,
                "available_until": created_at + timedelta(seconds=flow.task_availability_lifetime_seconds),
                "output_written": False,
            },
        )
        if loop_id is None:
            return _existing_loop_arn(conn, caller, name, flow.id, input_content)
        _check_quota(svc, conn, caller.account)
        eventlog.loop_started(
            conn,
            now,
            source=svc.settings.events_source,
            loop_arn=arn,
            flow_arn=flow_definition_arn,
            created_at=created_at,
        )
    eventlog.after_commit(svc)
    return arn


_FLOW_FOR_USE = sa.select(
    flow_definitions.c.id,
    flow_definitions.c.created_at,
    flow_definitions.c.status,
    flow_definitions.c.arn,
    sa.exists().where(human_task_uis.c.arn == flow_definitions.c.human_task_ui_arn).label("ui_exists"),
).where(
    flow_definitions.c.account == sa.bindparam("account"),
    flow_definitions.c.region == sa.bindparam("region"),
    flow_definitions.c.name == sa.bindparam("name"),
)


def _usable_flow(svc: Services, conn: Connection, caller: Caller, flow_name: str, arn: str) -> _FlowFacts:
    row = conn.execute(_FLOW_FOR_USE, {"account": caller.account, "region": caller.region, "name": flow_name}).first()
    if row is None or row.arn != arn:
        raise InvalidInput(f"Flow definition {arn} does not exist.", "flowDefinitionArn")
    if row.status == FlowDefinitionStatus.INITIALIZING:
        flows.activate(conn, row.id)
    elif row.status != FlowDefinitionStatus.ACTIVE:
        raise InvalidInput(
            f"Flow definition {arn} is {row.status}; only an Active flow definition can start human loops.",
            "flowDefinitionArn",
        )
    if not row.ui_exists:
        raise InvalidInput(
            f"The human task UI of flow definition {arn} was deleted; it cannot start human loops.", "flowDefinitionArn"
        )
    cache = svc.caches[FLOW_FACTS]
    facts = cache.get((row.id, row.created_at))
    if facts is None:
        facts = _load_facts(conn, row.id)
        cache.put((row.id, row.created_at), facts)
    if facts.has_request_source:
        raise InvalidInput(
            f"Flow definition {arn} has a HumanLoopRequestSource: its human loops are "
            "started by the AWS service it integrates with, not by StartHumanLoop.",
            "flowDefinitionArn",
        )
    return facts


def _load_facts(conn: Connection, flow_id: int) -> _FlowFacts:
    f = flow_definitions
    row = conn.execute(sa.select(f).where(f.c.id == flow_id)).one()
    request = row.request if isinstance(row.request, dict) else {}
    return _FlowFacts(
        id=row.id,
        name=row.name,
        template_sha256=row.template_sha256,
        task_count=row.task_count,
        task_time_limit_seconds=row.task_time_limit_seconds,
        task_availability_lifetime_seconds=row.task_availability_lifetime_seconds,
        output_path=row.output_path,
        has_request_source=bool(request.get("HumanLoopRequestSource")),
    )


def _existing_loop_arn(conn: Connection, caller: Caller, name: str, flow_id: int, input_content: str) -> str:
    h = human_loops
    row = conn.execute(
        sa.select(h.c.arn, h.c.flow_definition_id, h.c.input_content).where(
            h.c.account == caller.account, h.c.region == caller.region, h.c.name_key == name.lower()
        )
    ).first()
    if row is None:  # deleted between our INSERT and this SELECT (PostgreSQL): let the client retry
        raise Conflict(f"Human loop {name} was being deleted; retry the request.")
    if row.flow_definition_id != flow_id or row.input_content != input_content:
        raise Conflict(f"A human loop named {name} already exists with a different flow definition or input data.")
    return str(row.arn)


def _check_quota(svc: Services, conn: Connection, account: str) -> None:
    limit = svc.settings.max_in_progress_loops
    counts = svc.caches[IN_PROGRESS_COUNTS]
    known = counts.get(account)
    if known is not None and known + 1 < limit * 0.9:
        counts.replace(account, known + 1)
        return
    count = stats.in_progress_loops_of_account(conn, account)
    counts.put(account, count)
    if count > limit:
        raise QuotaExceeded(
            f"Account {account} has reached its quota of {limit} human loops in progress; "
            "wait for some to finish or raise max_in_progress_loops."
        )


LOOP_COLUMNS = (
    human_loops.c.id,
    human_loops.c.name,
    human_loops.c.arn,
    human_loops.c.status,
    human_loops.c.created_at,
    human_loops.c.output_uri,
    human_loops.c.failure_reason,
    human_loops.c.failure_code,
    human_loops.c.answers_count,
    human_loops.c.output_written,
    flow_definitions.c.arn.label("flow_arn"),
)


def reported_status(row: Any) -> HumanLoopStatus:
    """The status clients see: a loop whose output.json is still being written reports the status before
    (InProgress / Stopping), so whoever sees Completed can read the output at once."""
    status = HumanLoopStatus(row.status)
    if not row.output_written and output.has_output(status, row.answers_count):
        return HumanLoopStatus.IN_PROGRESS if status == HumanLoopStatus.COMPLETED else HumanLoopStatus.STOPPING
    return status


def _to_loop(row: Any) -> HumanLoop:
    failed = row.status == HumanLoopStatus.FAILED
    return HumanLoop(
        name=row.name,
        arn=row.arn,
        status=reported_status(row),
        created_at=row.created_at,
        flow_definition_arn=row.flow_arn,
        output_uri=row.output_uri,
        failure_reason=row.failure_reason if failed else None,
        failure_code=row.failure_code if failed else None,
    )


def _find(conn: Connection, caller: Caller, name: str) -> Any:
    h = human_loops
    row = conn.execute(
        sa.select(*LOOP_COLUMNS)
        .join(flow_definitions, flow_definitions.c.id == h.c.flow_definition_id)
        .where(h.c.account == caller.account, h.c.region == caller.region, h.c.name_key == name.lower())
    ).first()
    if row is None:
        raise NotFound("human loop", name, f"Human loop {name} does not exist.")
    return row


def describe_human_loop(svc: Services, caller: Caller, name: str) -> HumanLoop:
    with svc.store.read() as conn:
        return _to_loop(_find(conn, caller, name))


def list_human_loops(
    svc: Services,
    caller: Caller,
    flow_definition_arn: str,
    *,
    created_after: datetime | None = None,
    created_before: datetime | None = None,
    sort_order: str = "Descending",
    max_results: int | None = None,
    next_token: str | None = None,
) -> tuple[list[HumanLoop], str | None]:
    """One page of a flow definition's loops by creation time; NotFound for an unknown flow definition.
    CreationTimeAfter is inclusive, CreationTimeBefore exclusive."""
    page = PageRequest(
        query={"flow": flow_definition_arn, "after": created_after, "before": created_before, "sort": sort_order},
        max_results=max_results,
        next_token=next_token,
        key=svc.paging_key,
    )
    flow_name = arns.parse(flow_definition_arn, "flow-definition", "flowDefinitionArn").name
    h, f = human_loops, flow_definitions
    with svc.store.read() as conn:
        flow = conn.execute(
            sa.select(f.c.id, f.c.arn).where(
                f.c.account == caller.account, f.c.region == caller.region, f.c.name == flow_name
            )
        ).first()
        if flow is None or flow.arn != flow_definition_arn:
            raise NotFound("flow definition", flow_name, f"Flow definition {flow_definition_arn} does not exist.")
        query = (
            sa.select(*LOOP_COLUMNS).join(f, f.c.id == h.c.flow_definition_id).where(h.c.flow_definition_id == flow.id)
        )
        if created_after is not None:
            query = query.where(h.c.created_at >= created_after)
        if created_before is not None:
            query = query.where(h.c.created_at < created_before)
        rows, token = fetch_page(conn, query, [h.c.created_at, h.c.id], descending=sort_order != "Ascending", page=page)
    return [_to_loop(r) for r in rows], token


def stop_human_loop(svc: Services, caller: Caller, name: str) -> None:
    """InProgress -> Stopped at once: held leases are withdrawn in the same transaction (the answers
    already submitted go to output.json); Stopping/Stopped: no-op; Completed/Failed: InvalidInput."""
    with svc.store.write() as conn:
        now = svc.clock.now()
        while True:
            row = _find(conn, caller, name)
            if row.status in (HumanLoopStatus.STOPPING, HumanLoopStatus.STOPPED):
                return
            if row.status != HumanLoopStatus.IN_PROGRESS:
                raise InvalidInput(
                    f"Human loop {name} is {row.status}; only a loop in progress can be stopped.", "humanLoopName"
                )
            stopped = queue.stop_loop(conn, now, row.id)
            if stopped is not None:
                break
        has_output = output.has_output(stopped.status, stopped.answers_count)
        if has_output:  # its status change event comes once the output is written (output.py)
            output.mark_output_due(conn, row.id, now)
        else:
            eventlog.loops_ended(conn, now, [eventlog.EndedLoop.from_row(row, status=stopped.status)])
    if has_output:
        output.after_commit(svc)
    else:
        eventlog.after_commit(svc)


def delete_human_loop(svc: Services, caller: Caller, name: str) -> None:
    """Delete a Completed, Stopped or Failed loop (its output.json stays). If its output is still to be
    written, the outbox keeps the document and writes it after the commit."""
    with svc.store.write() as conn:
        row = _find(conn, caller, name)
        if row.status not in queue.ENDED:
            raise InvalidInput(f"Human loop {name} is {row.status}; stop it before deleting it.", "humanLoopName")
        pending = output.has_output(row.status, row.answers_count) and not row.output_written
        if pending:  # lock the row, then look again: the output writer may have just marked it written
            pending = queue.output_unwritten_locked(conn, row.id)
        if pending:  # the output writer will not find the loop: its status change event is recorded now
            output.keep_output_of_deleted_loop(conn, row.id, output.issuer_for(svc), svc.clock.now())
            eventlog.loops_ended(conn, svc.clock.now(), [eventlog.EndedLoop.from_row(row)])
        if not queue.delete_ended_loop(conn, row.id):
            raise NotFound("human loop", name, f"Human loop {name} does not exist.")
    if pending:
        output.after_commit(svc)
        eventlog.after_commit(svc)


@dataclass(frozen=True)
class FlowIdentity:
    """What identifies a stored flow definition (the export reads its loops by id and names it in the card)."""

    id: int
    name: str
    arn: str
    template_sha256: str


def flow_definitions_named(conn: Connection, name_or_arn: str) -> list[FlowIdentity]:
    """The stored flow definitions with this name (or this ARN), in any account or region, oldest first. (Here,
    not in flows.py, which imports the template engine: the export reads loops and needs none.)"""
    f = flow_definitions
    column = f.c.arn if name_or_arn.startswith("arn:") else f.c.name
    rows = conn.execute(
        sa.select(f.c.id, f.c.name, f.c.arn, f.c.template_sha256).where(column == name_or_arn).order_by(f.c.id)
    ).all()
    return [FlowIdentity(int(r.id), str(r.name), str(r.arn), str(r.template_sha256)) for r in rows]


# --- bulk reads in creation order (the export: crowdloop.export.sources) -----------------------------------
# Keys are (created_at in microseconds, id): the (flow_definition_id, created_at, id) index orders them, and
# integers need no datetime per row.


def _created_us() -> sa.TypeCoerce[int]:
    return sa.type_coerce(human_loops.c.created_at, sa.BigInteger)


def loop_range_cuts(conn: Connection, flow_id: int, loops_per_range: int) -> list[tuple[int, int]]:
    """The key of every loops_per_range-th loop of the flow definition in creation order, whatever its status
    (the index alone says where: reading the status would read every loop). Only every n-th key is fetched:
    a few per million loops."""
    h = human_loops
    number = sa.func.row_number().over(order_by=(h.c.created_at, h.c.id)).label("number")
    numbered = sa.select(_created_us().label("at"), h.c.id, number).where(h.c.flow_definition_id == flow_id).subquery()
    return [
        (int(at), int(loop_id))
        for at, loop_id in conn.execute(
            sa.select(numbered.c.at, numbered.c.id)
            .where(numbered.c.number % loops_per_range == 0)
            .order_by(numbered.c.number)
        )
    ]


def loop_page(
    conn: Connection, flow_id: int, statuses: tuple[str, ...], after: tuple[int, int], limit: int
) -> list[Any]:
    """Up to `limit` loops of the flow definition with one of `statuses`, after the key `after`, in creation
    order, as driver tuples (id, name, input_content, template_sha256, created_at in microseconds).

    The keyset (created_at, id) > after is read as two index ranges: the rest of the loops created at that
    instant, then the loops created later. SQLite would read a row-value comparison as created_at >= at and
    walk again, on every page, all the loops created at that instant (a bulk start makes thousands)."""
    h, created = human_loops, _created_us()
    at, last = sa.bindparam("at", type_=sa.BigInteger), sa.bindparam("last", type_=sa.Integer)
    size = sa.bindparam("limit", type_=sa.Integer)
    columns = (h.c.id, h.c.name, h.c.input_content, h.c.template_sha256, created)
    flow_loops = (h.c.flow_definition_id == flow_id, h.c.status.in_(statuses))
    same_instant = sa.select(*columns).where(*flow_loops, created == at, h.c.id > last).order_by(h.c.id).limit(size)
    later = sa.select(*columns).where(*flow_loops, created > at).order_by(h.c.created_at, h.c.id).limit(size)
    position = {"at": after[0], "last": after[1]}
    page = list(driver_rows(conn.execute(same_instant, {**position, "limit": limit})))
    if len(page) < limit:
        page += driver_rows(conn.execute(later, {**position, "limit": limit - len(page)}))
    return page


def count_loops(conn: Connection, flow_id: int, statuses: tuple[str, ...]) -> int:
    """How many loops of the flow definition have one of `statuses`."""
    h = human_loops
    query = sa.select(sa.func.count()).select_from(h).where(h.c.flow_definition_id == flow_id, h.c.status.in_(statuses))
    return int(conn.execute(query).scalar_one())
