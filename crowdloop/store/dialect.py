"""Every statement whose SQL differs between SQLite and PostgreSQL, and the hot statements written with
literal constants so the partial indexes in tables.py can serve them (a bound `status = ?` cannot be
matched to an index predicate `status = 'InProgress'`).

Claiming on PostgreSQL locks the chosen loop row (or outbox rows) with `FOR UPDATE SKIP LOCKED` so
concurrent claims take different rows instead of queueing; on SQLite `BEGIN IMMEDIATE` already
serialises writers.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from crowdloop.store.prepared import Prepared
from crowdloop.store.tables import (
    UtcDateTime,
    assignments,
    deliveries,
    events,
    human_loops,
    outbox,
    worker_flow_quality,
)

# The states covered by uq_assignments_loop_worker_active, spelled exactly as in its predicate.
_HOLDS_OR_HELD = "('leased', 'submitted', 'declined')"

# Loops of a flow definition this worker may take: open, not past availability, not one the worker
# holds, answered or declined; the claim also requires that the worker may work on the flow (below), so a
# flow definition being deleted offers nothing.
_CLAIMABLE = f"""
    hl.status = 'InProgress' AND hl.open_slots > 0
    AND hl.available_until > :now
    AND NOT EXISTS (SELECT 1 FROM assignments a WHERE a.loop_id = hl.id AND a.worker_id = :worker
                    AND a.state IN {_HOLDS_OR_HELD})
"""

# Who may work on a flow definition, the one rule behind every "may this worker work on this job" that
# queue.py asks (the claim, the job list, the job pages, keeping a held task workable): the worker is active
# and in a group the flow's work team selects, and the flow definition is Initializing or Active. A held
# task also needs its loop InProgress (queue._WORKABLE).
_TEAM_MEMBERS = """flow_definitions f
    JOIN workteams t ON t.arn = f.workteam_arn
    JOIN workteam_groups tg ON tg.workteam_id = t.id
    JOIN worker_groups wg ON wg.group_name = tg.group_name
    JOIN workers w ON w.id = wg.worker_id"""
_MAY_WORK = "w.status = 'active' AND f.status IN ('Initializing', 'Active')"

_ELIGIBLE_FLOWS = f"""SELECT DISTINCT f.id, f.task_availability_lifetime_seconds FROM {_TEAM_MEMBERS}
    WHERE w.id = :worker AND {_MAY_WORK} ORDER BY f.id"""


def _may_work_on_flow(worker: str, flow_definition: str) -> str:
    return (
        f"EXISTS (SELECT 1 FROM {_TEAM_MEMBERS} WHERE f.id = {flow_definition} AND wg.worker_id = {worker}"
        f" AND {_MAY_WORK})"
    )


def worker_may_work_on_flow(worker: str, flow_definition: str) -> sa.TextClause:
    """The rule as a condition for a Core statement: `worker` and `flow_definition` are SQL expressions
    (a bound ":name" or a column the outer statement names, e.g. "assignments.worker_id")."""
    return sa.text(_may_work_on_flow(worker, flow_definition))


# The flow definition is matched as a range, not `= :fd`: PostgreSQL would otherwise see that the primary
# key also yields id order for one flow definition, assume that flow's loops are spread evenly over all
# ids and walk the primary key through every other flow's loops. A range keeps the (flow_definition_id,
# id) order of ix_human_loops_claim the only cheap way to answer ORDER BY ... LIMIT 1.
_CLAIM = """
UPDATE human_loops SET open_slots = open_slots - 1
WHERE id = (
    SELECT hl.id FROM human_loops hl {claim_index}
    WHERE hl.flow_definition_id >= :fd AND hl.flow_definition_id <= :fd AND {claimable}
      AND {eligible}
    ORDER BY hl.flow_definition_id, hl.id LIMIT 1 {lock}
) AND status = 'InProgress' AND open_slots > 0{also}
RETURNING id, name, arn, input_content, template_sha256, task_time_limit_seconds, flow_definition_id
"""

# The job list's loops in progress that this worker cannot claim now, per flow definition, in three disjoint
# kinds (queue.jobs_for_worker subtracts them from the InProgress loops its counters give): loops with no open
# slot, found through the leases held now; loops with an open slot past their availability lifetime, which
# the reaper has yet to fail; loops with an open slot, still available, that this worker holds, answered or
# declined, found through its own assignments accepted since the oldest loop that can still be available was
# created (ix_assignments_worker_accepted: its recent work, not its whole history). Each part starts from the
# few rows it is about (the leases held, the sweep's backlog, the worker's recent assignments) and looks loops
# up by id: SQLite is told so (its
# statistics would have it walk a flow definition's loops), PostgreSQL plans it so by itself.
_UNCLAIMABLE = f"""
SELECT hl.flow_definition_id AS flow_definition_id, count(DISTINCT hl.id) AS loops
FROM assignments a {{leases}} JOIN human_loops hl {{by_id}} ON hl.id = a.loop_id
WHERE a.state = 'leased' AND hl.status = 'InProgress' AND hl.open_slots = 0
GROUP BY hl.flow_definition_id
UNION ALL
SELECT hl.flow_definition_id, count(*) FROM human_loops hl {{backlog}}
WHERE hl.status = 'InProgress' AND hl.available_until <= :now AND hl.open_slots > 0
GROUP BY hl.flow_definition_id
UNION ALL
SELECT hl.flow_definition_id, count(*)
FROM assignments a {{own}} JOIN human_loops hl {{by_id}} ON hl.id = a.loop_id
WHERE a.worker_id = :worker AND a.state IN {_HOLDS_OR_HELD} AND a.accepted_at > :since
  AND hl.status = 'InProgress' AND hl.open_slots > 0 AND hl.available_until > :now
GROUP BY hl.flow_definition_id
"""
_UNCLAIMABLE_HINTS = {
    "sqlite": {
        "leases": "INDEXED BY ix_assignments_state_expires",
        "by_id": "NOT INDEXED",  # the rowid (the primary key) only
        "backlog": "INDEXED BY ix_human_loops_status_available",
        "own": "INDEXED BY ix_assignments_worker_accepted",
    },
    "postgresql": {"leases": "", "by_id": "", "backlog": "", "own": ""},
}

# Claim the next due rows of one outbox kind (crowdloop/outbox.py) in one statement: rows nobody holds, or
# whose holder's claim ran out, after `:after` in id order. PostgreSQL locks the chosen rows (SKIP LOCKED:
# a concurrent claim takes the next ones instead of waiting, then finds these claimed); on SQLite
# `BEGIN IMMEDIATE` already serialises the claims.
_OUTBOX_DUE = """
    SELECT id FROM outbox
    WHERE kind = :kind AND id > :after AND due_at <= :now AND (claimed_until IS NULL OR claimed_until <= :now)
    ORDER BY id LIMIT :limit
"""
_OUTBOX_CLAIM = {
    "sqlite": f"""
UPDATE outbox SET claimed_until = :until, claim_token = :token
WHERE id IN ({_OUTBOX_DUE})
RETURNING id, key, payload, attempts
""",
    "postgresql": f"""
WITH due AS ({_OUTBOX_DUE} FOR UPDATE SKIP LOCKED)
UPDATE outbox SET claimed_until = :until, claim_token = :token
FROM due WHERE outbox.id = due.id
RETURNING outbox.id, outbox.key, outbox.payload, outbox.attempts
""",
}

# SQLite's planner has no statistics unless ANALYZE ran; name the partial index outright (an error, not a
# silent table scan, if the predicate ever stops matching). PostgreSQL picks them by itself.
_HINTS = {
    "sqlite": {
        "claim_index": "INDEXED BY ix_human_loops_claim",
        "lock": "",
    },
    "postgresql": {"claim_index": "", "lock": "FOR UPDATE OF hl SKIP LOCKED"},
}


def _typed(sql: str) -> sa.TextClause:
    typed = [sa.bindparam(name, type_=UtcDateTime) for name in ("now", "since") if f":{name}" in sql]
    return sa.text(sql).bindparams(*typed)


def _per_dialect(template: str, **parts: str) -> dict[str, sa.TextClause]:
    statements = {}
    for name, hints in _HINTS.items():
        sql = template.format(**parts, **hints)
        statements[name] = _typed(sql) if ":now" in sql else sa.text(sql)
    return statements


_CLAIM_SQL = {
    name: Prepared(statement)
    for name, statement in _per_dialect(
        _CLAIM, claimable=_CLAIMABLE, eligible=_may_work_on_flow(":worker", ":fd"), also=""
    ).items()
}

# PostgreSQL: the whole claim of queue.claim (the lease the worker holds on the job already, else the next
# slot and a new lease on it) as one statement in autocommit instead of a transaction of five round trips
# (BEGIN, held lease, slot, new lease, COMMIT; each costs the portal's server 25-60 us of CPU). `slot` runs
# only when `held` found nothing; it takes the slot as _CLAIM does, and a lost race on
# uq_assignments_loop_worker_active fails the whole statement (IntegrityError: the caller tries again). Rows
# as queue's lease columns. SQLite has no data-modifying WITH: it claims in a transaction.
_CLAIM_LEASE = f"""
WITH held AS (
    SELECT a.id, a.worker_id, a.loop_id, a.accepted_at, a.expires_at, a.response_order,
           h.name, h.arn, h.flow_definition_id, h.input_content, h.template_sha256
    FROM assignments a JOIN human_loops h ON h.id = a.loop_id
    WHERE a.worker_id = :worker AND a.state = 'leased' AND a.expires_at > :now AND h.flow_definition_id = :fd
      AND h.status = 'InProgress' AND {_may_work_on_flow("a.worker_id", "h.flow_definition_id")}
    ORDER BY a.id LIMIT 1
), slot AS (
    {
    _CLAIM.format(
        claimable=_CLAIMABLE,
        eligible=_may_work_on_flow(":worker", ":fd"),
        also=" AND NOT EXISTS (SELECT 1 FROM held)",
        **_HINTS["postgresql"],
    )
}
), lease AS (
    INSERT INTO assignments (loop_id, worker_id, state, accepted_at, expires_at)
    SELECT id, :worker, 'leased', :now, :now + task_time_limit_seconds * CAST(1000000 AS BIGINT) FROM slot
    RETURNING id, worker_id, loop_id, accepted_at, expires_at, response_order
)
SELECT * FROM held
UNION ALL
SELECT lease.id, lease.worker_id, lease.loop_id, lease.accepted_at, lease.expires_at, lease.response_order,
       slot.name, slot.arn, slot.flow_definition_id, slot.input_content, slot.template_sha256
FROM lease JOIN slot ON slot.id = lease.loop_id
"""
_CLAIM_LEASE_SQL = Prepared(
    sa.text(_CLAIM_LEASE)
    .bindparams(sa.bindparam("now", type_=UtcDateTime))
    .columns(  # in the SELECT's order; names and types from the tables
        *(assignments.c[n] for n in ("id", "worker_id", "loop_id", "accepted_at", "expires_at", "response_order")),
        *(human_loops.c[n] for n in ("name", "arn", "flow_definition_id", "input_content", "template_sha256")),
    )
)


def claims_in_one_statement(dialect_name: str) -> bool:
    """Whether claim_lease runs on this database (PostgreSQL)."""
    return dialect_name == "postgresql"


def claim_lease(conn: Connection, worker_pk: int, flow_definition_id: int, now: datetime) -> Any | None:
    """PostgreSQL (claims_in_one_statement), in autocommit: the worker's unexpired lease on a workable loop
    of this job, else a new lease (no response order) on the next open slot, else None; as queue's lease
    columns. IntegrityError when the new lease lost a race (nothing was taken)."""
    return _CLAIM_LEASE_SQL.first(conn, {"worker": worker_pk, "fd": flow_definition_id, "now": now})


_ELIGIBLE_FLOWS_SQL = sa.text(_ELIGIBLE_FLOWS)
_UNCLAIMABLE_SQL = {name: _typed(_UNCLAIMABLE.format(**hints)) for name, hints in _UNCLAIMABLE_HINTS.items()}
_OUTBOX_CLAIM_SQL = {
    name: sa.text(sql)
    .bindparams(sa.bindparam("now", type_=UtcDateTime), sa.bindparam("until", type_=UtcDateTime))
    .columns(id=sa.Integer, key=sa.String, payload=sa.LargeBinary, attempts=sa.Integer)
    for name, sql in _OUTBOX_CLAIM.items()
}


def claim_slot(conn: Connection, worker_pk: int, flow_definition_id: int, now: datetime) -> Any | None:
    """Take one open slot of the first claimable loop (FIFO by id): the loop's (id, name, arn,
    input_content, template_sha256, task_time_limit_seconds), or None when there is none."""
    statement = _CLAIM_SQL[conn.dialect.name]
    return statement.first(conn, {"fd": flow_definition_id, "worker": worker_pk, "now": now})


def unclaimable_loops(conn: Connection, worker_pk: int, now: datetime, since: datetime) -> dict[int, int]:
    """flow_definition_id -> InProgress loops this worker cannot claim now (_UNCLAIMABLE's three kinds); `since`:
    no loop still available was created before it (its assignments were accepted later)."""
    found: dict[int, int] = {}
    params = {"worker": worker_pk, "now": now, "since": since}
    for row in conn.execute(_UNCLAIMABLE_SQL[conn.dialect.name], params):
        found[int(row.flow_definition_id)] = found.get(int(row.flow_definition_id), 0) + int(row.loops)
    return found


def flows_worker_may_work_on(conn: Connection, worker_pk: int) -> dict[int, int]:
    """The flow definitions this worker may work on now (the claim's rule): id -> its task availability
    lifetime in seconds, in id order."""
    return {int(row[0]): int(row[1]) for row in conn.execute(_ELIGIBLE_FLOWS_SQL, {"worker": worker_pk})}


def claim_outbox_rows(
    conn: Connection, kind: str, *, after: int, now: datetime, until: datetime, token: str, limit: int
) -> list[Any]:
    """Claim (up to `limit`) due rows of `kind` with id > after for the writer `token` until `until`:
    their (id, key, payload, attempts), in id order."""
    params = {"kind": kind, "after": after, "now": now, "until": until, "token": token, "limit": limit}
    return sorted(conn.execute(_OUTBOX_CLAIM_SQL[conn.dialect.name], params).all(), key=lambda row: int(row.id))


def _outbox_upsert(insert: Any, *, replace_payload: bool) -> Any:
    statement = insert(outbox).values(
        kind=sa.bindparam("kind"),
        key=sa.bindparam("key"),
        payload=sa.bindparam("payload", type_=sa.LargeBinary),
        due_at=sa.bindparam("due_at", type_=UtcDateTime),
        attempts=0,
    )
    if replace_payload:
        return statement.on_conflict_do_update(
            index_elements=["kind", "key"], set_={"payload": statement.excluded.payload}
        )
    return statement.on_conflict_do_nothing(index_elements=["kind", "key"])


_OUTBOX_INSERT = {
    (name, replace): Prepared(_outbox_upsert(insert, replace_payload=replace))
    for name, insert in (("sqlite", sqlite.insert), ("postgresql", postgresql.insert))
    for replace in (False, True)
}


def insert_outbox_row(
    conn: Connection, kind: str, key: str, due_at: datetime, payload: bytes | None, *, replace_payload: bool
) -> None:
    """INSERT an outbox row unless (kind, key) has one; replace_payload: then set that row's payload."""
    statement = _OUTBOX_INSERT[(conn.dialect.name, replace_payload)]
    statement.all(conn, {"kind": kind, "key": key, "due_at": due_at, "payload": payload})


_INSERT_LOOP = {
    name: (
        insert(human_loops)
        .on_conflict_do_nothing(index_elements=["account", "region", "name_key"])
        .returning(human_loops.c.id)
    )
    for name, insert in (("sqlite", sqlite.insert), ("postgresql", postgresql.insert))
}


def insert_loop_if_absent(conn: Connection, values: dict[str, Any]) -> int | None:
    """INSERT the human loop (values: every column) unless (account, region, name_key) exists; the new
    id, or None. The statement is built once: StartHumanLoop is the hot path."""
    return conn.execute(_INSERT_LOOP[conn.dialect.name], values).scalar()


# --- the requester's view's counters (crowdloop/stats.py owns the tables) ------------------------------
#
# flow_loop_counts is kept by triggers on human_loops, so no write path (queue.py, the reaper, a flow
# definition's purge) can forget it: each row insert, delete, and update of status, answers_count or
# task_count adds its deltas (loops, tasks = task_count, answers = answers_count) to the row of its
# (flow definition, status). SQLite: row triggers (one writer at a time, one shard: 0). PostgreSQL:
# statement triggers (below), spreading concurrent writers of one flow over LOOP_COUNT_SHARDS rows (by
# backend: pg_backend_pid() % 8) with INSERT ... ON CONFLICT DO UPDATE, so concurrent StartHumanLoop
# calls do not queue on one row lock; a shard may go negative, readers sum the shards.

# A later migration that has Alembic recreate human_loops on SQLite (batch "move and copy") drops its
# triggers with the old table: it must run create_stats_triggers again.

LOOP_COUNT_SHARDS = 8

_COUNTS_UPSERT = """INSERT INTO flow_loop_counts (flow_definition_id, status, shard, loops, tasks, answers)
    VALUES ({row}.flow_definition_id, {row}.status, {shard}, {sign}1, {sign}{row}.task_count,
            {sign}{row}.answers_count)
    ON CONFLICT (flow_definition_id, status, shard) DO UPDATE SET loops = flow_loop_counts.loops + excluded.loops,
        tasks = flow_loop_counts.tasks + excluded.tasks, answers = flow_loop_counts.answers + excluded.answers"""
_COUNTS_DELTA = """INSERT INTO flow_loop_counts (flow_definition_id, status, shard, loops, tasks, answers)
    VALUES (NEW.flow_definition_id, NEW.status, {shard}, 0, NEW.task_count - OLD.task_count,
            NEW.answers_count - OLD.answers_count)
    ON CONFLICT (flow_definition_id, status, shard) DO UPDATE SET
        tasks = flow_loop_counts.tasks + excluded.tasks, answers = flow_loop_counts.answers + excluded.answers"""
_SAME_PLACE = "OLD.status = NEW.status AND OLD.flow_definition_id = NEW.flow_definition_id"
_COUNTED_CHANGE = (
    "OLD.status IS DISTINCT FROM NEW.status OR OLD.flow_definition_id IS DISTINCT FROM NEW.flow_definition_id"
    " OR OLD.task_count IS DISTINCT FROM NEW.task_count OR OLD.answers_count IS DISTINCT FROM NEW.answers_count"
)
_COUNTED_COLUMNS = "status, answers_count, task_count, flow_definition_id"
STATS_TRIGGERS = (
    "human_loops_count_insert",
    "human_loops_count_update",
    "human_loops_count_move",
    "human_loops_count_delete",
)


def _sqlite_triggers() -> list[str]:
    def upsert(row: str, sign: str) -> str:
        return _COUNTS_UPSERT.format(row=row, shard=0, sign=sign)

    moved = f"NOT ({_SAME_PLACE})"
    changed = f"{_SAME_PLACE} AND ({_COUNTED_CHANGE.replace('IS DISTINCT FROM', 'IS NOT')})"
    return [
        f"CREATE TRIGGER human_loops_count_insert AFTER INSERT ON human_loops BEGIN {upsert('NEW', '')}; END",
        f"CREATE TRIGGER human_loops_count_update AFTER UPDATE OF {_COUNTED_COLUMNS} ON human_loops"
        f" WHEN {changed} BEGIN {_COUNTS_DELTA.format(shard=0)}; END",
        f"CREATE TRIGGER human_loops_count_move AFTER UPDATE OF {_COUNTED_COLUMNS} ON human_loops"
        f" WHEN {moved} BEGIN {upsert('OLD', '-')}; {upsert('NEW', '')}; END",
        f"CREATE TRIGGER human_loops_count_delete AFTER DELETE ON human_loops BEGIN {upsert('OLD', '-')}; END",
    ]


# PostgreSQL counts per statement, not per row: each trigger reads the statement's transition tables and
# adds one delta per (flow definition, status) that changed. Row triggers would update the same counter
# row once per loop, and in one transaction (a purge, the reaper failing a batch of expired loops, a bulk
# fill) each update walks every earlier version of that row: quadratic. A statement that moves no loop
# between statements' groups and changes no count (a claim's open_slots) writes nothing. Rows are
# upserted in (flow definition, status) order, so two transactions lock counter rows in the same order.
_PG_SHARD = f"(pg_backend_pid() % {LOOP_COUNT_SHARDS})::smallint"
_PG_DELTAS = {
    "INSERT": "SELECT flow_definition_id, status, 1 AS l, task_count AS t, answers_count AS a FROM new_rows",
    "DELETE": "SELECT flow_definition_id, status, -1 AS l, -task_count AS t, -answers_count AS a FROM old_rows",
    "UPDATE": "SELECT flow_definition_id, status, -1 AS l, -task_count AS t, -answers_count AS a FROM old_rows"
    " UNION ALL SELECT flow_definition_id, status, 1, task_count, answers_count FROM new_rows",
}
_PG_TRANSITIONS = {
    "INSERT": "NEW TABLE AS new_rows",
    "DELETE": "OLD TABLE AS old_rows",
    "UPDATE": "OLD TABLE AS old_rows NEW TABLE AS new_rows",
}


def _pg_count_function(event: str) -> str:
    return f"""CREATE FUNCTION crowdloop_count_loops_{event.lower()}() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO flow_loop_counts (flow_definition_id, status, shard, loops, tasks, answers)
    SELECT flow_definition_id, status, {_PG_SHARD}, sum(l), sum(t), sum(a)
    FROM ({_PG_DELTAS[event]}) AS deltas
    GROUP BY flow_definition_id, status
    HAVING sum(l) <> 0 OR sum(t) <> 0 OR sum(a) <> 0
    ORDER BY flow_definition_id, status
    ON CONFLICT (flow_definition_id, status, shard) DO UPDATE SET loops = flow_loop_counts.loops + excluded.loops,
        tasks = flow_loop_counts.tasks + excluded.tasks, answers = flow_loop_counts.answers + excluded.answers;
    RETURN NULL;
END
$$"""


_PG_TRIGGERS = {
    "INSERT": "human_loops_count_insert",
    "UPDATE": "human_loops_count_update",
    "DELETE": "human_loops_count_delete",
}


def _postgresql_triggers() -> list[str]:
    statements = []
    for event, name in _PG_TRIGGERS.items():
        statements.append(_pg_count_function(event))
        statements.append(
            f"CREATE TRIGGER {name} AFTER {event} ON human_loops REFERENCING {_PG_TRANSITIONS[event]}"
            f" FOR EACH STATEMENT EXECUTE FUNCTION crowdloop_count_loops_{event.lower()}()"
        )
    return statements


def create_stats_triggers(dialect_name: str) -> list[str]:
    """The DDL that creates the triggers keeping flow_loop_counts (migration 0004 runs it)."""
    return _sqlite_triggers() if dialect_name == "sqlite" else _postgresql_triggers()


def drop_stats_triggers(dialect_name: str) -> list[str]:
    if dialect_name == "sqlite":
        return [f"DROP TRIGGER IF EXISTS {name}" for name in STATS_TRIGGERS]
    return [
        *(f"DROP TRIGGER IF EXISTS {name} ON human_loops" for name in _PG_TRIGGERS.values()),
        *(f"DROP FUNCTION IF EXISTS crowdloop_count_loops_{event.lower()}()" for event in _PG_TRIGGERS),
    ]


# Time spent per answer, histogram buckets (flow_answer_times.bucket): log-spaced, four per doubling, so
# a median read from them is within a factor 2^(1/4) (about 19 %) of the true one. Bucket 0 holds
# [0, 0.25 s), bucket b (1..84) holds [EDGES[b-1], EDGES[b]), bucket 85 everything from
# 0.25 * 2^21 s = 524,288 s (about six days) up. EDGES[k] = 0.25 * 2^(k/4).
ANSWER_TIME_EDGES: tuple[float, ...] = tuple(0.25 * 2 ** (k / 4) for k in range(85))


def _bucket_case(seconds: str) -> str:
    whens = " ".join(f"WHEN {seconds} < {edge!r} THEN {b}" for b, edge in enumerate(ANSWER_TIME_EDGES))
    return f"CASE {whens} ELSE {len(ANSWER_TIME_EDGES)} END"


_HOUR_US = 3_600_000_000
_SUBMITTED_ANSWERS = """FROM assignments a JOIN human_loops h ON h.id = a.loop_id WHERE a.state = 'submitted'"""


def stats_backfill() -> list[str]:
    """INSERTs that fill the counters from the rows already stored (migration 0004): the loop counts,
    and the answer statistics of the submitted answers still stored (answers of deleted loops are gone)."""
    return [
        """INSERT INTO flow_loop_counts (flow_definition_id, status, shard, loops, tasks, answers)
        SELECT flow_definition_id, status, 0, count(*), sum(task_count), sum(answers_count)
        FROM human_loops GROUP BY flow_definition_id, status""",
        *answer_stats_backfill(),
    ]


def answer_stats_backfill() -> list[str]:
    """INSERTs that fill the (empty) answer statistics from the submitted answers stored (also bench/console.py,
    after its bulk fill: the loop counts come from the triggers there)."""
    spent = "COALESCE(a.time_spent_seconds, 0)"
    return [
        f"""INSERT INTO flow_answer_hours (flow_definition_id, hour, shard, answers, seconds)
        SELECT h.flow_definition_id, a.ended_at / {_HOUR_US}, 0, count(*), sum({spent}) {_SUBMITTED_ANSWERS}
        GROUP BY h.flow_definition_id, a.ended_at / {_HOUR_US}""",
        f"""INSERT INTO flow_worker_stats (flow_definition_id, worker_id, answers, seconds, first_answer_at,
            last_answer_at)
        SELECT h.flow_definition_id, a.worker_id, count(*), sum({spent}), min(a.ended_at), max(a.ended_at)
        {_SUBMITTED_ANSWERS} GROUP BY h.flow_definition_id, a.worker_id""",
        f"""INSERT INTO flow_answer_times (flow_definition_id, worker_id, bucket, answers)
        SELECT flow_definition_id, worker_id, bucket, count(*) FROM (
            SELECT h.flow_definition_id AS flow_definition_id, a.worker_id AS worker_id,
                   {_bucket_case(spent)} AS bucket {_SUBMITTED_ANSWERS}) AS timed
        GROUP BY flow_definition_id, worker_id, bucket""",
    ]


# One submitted answer, added to its flow's hour (a shard of it, as the loop counts), to its worker's totals and
# to its time bucket. SQLite: three statements (in-process, no round trips). PostgreSQL: one statement, so
# a submit pays one round trip for the three.
_HOURS_UPSERT = """INSERT INTO flow_answer_hours (flow_definition_id, hour, shard, answers, seconds)
    VALUES (:fd, :hour, {shard}, 1, :spent)
    ON CONFLICT (flow_definition_id, hour, shard) DO UPDATE
    SET answers = flow_answer_hours.answers + 1, seconds = flow_answer_hours.seconds + excluded.seconds"""
_TIMES_UPSERT = """INSERT INTO flow_answer_times (flow_definition_id, worker_id, bucket, answers)
    VALUES (:fd, :worker, :bucket, 1)
    ON CONFLICT (flow_definition_id, worker_id, bucket) DO UPDATE SET answers = flow_answer_times.answers + 1"""
_WORKER_UPSERT = """INSERT INTO flow_worker_stats (flow_definition_id, worker_id, answers, seconds, first_answer_at,
        last_answer_at)
    VALUES (:fd, :worker, 1, :spent, :now, :now)
    ON CONFLICT (flow_definition_id, worker_id) DO UPDATE SET answers = flow_worker_stats.answers + 1,
        seconds = flow_worker_stats.seconds + excluded.seconds,
        first_answer_at = CASE WHEN excluded.first_answer_at < flow_worker_stats.first_answer_at
                          THEN excluded.first_answer_at ELSE flow_worker_stats.first_answer_at END,
        last_answer_at = CASE WHEN excluded.last_answer_at > flow_worker_stats.last_answer_at
                         THEN excluded.last_answer_at ELSE flow_worker_stats.last_answer_at END"""
_PG_SHARD = f"(pg_backend_pid() % {LOOP_COUNT_SHARDS})::smallint"


_ANSWER_TYPES: dict[str, Any] = {"now": UtcDateTime(), "spent": sa.Float(), "fd": sa.Integer(), "worker": sa.Integer()}


def _answer_statement(sql: str) -> Prepared:
    typed: list[sa.BindParameter[Any]] = [
        sa.bindparam(name, type_=kind) for name, kind in _ANSWER_TYPES.items() if f":{name}" in sql
    ]
    return Prepared(sa.text(sql).bindparams(*typed))


_ANSWER_STATEMENTS = {
    "sqlite": tuple(_answer_statement(sql) for sql in (_HOURS_UPSERT.format(shard=0), _WORKER_UPSERT, _TIMES_UPSERT)),
    "postgresql": (
        _answer_statement(
            f"WITH hours AS ({_HOURS_UPSERT.format(shard=_PG_SHARD)}), times AS ({_TIMES_UPSERT}) {_WORKER_UPSERT}"
        ),
    ),
}


def count_answer(
    conn: Connection, flow_definition_id: int, worker_pk: int, now: datetime, hour: int, spent: float, bucket: int
) -> None:
    """Add one submitted answer to its flow's hour, to its worker's totals and to its time bucket."""
    params = {"fd": flow_definition_id, "worker": worker_pk, "now": now, "hour": hour, "spent": spent, "bucket": bucket}
    for statement in _ANSWER_STATEMENTS[conn.dialect.name]:
        statement.all(conn, params)


# --- events (crowdloop/eventlog.py and deliveries.py own the tables) ----------------------------------------

_INSERT_EVENTS = {
    name: insert(events).on_conflict_do_nothing(index_elements=["event_id"])
    for name, insert in (("sqlite", sqlite.insert), ("postgresql", postgresql.insert))
}
_INSERT_DELIVERIES = {
    name: insert(deliveries).on_conflict_do_nothing(index_elements=["subscription_id", "event_seq"])
    for name, insert in (("sqlite", sqlite.insert), ("postgresql", postgresql.insert))
}


def insert_events_if_absent(conn: Connection, rows: list[dict[str, Any]]) -> None:
    """INSERT event log rows, skipping event ids already logged (a fan-out repeated after a crash)."""
    if rows:
        conn.execute(_INSERT_EVENTS[conn.dialect.name], rows)


def insert_deliveries_if_absent(conn: Connection, rows: list[dict[str, Any]]) -> None:
    """INSERT deliveries, skipping (subscription, event) pairs that have one."""
    if rows:
        conn.execute(_INSERT_DELIVERIES[conn.dialect.name], rows)


# --- gold items (crowdloop/gold.py owns the table) --------------------------------------------------------

_INSERT_WORKER_QUALITY = {
    name: insert(worker_flow_quality).on_conflict_do_nothing(index_elements=["flow_definition_id", "worker_id"])
    for name, insert in (("sqlite", sqlite.insert), ("postgresql", postgresql.insert))
}


def insert_worker_quality_if_absent(conn: Connection, flow_definition_id: int, worker_pk: int) -> None:
    """INSERT a worker's zeroed gold counters for a flow definition unless they exist (a concurrent first
    gold answer by the same worker in another transaction)."""
    conn.execute(
        _INSERT_WORKER_QUALITY[conn.dialect.name], {"flow_definition_id": flow_definition_id, "worker_id": worker_pk}
    )


# A subscription's due deliveries, oldest first (the partial index ix_deliveries_due: a seek whatever the
# number of deliveries already sent).
_DELIVERIES_DUE = """
    SELECT id FROM deliveries {index}
    WHERE subscription_id = :subscription AND state = 'pending' AND next_attempt_at <= :now
      AND (claimed_until IS NULL OR claimed_until <= :now)
    ORDER BY next_attempt_at LIMIT :limit
"""
_DELIVERIES_CLAIM = {
    "sqlite": f"""
UPDATE deliveries SET claimed_until = :until, claim_token = :token
WHERE id IN ({_DELIVERIES_DUE.format(index="INDEXED BY ix_deliveries_due")})
RETURNING id, event_seq, attempts, created_at
""",
    "postgresql": f"""
WITH due AS ({_DELIVERIES_DUE.format(index="")} FOR UPDATE SKIP LOCKED)
UPDATE deliveries SET claimed_until = :until, claim_token = :token
FROM due WHERE deliveries.id = due.id
RETURNING deliveries.id, deliveries.event_seq, deliveries.attempts, deliveries.created_at
""",
}
_DELIVERIES_CLAIM_SQL = {
    name: sa.text(sql)
    .bindparams(sa.bindparam("now", type_=UtcDateTime), sa.bindparam("until", type_=UtcDateTime))
    .columns(id=sa.BigInteger, event_seq=sa.BigInteger, attempts=sa.Integer, created_at=UtcDateTime)
    for name, sql in _DELIVERIES_CLAIM.items()
}


def claim_deliveries(
    conn: Connection, subscription_id: int, *, now: datetime, until: datetime, token: str, limit: int
) -> list[Any]:
    """Claim up to `limit` due deliveries of one subscription for the lane `token` until `until`: their
    (id, event_seq, attempts, created_at), oldest due first. PostgreSQL skips rows other lanes hold."""
    params = {"subscription": subscription_id, "now": now, "until": until, "token": token, "limit": limit}
    return list(conn.execute(_DELIVERIES_CLAIM_SQL[conn.dialect.name], params).all())


# --- bulk rows (a labeling job's objects: crowdloop/labeling/start.py) ------------------------------------------


def _copy_processor(column_type: Any, dialect: Any) -> Any:
    """How COPY gets a column's value: its type's bind processor, and JSON as text (psycopg adapts JSON values
    only as query parameters, where SQLAlchemy leaves the serialising to it)."""
    if isinstance(column_type, sa.JSON):
        serialize = getattr(dialect, "_json_serializer", None) or json.dumps
        return lambda value: None if value is None else serialize(value)
    return column_type.bind_processor(dialect)


def insert_many(conn: Connection, table: sa.Table, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    """INSERT rows (value tuples in `columns` order) in the connection's transaction: PostgreSQL's COPY (about
    3x an executemany through psycopg for a million rows), an executemany on SQLite (already at disk speed).
    Values are converted by their columns' types on both (a UtcDateTime column takes a datetime)."""
    if conn.dialect.name == "postgresql":
        raw = conn.connection.driver_connection
        assert raw is not None
        names = ", ".join(f'"{column}"' for column in columns)
        processors = [_copy_processor(table.c[column].type, conn.dialect) for column in columns]
        converting = any(p is not None for p in processors)
        with raw.cursor() as cursor, cursor.copy(f'COPY "{table.name}" ({names}) FROM STDIN') as copy:
            for row in rows:
                if converting:
                    row = [value if p is None else p(value) for p, value in zip(processors, row, strict=True)]
                copy.write_row(row)
        return
    statement = table.insert().values({column: sa.bindparam(column) for column in columns})
    conn.execute(statement, [dict(zip(columns, row, strict=True)) for row in rows])
