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
from crowdloop.console.fmt import decimal, duration, when
from crowdloop.console.fmt import number as count
from crowdloop.i18n import N_, Language
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
    lang: Language

    @property
    def percent(self) -> float:
        needed = self.progress.answers_needed
        return 0.0 if needed <= 0 else min(100.0, 100.0 * self.progress.answers_received / needed)

    def fields(self) -> dict[str, str]:
        p, lang = self.progress, self.lang
        values = {
            "answers": f"{count(p.answers_received, lang)} / {count(p.answers_needed, lang)}",
            "percent": f"{self.percent:.0f} %",
            "answers_last_hour": count(p.answers_last_hour, lang),
            "median": duration(p.median_seconds, lang),
            "workers_active": count(p.workers_active, lang),
            "eta": duration(p.eta_seconds, lang),
            "tasks_waiting": count(p.tasks_waiting, lang),
        }
        for status in HumanLoopStatus:
            values[f"loops-{status.value}"] = count(p.loops.get(status.value, 0), lang)
        return values

    def agreement(self) -> dict[str, str]:
        s, lang = self.summary, self.lang
        state = lang.gettext(N_("updating…")) if self.updating else ""
        if s is None:
            computed = lang.gettext(N_("not computed yet"))
            return {"alpha": "—", "kendall_w": "—", "computed_at": computed, "state": state or "—"}
        return {
            "alpha": decimal(s.alpha, 3, lang),
            "kendall_w": decimal(s.kendall_w, 3, lang),
            "computed_at": when(s.computed_at, lang),
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


def read(svc: Services, caller: Caller, flow_name: str, lang: Language) -> FlowLive:
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
                median=duration(w.median_seconds, lang),
                agreement=decimal(found.agreement, 2, lang) if found else "—",
                position_bias=decimal(found.position_bias, 2, lang) if found else "—",
                last_active=when(w.last_answer_at, lang),
                fast=decimal(found.fast_share, 2, lang) if found else "—",
                gold=_gold_cell(accuracy, lang),
            )
        )
    return FlowLive(progress, rows, summary, updating, lang)


def _gold_cell(found: gold.Accuracy | None, lang: Language) -> str:
    if found is None:
        return "—"
    shown = decimal(found.accuracy, 2, lang)
    return lang.gettext(N_("{accuracy} (paused)"), accuracy=shown) if found.paused else shown
