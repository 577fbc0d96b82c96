"""A flow definition's agreement statistics, kept in the store (table flow_insights, owned here).

The figures are the export's (crowdloop.export: Krippendorff's alpha, Kendall's W, each worker's agreement
with the others and position bias, as `crowdloop report` prints them). Computing them reads every answer of
the flow, so no page view does it: the console computes in the background (crowdloop.console.agreement)
and stores the result here with how many answers the flow had received then (`answers_seen`). A page
reads the stored result (one row) and the flow's answer counter (crowdloop.stats, one counter read): when
answers arrived since, the summary is `stale` and a refresh is due once `refresh_due` says so.

    cached(svc, caller, flow_name)            AgreementSummary | None (None: never computed)
    save(svc, flow_definition_id, ...)        store a new result (the background refresh)
    claim_refresh / renew_claim / let_go      one refresh at a time per flow definition over every process
                                              sharing the store (table flow_insight_claims)
    summary_from(result, answers_seen, ...)   the stored JSON document -> AgreementSummary
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa

from crowdloop import stats
from crowdloop.runtime import Caller, Services
from crowdloop.store.tables import flow_insight_claims, flow_insights

# The result document's version: a result written by another version is recomputed, not misread.
RESULT_VERSION = 2  # 2: each worker's fast_share
# A refresh waits at least this many times as long as the last computation took (after the setting's
# minimum interval): on a big, busy flow the background work stays a small share of one CPU.
DURATION_FACTOR = 10.0


@dataclass(frozen=True)
class WorkerAgreement:
    worker_id: str  # the opaque worker id (the one output.json and the exports report)
    agreement: float | None  # share of the worker's pair orders (labels) matching the other annotators' majority
    position_bias: float | None  # share of decided comparisons where the response shown first was preferred
    items: int  # answers of the worker the statistics used
    fast_share: float | None = None  # share of answers faster than crowdloop:min-seconds (None: no threshold)


@dataclass(frozen=True)
class AgreementSummary:
    kind: str | None  # what the export detected: "ranking" / "rating" / "label"; None: nothing to measure
    alpha: float | None  # Krippendorff's alpha
    kendall_w: float | None  # Kendall's W, mean over items (rankings and ratings)
    items: int
    answers_seen: int  # answers the flow had received when this was computed
    computed_at: datetime
    note: str | None  # why a value is missing, or what was not used
    workers: dict[str, WorkerAgreement]  # by opaque worker id
    stale: bool  # answers arrived (or loops were deleted) since: a refresh is due or running
    level: str | None = None  # alpha's level of measurement (ordinal, interval, nominal)
    seconds: float = 0.0  # how long the computation took


def cached(svc: Services, caller: Caller, flow_name: str) -> AgreementSummary | None:
    """The stored summary of the caller's flow definition (ResourceNotFound if none), None when never computed.
    Costs one counter read and one row, whatever the size of the flow."""
    progress = stats.progress(svc, caller, flow_name)
    return stored(svc, progress.flow_definition_id, progress.answers_received)


def stored(svc: Services, flow_definition_id: int, answers_received: int) -> AgreementSummary | None:
    """The stored summary of a flow definition; stale when answers_received is not what it saw (answers arrived,
    or loops were deleted, since)."""
    i = flow_insights
    with svc.store.read() as conn:
        row = conn.execute(
            sa.select(i.c.answers_seen, i.c.computed_at, i.c.result).where(i.c.flow_definition_id == flow_definition_id)
        ).first()
    if row is None or not isinstance(row.result, dict) or row.result.get("version") != RESULT_VERSION:
        return None
    return summary_from(row.result, int(row.answers_seen), row.computed_at, answers_received)


def refresh_due(summary: AgreementSummary | None, now: datetime, min_interval_seconds: float) -> bool:
    """Whether a stale (or missing) summary should be computed again now: not before the minimum interval
    since the last computation, nor before DURATION_FACTOR times its duration."""
    if summary is None:
        return True
    if not summary.stale:
        return False
    wait = max(min_interval_seconds, DURATION_FACTOR * summary.seconds)
    return now - summary.computed_at >= timedelta(seconds=wait)


def save(
    svc: Services, flow_definition_id: int, answers_seen: int, computed_at: datetime, result: dict[str, Any]
) -> bool:
    """Store a flow definition's result in place of the last one; False when it could not be stored (the flow
    was deleted meanwhile, or another process stored its own result at the same moment)."""
    i = flow_insights
    row = {
        "flow_definition_id": flow_definition_id,
        "answers_seen": answers_seen,
        "computed_at": computed_at,
        "result": {**result, "version": RESULT_VERSION},
    }
    try:
        with svc.store.write() as conn:
            conn.execute(sa.delete(i).where(i.c.flow_definition_id == flow_definition_id))
            conn.execute(sa.insert(i).values(**row))
    except sa.exc.IntegrityError:
        return False
    return True


def claim_refresh(svc: Services, flow_definition_id: int, token: str, lease_seconds: float) -> bool:
    """Take the right to compute this flow definition's figures for lease_seconds (renew_claim extends it): False
    when another process holds it (it computes them), or the flow was deleted meanwhile. A claim whose holder
    died expires with its lease."""
    c = flow_insight_claims
    now = svc.clock.now()
    until = now + timedelta(seconds=lease_seconds)
    try:
        with svc.store.write() as conn:
            taken = conn.execute(
                c.update()
                .where(c.c.flow_definition_id == flow_definition_id, c.c.claimed_until <= now)
                .values(claimed_until=until, claim_token=token)
            )
            if taken.rowcount == 1:
                return True
            claim = {"flow_definition_id": flow_definition_id, "claimed_until": until, "claim_token": token}
            conn.execute(c.insert().values(**claim))
    except sa.exc.IntegrityError:  # a claim of another process is there (its lease runs), or the flow is gone
        return False
    return True


def renew_claim(svc: Services, flow_definition_id: int, token: str, lease_seconds: float) -> bool:
    """Extend this process's claim; False when it lost it (its lease ran out and another process took it)."""
    c = flow_insight_claims
    until = svc.clock.now() + timedelta(seconds=lease_seconds)
    with svc.store.write() as conn:
        renewed = conn.execute(
            c.update()
            .where(c.c.flow_definition_id == flow_definition_id, c.c.claim_token == token)
            .values(claimed_until=until)
        )
    return bool(renewed.rowcount == 1)


def let_go(svc: Services, flow_definition_id: int, token: str) -> None:
    """End this process's claim (the computation ended, stored or not)."""
    c = flow_insight_claims
    with svc.store.write() as conn:
        conn.execute(c.delete().where(c.c.flow_definition_id == flow_definition_id, c.c.claim_token == token))


def summary_from(
    result: dict[str, Any], answers_seen: int, computed_at: datetime, answers_received: int
) -> AgreementSummary:
    """A stored result document (see crowdloop.console.agreement.result_of) as an AgreementSummary."""
    workers = {
        str(w["worker_id"]): WorkerAgreement(
            str(w["worker_id"]),
            _number(w.get("agreement")),
            _number(w.get("position_bias")),
            int(w.get("items", 0)),
            _number(w.get("fast_share")),
        )
        for w in result.get("workers", [])
    }
    kind = result.get("kind")
    return AgreementSummary(
        kind=str(kind) if kind else None,
        alpha=_number(result.get("alpha")),
        kendall_w=_number(result.get("kendall_w")),
        items=int(result.get("items", 0)),
        answers_seen=answers_seen,
        computed_at=computed_at,
        note=str(result["note"]) if result.get("note") else None,
        workers=workers,
        stale=answers_received != answers_seen,  # more answers, or loops deleted since
        level=str(result["level"]) if result.get("level") else None,
        seconds=float(result.get("seconds", 0.0)),
    )


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) else None
