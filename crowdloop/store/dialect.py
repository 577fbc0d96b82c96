"""Every statement whose SQL differs between SQLite and PostgreSQL, and the hot statements written with
literal constants so the partial indexes in tables.py can serve them (a bound `status = ?` cannot be
matched to an index predicate `status = 'InProgress'`).

Claiming on PostgreSQL locks the chosen loop row (or outbox rows) with `FOR UPDATE SKIP LOCKED` so
concurrent claims take different rows instead of queueing; on SQLite `BEGIN IMMEDIATE` already
serialises writers.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from crowdloop.store.prepared import Prepared
from crowdloop.store.tables import UtcDateTime, human_loops, outbox

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

_ELIGIBLE_FLOWS = f"SELECT f.id FROM {_TEAM_MEMBERS} WHERE w.id = :worker AND {_MAY_WORK}"


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
) AND status = 'InProgress' AND open_slots > 0
RETURNING id, name, arn, input_content, template_sha256, task_time_limit_seconds
"""

_AVAILABLE_COUNTS = """
SELECT hl.flow_definition_id AS flow_definition_id, count(*) AS available
FROM human_loops hl {claim_index}
WHERE hl.flow_definition_id IN ({eligible})
  AND {claimable}
GROUP BY hl.flow_definition_id
"""

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
    return sa.text(sql).bindparams(sa.bindparam("now", type_=UtcDateTime))


def _per_dialect(template: str, **parts: str) -> dict[str, sa.TextClause]:
    statements = {}
    for name, hints in _HINTS.items():
        sql = template.format(**parts, **hints)
        statements[name] = _typed(sql) if ":now" in sql else sa.text(sql)
    return statements


_CLAIM_SQL = {
    name: Prepared(statement)
    for name, statement in _per_dialect(
        _CLAIM, claimable=_CLAIMABLE, eligible=_may_work_on_flow(":worker", ":fd")
    ).items()
}
_AVAILABLE_COUNTS_SQL = _per_dialect(_AVAILABLE_COUNTS, eligible=_ELIGIBLE_FLOWS, claimable=_CLAIMABLE)
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


def available_counts(conn: Connection, worker_pk: int, now: datetime) -> dict[int, int]:
    """flow_definition_id -> number of loops this worker could claim now."""
    rows = conn.execute(_AVAILABLE_COUNTS_SQL[conn.dialect.name], {"worker": worker_pk, "now": now})
    return {int(r.flow_definition_id): int(r.available) for r in rows}


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
