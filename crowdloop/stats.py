"""How far the work is: counters the console, `crowdloop status` and the metrics read instead of counting
loops or answers, so what they cost does not grow with the store.

Owner of four tables (store/tables.py):

* flow_loop_counts: loops, Σ task_count and Σ answers_count per (flow definition, status), kept by the
  database's triggers on human_loops (store/dialect.py), whatever writes a loop row;
* flow_answer_hours, flow_worker_stats, flow_answer_times: one row per flow and hour, per flow and worker,
  per flow, worker and time bucket, added to by `count_answer` in the transaction of each submitted answer
  (queue.submit).

Reads: StartHumanLoop's in-progress quota (loops.py) and the worker's job list (queue.jobs_for_worker) read
the InProgress loops from flow_loop_counts through in_progress_loops_of_account / in_progress_loops. Every
other function reads these counters (a few rows per flow definition, status, hour, worker and time
bucket) plus the leases held now (a seek on ix_assignments_state_expires: at most one lease per worker
and job). Medians come from the time histogram (`median_seconds`).
"""

from __future__ import annotations

import bisect
import math
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from crowdloop.errors import InvalidInput, NotFound
from crowdloop.model import AssignmentState, HumanLoopStatus
from crowdloop.runtime import Caller, Services
from crowdloop.store import dialect
from crowdloop.store.dialect import ANSWER_TIME_EDGES
from crowdloop.store.tables import (
    assignments,
    flow_answer_hours,
    flow_answer_times,
    flow_definitions,
    flow_loop_counts,
    flow_worker_stats,
    human_loops,
    workers,
)

ACTIVE_WINDOW = timedelta(minutes=15)  # a worker who answered within it (or holds a lease) is active
MAX_HOURS = 24 * 366  # answers_per_hour looks back at most a year
_HOUR_SECONDS = 3600
_ONE_HOUR = timedelta(hours=1)
_STATUSES = tuple(s.value for s in HumanLoopStatus)
# Loops whose every task (TaskCount: with an adaptive worker count the most they may get) is still wanted;
# ended ones need what they got: a Completed loop got TaskCount answers, or fewer when its workers agreed
# early (docs/quality.md), a Stopped or Failed one what it had.
_NEEDS_ALL = (HumanLoopStatus.IN_PROGRESS.value, HumanLoopStatus.STOPPING.value)
_OPEN = (HumanLoopStatus.IN_PROGRESS.value, HumanLoopStatus.STOPPING.value)


@dataclass(frozen=True)
class FlowProgress:
    flow_definition_id: int
    name: str
    arn: str
    status: str  # the flow definition's status
    created_at: datetime
    loops: dict[str, int]  # HumanLoopStatus value -> loops (every status, 0 if none)
    answers_received: int  # submitted answers counted on loops still stored
    answers_needed: int  # Σ task_count of InProgress/Stopping loops + answers of Completed/Stopped/Failed ones
    answers_last_hour: int
    median_seconds: float | None  # median time spent per answer (histogram estimate)
    workers_active: int  # answered in the last 15 minutes, or hold a lease on it now
    eta_seconds: float | None  # remaining answers / pace of the last hour (None without pace)
    tasks_waiting: int  # answers still needed on InProgress loops minus leases held now (the queue depth)


@dataclass(frozen=True)
class WorkerStats:
    worker_pk: int
    worker_id: str
    email: str
    answers: int
    median_seconds: float | None
    first_answer_at: datetime
    last_answer_at: datetime


# --- writing: one submitted answer ----------------------------------------------------------------------


def hour_of(at: datetime) -> int:
    """Whole hours since the epoch (UTC): flow_answer_hours.hour."""
    return math.floor(at.timestamp()) // _HOUR_SECONDS


def time_bucket(seconds: float) -> int:
    """The histogram bucket of a time spent (store.dialect.ANSWER_TIME_EDGES)."""
    return bisect.bisect_right(ANSWER_TIME_EDGES, max(seconds, 0.0))


def count_answer(conn: Connection, flow_definition_id: int, worker_pk: int, now: datetime, spent: float) -> None:
    """Count a submitted answer (queue.submit, in its transaction): its hour, its worker, its time bucket."""
    dialect.count_answer(conn, flow_definition_id, worker_pk, now, hour_of(now), spent, time_bucket(spent))


# --- the median from the histogram ------------------------------------------------------------------------


def median_seconds(histogram: Mapping[int, int]) -> float | None:
    """The median time spent estimated from bucket -> answers: the bucket holding the middle answer, and a
    point within it as far along (geometrically: the buckets are log-spaced) as the middle answer's rank
    is among that bucket's answers. Within one bucket's width (about 19 %) of the true median. The open
    last bucket answers with its lower edge. None for no answers."""
    total = sum(histogram.values())
    if total <= 0:
        return None
    middle = total / 2
    seen = 0
    for bucket in sorted(histogram):
        count = histogram[bucket]
        if count <= 0:
            continue
        if seen + count >= middle:
            share = (middle - seen) / count
            return _within_bucket(bucket, share)
        seen += count
    return _within_bucket(max(histogram), 1.0)  # unreachable with positive counts


def _within_bucket(bucket: int, share: float) -> float:
    edges = ANSWER_TIME_EDGES
    if bucket <= 0:
        return edges[0] * share
    if bucket >= len(edges):
        return edges[-1]
    low, high = edges[bucket - 1], edges[bucket]
    return float(low * (high / low) ** share)


# --- reading ------------------------------------------------------------------------------------------------


def overview(svc: Services, caller: Caller) -> list[FlowProgress]:
    """Every flow definition of the caller's account and region, by name."""
    with svc.store.read() as conn:
        flows = _flows(conn, caller, None)
        return _progress(conn, flows, svc.clock.now())


def progress(svc: Services, caller: Caller, flow_name: str) -> FlowProgress:
    """One flow definition's progress; NotFound when there is none of that name."""
    with svc.store.read() as conn:
        flows = _flows(conn, caller, flow_name)
        if not flows:
            raise _not_found(flow_name)
        return _progress(conn, flows, svc.clock.now())[0]


def answers_per_hour(svc: Services, caller: Caller, flow_name: str, hours: int) -> list[tuple[datetime, int]]:
    """Answers submitted in each of the last `hours` whole hours up to now (the current hour last), oldest
    first, hours without answers included (0)."""
    if not 1 <= hours <= MAX_HOURS:
        raise InvalidInput(f"hours must be between 1 and {MAX_HOURS}.", "hours")
    with svc.store.read() as conn:
        flow = _flow_id(conn, caller, flow_name)
        current = hour_of(svc.clock.now())
        first = current - hours + 1
        h = flow_answer_hours
        rows = conn.execute(
            sa.select(h.c.hour, sa.func.sum(h.c.answers).label("answers"))
            .where(h.c.flow_definition_id == flow, h.c.hour >= first, h.c.hour <= current)
            .group_by(h.c.hour)
        ).all()
    return zero_filled({int(r.hour): int(r.answers) for r in rows}, first, current)


def answers_per_hour_by_flow(svc: Services, caller: Caller, hours: int) -> dict[str, list[tuple[datetime, int]]]:
    """answers_per_hour for every flow definition of the caller at once (one statement: the overview's
    charts), by flow definition name."""
    if not 1 <= hours <= MAX_HOURS:
        raise InvalidInput(f"hours must be between 1 and {MAX_HOURS}.", "hours")
    h, f = flow_answer_hours, flow_definitions
    with svc.store.read() as conn:
        current = hour_of(svc.clock.now())
        first = current - hours + 1
        names = {int(row.id): str(row.name) for row in _flows(conn, caller, None)}
        rows = conn.execute(
            sa.select(h.c.flow_definition_id, h.c.hour, sa.func.sum(h.c.answers).label("answers"))
            .join(f, f.c.id == h.c.flow_definition_id)
            .where(f.c.account == caller.account, f.c.region == caller.region, h.c.hour >= first, h.c.hour <= current)
            .group_by(h.c.flow_definition_id, h.c.hour)
        ).all()
    counts: dict[int, dict[int, int]] = defaultdict(dict)
    for row in rows:
        counts[int(row.flow_definition_id)][int(row.hour)] = int(row.answers)
    return {name: zero_filled(counts.get(flow_id, {}), first, current) for flow_id, name in names.items()}


def zero_filled(counts: Mapping[int, int], first: int, last: int) -> list[tuple[datetime, int]]:
    """(start of hour, answers) for every hour first..last (hours since the epoch), 0 where none."""
    at = datetime.fromtimestamp(first * _HOUR_SECONDS, UTC)
    filled = []
    for hour in range(first, last + 1):  # one conversion, then steps of an hour (a quarter of the CPU)
        filled.append((at, int(counts.get(hour, 0))))
        at += _ONE_HOUR
    return filled


def worker_stats(svc: Services, caller: Caller, flow_name: str) -> list[WorkerStats]:
    """Every worker who answered on the flow definition, most answers first."""
    s, t, w = flow_worker_stats, flow_answer_times, workers
    with svc.store.read() as conn:
        flow = _flow_id(conn, caller, flow_name)
        rows = conn.execute(
            sa.select(s.c.worker_id, w.c.worker_id.label("opaque_id"), w.c.email, s.c.answers)
            .add_columns(s.c.first_answer_at, s.c.last_answer_at)
            .join(w, w.c.id == s.c.worker_id)
            .where(s.c.flow_definition_id == flow)
        ).all()
        histograms: dict[int, dict[int, int]] = defaultdict(dict)
        for worker_pk, bucket, answers in conn.execute(
            sa.select(t.c.worker_id, t.c.bucket, t.c.answers).where(t.c.flow_definition_id == flow)
        ):
            histograms[int(worker_pk)][int(bucket)] = int(answers)
    found = [
        WorkerStats(
            worker_pk=int(r.worker_id),
            worker_id=str(r.opaque_id),
            email=str(r.email),
            answers=int(r.answers),
            median_seconds=median_seconds(histograms.get(int(r.worker_id), {})),
            first_answer_at=r.first_answer_at,
            last_answer_at=r.last_answer_at,
        )
        for r in rows
    ]
    return sorted(found, key=lambda ws: (-ws.answers, ws.worker_id))


def loops_by_status(svc: Services) -> list[tuple[str, str, int]]:
    """(flow definition name, loop status, loops) for every flow definition and status (0 included), for
    the metrics."""
    with svc.store.read() as conn:
        names = _names(conn)
        counts = _loop_counts(conn, None)
    return [
        (name, status, counts[flow_id][status].loops)
        for flow_id, name in sorted(names.items(), key=lambda item: (item[1], item[0]))
        for status in _STATUSES
    ]


def answers_by_flow(svc: Services) -> list[tuple[str, int]]:
    """(flow definition name, answers ever submitted on it), for the metrics: a counter (the answers of
    deleted loops stay counted)."""
    s = flow_worker_stats
    with svc.store.read() as conn:
        names = _names(conn)
        totals = dict(
            conn.execute(
                sa.select(s.c.flow_definition_id, sa.func.sum(s.c.answers)).group_by(s.c.flow_definition_id)
            ).all()
        )
    return [
        (name, int(totals.get(flow_id) or 0))
        for flow_id, name in sorted(names.items(), key=lambda item: (item[1], item[0]))
    ]


def in_progress_loops_of_account(conn: Connection, account: str) -> int:
    """The account's InProgress loops (every region), summed from flow_loop_counts: exact within the caller's
    transaction (the triggers count its own inserts), and a few rows per flow definition whatever the number
    of loops (the in-progress quota: loops.py)."""
    c, f = flow_loop_counts, flow_definitions
    total = conn.execute(
        sa.select(sa.func.coalesce(sa.func.sum(c.c.loops), 0))
        .join(f, f.c.id == c.c.flow_definition_id)
        .where(f.c.account == account, c.c.status == HumanLoopStatus.IN_PROGRESS.value)
    ).scalar_one()
    return int(total)


def in_progress_loops(conn: Connection, flow_ids: Iterable[int]) -> dict[int, int]:
    """flow definition id -> its InProgress loops, from flow_loop_counts (flows without any left out)."""
    c = flow_loop_counts
    ids = list(flow_ids)
    if not ids:
        return {}
    rows = conn.execute(
        sa.select(c.c.flow_definition_id, sa.func.sum(c.c.loops))
        .where(c.c.flow_definition_id.in_(ids), c.c.status == HumanLoopStatus.IN_PROGRESS.value)
        .group_by(c.c.flow_definition_id)
    ).all()
    return {int(flow_id): int(loops) for flow_id, loops in rows if loops}


# --- helpers ------------------------------------------------------------------------------------------------


@dataclass
class _Counts:
    loops: int = 0
    tasks: int = 0
    answers: int = 0


def _flows(conn: Connection, caller: Caller, name: str | None) -> list[Any]:
    f = flow_definitions
    query = sa.select(f.c.id, f.c.name, f.c.arn, f.c.status, f.c.created_at).where(
        f.c.account == caller.account,
        f.c.region == caller.region,
        f.c.labeling_job_id.is_(None),  # a labeling job's own flow is not an A2I flow definition of the account
    )
    if name is not None:
        query = query.where(f.c.name == name)
    return list(conn.execute(query.order_by(f.c.name)).all())


def _flow_id(conn: Connection, caller: Caller, name: str) -> int:
    flows = _flows(conn, caller, name)
    if not flows:
        raise _not_found(name)
    return int(flows[0].id)


def _not_found(name: str) -> NotFound:
    return NotFound("flow definition", name, f"Flow definition {name} does not exist.")


def _names(conn: Connection) -> dict[int, str]:
    f = flow_definitions
    return {int(r.id): str(r.name) for r in conn.execute(sa.select(f.c.id, f.c.name))}


def _loop_counts(conn: Connection, flow_ids: Iterable[int] | None) -> dict[int, dict[str, _Counts]]:
    c = flow_loop_counts
    query = sa.select(
        c.c.flow_definition_id, c.c.status, sa.func.sum(c.c.loops), sa.func.sum(c.c.tasks), sa.func.sum(c.c.answers)
    ).group_by(c.c.flow_definition_id, c.c.status)
    if flow_ids is not None:
        query = query.where(c.c.flow_definition_id.in_(list(flow_ids)))
    counts: dict[int, dict[str, _Counts]] = defaultdict(lambda: defaultdict(_Counts))
    for flow_id, status, loops, tasks, answers in conn.execute(query):
        counts[int(flow_id)][str(status)] = _Counts(int(loops or 0), int(tasks or 0), int(answers or 0))
    return counts


def _progress(conn: Connection, flows: list[Any], now: datetime) -> list[FlowProgress]:
    from crowdloop.flows import effective_status  # flows imports queue, which counts answers here

    ids = [int(f.id) for f in flows]
    if not ids:
        return []
    counts = _loop_counts(conn, ids)
    last_hour = _answers_last_hour(conn, ids, now)
    medians = _flow_medians(conn, ids)
    recent = _recent_workers(conn, ids, now)
    held, held_in_progress = _held_leases(conn, ids, now)
    found = []
    for f in flows:
        flow_id = int(f.id)
        by_status = counts[flow_id]
        received = sum(c.answers for c in by_status.values())
        needed = sum(c.tasks if s in _NEEDS_ALL else c.answers for s, c in by_status.items())
        open_counts = [by_status[s] for s in _OPEN]
        remaining = sum(c.tasks - c.answers for c in open_counts)
        in_progress = by_status[HumanLoopStatus.IN_PROGRESS.value]
        pace = last_hour.get(flow_id, 0)
        found.append(
            FlowProgress(
                flow_definition_id=flow_id,
                name=str(f.name),
                arn=str(f.arn),
                status=effective_status(f.status, f.created_at, now).value,
                created_at=f.created_at,
                loops={s: by_status[s].loops for s in _STATUSES},
                answers_received=received,
                answers_needed=needed,
                answers_last_hour=pace,
                median_seconds=medians.get(flow_id),
                workers_active=len(recent[flow_id] | held[flow_id]),
                eta_seconds=max(remaining, 0) / pace * _HOUR_SECONDS if pace > 0 else None,
                tasks_waiting=max(in_progress.tasks - in_progress.answers - held_in_progress[flow_id], 0),
            )
        )
    return found


def _answers_last_hour(conn: Connection, ids: list[int], now: datetime) -> dict[int, int]:
    """Answers in the 60 minutes up to now: the current hour's, plus the previous hour's in proportion to
    the part of it within those 60 minutes (hour rows are all the store keeps)."""
    h = flow_answer_hours
    current = hour_of(now)
    elapsed = (now.timestamp() - current * _HOUR_SECONDS) / _HOUR_SECONDS
    rows = conn.execute(
        sa.select(h.c.flow_definition_id, h.c.hour, h.c.answers).where(
            h.c.flow_definition_id.in_(ids), h.c.hour >= current - 1, h.c.hour <= current
        )
    ).all()
    totals: dict[int, float] = defaultdict(float)
    for flow_id, hour, answers in rows:
        totals[int(flow_id)] += int(answers) * (1.0 if hour == current else 1.0 - elapsed)
    return {flow_id: round(total) for flow_id, total in totals.items()}


def _flow_medians(conn: Connection, ids: list[int]) -> dict[int, float | None]:
    t = flow_answer_times
    histograms: dict[int, dict[int, int]] = defaultdict(dict)
    for flow_id, bucket, answers in conn.execute(
        sa.select(t.c.flow_definition_id, t.c.bucket, sa.func.sum(t.c.answers))
        .where(t.c.flow_definition_id.in_(ids))
        .group_by(t.c.flow_definition_id, t.c.bucket)
    ):
        histograms[int(flow_id)][int(bucket)] = int(answers)
    return {flow_id: median_seconds(histogram) for flow_id, histogram in histograms.items()}


def _recent_workers(conn: Connection, ids: list[int], now: datetime) -> dict[int, set[int]]:
    s = flow_worker_stats
    found: dict[int, set[int]] = defaultdict(set)
    for flow_id, worker_pk in conn.execute(
        sa.select(s.c.flow_definition_id, s.c.worker_id).where(
            s.c.flow_definition_id.in_(ids), s.c.last_answer_at >= now - ACTIVE_WINDOW
        )
    ):
        found[int(flow_id)].add(int(worker_pk))
    return found


def _held_leases(conn: Connection, ids: list[int], now: datetime) -> tuple[dict[int, set[int]], dict[int, int]]:
    """Per flow definition: the workers holding an unexpired lease, and the leases held on loops in progress.
    A seek on ix_assignments_state_expires (the reaper's index): as many rows as leases held now, at most
    one per worker and job (queue.claim hands a worker's held lease back)."""
    a, h = assignments, human_loops
    holders: dict[int, set[int]] = defaultdict(set)
    in_progress: dict[int, int] = defaultdict(int)
    wanted = set(ids)
    for flow_id, worker_pk, status in conn.execute(
        sa.select(h.c.flow_definition_id, a.c.worker_id, h.c.status)
        .join(h, h.c.id == a.c.loop_id)
        .where(a.c.state == AssignmentState.LEASED.value, a.c.expires_at > now)
    ):
        if int(flow_id) not in wanted:
            continue
        holders[int(flow_id)].add(int(worker_pk))
        if status == HumanLoopStatus.IN_PROGRESS.value:
            in_progress[int(flow_id)] += 1
    return holders, in_progress
