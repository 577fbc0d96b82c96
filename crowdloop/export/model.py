"""The nouns of an export: a loop as read from a source, the item it maps to, and the problems found.

RawLoop   one human loop: its name, input and the workers' answers (from the store or an output.json)
Item      a RawLoop read through a Mapping: prompt (a text or chat Messages), candidate responses and one
          Judgment per worker
Problem   an answer or loop that could not be used, with the reason (never dropped silently)
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, NamedTuple


class Kind(StrEnum):
    """What a worker's answer says about the responses of an item."""

    RANKING = "ranking"  # a rank per response, 1 = best, equal ranks = tie (pairwise choices are rankings of 2)
    RATING = "rating"  # a number per response, higher = better
    LABEL = "label"  # a category for the item (or for each response)


class Policy(StrEnum):
    """Which pairs of an item's responses become preference rows."""

    ALL = "all"  # every pair
    BEST = "best-vs-rest"  # the best response(s) against every other
    ADJACENT = "adjacent"  # responses of neighbouring rank levels


class Consensus(StrEnum):
    MEAN_RANK = "mean-rank"  # order by the mean of the annotators' ranks (ratings: mean rating)
    MAJORITY = "majority"  # each pair goes the way most annotators ordered it


# Named tuples, not dataclasses: a million of them are made per export and tuples are cheaper to build.


class RawAnswer(NamedTuple):
    worker_id: str
    answer: Any  # answerContent, parsed
    # crowdloop:shuffle-responses: the order the worker saw the responses in (displayed position k showed
    # response order[k]; output.json's crowdloopResponseOrder); None: input order
    order: Any = None
    seconds: float | None = None  # time spent on the answer (store sources; None: not known)
    flagged: bool = False  # faster than the flow definition's crowdloop:min-seconds (docs/quality.md)


class RawLoop(NamedTuple):
    name: str  # human loop name: the item id
    flow: str  # flow definition name (or ARN for output.json files)
    input: Any  # inputContent, parsed
    answers: tuple[RawAnswer, ...]
    origin: str = ""  # where it came from (output.json path or URI), for problem reports


class Judgment(NamedTuple):
    annotator: str
    values: tuple[float, ...] = ()  # RANKING: rank per response; RATING: rating per response
    labels: tuple[str | None, ...] = ()  # LABEL: one per target (item-level label: a single target)
    # the order the responses were shown in (shown[k] = response order[k]); () = input order. values and
    # per-response labels are in input order whatever it is: the mapping undid the shuffling.
    order: tuple[int, ...] = ()
    flagged: bool = False  # the answer was faster than the flow's crowdloop:min-seconds (kept: --include-flagged)


Messages = tuple[tuple[str, str], ...]  # a chat: (role, content) per turn
Prompt = str | Messages  # inputContent's prompt: a text, or chat messages [{"role", "content"}, ...]


class Item(NamedTuple):
    item_id: str
    flow: str
    kind: Kind
    prompt: Prompt
    responses: tuple[str, ...]
    models: tuple[str | None, ...]  # which model wrote each response, when the input says
    judgments: tuple[Judgment, ...]


@dataclass(frozen=True)
class Problem:
    item_id: str
    annotator: str | None  # None: the whole loop is unusable
    reason: str  # short and stable: what gets counted
    detail: str  # the specifics, for examples

    def as_dict(self) -> dict[str, Any]:
        return {"item_id": self.item_id, "annotator": self.annotator, "reason": self.reason, "detail": self.detail}


@dataclass
class ProblemLog:
    """Counts every problem by reason and keeps the first few of each as examples."""

    examples_per_reason: int = 5
    counts: Counter[str] = field(default_factory=Counter)
    examples: dict[str, list[Problem]] = field(default_factory=dict)
    loops: int = 0  # loops with at least one problem
    answers: int = 0  # answers that were not used

    def add(self, problem: Problem) -> None:
        self.counts[problem.reason] += 1
        if problem.annotator is None:
            self.loops += 1
        else:
            self.answers += 1
        kept = self.examples.setdefault(problem.reason, [])
        if len(kept) < self.examples_per_reason:
            kept.append(problem)

    def note(self, problem: Problem) -> None:
        """A problem that drops no loop or answer (the template checks): counted by reason, with examples."""
        self.counts[problem.reason] += 1
        kept = self.examples.setdefault(problem.reason, [])
        if len(kept) < self.examples_per_reason:
            kept.append(problem)

    def merge(self, other: ProblemLog) -> None:
        """Add the problems another log found later in the same stream (a chunk of a parallel export)."""
        self.counts.update(other.counts)
        for reason, problems in other.examples.items():
            kept = self.examples.setdefault(reason, [])
            kept.extend(problems[: max(self.examples_per_reason - len(kept), 0)])
        self.loops += other.loops
        self.answers += other.answers

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def as_dict(self) -> dict[str, Any]:
        return {
            "total": self.total,
            "loops_dropped": self.loops,
            "answers_dropped": self.answers,
            "by_reason": [
                {"reason": reason, "count": count, "examples": [p.as_dict() for p in self.examples.get(reason, [])]}
                for reason, count in self.counts.most_common()
            ],
        }
