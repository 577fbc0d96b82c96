"""Gold items and qualification (docs/quality.md "Gold items", "Qualification"): items with a known answer
mixed into a flow definition's queue (crowdloop:gold-rate), answered before its real tasks
(crowdloop:qualification), scoring the workers and pausing those below crowdloop:gold-min-accuracy.

This module owns gold_items, gold_assignments and worker_flow_quality.

    add_items / list_items / delete_item        the requester's (`crowdloop gold ...`, the console's gold page:
    summary / items_page / blocked_workers      these three too)
    claim_in                                    queue.claim, in its transaction, for flows with gold on: the
                                                worker's held gold lease, a qualifying or mixed-in gold item,
                                                BLOCKED (paused, qualification failed) or None (a loop, please)
    get_hold / submit_answer / release          a gold lease's page, answer and release, through queue's
                                                get_lease / submit / release with gold_item=True
    standings                                   what the portal tells a worker (paused, qualifying, ...)
    resume                                      `crowdloop workers resume` (and the console): a fresh start
    accuracies / paused_worker_ids              the scores and the export's flags
    count_real_answer / reap                    queue.submit and queue.reap_work

A gold answer never touches human_loops, the answer counters, output.json, loop events or exports: its
score goes to the worker's counters (worker_flow_quality), read without counting on the task path.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from crowdloop import eventlog, goldspec, output, quality, shuffle
from crowdloop.errors import InvalidInput, NotFound, TaskUnavailable
from crowdloop.goldspec import score as score
from crowdloop.model import FlowDefinitionStatus
from crowdloop.runtime import Caller, Services
from crowdloop.store import dialect
from crowdloop.store.tables import flow_definitions, gold_assignments, gold_items, worker_flow_quality, workers

LEASED, SUBMITTED, RELEASED, EXPIRED = "leased", "submitted", "released", "expired"
_random = secrets.SystemRandom()
_G, _I, _Q = gold_assignments, gold_items, worker_flow_quality
# A gold lease stays workable while its worker may work on its flow definition (store.dialect's one rule).
_MAY_WORK = dialect.worker_may_work_on_flow(
    f"{_G.name}.{_G.c.worker_id.name}", f"{_G.name}.{_G.c.flow_definition_id.name}"
)


@dataclass(frozen=True)
class Hold:
    """A worker's lease on one gold item (queue.Lease shows it to the portal like a loop's task)."""

    assignment_id: int
    gold_item_id: int
    worker_pk: int
    flow_definition_id: int
    input_content: str
    template_sha256: str
    accepted_at: datetime
    expires_at: datetime
    response_order: tuple[int, ...] | None
    qualifying: bool


class Blocked:
    """claim_in's answer for a worker who gets no task of the flow (paused, or the qualification failed)."""


BLOCKED = Blocked()


@dataclass(frozen=True)
class Standing:
    """A worker's gold counters on one flow definition and what they mean for them."""

    gold_answered: int = 0
    gold_score_sum: float = 0.0
    paused: bool = False
    qualified: bool = False
    failed: bool = False
    qualification: int = 0  # the flow's crowdloop:qualification (0: none)

    @property
    def accuracy(self) -> float | None:
        return self.gold_score_sum / self.gold_answered if self.gold_answered else None

    @property
    def questions_left(self) -> int:
        """Qualification questions still to answer (0 when there is no qualification or it is decided)."""
        if not self.qualification or self.qualified or self.failed:
            return 0
        return max(self.qualification - self.gold_answered, 0)


# --- the requester's: add, list, delete ------------------------------------------------------------------


@dataclass(frozen=True)
class GoldItem:
    name: str
    answer: dict[str, Any]
    created_at: datetime
    retired: bool
    answered: int  # submitted answers
    mean_score: float | None

    @property
    def kind(self) -> str:
        """The known answer's form: best, ranking, label or labels (goldspec.ANSWER_KINDS)."""
        return next(iter(self.answer), "")


def _flow_row(conn: Connection, caller: Caller, name: str) -> Any:
    f = flow_definitions
    row = conn.execute(
        sa.select(f.c.id, f.c.arn, f.c.name, f.c.status).where(
            f.c.account == caller.account,
            f.c.region == caller.region,
            sa.or_(f.c.name == name, f.c.arn == name),
            f.c.labeling_job_id.is_(None),  # not a labeling job's own flow
        )
    ).first()
    if row is None or row.status == FlowDefinitionStatus.DELETING:
        raise NotFound("flow definition", name, f"Flow definition {name} does not exist.")
    return row


def add_items(svc: Services, caller: Caller, flow_name: str, lines: Iterable[str]) -> list[str]:
    """Add gold items to a flow definition from JSONL lines (goldspec's format), all or none: every line is
    checked first (InvalidInput naming each bad line), and an id the flow has already is refused. Returns
    the names of the items added (a line without an id gets "gold-<n>")."""
    parsed = goldspec.parse_lines(lines)
    with svc.store.write() as conn:
        flow = _flow_row(conn, caller, flow_name)
        taken = set(conn.execute(sa.select(_I.c.name).where(_I.c.flow_definition_id == flow.id)).scalars())
        clashes = [f"line {line.number}: id {line.name!r} exists already" for line in parsed if line.name in taken]
        if clashes:
            raise InvalidInput("Nothing was added: " + "; ".join(clashes[: goldspec.MAX_PROBLEMS_SHOWN]) + ".", "gold")
        existing = len(taken)
        taken |= {line.name for line in parsed if line.name is not None}
        now, rows = svc.clock.now(), []
        for position, line in enumerate(parsed, existing + 1):  # "gold-<its position in the flow's items>"
            name, k = line.name, position
            while name is None or (line.name is None and name in taken):
                name, k = f"gold-{k}", k + 1
            taken.add(name)
            rows.append(
                {
                    "flow_definition_id": flow.id,
                    "name": name,
                    "input_content": line.input_content,
                    "answer": line.answer,
                    "created_at": now,
                }
            )
        conn.execute(_I.insert(), rows)
    return [str(row["name"]) for row in rows]


def list_items(svc: Services, caller: Caller, flow_name: str) -> list[GoldItem]:
    """A flow definition's gold items (retired ones too), oldest first, with their answers' count and mean."""
    with svc.store.read() as conn:
        flow = _flow_row(conn, caller, flow_name)
        answered = (
            sa.select(_G.c.gold_item_id, sa.func.count().label("n"), sa.func.avg(_G.c.score).label("mean"))
            .where(_G.c.flow_definition_id == flow.id, _G.c.state == SUBMITTED)
            .group_by(_G.c.gold_item_id)
            .subquery()
        )
        rows = conn.execute(
            sa.select(_I.c.name, _I.c.answer, _I.c.created_at, _I.c.retired_at, answered.c.n, answered.c.mean)
            .outerjoin(answered, answered.c.gold_item_id == _I.c.id)
            .where(_I.c.flow_definition_id == flow.id)
            .order_by(_I.c.id)
        ).all()
    return [
        GoldItem(
            name=row.name,
            answer=output.loads_json(row.answer),
            created_at=row.created_at,
            retired=row.retired_at is not None,
            answered=int(row.n or 0),
            mean_score=None if row.mean is None else float(row.mean),
        )
        for row in rows
    ]


@dataclass(frozen=True)
class Summary:
    """A flow definition's gold items at a glance (the console's flow page), with its settings."""

    active: int
    retired: int
    answered: int  # submitted answers to its gold items
    mean_score: float | None
    config: quality.QualityConfig


def summary(svc: Services, caller: Caller, flow_name: str) -> Summary:
    """Counts of the flow's gold items and their answers (three aggregate reads) and its settings as stored."""
    with svc.store.read() as conn:
        flow = _flow_row(conn, caller, flow_name)
        total, retired = conn.execute(
            sa.select(sa.func.count(), sa.func.count(_I.c.retired_at)).where(_I.c.flow_definition_id == flow.id)
        ).one()
        answered, mean = conn.execute(
            sa.select(sa.func.count(), sa.func.avg(_G.c.score)).where(
                _G.c.flow_definition_id == flow.id, _G.c.state == SUBMITTED
            )
        ).one()
        config = quality.config_for(conn, flow.arn)
    average = None if mean is None else float(mean)
    return Summary(int(total) - int(retired), int(retired), int(answered), average, config)


def items_page(
    svc: Services, caller: Caller, flow_name: str, *, after: str | None = None, limit: int = 100
) -> tuple[list[GoldItem], str | None]:
    """A keyset page of the flow's gold items (retired ones too), oldest first: the `limit` items after the
    one named `after` (the first ones without), with their answers' count and mean; and the name to pass as
    `after` for the next page (None on the last). Each page is an index seek, whatever its depth."""
    with svc.store.read() as conn:
        flow = _flow_row(conn, caller, flow_name)
        where = [_I.c.flow_definition_id == flow.id]
        if after is not None:
            previous = sa.select(_I.c.id).where(_I.c.flow_definition_id == flow.id, _I.c.name == after)
            where.append(_I.c.id > previous.scalar_subquery())
        items = _read_items(conn, where, limit + 1)
    shown = items[:limit]
    return shown, (shown[-1].name if len(items) > limit else None)


def get_item(svc: Services, caller: Caller, flow_name: str, name: str) -> GoldItem:
    """One gold item of the flow by name (retired or not), with its answers' count and mean; else NotFound."""
    with svc.store.read() as conn:
        flow = _flow_row(conn, caller, flow_name)
        found = _read_items(conn, [_I.c.flow_definition_id == flow.id, _I.c.name == name], 1)
    if not found:
        raise NotFound("gold item", name, f"Flow definition {flow_name} has no gold item {name}.")
    return found[0]


def _read_items(conn: Connection, where: list[sa.ColumnElement[bool]], limit: int) -> list[GoldItem]:
    rows = conn.execute(
        sa.select(_I.c.id, _I.c.name, _I.c.answer, _I.c.created_at, _I.c.retired_at)
        .where(*where)
        .order_by(_I.c.id)
        .limit(limit)
    ).all()
    counts = {
        int(row.gold_item_id): (int(row.n), row.mean)
        for row in conn.execute(
            sa.select(_G.c.gold_item_id, sa.func.count().label("n"), sa.func.avg(_G.c.score).label("mean"))
            .where(_G.c.gold_item_id.in_([row.id for row in rows]), _G.c.state == SUBMITTED)
            .group_by(_G.c.gold_item_id)
        )
    }
    items = []
    for row in rows:
        n, mean = counts.get(int(row.id), (0, None))
        items.append(
            GoldItem(
                name=row.name,
                answer=output.loads_json(row.answer),
                created_at=row.created_at,
                retired=row.retired_at is not None,
                answered=n,
                mean_score=None if mean is None else float(mean),
            )
        )
    return items


@dataclass(frozen=True)
class BlockedWorker:
    """A worker who gets no task of the flow: paused (gold accuracy too low) or failed its qualification."""

    email: str
    worker_id: str
    paused: bool  # else the qualification was failed
    since: datetime
    gold_answered: int
    accuracy: float | None


def blocked_workers(
    svc: Services, caller: Caller, flow_name: str, *, email: str | None = None, limit: int = 1000
) -> list[BlockedWorker]:
    """The flow's paused workers and those who failed its qualification (resume lets them work again), by
    email, at most `limit`; only the one with this `email` when given."""
    with svc.store.read() as conn:
        flow = _flow_row(conn, caller, flow_name)
        rows = conn.execute(
            sa.select(
                workers.c.email,
                workers.c.worker_id,
                _Q.c.paused_at,
                _Q.c.failed_at,
                _Q.c.gold_answered,
                _Q.c.gold_score_sum,
            )
            .join(workers, workers.c.id == _Q.c.worker_id)
            .where(_Q.c.flow_definition_id == flow.id, sa.or_(_Q.c.paused_at.is_not(None), _Q.c.failed_at.is_not(None)))
            .where(sa.true() if email is None else workers.c.email == email)
            .order_by(workers.c.email)
            .limit(limit)
        ).all()
    return [
        BlockedWorker(
            email=str(row.email),
            worker_id=str(row.worker_id),
            paused=row.paused_at is not None,
            since=row.paused_at if row.paused_at is not None else row.failed_at,
            gold_answered=int(row.gold_answered),
            accuracy=row.gold_score_sum / row.gold_answered if row.gold_answered else None,
        )
        for row in rows
    ]


def delete_item(svc: Services, caller: Caller, flow_name: str, name: str) -> None:
    """Retire a gold item: no worker is offered it again; its answers keep their scores (NotFound when the
    flow has no active item of that name)."""
    with svc.store.write() as conn:
        flow = _flow_row(conn, caller, flow_name)
        done = conn.execute(
            _I.update()
            .where(_I.c.flow_definition_id == flow.id, _I.c.name == name, _I.c.retired_at.is_(None))
            .values(retired_at=svc.clock.now())
        ).rowcount
    if not done:
        raise NotFound("gold item", name, f"Flow definition {flow_name} has no active gold item {name}.")


# --- the task path: claim, get, submit, release ----------------------------------------------------------

_HOLD_COLUMNS = (
    _G.c.id,
    _G.c.gold_item_id,
    _G.c.worker_id,
    _G.c.flow_definition_id,
    _G.c.accepted_at,
    _G.c.expires_at,
    _G.c.response_order,
    _G.c.qualifying,
    _I.c.input_content,
    flow_definitions.c.template_sha256,
)


def _holds() -> sa.Select[Any]:
    return (
        sa.select(*_HOLD_COLUMNS)
        .join(_I, _I.c.id == _G.c.gold_item_id)
        .join(flow_definitions, flow_definitions.c.id == _G.c.flow_definition_id)
    )


def _to_hold(row: Any) -> Hold:
    return Hold(
        assignment_id=row.id,
        gold_item_id=row.gold_item_id,
        worker_pk=row.worker_id,
        flow_definition_id=row.flow_definition_id,
        input_content=row.input_content,
        template_sha256=row.template_sha256,
        accepted_at=row.accepted_at,
        expires_at=row.expires_at,
        response_order=shuffle.decode(row.response_order),
        qualifying=bool(row.qualifying),
    )


def uses_gold(config: quality.QualityConfig) -> bool:
    """Whether claims of a flow with these settings ask for gold items (claim_in)."""
    return config.gold_rate > 0 or config.qualification > 0


def claim_in(
    svc: Services,
    conn: Connection,
    worker_pk: int,
    flow_definition_id: int,
    now: datetime,
    config: quality.QualityConfig,
) -> Hold | Blocked | None:
    """For queue.claim of a flow with gold on, in its write transaction, after the worker's held loop lease:
    the worker's held gold lease; BLOCKED when they are paused or failed the qualification; a qualifying gold
    item while they have not qualified; a gold item when the draw falls below gold_rate; else None (the
    claim goes on with a loop). A worker never gets a gold item they had before."""
    held = conn.execute(
        _holds().where(
            _G.c.worker_id == worker_pk,
            _G.c.flow_definition_id == flow_definition_id,
            _G.c.state == LEASED,
            _G.c.expires_at > now,
        )
    ).first()
    if held is not None:
        return _to_hold(held)
    row = _counters(conn, flow_definition_id, worker_pk)
    if row is not None and (row.paused_at is not None or row.failed_at is not None):
        return BLOCKED
    if config.qualification > 0 and (row is None or row.qualified_at is None):
        hold = _lease_next(svc, conn, worker_pk, flow_definition_id, now, config, qualifying=True)
        if hold is not None:
            return hold
        # no question left to ask: decide with the answers given
        answered = row is not None and row.gold_answered > 0
        if answered and not _decide_qualification(conn, flow_definition_id, worker_pk, now, config):
            return BLOCKED
        # no gold item at all: nothing to qualify with, the worker goes on (docs/quality.md)
    if config.gold_rate > 0 and _random.random() < config.gold_rate:
        return _lease_next(svc, conn, worker_pk, flow_definition_id, now, config, qualifying=False)
    return None


def _unanswered(worker_pk: int, flow_definition_id: int) -> sa.ColumnElement[bool]:
    had = sa.exists().where(_G.c.gold_item_id == _I.c.id, _G.c.worker_id == worker_pk)
    return sa.and_(_I.c.flow_definition_id == flow_definition_id, _I.c.retired_at.is_(None), ~had)


def _lease_next(
    svc: Services,
    conn: Connection,
    worker_pk: int,
    flow_definition_id: int,
    now: datetime,
    config: quality.QualityConfig,
    *,
    qualifying: bool,
) -> Hold | None:
    """Lease the worker an active gold item they never had: the oldest for the qualification (every worker
    qualifies on the same questions), a random one when mixed in."""
    pick = sa.select(_I.c.id, _I.c.input_content).where(_unanswered(worker_pk, flow_definition_id))
    pick = pick.order_by(_I.c.id if qualifying else sa.func.random()).limit(1)
    item = conn.execute(pick).first()
    if item is None:
        return None
    f = flow_definitions
    flow = conn.execute(
        sa.select(f.c.template_sha256, f.c.task_time_limit_seconds).where(f.c.id == flow_definition_id)
    ).one()
    order = None
    if config.shuffle_responses:
        try:
            order = shuffle.order_for_input(output.loads_json(item.input_content))
        except ValueError:
            order = None
    expires_at = now + timedelta(seconds=flow.task_time_limit_seconds)
    assignment_id = conn.execute(
        _G.insert()
        .values(
            gold_item_id=item.id,
            flow_definition_id=flow_definition_id,
            worker_id=worker_pk,
            state=LEASED,
            accepted_at=now,
            expires_at=expires_at,
            response_order=None if order is None else shuffle.encode(order),
            qualifying=qualifying,
        )
        .returning(_G.c.id)
    ).scalar_one()
    return Hold(
        assignment_id=int(assignment_id),
        gold_item_id=int(item.id),
        worker_pk=worker_pk,
        flow_definition_id=flow_definition_id,
        input_content=item.input_content,
        template_sha256=flow.template_sha256,
        accepted_at=now,
        expires_at=expires_at,
        response_order=order,
        qualifying=qualifying,
    )


def get_hold(svc: Services, assignment_id: int, worker_pk: int) -> Hold:
    """The worker's unexpired, still workable gold lease with this id, else TaskUnavailable."""
    with svc.store.read() as conn:
        now = svc.clock.now()
        row = conn.execute(
            _holds().where(
                _G.c.id == assignment_id,
                _G.c.worker_id == worker_pk,
                _G.c.state == LEASED,
                _G.c.expires_at > now,
                _MAY_WORK,
            )
        ).first()
        if row is None:
            raise _unavailable(conn, assignment_id, worker_pk, now)
        return _to_hold(row)


@dataclass(frozen=True)
class GoldResult:
    flow_definition_id: int
    score: float | None  # None: the answer could not be read (counted as 0)
    standing: Standing
    paused: bool  # this answer paused the worker: the caller withdraws their held loop leases of the flow


def submit_answer(
    svc: Services,
    conn: Connection,
    now: datetime,
    assignment_id: int,
    worker_pk: int,
    answer_content: dict[str, Any],
    time_spent_seconds: float,
) -> GoldResult:
    """Store the worker's answer to a gold item and its score and update their counters, in the caller's
    transaction (queue.submit with gold_item, which also withdraws the held loop leases of a worker this
    paused). A qualifying answer may decide the qualification; after gold_min_items answers, an accuracy
    below gold_min_accuracy pauses the worker for the flow (the Worker Paused event is recorded). Nothing of
    the flow's loops, answer counters or outputs changes. TaskUnavailable when the worker holds no such lease."""
    answer = output.dumps_json(answer_content).decode()
    spent = round(max(float(time_spent_seconds), 0.0), 3)
    ended = conn.execute(
        _G.update()
        .where(
            _G.c.id == assignment_id,
            _G.c.worker_id == worker_pk,
            _G.c.state == LEASED,
            _G.c.expires_at > _at(now),
            _MAY_WORK,
        )
        .values(state=SUBMITTED, ended_at=_at(now), answer_content=answer, time_spent_seconds=spent)
        .returning(_G.c.gold_item_id, _G.c.flow_definition_id, _G.c.response_order, _G.c.qualifying)
    ).first()
    if ended is None:
        raise _unavailable(conn, assignment_id, worker_pk, now)
    flow_id = int(ended.flow_definition_id)
    item = conn.execute(sa.select(_I.c.input_content, _I.c.answer).where(_I.c.id == ended.gold_item_id)).one()
    found = score(
        output.loads_json(item.input_content),
        output.loads_json(item.answer),
        answer_content,
        shuffle.decode(ended.response_order),
    )
    points = found if found is not None else 0.0
    conn.execute(_G.update().where(_G.c.id == assignment_id).values(score=points))
    dialect.insert_worker_quality_if_absent(conn, flow_id, worker_pk)
    row = conn.execute(
        _Q.update()
        .where(_Q.c.flow_definition_id == flow_id, _Q.c.worker_id == worker_pk)
        .values(gold_answered=_Q.c.gold_answered + 1, gold_score_sum=_Q.c.gold_score_sum + points, real_since_gold=0)
        .returning(_Q.c.gold_answered, _Q.c.gold_score_sum, _Q.c.qualified_at, _Q.c.failed_at, _Q.c.paused_at)
    ).one()
    config = quality.current_config(svc, conn, flow_id)
    paused = False
    if ended.qualifying and row.qualified_at is None and row.failed_at is None:
        left = conn.execute(sa.select(_I.c.id).where(_unanswered(worker_pk, flow_id)).limit(1)).first()
        if row.gold_answered >= config.qualification or left is None:
            _decide_qualification(conn, flow_id, worker_pk, now, config)
    elif row.paused_at is None and _below_minimum(row.gold_answered, row.gold_score_sum, config):
        _pause(svc, conn, flow_id, worker_pk, now, row.gold_answered, row.gold_score_sum, config)
        paused = True
    return GoldResult(flow_id, found, _standing(_counters(conn, flow_id, worker_pk), config), paused)


def _below_minimum(answered: int, total: float, config: quality.QualityConfig) -> bool:
    minimum = config.gold_min_accuracy
    return minimum > 0 and answered >= config.gold_min_items and total / answered < minimum


def _pause(
    svc: Services,
    conn: Connection,
    flow_id: int,
    worker_pk: int,
    now: datetime,
    answered: int,
    total: float,
    config: quality.QualityConfig,
) -> None:
    conn.execute(
        _Q.update().where(_Q.c.flow_definition_id == flow_id, _Q.c.worker_id == worker_pk).values(paused_at=now)
    )
    flow_arn = conn.execute(sa.select(flow_definitions.c.arn).where(flow_definitions.c.id == flow_id)).scalar_one()
    worker_id = conn.execute(sa.select(workers.c.worker_id).where(workers.c.id == worker_pk)).scalar_one()
    eventlog.worker_paused(
        conn,
        now,
        source=svc.settings.events_source,
        flow_arn=str(flow_arn),
        worker_id=str(worker_id),
        gold_answered=answered,
        gold_accuracy=total / answered,
        min_accuracy=config.gold_min_accuracy,
    )


def _decide_qualification(
    conn: Connection, flow_id: int, worker_pk: int, now: datetime, config: quality.QualityConfig
) -> bool:
    """Qualified (mean score of the gold answers so far at least gold_min_accuracy) or failed; True when
    qualified."""
    row = conn.execute(
        sa.select(_Q.c.gold_answered, _Q.c.gold_score_sum).where(
            _Q.c.flow_definition_id == flow_id, _Q.c.worker_id == worker_pk
        )
    ).one()
    passed = bool(row.gold_answered > 0 and row.gold_score_sum / row.gold_answered >= config.gold_min_accuracy)
    conn.execute(
        _Q.update()
        .where(_Q.c.flow_definition_id == flow_id, _Q.c.worker_id == worker_pk)
        .values(**({"qualified_at": now} if passed else {"failed_at": now}))
    )
    return passed


def release(svc: Services, assignment_id: int, worker_pk: int) -> None:
    """Give a gold item back (release or decline: the same). The worker is not offered it again."""
    with svc.store.write() as conn:
        now = svc.clock.now()
        done = conn.execute(
            _G.update()
            .where(_G.c.id == assignment_id, _G.c.worker_id == worker_pk, _G.c.state == LEASED, _G.c.expires_at > now)
            .values(state=RELEASED, ended_at=now)
        ).rowcount
        if not done:
            raise _unavailable(conn, assignment_id, worker_pk, now)


def _unavailable(conn: Connection, assignment_id: int, worker_pk: int, now: datetime) -> TaskUnavailable:
    row = conn.execute(sa.select(_G.c.state, _G.c.worker_id, _G.c.expires_at).where(_G.c.id == assignment_id)).first()
    if row is None:
        return TaskUnavailable("This task is no longer available.", "gone")
    if row.worker_id != worker_pk:
        return TaskUnavailable("This task is assigned to another worker.", "not-yours")
    if row.state == EXPIRED or (row.state == LEASED and row.expires_at <= now):
        return TaskUnavailable("The time limit for this task has run out.", "expired")
    return TaskUnavailable("This task is no longer available.", "gone")


def _at(now: datetime) -> sa.BindParameter[datetime]:
    return sa.bindparam(None, now, type_=_G.c.ended_at.type)


# --- counters and standings -------------------------------------------------------------------------------


def _counters(conn: Connection, flow_definition_id: int, worker_pk: int) -> Any:
    return conn.execute(
        sa.select(_Q).where(_Q.c.flow_definition_id == flow_definition_id, _Q.c.worker_id == worker_pk)
    ).first()


def _standing(row: Any, config: quality.QualityConfig) -> Standing:
    if row is None:
        return Standing(qualification=config.qualification)
    return Standing(
        gold_answered=int(row.gold_answered),
        gold_score_sum=float(row.gold_score_sum),
        paused=row.paused_at is not None,
        qualified=row.qualified_at is not None,
        failed=row.failed_at is not None,
        qualification=config.qualification,
    )


def standings(svc: Services, worker_pk: int, flow_ids: Iterable[int]) -> dict[int, Standing]:
    """The worker's standing on each of these flow definitions that uses gold items (the portal's texts)."""
    wanted = sorted(set(flow_ids))
    if not wanted:
        return {}
    with svc.store.read() as conn:
        configs = {fid: quality.current_config(svc, conn, fid) for fid in wanted}
        gold_flows = [fid for fid, config in configs.items() if uses_gold(config)]
        if not gold_flows:
            return {}
        rows = {
            int(row.flow_definition_id): row
            for row in conn.execute(
                sa.select(_Q).where(_Q.c.worker_id == worker_pk, _Q.c.flow_definition_id.in_(gold_flows))
            )
        }
    return {fid: _standing(rows.get(fid), configs[fid]) for fid in gold_flows}


def count_real_answer(conn: Connection, flow_definition_id: int, worker_pk: int) -> None:
    """A real answer of a flow with gold on (queue.submit): one more since the worker's last gold answer."""
    conn.execute(
        _Q.update()
        .where(_Q.c.flow_definition_id == flow_definition_id, _Q.c.worker_id == worker_pk)
        .values(real_since_gold=_Q.c.real_since_gold + 1)
    )


def resume(svc: Services, caller: Caller, flow_name: str, worker_email: str) -> None:
    """Clear a worker's pause (or failed qualification) on a flow definition, with their gold counters: a
    fresh start. Items they answered are still never offered to them again."""
    with svc.store.write() as conn:
        flow = _flow_row(conn, caller, flow_name)
        worker = conn.execute(sa.select(workers.c.id).where(workers.c.email == worker_email)).first()
        if worker is None:
            raise NotFound("worker", worker_email)
        done = conn.execute(
            _Q.update()
            .where(_Q.c.flow_definition_id == flow.id, _Q.c.worker_id == worker.id)
            .values(gold_answered=0, gold_score_sum=0.0, real_since_gold=0, paused_at=None, failed_at=None)
        ).rowcount
    if not done:
        raise NotFound("worker", worker_email, f"{worker_email} has no gold answers in {flow_name}: nothing to resume.")


@dataclass(frozen=True)
class Accuracy:
    gold_answered: int
    accuracy: float | None
    paused: bool


def accuracies(conn: Connection, flow_definition_id: int) -> dict[str, Accuracy]:
    """Each worker's gold accuracy on the flow (worker public id -> counters), from the counters."""
    rows = conn.execute(
        sa.select(workers.c.worker_id, _Q.c.gold_answered, _Q.c.gold_score_sum, _Q.c.paused_at)
        .join(workers, workers.c.id == _Q.c.worker_id)
        .where(_Q.c.flow_definition_id == flow_definition_id)
    ).all()
    return {
        str(row.worker_id): Accuracy(
            int(row.gold_answered),
            row.gold_score_sum / row.gold_answered if row.gold_answered else None,
            row.paused_at is not None,
        )
        for row in rows
    }


def flow_accuracies(svc: Services, flow_definition_id: int) -> dict[str, Accuracy]:
    """accuracies in a read of its own (the console's worker table)."""
    with svc.store.read() as conn:
        return accuracies(conn, flow_definition_id)


def paused_worker_ids(conn: Connection, flow_definition_id: int) -> frozenset[str]:
    """The public ids of the workers paused for the flow (their answers are flagged, reason "paused")."""
    rows = conn.execute(
        sa.select(workers.c.worker_id)
        .join(_Q, _Q.c.worker_id == workers.c.id)
        .where(_Q.c.flow_definition_id == flow_definition_id, _Q.c.paused_at.is_not(None))
    ).scalars()
    return frozenset(str(worker_id) for worker_id in rows)


def paused_worker_pks(conn: Connection, flow_definition_id: int) -> frozenset[int]:
    """The workers (row ids) paused for the flow: the adaptive worker count leaves their answers out."""
    rows = conn.execute(
        sa.select(_Q.c.worker_id).where(_Q.c.flow_definition_id == flow_definition_id, _Q.c.paused_at.is_not(None))
    ).scalars()
    return frozenset(int(worker) for worker in rows)


def reap(conn: Connection, now: datetime) -> int:
    """Expire overdue gold leases (queue.reap_work); how many."""
    return int(
        conn.execute(
            _G.update()
            .where(_G.c.state == LEASED, _G.c.expires_at <= now)
            .values(state=EXPIRED, ended_at=_G.c.expires_at)
        ).rowcount
    )
