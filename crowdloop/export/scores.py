"""Worker scores of one flow definition (`crowdloop workers quality`, docs/quality.md "Worker scores and
flags"), from one pass of the export's reading of its answers: the same loops, mapping and statistics as
`crowdloop report`, so the figures are the report's.

    answers          answers read (flagged ones included: the scores describe everything a worker did)
    median_seconds   median time spent per answer
    fast_share       share of the answers faster than crowdloop:min-seconds (None: no threshold set)
    agreement        leave one out: the share of the worker's pair orders (labels: labels) that match the
                     majority of the OTHER workers of the item (export/agreement.py, "worker vs consensus")
    position_bias    share of "the response shown first preferred" among the worker's decided comparisons
                     with it (0.5: none; shuffled answers: by the position the worker saw)
    gold_accuracy    the mean score of the worker's gold answers to the flow (crowdloop.gold's counters; None:
                     none yet); gold_answered how many; paused: paused for the flow (their answers flagged)
"""

from __future__ import annotations

import statistics
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from crowdloop import gold, workers
from crowdloop.export.api import Export
from crowdloop.export.model import RawLoop
from crowdloop.export.options import make_options
from crowdloop.export.sources import StoreSource
from crowdloop.model import HumanLoopStatus

if TYPE_CHECKING:
    from crowdloop.store import Store


@dataclass(frozen=True)
class WorkerScore:
    worker_id: str
    email: str | None  # None: the worker account is gone
    answers: int
    median_seconds: float | None
    fast_share: float | None
    agreement: float | None
    compared: int  # judgments the agreement counts (where the other workers had a majority)
    position_bias: float | None
    position_decided: int  # comparisons with the response shown first that were not ties
    gold_accuracy: float | None = None  # mean score of the gold answers (None: no gold answer)
    gold_answered: int = 0
    paused: bool = False  # paused for the flow (crowdloop:gold-min-accuracy): every answer of theirs is flagged


@dataclass(frozen=True)
class FlowScores:
    flow: str
    min_seconds: float  # 0: no threshold
    workers: list[WorkerScore]

    def as_dict(self) -> dict[str, Any]:
        return {"flow": self.flow, "min_seconds": self.min_seconds, "workers": [asdict(w) for w in self.workers]}


@dataclass
class AnswerTimes:
    """Time spent per worker, counted as the loops go by (worker id -> the seconds of each answer)."""

    min_seconds: float = 0.0  # the flow's crowdloop:min-seconds (0: no threshold)
    seconds: dict[str, list[float]] = field(default_factory=dict)
    fast: dict[str, int] = field(default_factory=dict)

    def median(self, worker_id: str) -> float | None:
        seconds = self.seconds.get(worker_id)
        return statistics.median(seconds) if seconds else None

    def fast_share(self, worker_id: str, min_seconds: float) -> float | None:
        """The share of the worker's answers faster than min_seconds (None: no threshold, or no time known)."""
        seconds = self.seconds.get(worker_id)
        return self.fast.get(worker_id, 0) / len(seconds) if min_seconds and seconds else None

    def watch(self, loops: Iterator[RawLoop]) -> Iterator[RawLoop]:
        for loop in loops:
            for answer in loop.answers:
                if answer.seconds is not None:
                    self.seconds.setdefault(answer.worker_id, []).append(answer.seconds)
                    if answer.seconds < self.min_seconds:  # fast, whether or not flagged for a pause too
                        self.fast[answer.worker_id] = self.fast.get(answer.worker_id, 0) + 1
            yield loop


def worker_scores(store: Store, flow: str, *, include_stopped: bool = False) -> FlowScores:
    """The scores of every worker who answered the flow definition's Completed loops (and Stopped ones with
    include_stopped), worst agreement first."""
    statuses: tuple[str, ...] = (HumanLoopStatus.COMPLETED.value,)
    if include_stopped:
        statuses += (HumanLoopStatus.STOPPED.value,)
    source = StoreSource(store, flow, statuses=statuses)
    card, times = analyse_with_times(source)
    rows = card["agreement"]["workers"]
    with store.read() as conn:
        emails = workers.emails_by_worker_id(conn, [row["worker"] for row in rows])
        golds = gold.accuracies(conn, source.flow_id)
    scores = [_score(row, times, emails, source.min_seconds, golds) for row in rows]
    scores.sort(key=lambda s: (s.agreement is None, s.agreement if s.agreement is not None else 0.0, s.worker_id))
    return FlowScores(source.flow_name, source.min_seconds, scores)


def analyse_with_times(
    source: StoreSource, on_loop: Callable[[], None] | None = None
) -> tuple[dict[str, Any], AnswerTimes]:
    """The report's card of the source's loops, flagged answers included (the scores describe everything a
    worker did), and the time each answer took, in one pass (also the console's background refresh)."""
    options = make_options("report", include_flagged=True, include_stopped=len(source.statuses) > 1)
    job = Export([source], options, on_loop=on_loop)
    times = AnswerTimes(min_seconds=source.min_seconds)
    card = job.analyse(times.watch)
    card["kind"] = job.tally.kind.value if job.tally.kind is not None else None
    return card, times


def _score(
    row: dict[str, Any],
    times: AnswerTimes,
    emails: dict[str, str],
    min_seconds: float,
    golds: dict[str, gold.Accuracy],
) -> WorkerScore:
    name = str(row["worker"])
    found = golds.get(name)
    return WorkerScore(
        worker_id=name,
        email=emails.get(name),
        answers=int(row["answers"]),
        median_seconds=times.median(name),
        fast_share=times.fast_share(name, min_seconds),
        agreement=row["agreement_with_others"],
        compared=int(row["compared"]),
        position_bias=row.get("first_shown_preferred"),
        position_decided=int(row.get("first_shown_decided", 0)),
        gold_accuracy=found.accuracy if found is not None else None,
        gold_answered=found.gold_answered if found is not None else 0,
        paused=found.paused if found is not None else False,
    )
