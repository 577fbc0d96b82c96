"""The server's Prometheus metrics (docs/metrics.md lists every name): one `Metrics` per app, built only
when the setting metrics_token is set (Services.metrics is None otherwise, and nothing is measured).

Each app has its own `CollectorRegistry` (never prometheus_client's global one), so several apps in one
process (the tests) keep apart. Two kinds of metrics:

* measured as requests pass: latency histograms the edges observe (the portal around queue.claim and
  queue.submit, the AWS API around each operation's handler: `timed`, `observe_operation`) and the
  HTTP request counter (crowdloop.metrics_http, a middleware of the root app);
* read at scrape time by `StoreCollector` from the counters the store keeps (crowdloop.stats) and the
  outbox's backlog (crowdloop.outbox.backlog): no COUNT(*) over loops or answers, so a scrape costs the
  same on an empty store and on one with millions of loops.

Several server processes (`serve --workers N`): crowdloop.server gives them one folder in MULTIPROCESS_ENV,
prometheus_client keeps each process's values in files there, and a scrape answered by any process adds up
every process's (prometheus_client's multiprocess mode). The process, platform and GC metrics describe one
process, so they are left out then; histograms and counters have no `_created` series.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import TYPE_CHECKING, Literal

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest, values
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.gc_collector import GCCollector
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.platform_collector import PlatformCollector
from prometheus_client.process_collector import ProcessCollector
from prometheus_client.registry import Collector

from crowdloop import deliveries, outbox, stats
from crowdloop.runtime import Caller

if TYPE_CHECKING:
    from crowdloop.runtime import Services

__all__ = ["CONTENT_TYPE", "Metrics", "StoreCollector", "timed"]

CONTENT_TYPE = CONTENT_TYPE_LATEST
PREFIX = "crowdloop"
QueueCall = Literal["claim", "submit"]  # the queue calls the portal times (crowdloop.portal.tasks)

# Seconds: a claim or a submit takes about a millisecond on an idle SQLite store; API calls range from
# that to a RenderUiTemplate at the render budget (2 s by default).
LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


# prometheus_client reads it from the environment when it is imported: the folder of the values every server
# process shares (crowdloop.server sets it for its children).
MULTIPROCESS_ENV = "PROMETHEUS_MULTIPROC_DIR"


def shared_values() -> bool:
    """This process keeps its metric values in the folder of MULTIPROCESS_ENV (prometheus_client chose
    file-backed values when it was imported), shared with the other server processes."""
    return values.ValueClass is not values.MutexValue


class Metrics:
    """The app's registry and the metrics the edges observe. shared: this process is one of several that keep
    their values in one folder (see the module docstring)."""

    def __init__(self, shared: bool = False) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        own: CollectorRegistry | None = self.registry
        if shared:
            MultiProcessCollector(self.registry)  # type: ignore[no-untyped-call]  # every process's values
            own = None  # registered here they would count twice: this process's values are in the files
        else:  # prometheus_client's default process, platform and GC metrics, in this registry
            ProcessCollector(registry=self.registry)
            PlatformCollector(registry=self.registry)
            GCCollector(registry=self.registry)
        self.claim_seconds = Histogram(
            f"{PREFIX}_claim_seconds",
            "Time the portal's queue.claim calls take (starting a job, the next task after a submit).",
            buckets=LATENCY_BUCKETS,
            registry=own,
        )
        self.submit_seconds = Histogram(
            f"{PREFIX}_submit_seconds",
            "Time the portal's queue.submit calls take (storing a worker's answer).",
            buckets=LATENCY_BUCKETS,
            registry=own,
        )
        self.api_seconds = Histogram(
            f"{PREFIX}_api_request_seconds",
            "Time the SageMaker and A2I runtime operations' handlers take, by operation.",
            ["operation"],
            buckets=LATENCY_BUCKETS,
            registry=own,
        )
        self.http_requests = Counter(
            f"{PREFIX}_http_requests",
            "HTTP requests answered, by destination, route template (or AWS operation), method and status.",
            ["destination", "route", "method", "status"],
            registry=own,
        )

    def watch_store(self, svc: Services, outbox_kinds: Sequence[str]) -> None:
        """Add the metrics read from the store at each scrape (once, when the app's Services are built)."""
        self.registry.register(StoreCollector(svc, outbox_kinds))

    def observe_operation(self, operation: str, seconds: float) -> None:
        self.api_seconds.labels(operation).observe(seconds)

    def render(self) -> bytes:
        """Every metric in the Prometheus text format (reads the store: see blocking.py for where to run it)."""
        return generate_latest(self.registry)


@contextmanager
def timed(metrics: Metrics | None, call: QueueCall) -> Iterator[None]:
    """Observe the block's duration as a queue `call` (also when it raises); metrics None: not measured."""
    if metrics is None:
        yield
        return
    histogram = metrics.claim_seconds if call == "claim" else metrics.submit_seconds
    started = time.perf_counter()
    try:
        yield
    finally:
        histogram.observe(time.perf_counter() - started)


class StoreCollector(Collector):
    """The metrics read at scrape time: loops by flow and status, answers and queue depth by flow (the
    store's counters, crowdloop.stats), the outbox's backlog by kind."""

    def __init__(self, svc: Services, outbox_kinds: Sequence[str]) -> None:
        self._svc = svc
        self._kinds = tuple(outbox_kinds)

    def describe(self) -> Iterable[Metric]:
        return []  # nothing is read when the collector is registered

    def collect(self) -> Iterable[Metric]:
        svc = self._svc
        loops = GaugeMetricFamily(
            f"{PREFIX}_loops", "Human loops stored, by flow definition and status.", labels=["flow", "status"]
        )
        _add(loops, [((flow, status), count) for flow, status, count in stats.loops_by_status(svc)])
        answers = CounterMetricFamily(
            f"{PREFIX}_answers",
            "Answers ever submitted, by flow definition (those of deleted loops stay counted).",
            labels=["flow"],
        )
        _add(answers, [((flow,), count) for flow, count in stats.answers_by_flow(svc)])
        waiting = GaugeMetricFamily(
            f"{PREFIX}_tasks_waiting",
            "Queue depth: answers still needed on InProgress loops minus the leases held now, by flow definition "
            "(those of the server's region).",
            labels=["flow"],
        )
        caller = Caller(svc.settings.account_id, svc.settings.region)
        _add(waiting, [((p.name,), p.tasks_waiting) for p in stats.overview(svc, caller)])
        pending = GaugeMetricFamily(
            f"{PREFIX}_outbox_pending", "Outbox messages waiting to be sent, by kind.", labels=["kind"]
        )
        lag = GaugeMetricFamily(
            f"{PREFIX}_outbox_lag_seconds",
            "Age of the oldest due outbox message, by kind (0 when none is waiting): the output writer's lag.",
            labels=["kind"],
        )
        backlog = {entry.kind: entry for entry in outbox.backlog(svc)}
        now = svc.clock.now()
        for kind in sorted({*self._kinds, *backlog}):
            entry = backlog.get(kind)
            pending.add_metric([kind], entry.pending if entry else 0)
            lag.add_metric([kind], max(0.0, (now - entry.oldest_due_at).total_seconds()) if entry else 0.0)
        yield from (loops, answers, waiting, pending, lag)
        yield from _deliveries(svc, now)


def _deliveries(svc: Services, now: datetime) -> Iterable[Metric]:
    """Event deliveries by subscription: waiting, failed, and how late the oldest due one is."""
    labels = ["subscription"]
    pending = GaugeMetricFamily(
        f"{PREFIX}_deliveries_pending",
        f"Event deliveries not yet sent, by subscription id (counted up to {deliveries.SUMMARY_CAP}).",
        labels=labels,
    )
    failed = GaugeMetricFamily(
        f"{PREFIX}_deliveries_failed",
        f"Event deliveries that failed for good (retry window over), by subscription id (counted up to "
        f"{deliveries.SUMMARY_CAP}).",
        labels=labels,
    )
    lag = GaugeMetricFamily(
        f"{PREFIX}_delivery_lag_seconds",
        "How long the oldest due event delivery has been waiting, by subscription id (0 when none is due).",
        labels=labels,
    )
    for entry in deliveries.backlog(svc):
        label = [str(entry.subscription_id)]
        pending.add_metric(label, entry.pending)
        failed.add_metric(label, entry.failed)
        waited = (now - entry.oldest_due_at).total_seconds() if entry.oldest_due_at is not None else 0.0
        lag.add_metric(label, max(0.0, waited))
    yield from (pending, failed, lag)


def _add(family: GaugeMetricFamily | CounterMetricFamily, values: Iterable[tuple[tuple[str, ...], int]]) -> None:
    """Add one sample per label set, summing repeats (flow definitions of the same name in two regions), so
    the exposition never holds a series twice."""
    summed: dict[tuple[str, ...], int] = {}
    for labels, value in values:
        summed[labels] = summed.get(labels, 0) + value
    for labels, value in summed.items():
        family.add_metric(list(labels), value)
