"""Human-loop lifecycle (spec §4, §6): start (idempotent by name), describe, list, stop, delete.

Worker-side transitions (answers, leases, expiry) live in queue.py; output.json in output.py.

StartHumanLoop is the hot path: one write transaction with two statements (flow lookup, INSERT ... ON
CONFLICT DO NOTHING). The immutable facts of a flow definition are cached (FLOW_FACTS), keyed by
(id, created_at) so a deleted and re-created flow is never served stale facts; its status and whether its
task UI still exists are read on every call. The in-progress quota is counted exactly (bounded by the
quota) whenever the account is near it, and otherwise from a count refreshed at most every
QUOTA_REFRESH_SECONDS plus the loops this process started since (IN_PROGRESS_COUNTS): a soft limit
across processes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from crowdloop import arns, output, queue
from crowdloop.caches import CacheSpec
from crowdloop.errors import Conflict, InvalidInput, NotFound, QuotaExceeded
from crowdloop.jsoncheck import document_problem
from crowdloop.listing import fetch_page
from crowdloop.model import FlowDefinitionStatus, HumanLoopStatus
from crowdloop.paging import PageRequest
from crowdloop.runtime import Caller, Services
from crowdloop.store import dialect
from crowdloop.store.tables import flow_definitions, human_loops, human_task_uis

QUOTA_REFRESH_SECONDS = 2.0
_ENDED = (HumanLoopStatus.COMPLETED.value, HumanLoopStatus.STOPPED.value, HumanLoopStatus.FAILED.value)


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
        loop_id = dialect.insert_loop_if_absent(
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
                "open_slots": flow.task_count,
                "answers_count": 0,
                "task_time_limit_seconds": flow.task_time_limit_seconds,
                "available_until": created_at + timedelta(seconds=flow.task_availability_lifetime_seconds),
                "output_written": False,
            },
        )
        if loop_id is None:
            return _existing_loop_arn(conn, caller, name, flow.id, input_content)
        _check_quota(svc, conn, caller.account)
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
    f = flow_definitions
    row = conn.execute(_FLOW_FOR_USE, {"account": caller.account, "region": caller.region, "name": flow_name}).first()
    if row is None or row.arn != arn:
        raise InvalidInput(f"Flow definition {arn} does not exist.", "flowDefinitionArn")
    if row.status == FlowDefinitionStatus.INITIALIZING:
        conn.execute(
            f.update()
            .where(f.c.id == row.id, f.c.status == FlowDefinitionStatus.INITIALIZING.value)
            .values(status=FlowDefinitionStatus.ACTIVE.value)
        )
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
    count = count_in_progress(conn, account, limit + 1)
    counts.put(account, count)
    if count > limit:
        raise QuotaExceeded(
            f"Account {account} has reached its quota of {limit} human loops in progress; "
            "wait for some to finish or raise max_in_progress_loops."
        )


def count_in_progress(conn: Connection, account: str, at_most: int) -> int:
    """InProgress loops of an account, counting no further than at_most."""
    h = human_loops
    inner = (
        sa.select(h.c.id)
        .where(h.c.status == HumanLoopStatus.IN_PROGRESS.value, h.c.account == account)
        .limit(at_most)
        .subquery()
    )
    return int(conn.execute(sa.select(sa.func.count()).select_from(inner)).scalar_one())


_LOOP_COLUMNS = (
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


def _reported_status(row: Any) -> HumanLoopStatus:
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
        status=_reported_status(row),
        created_at=row.created_at,
        flow_definition_arn=row.flow_arn,
        output_uri=row.output_uri,
        failure_reason=row.failure_reason if failed else None,
        failure_code=row.failure_code if failed else None,
    )


def _find(conn: Connection, caller: Caller, name: str) -> Any:
    h = human_loops
    row = conn.execute(
        sa.select(*_LOOP_COLUMNS)
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
            sa.select(*_LOOP_COLUMNS).join(f, f.c.id == h.c.flow_definition_id).where(h.c.flow_definition_id == flow.id)
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
    h = human_loops
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
            queue.withdraw_loop_leases(conn, now, row.id)
            stopped = conn.execute(
                h.update()
                .where(h.c.id == row.id, h.c.status == HumanLoopStatus.IN_PROGRESS.value)
                .values(open_slots=0, status=HumanLoopStatus.STOPPED.value, ended_at=now)
                .returning(h.c.status, h.c.answers_count)
            ).first()
            if stopped is not None:
                break
    if output.has_output(stopped.status, stopped.answers_count):
        output.write_output_after_commit(svc, row.id)


def delete_human_loop(svc: Services, caller: Caller, name: str) -> None:
    """Delete a Completed, Stopped or Failed loop (its output.json stays). Its output is written first
    if it is still pending."""
    h = human_loops
    with svc.store.read() as conn:
        row = _find(conn, caller, name)
    if row.status not in _ENDED:
        raise InvalidInput(f"Human loop {name} is {row.status}; stop it before deleting it.", "humanLoopName")
    if output.has_output(row.status, row.answers_count) and not row.output_written:
        output.write_output(svc, row.id)
    with svc.store.write() as conn:
        deleted = conn.execute(h.delete().where(h.c.id == row.id, h.c.status.in_(_ENDED))).rowcount
    if not deleted:
        raise NotFound("human loop", name, f"Human loop {name} does not exist.")
