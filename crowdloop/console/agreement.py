"""The console's agreement statistics: the export's own figures (`crowdloop report`), computed in the
background and kept in the store (crowdloop.insights), so that no page view computes them.

    summary_for(svc, caller, flow_name)   the stored summary (None: not computed yet); when it is stale and a
                                          refresh is due (insights.refresh_due), starts one
    compute(store, flow_arn)              the figures, as crowdloop.export computes them for `crowdloop report`
                                          (Completed loops, default options), as the document insights stores

One refresh at a time per flow definition in a process, each on its own thread (crowdloop.blocking): it
reads every completed loop of the flow, so it never runs on the event loop nor in a request. Over every
process sharing the store, one at a time too: a refresh first claims the flow (insights.claim_refresh, a
lease of CLAIM_SECONDS renewed while it reads) and does nothing when another process holds it — with
`serve --workers 4` a view of a stale flow on each process would otherwise compute the same figures four
times (over an hour of CPU each at 10M loops). The Refreshes object lives on the Services
(svc.caches[REFRESHES]), so two Services in one process share none.
"""

from __future__ import annotations

import logging
import secrets
import threading
import time
from collections.abc import Callable
from typing import Any

from crowdloop import insights, stats
from crowdloop.caches import CacheSpec
from crowdloop.errors import CrowdloopError
from crowdloop.insights import AgreementSummary
from crowdloop.model import HumanLoopStatus
from crowdloop.runtime import Caller, Services
from crowdloop.store import Store

log = logging.getLogger("crowdloop.console")

_COMPLETED = (HumanLoopStatus.COMPLETED.value,)  # what `crowdloop report` reads by default
# A refresh holds its flow definition this long, renewed each third of it while it reads: a process that dies
# mid-refresh delays the next one (in any process) by at most this much.
CLAIM_SECONDS = 300.0


class Stopped(Exception):
    """The process is closing: a refresh under way gives up (it stores nothing)."""


class Refreshes:
    """The agreement refreshes of one Services: at most one running per flow definition."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._running: dict[int, threading.Thread] = {}
        self._closing = threading.Event()
        self.computations = 0  # refreshes started (tests count them)
        self.computed = 0  # refreshes that computed and stored figures (not those another process held)

    def start(self, svc: Services, flow_definition_id: int, flow_arn: str, answers_received: int) -> bool:
        """Start a refresh of this flow definition unless one is running (or the process is closing)."""
        with self._lock:
            if flow_definition_id in self._running or self._closing.is_set():
                return False
            thread = threading.Thread(
                target=self._run,
                args=(svc, flow_definition_id, flow_arn, answers_received),
                name=f"crowdloop-agreement-{flow_definition_id}",
                daemon=True,
            )
            self._running[flow_definition_id] = thread
            self.computations += 1
        thread.start()
        return True

    def running(self, flow_definition_id: int) -> bool:
        return flow_definition_id in self._running

    def wait(self, timeout_seconds: float = 30.0) -> bool:
        """Wait for the refreshes under way; False if some are still running after the timeout."""
        deadline = time.monotonic() + timeout_seconds
        while True:
            with self._lock:
                threads = list(self._running.values())
            if not threads:
                return True
            for thread in threads:
                thread.join(max(0.0, deadline - time.monotonic()))
            if time.monotonic() >= deadline:
                with self._lock:
                    return not self._running

    def close(self, timeout_seconds: float = 10.0) -> None:
        """Stop starting refreshes, have those under way give up, and wait for them."""
        self._closing.set()
        self.wait(timeout_seconds)

    def _run(self, svc: Services, flow_definition_id: int, flow_arn: str, answers_received: int) -> None:
        token = secrets.token_hex(8)
        try:
            if not insights.claim_refresh(svc, flow_definition_id, token, CLAIM_SECONDS):
                return  # another process computes them
            try:
                computed_at = svc.clock.now()
                result = compute(svc.store, flow_arn, self._checker(svc, flow_definition_id, token))
                if insights.save(svc, flow_definition_id, answers_received, computed_at, result):
                    self.computed += 1
            finally:
                insights.let_go(svc, flow_definition_id, token)
        except Stopped:
            pass
        except Exception:  # a background thread: nobody else would see it; the next view tries again
            log.exception("agreement statistics of %s failed", flow_arn)
        finally:
            with self._lock:
                self._running.pop(flow_definition_id, None)

    def _checker(self, svc: Services, flow_definition_id: int, token: str) -> Callable[[], None]:
        """The check compute calls for each loop read: give up when the process closes, renew the claim each
        third of its lease, and give up when it was lost (this refresh stalled past its lease and another
        process took over)."""
        renew_at = time.monotonic() + CLAIM_SECONDS / 3

        def check() -> None:
            nonlocal renew_at
            if self._closing.is_set():
                raise Stopped
            if time.monotonic() >= renew_at:
                if not insights.renew_claim(svc, flow_definition_id, token, CLAIM_SECONDS):
                    raise Stopped
                renew_at = time.monotonic() + CLAIM_SECONDS / 3

        return check


REFRESHES: CacheSpec[str, Refreshes] = CacheSpec(
    "console agreement refreshes",
    "one entry per Services (the refreshes under way), never stale: it holds threads, not store data",
    max_entries=1,
)


def refreshes(svc: Services) -> Refreshes:
    """The Services' Refreshes (made on first use)."""
    cache = svc.caches[REFRESHES]
    found = cache.get("refreshes")
    if found is None:
        with _MAKING:
            found = cache.get("refreshes")
            if found is None:
                found = Refreshes()
                cache.put("refreshes", found)
    return found


_MAKING = threading.Lock()


def close(svc: Services) -> None:
    """At shutdown: the refreshes under way give up (they store nothing) and are waited for."""
    found = svc.caches[REFRESHES].get("refreshes")
    if found is not None:
        found.close()


def summary_for(svc: Services, caller: Caller, flow_name: str) -> AgreementSummary | None:
    """The stored agreement summary of the caller's flow definition (ResourceNotFound if none; None: not
    computed yet). Reads one counter and one row; when the summary is missing or stale and a refresh is
    due (the setting console_agreement_interval_seconds), starts one in the background."""
    progress = stats.progress(svc, caller, flow_name)
    summary = insights.stored(svc, progress.flow_definition_id, progress.answers_received)
    if insights.refresh_due(summary, svc.clock.now(), svc.settings.console_agreement_interval_seconds):
        refreshes(svc).start(svc, progress.flow_definition_id, progress.arn, progress.answers_received)
    return summary


def compute(store: Store, flow_arn: str, check: Callable[[], None] | None = None) -> dict[str, Any]:
    """The agreement figures of a flow definition's completed loops, as `crowdloop report` computes them
    (crowdloop.export: one pass, default options), as the document crowdloop.insights stores. `check` is
    called for each loop read (it may raise to give up)."""
    started = time.monotonic()
    try:
        from crowdloop.export.scores import analyse_with_times
        from crowdloop.export.sources import StoreSource

        source = StoreSource(store, flow_arn, statuses=_COMPLETED)
        card, times = analyse_with_times(source, on_loop=check)
    except CrowdloopError as exc:  # an optional package missing (MissingDependency), a mapping refused
        return {"kind": None, "items": 0, "answers": 0, "note": exc.message, "seconds": time.monotonic() - started}
    fast = {w: times.fast_share(w, source.min_seconds) for w in times.seconds}
    return result_of(card, card["kind"], time.monotonic() - started, fast)


def result_of(
    card: dict[str, Any], kind: str | None, seconds: float, fast: dict[str, float | None] | None = None
) -> dict[str, Any]:
    """The figures insights keeps from an export's card (crowdloop.export.api.Export.card), with each worker's
    share of answers faster than crowdloop:min-seconds (fast; None: no threshold)."""
    figures = card["agreement"]
    alpha = figures["krippendorff_alpha"]
    workers = [
        {
            "worker_id": row["worker"],
            "agreement": row["agreement_with_others"],
            "position_bias": row.get("first_shown_preferred"),
            "items": row["answers"],
            "fast_share": (fast or {}).get(row["worker"]),
        }
        for row in figures.get("workers", [])
    ]
    return {
        "kind": kind,
        "alpha": alpha["value"] if kind else None,
        "level": alpha["level"] if kind else None,
        "kendall_w": figures.get("kendall_w_mean"),
        "items": figures["items"],
        "answers": figures["answers"],
        "note": _note(card, kind, alpha["value"]),
        "workers": workers,
        "seconds": seconds,
    }


def _note(card: dict[str, Any], kind: str | None, alpha: float | None) -> str | None:
    notes = []
    if kind is None:
        notes.append("No completed loop with answers to measure yet.")
    elif alpha is None:
        notes.append("Alpha needs items answered by at least two workers, with more than one value given.")
    problems = card["problems"]
    if problems["total"]:
        notes.append(
            f"{problems['answers_dropped']} answers and {problems['loops_dropped']} loops could not be used "
            "(`crowdloop report` lists why)."
        )
    return " ".join(notes) or None
