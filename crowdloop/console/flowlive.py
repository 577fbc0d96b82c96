"""The flow page's live parts: progress (stats.progress), the per-worker table (stats.worker_stats, with each
worker's agreement and position bias from the cached agreement summary) and the agreement summary
(crowdloop.console.agreement: the stored result, a background refresh started when one is due). Each reads
counters and one cached row: the cost does not grow with the flow's loops or answers. The page renders
them once; console-flow.js updates them from `as_json` every few seconds."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from crowdloop import gold, stats
from crowdloop.console import agreement
from crowdloop.console.fmt import duration, when
from crowdloop.console.fmt import number as count
from crowdloop.insights import AgreementSummary
from crowdloop.model import HumanLoopStatus
from crowdloop.runtime import Caller, Services

MAX_WORKERS_SHOWN = 500


@dataclass(frozen=True)
class WorkerRow:
    worker_id: str
    email: str
    answers: int
    median: str
    agreement: str
    position_bias: str
    last_active: str
    fast: str = "—"  # share of answers faster than crowdloop:min-seconds (— without a threshold)
    gold: str = "—"  # gold accuracy (crowdloop.gold's counters; "(paused)" for a paused worker; — without gold)

    def cells(self) -> list[str]:
        return [
            self.worker_id,
            self.email,
            str(self.answers),
            self.median,
            self.fast,
            self.agreement,
            self.position_bias,
            self.gold,
            self.last_active,
        ]


@dataclass(frozen=True)
class FlowLive:
    progress: stats.FlowProgress
    workers: list[WorkerRow]
    summary: AgreementSummary | None
    updating: bool

    @property
    def percent(self) -> float:
        needed = self.progress.answers_needed
        return 0.0 if needed <= 0 else min(100.0, 100.0 * self.progress.answers_received / needed)

    def fields(self) -> dict[str, str]:
        p = self.progress
        values = {
            "answers": f"{count(p.answers_received)} / {count(p.answers_needed)}",
            "percent": f"{self.percent:.0f} %",
            "answers_last_hour": count(p.answers_last_hour),
            "median": duration(p.median_seconds),
            "workers_active": count(p.workers_active),
            "eta": duration(p.eta_seconds),
            "tasks_waiting": count(p.tasks_waiting),
        }
        for status in HumanLoopStatus:
            values[f"loops-{status.value}"] = count(p.loops.get(status.value, 0))
        return values

    def agreement(self) -> dict[str, str]:
        s = self.summary
        state = "updating…" if self.updating else ""
        if s is None:
            return {"alpha": "—", "kendall_w": "—", "computed_at": "not computed yet", "state": state or "—"}
        return {
            "alpha": number(s.alpha, 3),
            "kendall_w": number(s.kendall_w, 3),
            "computed_at": s.computed_at.strftime("%Y-%m-%d %H:%M:%S UTC"),
            "state": state,
            "note": s.note or "",
        }

    def as_json(self) -> dict[str, Any]:
        return {
            "fields": self.fields(),
            "percent": self.percent,
            "workers": [w.cells() for w in self.workers],
            "agreement": self.agreement(),
        }


def read(svc: Services, caller: Caller, flow_name: str) -> FlowLive:
    progress = stats.progress(svc, caller, flow_name)
    summary = agreement.summary_for(svc, caller, flow_name)
    updating = agreement.refreshes(svc).running(progress.flow_definition_id) or (summary is not None and summary.stale)
    cached = summary.workers if summary is not None else {}
    golds = gold.flow_accuracies(svc, progress.flow_definition_id)
    rows = []
    for w in stats.worker_stats(svc, caller, flow_name)[:MAX_WORKERS_SHOWN]:
        found = cached.get(w.worker_id)
        accuracy = golds.get(w.worker_id)
        rows.append(
            WorkerRow(
                worker_id=w.worker_id,
                email=w.email,
                answers=w.answers,
                median=duration(w.median_seconds),
                agreement=number(found.agreement, 2) if found else "—",
                position_bias=number(found.position_bias, 2) if found else "—",
                last_active=when(w.last_answer_at),
                fast=number(found.fast_share, 2) if found else "—",
                gold=_gold_cell(accuracy),
            )
        )
    return FlowLive(progress, rows, summary, updating)


def _gold_cell(found: gold.Accuracy | None) -> str:
    if found is None:
        return "—"
    shown = number(found.accuracy, 2)
    return f"{shown} (paused)" if found.paused else shown


def number(value: float | None, digits: int) -> str:
    return "—" if value is None else f"{value:.{digits}f}"
