"""How much the workers who answered one item agree: the number the adaptive worker count compares with a
flow definition's `crowdloop:agreement-target` (docs/quality.md).

Pure functions, no store. The answers are read exactly as the export reads them (crowdloop.export.mapping:
the conventions it detects, its answer readers), so an item the export reads as a ranking is judged as a
ranking here too. Each kind has its own measure, every one in [0, 1] (1: full agreement):

* rankings (pairwise choices included): the share of agreeing (worker pair, response pair) combinations:
  two workers agree on responses i and j when they order them the same way (both prefer i, both prefer j,
  or both tie them). Without ties it is the mean over worker pairs of (1 + Kendall's tau) / 2.
* labels: the majority share, the most frequent label's share of the answers (mean over targets);
* ratings: 1 - the mean over responses of the spread of their ratings (highest - lowest), divided by the
  spread of every rating given for the item; 1 when all ratings are equal.

Fewer than two readable answers have no agreement (None): the caller asks one more worker.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from itertools import combinations
from typing import Any

from crowdloop.export.mapping import Mapper
from crowdloop.export.model import Item, Judgment, Kind, ProblemLog, RawAnswer, RawLoop


def item_agreement(input_content: Any, answers: Sequence[tuple[str, Any] | tuple[str, Any, Any]]) -> float | None:
    """The agreement of the answers (worker id, answerContent parsed[, the response order the worker saw:
    crowdloop:shuffle-responses]) to one item whose inputContent is given parsed; None when fewer than two
    answers can be read (or the format is one the export does not recognise)."""
    item = read_item(input_content, answers)
    if item is None or len(item.judgments) < 2:
        return None
    return judgments_agreement(item.kind, item.judgments)


def read_item(input_content: Any, answers: Sequence[tuple[str, Any] | tuple[str, Any, Any]]) -> Item | None:
    """The item as the export reads it (its detected mapping, shuffled answers put back in input order), or
    None when it cannot be read."""
    loop = RawLoop("item", "flow", input_content, tuple(RawAnswer(*answer) for answer in answers))
    return Mapper(ProblemLog()).map(loop)


def judgments_agreement(kind: Kind, judgments: Sequence[Judgment]) -> float | None:
    """The agreement of two or more judgments of one kind (see the module docstring)."""
    if len(judgments) < 2:
        return None
    if kind is Kind.LABEL:
        return label_agreement([j.labels for j in judgments])
    if kind is Kind.RATING:
        return rating_agreement([j.values for j in judgments])
    return ranking_agreement([j.values for j in judgments])


def _sign(x: float) -> int:
    return (x > 0) - (x < 0)


def ranking_agreement(rankings: Sequence[Sequence[float]]) -> float | None:
    """Share of agreeing (worker pair, response pair) combinations; ranks are 1 = best, ties equal."""
    n = min(len(r) for r in rankings)
    pairs = list(combinations(range(n), 2))
    if not pairs:
        return None
    signs = [[_sign(r[i] - r[j]) for i, j in pairs] for r in rankings]
    agreeing = total = 0
    for a, b in combinations(signs, 2):
        agreeing += sum(x == y for x, y in zip(a, b, strict=True))
        total += len(pairs)
    return agreeing / total


def label_agreement(labels: Sequence[Sequence[str | None]]) -> float | None:
    """The most frequent label's share of the answers, averaged over the targets (answers without a label
    for a target do not count there)."""
    targets = min(len(x) for x in labels)
    shares = []
    for t in range(targets):
        given = [x[t] for x in labels if x[t] is not None]
        if len(given) >= 2:
            shares.append(Counter(given).most_common(1)[0][1] / len(given))
    return sum(shares) / len(shares) if shares else None


def rating_agreement(ratings: Sequence[Sequence[float]]) -> float | None:
    """1 - mean spread of each response's ratings over the spread of all the item's ratings."""
    n = min(len(r) for r in ratings)
    if n == 0:
        return None
    every = [r[i] for r in ratings for i in range(n)]
    scale = max(every) - min(every)
    if scale == 0:
        return 1.0
    spreads = [max(r[i] for r in ratings) - min(r[i] for r in ratings) for i in range(n)]
    return 1.0 - sum(spreads) / n / scale
