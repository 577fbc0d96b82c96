"""How much the workers agree, computed while the items stream past (memory does not grow with items).

Krippendorff's alpha   units are (item, response) for ranks (ordinal) and ratings (interval), or
                       (item, target) for labels (nominal). Alpha depends on the data only through
                       the value-by-value coincidence matrix, which adds up over units: it is
                       accumulated per batch, and alpha = 1 - D_o / D_e is taken from it at the end
                       with the distance metrics of Krippendorff (2011) (tests check every level
                       against the `krippendorff` package and the paper's example).
Kendall's W            per item over its annotators (mid-ranks, tie-corrected); mean over items
pairwise agreement     per item: share of (annotator, annotator, response pair) triples ordered alike
                       (<, =, >); mean over items
worker vs consensus    share of a worker's pair orders that match the majority of the other annotators
                       of the item (pairs where the others are split are not counted)
position bias          how often a worker prefers the response shown first when it is compared with
                       another and not tied; 0.5 = no bias; binomial test against 0.5. Shown first is
                       input order, or the order the worker saw (crowdloop:shuffle-responses: Judgment.order)
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from crowdloop.export.aggregate import ModelComparison, bradley_terry, dawid_skene, majority_vote, win_matrices
from crowdloop.export.batches import Floats, Group, ItemBatch, pair_indices
from crowdloop.export.deps import require
from crowdloop.export.model import Kind

LEVELS = ("nominal", "ordinal", "interval", "ratio")
HISTOGRAM_BINS = 10
LOWEST_ITEMS = 10


class Coincidences:
    """Krippendorff's coincidence matrix over a growing value domain."""

    def __init__(self) -> None:
        self.domain: dict[Any, int] = {}
        self.matrix = np.zeros((0, 0))

    def add_units(self, codes: np.ndarray[Any, Any], values: list[Any]) -> None:
        """codes (U, m): indices into `values` (-1 = no value) for U units coded by up to m coders."""
        if codes.size == 0:
            return
        index = np.array([self._code(v) for v in values] + [-1], dtype=np.int64)
        mapped = index[codes]  # -1 stays -1
        present = mapped >= 0
        pairable = present.sum(axis=1)
        keep = pairable >= 2
        mapped, present, pairable = mapped[keep], present[keep], pairable[keep]
        if not len(mapped):
            return
        size = len(self.domain)
        weight = 1.0 / (pairable - 1)
        m = mapped.shape[1]
        for a in range(m):
            for b in range(m):
                if a == b:
                    continue
                both = present[:, a] & present[:, b]
                flat = mapped[both, a] * size + mapped[both, b]
                self.matrix += np.bincount(flat, weights=weight[both], minlength=size * size).reshape(size, size)

    def merge(self, other: Coincidences, translate: Callable[[Any], Any] | None = None) -> None:
        """Add another matrix (of later units); translate maps its values to this one's (label codes)."""
        if not other.domain:
            return
        index = np.array([self._code(translate(v) if translate else v) for v in other.domain], dtype=np.int64)
        self.matrix[np.ix_(index, index)] += other.matrix

    def _code(self, value: Any) -> int:
        code = self.domain.get(value)
        if code is None:
            code = self.domain[value] = len(self.domain)
            self.matrix = np.pad(self.matrix, ((0, 1), (0, 1)))
        return code

    def alpha(self, level: str) -> float | None:
        """Krippendorff's alpha at a level of measurement, None when it is undefined."""
        if len(self.domain) < 2 or self.matrix.sum() == 0:
            return None
        values = list(self.domain)
        order = np.argsort(np.array(values, dtype=np.float64)) if level != "nominal" else np.arange(len(values))
        o = self.matrix[np.ix_(order, order)]
        ordered = np.array([values[i] for i in order], dtype=np.float64 if level != "nominal" else object)
        n_v = o.sum(axis=0)
        total = n_v.sum()
        if total <= 1:
            return None
        e = (np.outer(n_v, n_v) - np.diag(n_v)) / (total - 1)
        d = distances(ordered, n_v, level)
        expected = float((e * d).sum())
        if expected == 0:
            return None
        return 1.0 - float((o * d).sum()) / expected


def distances(values: np.ndarray[Any, Any], n_v: Floats, level: str) -> Floats:
    """Krippendorff's squared difference functions for values sorted ascending."""
    size = len(values)
    if level == "nominal":
        result: Floats = 1.0 - np.eye(size)
        return result
    c, k = np.meshgrid(np.arange(size), np.arange(size), indexing="ij")
    if level == "ordinal":
        cumulative = np.concatenate(([0.0], np.cumsum(n_v)))
        low, high = np.minimum(c, k), np.maximum(c, k)
        between = cumulative[high + 1] - cumulative[low]
        result = (between - (n_v[c] + n_v[k]) / 2.0) ** 2
        return result
    v = values.astype(np.float64)
    if level == "interval":
        result = (v[c] - v[k]) ** 2
        return result
    if level == "ratio":
        total = v[c] + v[k]
        result = np.divide(v[c] - v[k], total, out=np.zeros((size, size)), where=total != 0) ** 2
        return result
    raise ValueError(f"level must be one of {LEVELS}")


def kendall_w(values: Floats, lowest_is_best: bool = True) -> Floats:
    """Kendall's W with tie correction for each stack of judgments (..., m annotators, n objects)."""
    ranks = mid_ranks(values if lowest_is_best else -values)
    m, n = values.shape[-2], values.shape[-1]
    totals = ranks.sum(axis=-2)
    spread = ((totals - m * (n + 1) / 2.0) ** 2).sum(axis=-1)
    equal = (values[..., :, None] == values[..., None, :]).sum(axis=-1)  # size of each value's tie group
    ties = (equal.astype(np.float64) ** 2 - 1.0).sum(axis=(-1, -2))  # sum over groups of t^3 - t
    denominator = m * m * (n**3 - n) - m * ties
    result: Floats = np.divide(12.0 * spread, denominator, out=np.full(spread.shape, np.nan), where=denominator > 0)
    return result


def mid_ranks(values: Floats) -> Floats:
    """Ranks along the last axis, lowest value first, ties sharing the mean of their ranks (scipy's rankdata
    "average", without importing scipy.stats, which takes longer than ranking a million answers)."""
    below = (values[..., None, :] < values[..., :, None]).sum(axis=-1)
    equal = (values[..., None, :] == values[..., :, None]).sum(axis=-1)
    result: Floats = below + (equal + 1) / 2.0
    return result


def first_shown_p_value(preferred: int, decided: int) -> float:
    """Two-sided binomial test of `preferred` successes in `decided` trials against 1/2 (as scipy.stats.binomtest;
    with p = 1/2 the distribution is symmetric, so the p-value is twice the smaller tail)."""
    special = require("scipy.special")
    low = min(preferred, decided - preferred)
    if 2 * low == decided:
        return 1.0
    return min(1.0, 2.0 * float(special.bdtr(low, decided, 0.5)))


def pairwise_agreement(signs: Floats) -> Floats:
    """Per item (..., m, P) of pair orders (+1, 0, -1): share of annotator pairs agreeing, over all pairs."""
    m = signs.shape[-2]
    if m < 2:
        return np.full(signs.shape[:-2], np.nan)
    agreeing = sum(((signs == d).sum(axis=-2) * ((signs == d).sum(axis=-2) - 1) / 2.0) for d in (-1.0, 0.0, 1.0))
    result: Floats = agreeing.sum(axis=-1) / (signs.shape[-1] * m * (m - 1) / 2.0)
    return result


def group_signs(group: Group) -> Floats:
    return group.signs


@dataclass
class WorkerTally:
    answers: int = 0
    compared: int = 0
    agreed: int = 0
    first_decided: int = 0
    first_preferred: int = 0


@dataclass
class Agreement:
    """Streaming agreement statistics over the batches of an export."""

    kind: Kind | None = None
    lowest_is_best: bool = True
    items: int = 0
    answers: int = 0
    multi_items: int = 0  # items with at least two annotators
    w_sum: float = 0.0
    w_items: int = 0
    agreement_sum: float = 0.0
    histogram: list[int] = field(default_factory=lambda: [0] * HISTOGRAM_BINS)
    lowest: list[tuple[float, str]] = field(default_factory=list)
    coincidences: Coincidences = field(default_factory=Coincidences)
    workers: dict[str, WorkerTally] = field(default_factory=dict)
    ranks: Counter[tuple[int, float]] = field(default_factory=Counter)  # (position shown, value) -> count
    models: ModelComparison = field(default_factory=ModelComparison)
    label_units: list[np.ndarray[Any, Any]] = field(default_factory=list)
    label_names: dict[str, int] = field(default_factory=dict)
    unit_names: list[str] = field(default_factory=list)
    # A part of a parallel export records each item's model wins instead of drawing bootstrap weights: merge()
    # adds them in item order, so the weights are drawn as in one pass.
    model_items: list[tuple[tuple[str | None, ...], Floats]] | None = None

    def item_agreement(self, batch: ItemBatch) -> Floats:
        """Pairwise agreement of each item of the batch (NaN for single-annotator items)."""
        result = np.full(len(batch.items), np.nan)
        if batch.kind is Kind.LABEL:
            for position, item in enumerate(batch.items):
                result[position] = _label_agreement([j.labels for j in item.judgments])
            return result
        for group in batch.groups:
            result[group.items] = pairwise_agreement(group_signs(group))
        return result

    def add(self, batch: ItemBatch, agreement: Floats, keep: np.ndarray[Any, Any]) -> None:
        """Count the kept items of a batch (keep: boolean per item) with their per-item agreement."""
        self.kind = batch.kind
        kept = np.flatnonzero(keep)
        self.items += len(kept)
        self.answers += sum(len(batch.items[p].judgments) for p in kept.tolist())
        values = agreement[kept]
        known = kept[~np.isnan(values)]  # items with several annotators (NaN: one annotator)
        values = agreement[known]
        self.multi_items += len(known)
        self.agreement_sum += float(values.sum())
        bins = np.minimum((values * HISTOGRAM_BINS).astype(np.int64), HISTOGRAM_BINS - 1)
        for b, count in enumerate(np.bincount(bins, minlength=HISTOGRAM_BINS).tolist()):
            self.histogram[b] += count
        lowest = known[np.argsort(values, kind="stable")[:LOWEST_ITEMS]]
        self.lowest = sorted(self.lowest + [(float(agreement[p]), batch.items[p].item_id) for p in lowest.tolist()])[
            :LOWEST_ITEMS
        ]
        if batch.kind is Kind.LABEL:
            self._add_labels(batch, keep)
            return
        model_wins: list[tuple[int, Floats]] = []
        for group in batch.groups:
            chosen = keep[group.items]
            if chosen.any():
                self._add_group(
                    batch,
                    group
                    if chosen.all()
                    else Group(
                        group.items[chosen],
                        group.raw[chosen],
                        group.scores[chosen],
                        group.workers[chosen],
                        None if group.orders is None else group.orders[chosen],
                    ),
                    model_wins,
                )
        # In item order (not group by group): each item draws its bootstrap weights in turn, however the items
        # were batched.
        for position, wins in sorted(model_wins, key=lambda pair: pair[0]):
            if self.model_items is not None:
                self.model_items.append((batch.items[position].models, wins))
            else:
                self.models.add_item(batch.items[position].models, wins)

    def _add_group(self, batch: ItemBatch, group: Group, model_wins: list[tuple[int, Floats]]) -> None:
        """Add a group's figures; the model wins of its items (if responses name models) go to model_wins."""
        m, n = group.m, group.n
        values, codes = np.unique(group.raw, return_inverse=True)
        codes = codes.reshape(group.raw.shape)
        self.coincidences.add_units(codes.transpose(0, 2, 1).reshape(-1, m), values.tolist())
        shown_codes = group.shown(codes)  # the values by the position they were shown at
        by_position = np.bincount((shown_codes * n + np.arange(n)).reshape(-1), minlength=len(values) * n)
        for key in np.flatnonzero(by_position).tolist():
            self.ranks[(key % n, float(values[key // n]))] += int(by_position[key])
        signs = group_signs(group)  # (G, m, P)
        workers = group.workers.reshape(-1)
        size = len(batch.workers)
        answers = _per_worker(workers, np.ones(len(workers)), size)
        if group.orders is None:
            first, _ = pair_indices(n)
            shown_first = signs[:, :, first == 0]
        else:  # the response shown first against each shown after it, whichever responses they were
            shown_scores = group.shown(group.scores)
            shown_first = np.sign(shown_scores[:, :, :1] - shown_scores[:, :, 1:])
        decided = _per_worker(workers, (shown_first != 0).sum(axis=-1).reshape(-1), size)
        preferred = _per_worker(workers, (shown_first > 0).sum(axis=-1).reshape(-1), size)
        compared_w = agreed_w = np.zeros(size)
        if m >= 2:
            self.w_sum += float(np.nansum(w := kendall_w(group.raw, self.lowest_is_best)))
            self.w_items += int(np.count_nonzero(~np.isnan(w)))
            others = signs.sum(axis=1, keepdims=True) - signs
            counted = others != 0
            agreed = counted & (np.sign(others) == signs)
            compared_w = _per_worker(workers, counted.sum(axis=-1).reshape(-1), size)
            agreed_w = _per_worker(workers, agreed.sum(axis=-1).reshape(-1), size)
        for index, name in enumerate(batch.workers):
            if not answers[index]:
                continue
            tally = self.workers.setdefault(name, WorkerTally())
            tally.answers += int(answers[index])
            tally.compared += int(compared_w[index])
            tally.agreed += int(agreed_w[index])
            tally.first_decided += int(decided[index])
            tally.first_preferred += int(preferred[index])
        if any(model is not None for position in group.items.tolist() for model in batch.items[position].models):
            wins = win_matrices(group.scores)
            model_wins.extend(zip(group.items.tolist(), wins, strict=True))

    def merge(self, part: Agreement) -> None:
        """Add the statistics of the items that followed (a part recorded with model_items): the result is the
        same whichever process computed the part."""
        self.kind = part.kind or self.kind
        self.items += part.items
        self.answers += part.answers
        self.multi_items += part.multi_items
        self.w_sum += part.w_sum
        self.w_items += part.w_items
        self.agreement_sum += part.agreement_sum
        self.histogram = [a + b for a, b in zip(self.histogram, part.histogram, strict=True)]
        self.lowest = sorted(self.lowest + part.lowest)[:LOWEST_ITEMS]
        for name, tally in part.workers.items():
            mine = self.workers.setdefault(name, WorkerTally())
            mine.answers += tally.answers
            mine.compared += tally.compared
            mine.agreed += tally.agreed
            mine.first_decided += tally.first_decided
            mine.first_preferred += tally.first_preferred
        self.ranks.update(part.ranks)
        for models, wins in part.model_items or ():
            self.models.add_item(models, wins)
        if part.kind is not Kind.LABEL:
            self.coincidences.merge(part.coincidences)
            return
        codes = {
            code: self.label_names.setdefault(name, len(self.label_names)) for name, code in part.label_names.items()
        }  # the part's label (and worker) codes -> ours
        self.coincidences.merge(part.coincidences, codes.__getitem__)
        lookup = np.array([codes[c] for c in range(len(codes))], dtype=np.int64)
        for triples in part.label_units:
            self.label_units.append(
                np.column_stack((triples[:, 0] + len(self.unit_names), lookup[triples[:, 1]], lookup[triples[:, 2]]))
            )
        self.unit_names.extend(part.unit_names)

    def _add_labels(self, batch: ItemBatch, keep: np.ndarray[Any, Any]) -> None:
        triples = []
        for position in np.flatnonzero(keep).tolist():
            item = batch.items[position]
            targets = max(len(j.labels) for j in item.judgments)
            codes = np.full((targets, len(item.judgments)), -1, dtype=np.int64)
            for a, judgment in enumerate(item.judgments):
                tally = self.workers.setdefault(judgment.annotator, WorkerTally())
                tally.answers += 1
                worker = self.label_names.setdefault("\0" + judgment.annotator, len(self.label_names))
                for t, label in enumerate(judgment.labels):
                    if label is None:
                        continue
                    code = self.label_names.setdefault(label, len(self.label_names))
                    codes[t, a] = code
                    triples.append((len(self.unit_names) + t, worker, code))
            for t in range(targets):
                self.unit_names.append(item.item_id if targets == 1 else f"{item.item_id}#{t + 1}")
            self.coincidences.add_units(codes, list(range(len(self.label_names))))
        if triples:
            self.label_units.append(np.array(triples, dtype=np.int64))

    def summary(self, replicates_seed: int | None = None) -> dict[str, Any]:
        kind = self.kind or Kind.RANKING
        level = {Kind.RANKING: "ordinal", Kind.RATING: "interval", Kind.LABEL: "nominal"}[kind]
        result: dict[str, Any] = {
            "items": self.items,
            "answers": self.answers,
            "items_with_several_annotators": self.multi_items,
            "krippendorff_alpha": {"level": level, "value": _round(self.coincidences.alpha(level))},
            "pairwise_agreement_mean": _round(self.agreement_sum / self.multi_items if self.multi_items else None),
            "agreement_histogram": {"bins": HISTOGRAM_BINS, "counts": list(self.histogram)},
            "lowest_agreement_items": [{"item_id": i, "agreement": _round(v)} for v, i in self.lowest],
        }
        if kind is not Kind.LABEL:
            result["kendall_w_mean"] = _round(self.w_sum / self.w_items if self.w_items else None)
            result["value_distribution"] = [
                {"position": p + 1, "value": v, "count": c} for (p, v), c in sorted(self.ranks.items())
            ]
            result["models"] = self.models.result()
        else:
            result.update(self._label_summary())
        result["workers"] = self._worker_rows(kind)
        return result

    def _worker_rows(self, kind: Kind) -> list[dict[str, Any]]:
        pairs = kind is not Kind.LABEL
        rows = []
        for name, tally in sorted(self.workers.items()):
            row: dict[str, Any] = {
                "worker": name,
                "answers": tally.answers,
                "agreement_with_others": _round(tally.agreed / tally.compared if tally.compared else None),
                "compared": tally.compared,
            }
            if pairs:
                row["first_shown_preferred"] = _round(
                    tally.first_preferred / tally.first_decided if tally.first_decided else None
                )
                row["first_shown_decided"] = tally.first_decided
                row["position_bias_p"] = _round(
                    first_shown_p_value(tally.first_preferred, tally.first_decided) if tally.first_decided else None
                )
            rows.append(row)
        return rows

    def _label_summary(self) -> dict[str, Any]:
        labels = {code: name for name, code in self.label_names.items() if not name.startswith("\0")}
        workers = {code: name[1:] for name, code in self.label_names.items() if name.startswith("\0")}
        if not self.label_units:
            return {"labels": {}}
        triples = np.concatenate(self.label_units)
        classes = sorted(labels)
        class_index = {code: i for i, code in enumerate(classes)}
        worker_codes = sorted(workers)
        worker_index = {code: i for i, code in enumerate(worker_codes)}
        units, who, said = (
            triples[:, 0],
            np.array([worker_index[w] for w in triples[:, 1].tolist()]),
            np.array([class_index[c] for c in triples[:, 2].tolist()]),
        )
        n_units = len(self.unit_names)
        votes = majority_vote(units, said, n_units, len(classes))
        fitted = dawid_skene(units, who, said, n_units, len(worker_codes), len(classes))
        truth = fitted.posteriors.argmax(axis=1)
        others = votes[units] - np.eye(len(classes))[said]
        top = others.max(axis=1)
        counted = (top > 0) & ((others == top[:, None]).sum(axis=1) == 1)
        agreed = counted & (others.argmax(axis=1) == said)
        for w, code in enumerate(worker_codes):
            tally = self.workers[workers[code]]
            tally.compared = int(counted[who == w].sum())
            tally.agreed = int(agreed[who == w].sum())
        names = [labels[c] for c in classes]
        return {
            "labels": dict(Counter(names[c] for c in said.tolist())),
            "dawid_skene": {
                "iterations": fitted.iterations,
                "class_priors": {names[k]: _round(float(p)) for k, p in enumerate(fitted.priors)},
                "worker_accuracy": {
                    workers[code]: _round(float(np.sum(fitted.priors * np.diag(fitted.confusion[w]))))
                    for w, code in enumerate(worker_codes)
                },
                "units_where_majority_differs": int(
                    sum(_majority(votes[u], names) not in (None, names[int(truth[u])]) for u in range(n_units))
                ),
            },
        }


def _per_worker(workers: np.ndarray[Any, Any], weights: np.ndarray[Any, Any], size: int) -> Floats:
    return np.bincount(workers, weights=weights.astype(np.float64), minlength=size).astype(np.float64)


def _majority(counts: Floats, names: list[str]) -> str | None:
    top = counts.max()
    winners = np.flatnonzero(counts == top)
    return names[int(winners[0])] if top > 0 and len(winners) == 1 else None


def _label_agreement(labels: list[tuple[str | None, ...]]) -> float:
    if len(labels) < 2:
        return float("nan")
    agreeing = total = 0
    for a in range(len(labels)):
        for b in range(a + 1, len(labels)):
            for x, y in zip(labels[a], labels[b], strict=False):
                if x is not None and y is not None:
                    total += 1
                    agreeing += x == y
    return agreeing / total if total else float("nan")


def _round(value: float | None, digits: int = 8) -> float | None:
    """A figure to `digits` significant digits (None for missing or NaN)."""
    return None if value is None or np.isnan(value) else float(f"{float(value):.{digits}g}")


def per_item_strengths(group: Group) -> Floats:
    """Bradley-Terry log-strengths of each item's responses from its annotators' orders (G, n)."""
    return bradley_terry(win_matrices(group.scores))
