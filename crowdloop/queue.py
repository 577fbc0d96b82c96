"""The task queue: every lease rule lives here.

A loop offers `open_slots` (= TaskCount - leased - answered) to the workers of its flow definition's work
team. A worker *claims* a slot of a job (flow definition) and holds a lease on that loop for
TaskTimeLimitInSeconds; then *submits* (an answer), *releases* (slot back, may come back later) or
*declines* (slot back, never offered that loop again). The *reaper* (reaper.py, with reap_work) expires
overdue leases, fails loops whose availability lifetime ended with answers missing, and finishes Stopping
loops nobody works on (only databases written by versions before StopHumanLoop withdrew held leases have any).

This module owns the human_loops and assignments rows: loops.py and flows.py decide when a loop opens,
stops or goes, and call open_loop, stop_loop, delete_ended_loop, withdraw_flow_work or delete_flow_loops.
Whether a worker may work on a job is asked only here, by store.dialect's one rule: the claim, the job
list (jobs_for_worker), the job pages (job_for_worker) and every lease action.

A held task stays workable only while its worker could still claim it (`_WORKABLE`: the loop is
InProgress and store.dialect's rule says the worker may work on its flow definition). Whatever revokes
that (StopHumanLoop, DeleteFlowDefinition, disabling a worker, changing a worker's or a work team's
groups) calls `withdraw_ineligible_leases` in its own transaction: those leases become `withdrawn` and
their slots go back to loops still in progress. Every lease action checks `_WORKABLE` again as well.

Guarantees (by the database, not by Python loops): the claim is one conditional UPDATE on the loop row
(open_slots > 0, re-checked under PostgreSQL's row lock; SQLite serialises writers) and the partial unique
index uq_assignments_loop_worker_active makes holding or answering the same loop twice impossible.
A claim that loses that race is retried in a new transaction. All times come from svc.clock.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from crowdloop import agreement_item, eventlog, events, gold, output, quality, shuffle, stats
from crowdloop.errors import TaskUnavailable
from crowdloop.model import AssignmentState, FlowDefinitionStatus, HumanLoopStatus
from crowdloop.runtime import Services
from crowdloop.store import dialect
from crowdloop.store.prepared import Prepared
from crowdloop.store.tables import UtcDateTime, assignments, flow_definitions, human_loops, workers

_CLAIM_ATTEMPTS = 8
_CLOCK_SKEW = timedelta(minutes=1)  # between processes: an assignment accepted 'before' its loop was created
_CHUNK = 500
_LEASED = AssignmentState.LEASED.value
_IN_PROGRESS = HumanLoopStatus.IN_PROGRESS.value
_STOPPING = HumanLoopStatus.STOPPING.value
_WITHDRAWN = AssignmentState.WITHDRAWN.value
_EXPIRED = AssignmentState.EXPIRED.value
EXPIRED_REASON = (
    "The human loop's TaskAvailabilityLifetimeInSeconds elapsed before all of its TaskCount answers were submitted."
)


@dataclass(frozen=True)
class Lease:
    """A worker's hold on one loop: the task to show and until when it may be submitted."""

    assignment_id: int
    worker_pk: int
    loop_id: int
    human_loop_name: str
    human_loop_arn: str
    flow_definition_id: int
    input_content: str
    template_sha256: str
    accepted_at: datetime
    expires_at: datetime
    response_order: tuple[int, ...] | None = None  # crowdloop:shuffle-responses (crowdloop.shuffle)
    # A gold item's lease (crowdloop.gold): assignment_id is then a gold_assignments id, loop_id 0 and the
    # loop's name and ARN empty; the portal shows it like any task, at its own addresses (urls.GOLD_TASK).
    gold_item_id: int | None = None

    @property
    def gold(self) -> bool:
        return self.gold_item_id is not None

    @property
    def task_input(self) -> Any:
        """InputContent parsed (the template's task.input), its responses in this assignment's order."""
        return shuffle.apply_order(output.loads_json(self.input_content), self.response_order)


def _gold_lease(hold: gold.Hold) -> Lease:
    return Lease(
        assignment_id=hold.assignment_id,
        worker_pk=hold.worker_pk,
        loop_id=0,
        human_loop_name="",
        human_loop_arn="",
        flow_definition_id=hold.flow_definition_id,
        input_content=hold.input_content,
        template_sha256=hold.template_sha256,
        accepted_at=hold.accepted_at,
        expires_at=hold.expires_at,
        response_order=hold.response_order,
        gold_item_id=hold.gold_item_id,
    )


@dataclass(frozen=True)
class Job:
    """A flow definition as a worker sees it in the portal."""

    flow_definition_id: int
    flow_definition_name: str
    flow_definition_arn: str
    title: str
    description: str
    keywords: tuple[str, ...]
    available: int  # loops this worker could claim now
    held: int  # leases this worker holds on it now
    task_time_limit_seconds: int


@dataclass(frozen=True)
class SubmitResult:
    loop_id: int
    human_loop_name: str
    status: HumanLoopStatus
    answers_count: int
    task_count: int
    output_uri: str


@dataclass(frozen=True)
class ReapReport:
    expired_leases: int = 0
    withdrawn_leases: int = 0
    stopped_loops: int = 0
    failed_loops: int = 0
    reopened_loops: int = 0
    expired_gold_leases: int = 0
    purged_flow_definitions: int = 0
    outputs_written: int = 0


def _held(loop_id_column: Any = human_loops.c.id) -> sa.Exists:
    a = assignments
    return sa.exists().where(a.c.loop_id == loop_id_column, a.c.state == _LEASED)


_LEASE_COLUMNS = (
    assignments.c.id,
    assignments.c.worker_id,
    assignments.c.loop_id,
    assignments.c.accepted_at,
    assignments.c.expires_at,
    assignments.c.response_order,
    human_loops.c.name,
    human_loops.c.arn,
    human_loops.c.flow_definition_id,
    human_loops.c.input_content,
    human_loops.c.template_sha256,
)


def _to_lease(row: Any) -> Lease:
    return Lease(
        assignment_id=row.id,
        worker_pk=row.worker_id,
        loop_id=row.loop_id,
        human_loop_name=row.name,
        human_loop_arn=row.arn,
        flow_definition_id=row.flow_definition_id,
        input_content=row.input_content,
        template_sha256=row.template_sha256,
        accepted_at=row.accepted_at,
        expires_at=row.expires_at,
        response_order=shuffle.decode(row.response_order),
    )


# The statements of claim, submit, release and decline are built once (they run for every task).
_A, _H = assignments, human_loops
_NOW = sa.bindparam("now", type_=UtcDateTime)

# A lease's task is workable while its loop is InProgress and its worker may still work on the loop's flow
# definition (for statements over assignments joined with human_loops, both by their table names).
_WORKABLE = sa.and_(
    _H.c.status == _IN_PROGRESS,
    dialect.worker_may_work_on_flow(f"{_A.name}.{_A.c.worker_id.name}", f"{_H.name}.{_H.c.flow_definition_id.name}"),
)
_LEASE_WORKABLE = sa.exists().where(_H.c.id == _A.c.loop_id, _WORKABLE)  # for statements over assignments

_CURRENT = Prepared(
    sa.select(*_LEASE_COLUMNS)
    .join(_H, _H.c.id == _A.c.loop_id)
    .where(
        _A.c.worker_id == sa.bindparam("worker"),
        _A.c.state == _LEASED,
        _A.c.expires_at > _NOW,
        _H.c.flow_definition_id == sa.bindparam("fd"),
        _WORKABLE,
    )
    .order_by(_A.c.id)
    .limit(1)
)

_GET_LEASE = Prepared(
    sa.select(*_LEASE_COLUMNS)
    .join(_H, _H.c.id == _A.c.loop_id)
    .where(
        _A.c.id == sa.bindparam("assignment"),
        _A.c.worker_id == sa.bindparam("worker"),
        _A.c.state == _LEASED,
        _A.c.expires_at > _NOW,
        _WORKABLE,
    )
)

_INSERT_LEASE = Prepared(
    _A.insert()
    .values(
        state=_LEASED,
        loop_id=sa.bindparam("loop_id"),
        worker_id=sa.bindparam("worker_id"),
        accepted_at=sa.bindparam("accepted_at", type_=UtcDateTime),
        expires_at=sa.bindparam("expires_at", type_=UtcDateTime),
        response_order=sa.bindparam("response_order", type_=sa.Text),
    )
    .returning(_A.c.id)
)

# What an answer's event says besides the answer (the loop, its flow definition, the worker's public id), read by
# the statement that ends the lease (their ids never change). Written out: SQLAlchemy renders a RETURNING clause's
# columns without their table's name on SQLite, which makes `id` ambiguous (or, worse, the inner table's).
_OF_LOOP = f"(SELECT h.{{column}} FROM {_H.name} h WHERE h.id = {_A.name}.loop_id)"
_OF_FLOW = (
    f"(SELECT f.{{column}} FROM {_H.name} h JOIN {flow_definitions.name} f ON f.id = h.flow_definition_id"
    f" WHERE h.id = {_A.name}.loop_id)"
)
_ENDED_FACTS = (
    sa.literal_column(_OF_LOOP.format(column="arn"), sa.String).label("arn"),
    sa.literal_column(_OF_LOOP.format(column="created_at"), UtcDateTime).label("created_at"),
    sa.literal_column(_OF_LOOP.format(column="flow_definition_id"), sa.Integer).label("flow_definition_id"),
    sa.literal_column(_OF_FLOW.format(column="arn"), sa.String).label("flow_arn"),
    sa.literal_column(_OF_FLOW.format(column="labeling_job_id"), sa.Integer).label("labeling_job_id"),
    sa.literal_column(f"(SELECT w.worker_id FROM {workers.name} w WHERE w.id = {_A.name}.worker_id)", sa.String).label(
        "worker_id"
    ),
)

_END_LEASE = Prepared(
    _A.update()
    .where(
        _A.c.id == sa.bindparam("assignment"),
        _A.c.worker_id == sa.bindparam("worker"),
        _A.c.state == _LEASED,
        _A.c.expires_at > _NOW,
        _LEASE_WORKABLE,
    )
    .values(
        state=sa.bindparam("new_state"),
        ended_at=_NOW,
        answer_content=sa.bindparam("answer"),
        time_spent_seconds=sa.bindparam("spent"),
    )
    .returning(_A.c.loop_id, _A.c.accepted_at, *_ENDED_FACTS)
)

# Only a loop in progress completes: a loop that was stopped keeps its status whatever the count.
_done = sa.and_(_H.c.status == _IN_PROGRESS, _H.c.answers_count + 1 >= _H.c.task_count)
_COUNTED = (
    _H.c.name,
    _H.c.status,
    _H.c.answers_count,
    _H.c.task_count,
    _H.c.output_uri,
    _H.c.flow_definition_id,
    _H.c.open_slots,
)
_COUNT_ANSWER = Prepared(
    _H.update()
    .where(_H.c.id == sa.bindparam("loop"))
    .values(
        answers_count=_H.c.answers_count + 1,
        status=sa.case((_done, HumanLoopStatus.COMPLETED.value), else_=_H.c.status),
        ended_at=sa.case((_done, _NOW), else_=_H.c.ended_at),
    )
    .returning(*_COUNTED)
)

# The adaptive worker count (docs/quality.md): once every worker asked so far has answered, the loop either
# completes (agreement reached) or is offered to one more worker.
_LOOP_HELD = Prepared(sa.select(_A.c.id).where(_A.c.loop_id == sa.bindparam("loop"), _A.c.state == _LEASED).limit(1))
_LOOP_ANSWERS = Prepared(
    sa.select(_A.c.worker_id, _A.c.answer_content, _A.c.response_order, _H.c.input_content)
    .join(_H, _H.c.id == _A.c.loop_id)
    .where(_A.c.loop_id == sa.bindparam("loop"), _A.c.state == AssignmentState.SUBMITTED.value)
    .order_by(_A.c.id)
)
_LOCK_LOOP = Prepared(
    sa.select(_H.c.status, _H.c.open_slots, _H.c.answers_count, _H.c.task_count)
    .where(_H.c.id == sa.bindparam("loop"))
    .with_for_update()
)
# The count and the decision in one statement, as _COUNT_ANSWER: the triggers keeping flow_loop_counts then
# lock its rows in one (flow definition, status) order, as in every other transaction (no deadlock).
_agreed = sa.and_(_H.c.status == _IN_PROGRESS, sa.bindparam("agreed", type_=sa.Boolean))
_done_adaptive = sa.or_(_done, _agreed)
_COUNT_ADAPTIVE = Prepared(
    _H.update()
    .where(_H.c.id == sa.bindparam("loop"))
    .values(
        answers_count=_H.c.answers_count + 1,
        status=sa.case((_done_adaptive, HumanLoopStatus.COMPLETED.value), else_=_H.c.status),
        ended_at=sa.case((_done_adaptive, _NOW), else_=_H.c.ended_at),
        open_slots=_H.c.open_slots + sa.bindparam("more", type_=sa.Integer),
    )
    .returning(*_COUNTED)
)

_RETURN_SLOT = Prepared(
    _H.update()
    .where(_H.c.id == sa.bindparam("loop"))
    .values(open_slots=sa.case((_H.c.status == _IN_PROGRESS, _H.c.open_slots + 1), else_=_H.c.open_slots))
    .returning(_H.c.status, _H.c.answers_count, _H.c.flow_definition_id)
)


def _current(conn: Connection, worker_pk: int, flow_definition_id: int, now: datetime) -> Lease | None:
    row = _CURRENT.first(conn, {"worker": worker_pk, "fd": flow_definition_id, "now": now})
    return _to_lease(row) if row is not None else None


def current_lease(svc: Services, worker_pk: int, flow_definition_id: int) -> Lease | None:
    """The unexpired lease this worker holds on a loop of this job, if any."""
    with svc.store.read() as conn:
        return _current(conn, worker_pk, flow_definition_id, svc.clock.now())


def get_lease(svc: Services, assignment_id: int, worker_pk: int, *, gold_item: bool = False) -> Lease:
    """The worker's unexpired, still workable lease with this id, else TaskUnavailable (expired | gone |
    not-yours). gold_item: the id is a gold item lease's (crowdloop.gold)."""
    if gold_item:
        return _gold_lease(gold.get_hold(svc, assignment_id, worker_pk))
    with svc.store.read() as conn:
        now = svc.clock.now()
        row = _GET_LEASE.first(conn, {"assignment": assignment_id, "worker": worker_pk, "now": now})
        if row is None:
            raise _unavailable(conn, assignment_id, worker_pk, now)
        return _to_lease(row)


def claim(svc: Services, worker_pk: int, flow_definition_id: int) -> Lease | None:
    """Lease the next loop (FIFO) of this job to the worker, or None when none is available to them.
    A worker who already holds an unexpired lease on this job gets that lease back instead. On a flow with
    gold items on (crowdloop:gold-rate, crowdloop:qualification), crowdloop.gold decides first whether the
    worker gets a gold item, or nothing (paused, qualification failed); other flows make no query for it
    (the settings come from quality.CONFIGS). On PostgreSQL a flow with neither gold items nor shuffled
    responses is claimed by one statement (dialect.claim_lease) unless labeling task events are on."""
    at_once = _claims_at_once(svc, flow_definition_id)
    for _attempt in range(_CLAIM_ATTEMPTS):
        try:
            if at_once:
                with svc.store.write_one_statement() as conn:
                    row = dialect.claim_lease(conn, worker_pk, flow_definition_id, svc.clock.now())
                return None if row is None else _to_lease(row)
            with svc.store.write() as conn:
                now = svc.clock.now()
                held = _current(conn, worker_pk, flow_definition_id, now)
                if held is not None:
                    return held
                config = quality.current_config(svc, conn, flow_definition_id)  # a dictionary lookup (5 s cache)
                if gold.uses_gold(config):
                    hold = gold.claim_in(svc, conn, worker_pk, flow_definition_id, now, config)
                    if isinstance(hold, gold.Hold):
                        return _gold_lease(hold)
                    if hold is gold.BLOCKED:
                        return None
                loop = dialect.claim_slot(conn, worker_pk, flow_definition_id, now)
                if loop is None:
                    return None
                expires_at = now + timedelta(seconds=loop.task_time_limit_seconds)
                order = _response_order(svc, conn, flow_definition_id, loop.input_content)
                assignment_id = _INSERT_LEASE.one(
                    conn,
                    {
                        "loop_id": loop.id,
                        "worker_id": worker_pk,
                        "accepted_at": now,
                        "expires_at": expires_at,
                        "response_order": None if order is None else shuffle.encode(order),
                    },
                ).id
                announced = _labeling_task_event(svc, conn, flow_definition_id, assignment_id, "Accepted", now)
                lease = Lease(
                    assignment_id=assignment_id,
                    worker_pk=worker_pk,
                    loop_id=loop.id,
                    human_loop_name=loop.name,
                    human_loop_arn=loop.arn,
                    flow_definition_id=flow_definition_id,
                    input_content=loop.input_content,
                    template_sha256=loop.template_sha256,
                    accepted_at=now,
                    expires_at=expires_at,
                    response_order=order,
                )
            if announced:
                eventlog.after_commit(svc)
            return lease
        except IntegrityError:
            continue  # lost a race on uq_assignments_loop_worker_active: the next attempt skips that loop
    return None


def _claims_at_once(svc: Services, flow_definition_id: int) -> bool:
    """Whether claim takes dialect.claim_lease's one statement: nothing to decide in Python (gold items, a
    response order to draw, a labeling task event to record) on a database that has it."""
    if not dialect.claims_in_one_statement(svc.store.dialect) or svc.settings.labeling_task_events:
        return False
    with svc.store.read() as conn:
        config = quality.current_config(svc, conn, flow_definition_id)  # a dictionary lookup (5 s cache)
    return not gold.uses_gold(config) and not config.shuffle_responses


def _response_order(
    svc: Services, conn: Connection, flow_definition_id: int, input_content: str
) -> tuple[int, ...] | None:
    """The order this new assignment shows the loop's responses in: drawn when the flow definition has
    crowdloop:shuffle-responses and the input has a list of responses (crowdloop.shuffle), else None (input
    order). The settings come from a short-lived cache, so an unshuffled flow costs no query here."""
    if not quality.current_config(svc, conn, flow_definition_id).shuffle_responses:
        return None
    try:
        document = output.loads_json(input_content)
    except ValueError:
        return None
    return shuffle.order_for_input(document)


def submit(
    svc: Services,
    assignment_id: int,
    worker_pk: int,
    answer_content: dict[str, Any],
    time_spent_seconds: float,
    *,
    gold_item: bool = False,
) -> SubmitResult:
    """Record the holder's answer while the task is workable. The loop completes at TaskCount answers
    (its output.json is then due: written after the commit). gold_item: the id is a gold item lease's: the
    answer is scored (crowdloop.gold.submit_answer) and, when that pauses the worker, their held leases of
    the flow are withdrawn in the same transaction; the result then names no loop (loop_id 0)."""
    if gold_item:
        return _submit_gold(svc, assignment_id, worker_pk, answer_content, time_spent_seconds)
    answer = output.dumps_json(answer_content).decode()
    with svc.store.write() as conn:
        now = svc.clock.now()
        spent = round(max(float(time_spent_seconds), 0.0), 3)
        facts = _end_held_lease(conn, assignment_id, worker_pk, now, AssignmentState.SUBMITTED, answer, spent)
        loop_id = facts.loop_id
        config = quality.current_config(svc, conn, facts.flow_definition_id)  # a dictionary lookup (5 s cache)
        if config.adaptive:
            row = _count_adaptive(conn, loop_id, now, config, facts.flow_definition_id)
        else:
            row = _COUNT_ANSWER.one(conn, {"loop": loop_id, "now": now})
        stats.count_answer(conn, row.flow_definition_id, worker_pk, now, spent)
        if gold.uses_gold(config):
            gold.count_real_answer(conn, row.flow_definition_id, worker_pk)
        completed = output.has_output(row.status, row.answers_count)
        labeling = facts.labeling_job_id is not None  # a labeling job's task: the job reports (crowdloop.labeling)
        if completed and not labeling:  # its status change event is recorded when the output is written (output.py)
            output.mark_output_due(conn, loop_id, now)
        if labeling:
            _labeling_task_event(svc, conn, facts.flow_definition_id, assignment_id, "Submitted", now)
        else:
            eventlog.answer_submitted(
                conn,
                now,
                source=svc.settings.events_source,
                loop_arn=facts.arn,
                flow_arn=facts.flow_arn,
                created_at=facts.created_at,
                worker_id=facts.worker_id,
                accepted_at=facts.accepted_at,
                time_spent_seconds=spent,
            )
    result = SubmitResult(
        loop_id=loop_id,
        human_loop_name=row.name,
        status=HumanLoopStatus(row.status),
        answers_count=row.answers_count,
        task_count=row.task_count,
        output_uri=row.output_uri,
    )
    if completed and not labeling:
        output.after_commit(svc)
    if labeling and completed:
        wake_labeling(svc)
    eventlog.after_commit(svc)
    return result


def _labeling_task_event(
    svc: Services, conn: Connection, flow_definition_id: int, assignment_id: int, state: str, now: datetime
) -> bool:
    """With the setting labeling_task_events, record the task status change event of a labeling job's task
    (its flow definition is the job's: its ARN, its work team); whether one was recorded."""
    if not svc.settings.labeling_task_events:
        return False
    f = flow_definitions
    row = conn.execute(
        sa.select(f.c.arn, f.c.workteam_arn).where(f.c.id == flow_definition_id, f.c.labeling_job_id.is_not(None))
    ).first()
    if row is None:
        return False
    event = events.labeling_task_status_change(
        labeling_job_arn=row.arn, workteam_arn=row.workteam_arn, state=state, changed_at=now, task=str(assignment_id)
    )
    eventlog.record(conn, now, event)
    return True


def wake_labeling(svc: Services) -> None:
    """A labeling job's object has all its answers: have the process's labeling step look now."""
    if svc.labeling is not None:
        svc.labeling.wake()


def _submit_gold(
    svc: Services, assignment_id: int, worker_pk: int, answer_content: dict[str, Any], time_spent_seconds: float
) -> SubmitResult:
    with svc.store.write() as conn:
        now = svc.clock.now()
        result = gold.submit_answer(svc, conn, now, assignment_id, worker_pk, answer_content, time_spent_seconds)
        if result.paused:
            withdraw_worker_flow_leases(conn, now, worker_pk, result.flow_definition_id)
    eventlog.after_commit(svc)
    return SubmitResult(
        loop_id=0, human_loop_name="", status=HumanLoopStatus.IN_PROGRESS, answers_count=0, task_count=0, output_uri=""
    )


def _count_adaptive(
    conn: Connection, loop_id: int, now: datetime, config: quality.QualityConfig, flow_definition_id: int
) -> Any:
    """Count the answer to a loop of an adaptive flow (docs/quality.md) and decide, under the loop row's
    lock: when every worker asked so far has answered (no open slot, no lease held) and TaskCount is not
    reached, the loop completes if their agreement reaches the target, else it is offered to one more
    worker (at TaskCount answers it completes as any loop). Answers of workers paused for the flow (gold)
    do not count towards the agreement: the export leaves them out. Returns the row _COUNT_ANSWER would."""
    loop = _LOCK_LOOP.one(conn, {"loop": loop_id})
    agreed, more = False, 0
    waits_for_nobody = loop.status == _IN_PROGRESS and loop.open_slots == 0 and loop.answers_count + 1 < loop.task_count
    if waits_for_nobody and _LOOP_HELD.first(conn, {"loop": loop_id}) is None:
        paused = gold.paused_worker_pks(conn, flow_definition_id) if gold.uses_gold(config) else frozenset()
        agreed = _agreement_reached(conn, loop_id, config.agreement_target, paused)
        more = 0 if agreed else 1
    return _COUNT_ADAPTIVE.one(conn, {"loop": loop_id, "now": now, "agreed": agreed, "more": more})


def _agreement_reached(conn: Connection, loop_id: int, target: float, left_out: frozenset[int] = frozenset()) -> bool:
    """Whether the loop's submitted answers, but those of the workers left out, agree at least `target`
    (agreement_item); a target of 0 is always reached, answers whose agreement cannot be computed never
    reach a higher one."""
    if target <= 0.0:
        return True
    rows = [r for r in _LOOP_ANSWERS.all(conn, {"loop": loop_id}) if r.worker_id not in left_out]
    if not rows:
        return False
    answers = [  # each in the order its worker saw the responses (crowdloop:shuffle-responses), undone there
        (str(r.worker_id), output.loads_json(r.answer_content), shuffle.decode(r.response_order)) for r in rows
    ]
    agreement = agreement_item.item_agreement(output.loads_json(rows[0].input_content), answers)
    return agreement is not None and agreement >= target


def release(svc: Services, assignment_id: int, worker_pk: int, *, gold_item: bool = False) -> None:
    """Give the slot back; the worker may be offered this loop again later (a gold item: never again)."""
    if gold_item:
        gold.release(svc, assignment_id, worker_pk)
        return
    _end_lease(svc, assignment_id, worker_pk, AssignmentState.RELEASED)


def decline(svc: Services, assignment_id: int, worker_pk: int, *, gold_item: bool = False) -> None:
    """Give the slot back; the worker is never offered this loop (or gold item) again."""
    if gold_item:
        gold.release(svc, assignment_id, worker_pk)
        return
    _end_lease(svc, assignment_id, worker_pk, AssignmentState.DECLINED)


def _end_lease(svc: Services, assignment_id: int, worker_pk: int, state: AssignmentState) -> None:
    with svc.store.write() as conn:
        now = svc.clock.now()
        loop_id = _end_held_lease(conn, assignment_id, worker_pk, now, state, None, None).loop_id
        row = _RETURN_SLOT.one(conn, {"loop": loop_id, "now": now})
        verb = "Declined" if state == AssignmentState.DECLINED else "Returned"
        announced = _labeling_task_event(svc, conn, row.flow_definition_id, assignment_id, verb, now)
    if announced:
        eventlog.after_commit(svc)


def _end_held_lease(
    conn: Connection,
    assignment_id: int,
    worker_pk: int,
    now: datetime,
    state: AssignmentState,
    answer: str | None,
    spent: float | None,
) -> Any:
    """End the worker's workable lease in `state` (with the answer and time spent of a submission): its
    loop_id, accepted_at and _ENDED_FACTS; TaskUnavailable when the worker holds no such lease."""
    ended = _END_LEASE.first(
        conn,
        {
            "assignment": assignment_id,
            "worker": worker_pk,
            "now": now,
            "new_state": state.value,
            "answer": answer,
            "spent": spent,
        },
    )
    if ended is None:
        raise _unavailable(conn, assignment_id, worker_pk, now)
    return ended


def _now(now: datetime) -> sa.BindParameter[datetime]:
    return sa.bindparam(None, now, type_=human_loops.c.ended_at.type)


def _unavailable(conn: Connection, assignment_id: int, worker_pk: int, now: datetime) -> TaskUnavailable:
    a = assignments
    row = conn.execute(sa.select(a.c.state, a.c.worker_id, a.c.expires_at).where(a.c.id == assignment_id)).first()
    if row is None:
        return TaskUnavailable("This task is no longer available.", "gone")
    if row.worker_id != worker_pk:
        return TaskUnavailable("This task is assigned to another worker.", "not-yours")
    if row.state == AssignmentState.EXPIRED or (row.state == _LEASED and row.expires_at <= now):
        return TaskUnavailable("The time limit for this task has run out.", "expired")
    if row.state in (_WITHDRAWN, _LEASED):  # withdrawn, or about to be: no longer workable
        return TaskUnavailable("This task is no longer available.", "gone")
    return TaskUnavailable(f"This task is no longer available (it was {row.state}).", "gone")


def withdraw_ineligible_leases(
    conn: Connection,
    now: datetime,
    *,
    worker_pk: int | None = None,
    flow_ids: list[int] | None = None,
    workteam_arn: str | None = None,
) -> int:
    """End the held leases (of this worker, on loops of these flow definitions or of the flow definitions
    of this work team, or all) whose tasks are no longer workable; call it in the transaction of the
    change that made them so. Returns how many."""
    loop_ids = _withdraw(conn, now, _ineligible(worker_pk, flow_ids, workteam_arn))
    _return_slots(conn, loop_ids)
    return len(loop_ids)


def _ineligible(
    worker_pk: int | None = None, flow_ids: list[int] | None = None, workteam_arn: str | None = None
) -> sa.ColumnElement[bool]:
    a, h, f = assignments, human_loops, flow_definitions
    where = [a.c.state == _LEASED, ~_LEASE_WORKABLE]
    if worker_pk is not None:
        where.append(a.c.worker_id == worker_pk)
    if flow_ids is not None:
        where.append(a.c.loop_id.in_(sa.select(h.c.id).where(h.c.flow_definition_id.in_(flow_ids))))
    if workteam_arn is not None:
        team_flows = sa.select(f.c.id).where(f.c.workteam_arn == workteam_arn)
        where.append(a.c.loop_id.in_(sa.select(h.c.id).where(h.c.flow_definition_id.in_(team_flows))))
    return sa.and_(*where)


def withdraw_worker_flow_leases(conn: Connection, now: datetime, worker_pk: int, flow_definition_id: int) -> int:
    """End every held lease of this worker on loops of this flow definition (the worker was paused for it:
    crowdloop.gold), in the caller's transaction; their slots go back. Returns how many."""
    a, h = assignments, human_loops
    flow_loops = sa.select(h.c.id).where(h.c.flow_definition_id == flow_definition_id)
    loop_ids = _withdraw(
        conn, now, sa.and_(a.c.worker_id == worker_pk, a.c.state == _LEASED, a.c.loop_id.in_(flow_loops))
    )
    _return_slots(conn, loop_ids)
    return len(loop_ids)


def withdraw_loop_leases(conn: Connection, now: datetime, loop_id: int) -> int:
    """End every held lease of a loop that is about to stop. StopHumanLoop calls it before it changes the
    loop row, so it takes its locks in the order submit does (assignment, then loop): no deadlock."""
    loop_ids = _withdraw(conn, now, sa.and_(assignments.c.loop_id == loop_id, assignments.c.state == _LEASED))
    _return_slots(conn, loop_ids)
    return len(loop_ids)


def _withdraw(conn: Connection, now: datetime, where: sa.ColumnElement[bool]) -> list[int]:
    """Withdraw the leases matching `where`; the ids of their loops, one per lease. The caller returns
    those loops' slots afterwards, so every unit of work locks assignments before loops, as submit does."""
    a = assignments
    overdue = a.c.expires_at <= _now(now)  # ran out before: recorded as expired, as the reaper would
    loop_ids = list(
        conn.execute(
            a.update()
            .where(where)
            .values(
                state=sa.case((overdue, _EXPIRED), else_=_WITHDRAWN),
                ended_at=sa.case((overdue, a.c.expires_at), else_=_now(now)),
            )
            .returning(a.c.loop_id)
        ).scalars()
    )
    return [int(i) for i in loop_ids]


def _return_slots(conn: Connection, loop_ids: list[int]) -> None:
    """Give each of these loops still in progress one slot back per time it is named (one per lease that
    ended). An increment, like _RETURN_SLOT: under PostgreSQL's READ COMMITTED a recount from the leases
    would miss a concurrent submit's change to answers_count or to its lease and count it twice."""
    h = human_loops
    by_count: dict[int, list[int]] = {}
    for loop_id, ended in Counter(loop_ids).items():
        by_count.setdefault(ended, []).append(loop_id)
    for ended, ids in sorted(by_count.items()):
        ids.sort()
        for start in range(0, len(ids), _CHUNK):
            conn.execute(
                h.update()
                .where(h.c.id.in_(ids[start : start + _CHUNK]), h.c.status == _IN_PROGRESS)
                .values(open_slots=h.c.open_slots + ended)
            )


# --- the loop rows' writes that other domain modules ask for (queue.py owns human_loops and assignments) ---

ENDED = (HumanLoopStatus.COMPLETED.value, HumanLoopStatus.STOPPED.value, HumanLoopStatus.FAILED.value)


def open_loop(conn: Connection, values: dict[str, Any]) -> int | None:
    """INSERT a human loop (values: every column) unless its name is taken: the new id, or None
    (loops.start_human_loop, the hot path: one statement built once, store.dialect.insert_loop_if_absent)."""
    return dialect.insert_loop_if_absent(conn, values)


def stop_loop(conn: Connection, now: datetime, loop_id: int) -> Any | None:
    """InProgress -> Stopped at once, its held leases withdrawn first (locks in the order submit takes
    them: assignment, then loop, so no deadlock). The loop's (status, answers_count), or None when it was
    no longer in progress."""
    withdraw_loop_leases(conn, now, loop_id)
    h = human_loops
    return conn.execute(
        h.update()
        .where(h.c.id == loop_id, h.c.status == _IN_PROGRESS)
        .values(open_slots=0, status=HumanLoopStatus.STOPPED.value, ended_at=now)
        .returning(h.c.status, h.c.answers_count)
    ).first()


def close_flow_slots(conn: Connection, flow_definition_id: int) -> None:
    """No loop of the flow definition offers a slot any more (the leases held stay workable)."""
    h = human_loops
    conn.execute(
        h.update().where(h.c.flow_definition_id == flow_definition_id, h.c.status == _IN_PROGRESS).values(open_slots=0)
    )


def stop_idle_loops(conn: Connection, now: datetime, flow_definition_id: int) -> int:
    """Stop the flow definition's loops in progress that nobody holds (a labeling job stopping); how many."""
    h = human_loops
    return int(
        conn.execute(
            h.update()
            .where(h.c.flow_definition_id == flow_definition_id, h.c.status == _IN_PROGRESS, ~_held())
            .values(open_slots=0, status=HumanLoopStatus.STOPPED.value, ended_at=_now(now))
        ).rowcount
    )


def output_unwritten_locked(conn: Connection, loop_id: int) -> bool:
    """Lock the loop's row and say whether its output.json is still unwritten (DeleteHumanLoop asks before
    it hands the document to the outbox: the output writer may have just written it)."""
    h = human_loops
    row = conn.execute(sa.select(h.c.output_written).where(h.c.id == loop_id).with_for_update()).first()
    return row is not None and not row.output_written


def delete_ended_loop(conn: Connection, loop_id: int) -> bool:
    """Delete a Completed, Stopped or Failed loop; False when it is gone or no longer ended."""
    h = human_loops
    return bool(conn.execute(h.delete().where(h.c.id == loop_id, h.c.status.in_(ENDED))).rowcount)


def withdraw_flow_work(conn: Connection, now: datetime, flow_definition_id: int) -> None:
    """A flow definition is being deleted (in this transaction): withdraw its held leases, stop its loops
    in progress from offering slots and delete every loop of it that is not busy (`_loop_busy`)."""
    h = human_loops
    withdraw_ineligible_leases(conn, now, flow_ids=[flow_definition_id])
    close_flow_slots(conn, flow_definition_id)
    _delete_loops(conn, sa.select(h.c.id).where(h.c.flow_definition_id == flow_definition_id, ~_loop_busy()))


def flow_has_busy_loop(flow_definition_id: sa.ColumnElement[int]) -> sa.Exists:
    """Whether a loop of this flow definition (a column of the outer statement) is busy (`_loop_busy`)."""
    return sa.exists().where(human_loops.c.flow_definition_id == flow_definition_id, _loop_busy())


def delete_flow_loops(conn: Connection, flow_definition_id: int) -> None:
    """Delete every loop of a flow definition being purged, with its assignments."""
    _delete_loops(conn, sa.select(human_loops.c.id).where(human_loops.c.flow_definition_id == flow_definition_id))


def _loop_busy() -> sa.ColumnElement[bool]:
    """A loop that must not be deleted yet: a worker holds a lease on it, it is Stopping (its leases are
    ending), or its output.json is still to be written (Completed, or Stopped with answers: the rule
    of output.has_output)."""
    h = human_loops
    output_pending = sa.and_(
        h.c.output_written.is_(False),
        sa.or_(
            h.c.status == HumanLoopStatus.COMPLETED.value,
            sa.and_(h.c.status == HumanLoopStatus.STOPPED.value, h.c.answers_count > 0),
        ),
    )
    return sa.or_(_held(), h.c.status == _STOPPING, output_pending)


def _delete_loops(conn: Connection, loop_ids: sa.Select[Any]) -> None:
    ids = list(conn.execute(loop_ids).scalars())
    for start in range(0, len(ids), _CHUNK):
        chunk = ids[start : start + _CHUNK]
        conn.execute(assignments.delete().where(assignments.c.loop_id.in_(chunk)))
        conn.execute(human_loops.delete().where(human_loops.c.id.in_(chunk)))


def reap_work(conn: Connection, now: datetime) -> ReapReport:
    """Expire overdue leases (slots back to the pool), withdraw leases no longer workable (a safety net:
    the changes that revoke withdraw them at once), fail loops whose availability lifetime ended with
    answers missing and no lease, and stop Stopping loops nobody holds (their outputs, if any, are then
    due). The reaper (reaper.py) runs it in its transaction; the report counts leases and loops only."""
    a, h = assignments, human_loops
    expired_loop_ids = list(
        conn.execute(
            a.update()
            .where(a.c.state == _LEASED, a.c.expires_at <= now)
            .values(state=AssignmentState.EXPIRED.value, ended_at=a.c.expires_at)
            .returning(a.c.loop_id)
        ).scalars()
    )
    withdrawn_loop_ids = _withdraw(conn, now, _ineligible())
    _return_slots(conn, expired_loop_ids + withdrawn_loop_ids)
    ended_columns = (h.c.id, h.c.answers_count, h.c.arn, h.c.status, h.c.created_at, h.c.output_uri)
    stopped_rows = conn.execute(
        h.update()
        .where(h.c.status == _STOPPING, ~_held())
        .values(status=HumanLoopStatus.STOPPED.value, ended_at=_now(now))
        .returning(*ended_columns, h.c.flow_definition_id)
    ).all()
    for row in sorted(stopped_rows):
        if row.answers_count > 0:  # its status change event comes with its output (output.py)
            output.mark_output_due(conn, row.id, now)
    failed_rows = conn.execute(
        h.update()
        .where(h.c.status == _IN_PROGRESS, h.c.available_until <= now, h.c.answers_count < h.c.task_count, ~_held())
        .values(
            status=HumanLoopStatus.FAILED.value,
            failure_code="Expired",
            open_slots=0,
            failure_reason=EXPIRED_REASON,
            ended_at=_now(now),
        )
        .returning(*ended_columns, h.c.flow_definition_id, h.c.failure_code, h.c.failure_reason)
    ).all()
    _announce_ended(conn, now, [r for r in stopped_rows if r.answers_count == 0] + list(failed_rows))
    reopened = _reopen_stalled(conn)
    return ReapReport(
        reopened_loops=reopened,
        expired_gold_leases=gold.reap(conn, now),
        expired_leases=len(expired_loop_ids),
        withdrawn_leases=len(withdrawn_loop_ids),
        stopped_loops=len(stopped_rows),
        failed_loops=len(failed_rows),
    )


def _reopen_stalled(conn: Connection) -> int:
    """A safety net of the adaptive worker count: a loop in progress with answers missing, no open slot and
    no lease held waits for nobody. Only a loop started adaptively whose last submit saw its flow as fixed
    (the crowdloop:task-count-min tag removed since, quality.CONFIGS) is ever left so: give it the slots
    up to TaskCount. Loops of flow definitions being deleted (no slots, withdraw_flow_work) are left alone,
    and so are a labeling job's (it closes its loops' slots when it stops)."""
    h, f = human_loops, flow_definitions
    usable = sa.exists().where(  # per loop found, not an IN list the planner could seek human_loops with
        f.c.id == h.c.flow_definition_id,
        f.c.status.in_((FlowDefinitionStatus.INITIALIZING.value, FlowDefinitionStatus.ACTIVE.value)),
        f.c.labeling_job_id.is_(None),  # a labeling job closes its loops' slots when it stops (crowdloop.labeling)
    )
    stalled = sa.and_(
        h.c.status == sa.literal_column(f"'{_IN_PROGRESS}'"),  # literally the partial index's predicate,
        h.c.open_slots == sa.literal_column("0"),  # so both databases read ix_human_loops_no_open_slot
        h.c.answers_count < h.c.task_count,
        ~_held(),
        usable,
    )
    return int(conn.execute(h.update().where(stalled).values(open_slots=h.c.task_count - h.c.answers_count)).rowcount)


def _announce_ended(conn: Connection, now: datetime, rows: list[Any]) -> None:
    """Record the status change events of loops the sweep ended without an output (rows: the RETURNING of
    its updates), in loop id order."""
    if not rows:
        return
    f = flow_definitions
    flow_ids = sorted({int(r.flow_definition_id) for r in rows})
    flow_arns = dict(
        conn.execute(sa.select(f.c.id, f.c.arn).where(f.c.id.in_(flow_ids), f.c.labeling_job_id.is_(None))).all()
    )  # a labeling job's loops have no A2I event: the job has its own (crowdloop/groundtruth)
    ended = [
        eventlog.EndedLoop.from_row(row, flow_arn=flow_arns[row.flow_definition_id])
        for row in sorted(rows, key=lambda r: int(r.id))
        if row.flow_definition_id in flow_arns
    ]
    eventlog.loops_ended(conn, now, ended)


@dataclass(frozen=True)
class JobInfo:
    """What the portal shows of a job on its task pages."""

    flow_definition_id: int
    title: str
    description: str
    task_time_limit_seconds: int


_JOB_COLUMNS = (
    flow_definitions.c.id,
    flow_definitions.c.task_title,
    flow_definitions.c.task_description,
    flow_definitions.c.task_time_limit_seconds,
)
_MAY_WORK_ON_JOB = dialect.worker_may_work_on_flow(
    ":worker", f"{flow_definitions.name}.{flow_definitions.c.id.name}"
)  # the claim's rule (store.dialect): the job pages ask exactly what claim and the job list ask


def job_for_worker(svc: Services, worker_pk: int, flow_definition_id: int) -> JobInfo | None:
    """The job if the worker may work on it, else None (also for unknown ids): the portal tells "not your
    job" (404) from "no tasks left" by it."""
    with svc.store.read() as conn:
        row = conn.execute(
            sa.select(*_JOB_COLUMNS).where(flow_definitions.c.id == flow_definition_id, _MAY_WORK_ON_JOB),
            {"worker": worker_pk},
        ).first()
    return _job_info(row) if row is not None else None


def job_info(svc: Services, flow_definition_id: int) -> JobInfo:
    """A job's title and description, whoever asks (they never change: the portal caches them)."""
    with svc.store.read() as conn:
        row = conn.execute(sa.select(*_JOB_COLUMNS).where(flow_definitions.c.id == flow_definition_id)).one()
    return _job_info(row)


def _job_info(row: Any) -> JobInfo:
    return JobInfo(
        flow_definition_id=row.id,
        title=row.task_title,
        description=row.task_description,
        task_time_limit_seconds=row.task_time_limit_seconds,
    )


def _available(conn: Connection, worker_pk: int, now: datetime) -> dict[int, int]:
    """flow definition id -> loops this worker could claim now, for the flows it may work on: their InProgress
    loops from the counters (stats.in_progress_loops), less those it cannot claim (store.dialect.unclaimable_loops:
    no open slot, past the availability lifetime, or held, answered or declined by this worker). What it costs
    grows with the leases held now, the reaper's backlog and the worker's assignments of the last availability
    lifetime, never with the store's loops. Exact but for an adaptive loop left with no open slot and no lease
    (_reopen_stalled: its flow's crowdloop:task-count-min tag removed meanwhile): counted already; the reaper's
    next sweep offers it."""
    lifetimes = dialect.flows_worker_may_work_on(conn, worker_pk)
    in_progress = stats.in_progress_loops(conn, lifetimes)
    if not in_progress:
        return {}
    oldest = now - timedelta(seconds=max(lifetimes[flow_id] for flow_id in in_progress)) - _CLOCK_SKEW
    unclaimable = dialect.unclaimable_loops(conn, worker_pk, now, oldest)
    found = {flow_id: loops - unclaimable.get(flow_id, 0) for flow_id, loops in in_progress.items()}
    return {flow_id: n for flow_id, n in found.items() if n > 0}


def jobs_for_worker(svc: Services, worker_pk: int) -> list[Job]:
    """The flow definitions with tasks this worker can take now or holds, ordered by flow definition id."""
    a, h, f = assignments, human_loops, flow_definitions
    with svc.store.read() as conn:
        now = svc.clock.now()
        available = _available(conn, worker_pk, now)
        held = {
            int(r.flow_definition_id): int(r.held)
            for r in conn.execute(
                sa.select(h.c.flow_definition_id, sa.func.count().label("held"))
                .join(a, a.c.loop_id == h.c.id)
                .where(a.c.worker_id == worker_pk, a.c.state == _LEASED, a.c.expires_at > now, _WORKABLE)
                .group_by(h.c.flow_definition_id)
            )
        }
        ids = sorted(set(available) | set(held))
        rows = (
            conn.execute(
                sa.select(
                    f.c.id,
                    f.c.name,
                    f.c.arn,
                    f.c.task_title,
                    f.c.task_description,
                    f.c.task_time_limit_seconds,
                    f.c.request,
                )
                .where(f.c.id.in_(ids))
                .order_by(f.c.id)
            ).all()
            if ids
            else []
        )
    return [
        Job(
            flow_definition_id=r.id,
            flow_definition_name=r.name,
            flow_definition_arn=r.arn,
            title=r.task_title,
            description=r.task_description,
            keywords=_keywords(r.request),
            available=available.get(r.id, 0),
            held=held.get(r.id, 0),
            task_time_limit_seconds=r.task_time_limit_seconds,
        )
        for r in rows
    ]


def _keywords(request: Any) -> tuple[str, ...]:
    config = request.get("HumanLoopConfig") if isinstance(request, dict) else None
    words = config.get("TaskKeywords") if isinstance(config, dict) else None
    return tuple(str(w) for w in words) if isinstance(words, list) else ()
