"""Items in batches, as arrays: the shape every computation of an export works on.

A batch holds up to BATCH_ITEMS items. Its ranked or rated items are split into groups of equal shape
(n responses, m annotators), so a group's judgments are one (G, m, n) array and pairs, consensus and
agreement are whole-array operations instead of Python loops over rows.

    scores  higher = better: -rank for rankings, the rating for ratings (pair margins are score gaps)
    raw     the values as given (ranks or ratings), for agreement statistics
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from itertools import islice
from typing import TypeVar

import numpy as np
import numpy.typing as npt

from crowdloop.export.model import Item, Judgment, Kind

BATCH_ITEMS = 8192

Floats = npt.NDArray[np.float64]
Ints = npt.NDArray[np.int64]
Bools = npt.NDArray[np.bool_]
_Number = TypeVar("_Number", np.float64, np.int64)


@dataclass
class Group:
    items: Ints  # (G,) positions in batch.items
    raw: Floats  # (G, m, n)
    scores: Floats  # (G, m, n)
    workers: Ints  # (G, m) positions in batch.workers
    # (G, m, n) the order each annotator saw the responses in (crowdloop:shuffle-responses: shown[k] =
    # response orders[..., k]); None: every one saw input order. raw and scores are in input order always.
    orders: Ints | None = None
    # (G, m) whether each answer is flagged (faster than crowdloop:min-seconds, kept with --include-flagged);
    # None: none is (the usual case: flagged answers are left out by default)
    flagged: Bools | None = None

    def shown(self, values: npt.NDArray[_Number]) -> npt.NDArray[_Number]:
        """(G, m, n) values in input order rearranged into the positions each annotator saw them in."""
        if self.orders is None:
            return values
        return np.take_along_axis(values, self.orders, axis=-1)

    @functools.cached_property
    def signs(self) -> Floats:
        """(G, m, P): +1 when the first response of pair p is better for that annotator, -1 worse, 0 tied."""
        first, second = pair_indices(self.n)
        result: Floats = np.sign(self.scores[:, :, first] - self.scores[:, :, second])
        return result

    @property
    def m(self) -> int:
        return int(self.raw.shape[1])

    @property
    def n(self) -> int:
        return int(self.raw.shape[2])


@dataclass
class ItemBatch:
    items: list[Item]
    kind: Kind
    workers: list[str] = field(default_factory=list)
    groups: list[Group] = field(default_factory=list)
    offsets: Ints = field(default_factory=lambda: np.zeros(1, dtype=np.int64))  # responses of item i start at
    agreement: Floats | None = None  # per item, set by the export's filter

    def responses(self) -> list[str]:
        return [r for item in self.items for r in item.responses]


def batches(items: Iterable[Item], size: int = BATCH_ITEMS) -> Iterator[ItemBatch]:
    return BatchStream(iter(items), size)


class BatchStream(Iterator[ItemBatch]):
    """Batches of `size` items. Not a generator: a generator's frame would keep the last chunk of items alive
    after the caller has dropped the batch made of it (and the collector would walk them)."""

    def __init__(self, items: Iterator[Item], size: int) -> None:
        self.items = items
        self.size = size

    def __next__(self) -> ItemBatch:
        chunk = list(islice(self.items, self.size))
        if not chunk:
            raise StopIteration
        return make_batch(chunk)


def make_batch(items: list[Item]) -> ItemBatch:
    kind = items[0].kind
    batch = ItemBatch(items, kind)
    counts = np.fromiter((len(item.responses) for item in items), dtype=np.int64, count=len(items))
    batch.offsets = np.concatenate(([0], np.cumsum(counts)))
    if kind is Kind.LABEL:
        return batch
    worker_index: dict[str, int] = {}
    shapes: dict[tuple[int, int], list[int]] = {}
    for position, item in enumerate(items):
        shapes.setdefault((len(item.responses), len(item.judgments)), []).append(position)
    chain = itertools.chain.from_iterable
    for (n, m), positions in shapes.items():
        size = len(positions)
        judgments = [j for p in positions for j in items[p].judgments]
        raw = np.fromiter(chain(j.values for j in judgments), dtype=np.float64, count=size * m * n)
        raw = raw.reshape(size, m, n)
        workers = np.fromiter(
            (worker_index.setdefault(j.annotator, len(worker_index)) for j in judgments), dtype=np.int64, count=size * m
        ).reshape(size, m)
        scores = -raw if kind is Kind.RANKING else raw
        group = Group(np.array(positions, dtype=np.int64), raw, scores, workers, _orders(judgments, m, n))
        if True in (flags := [j[4] for j in judgments]):  # Judgment.flagged, read fast
            group.flagged = np.array(flags, dtype=bool).reshape(size, m)
        batch.groups.append(group)
    batch.workers = list(worker_index)
    return batch


def _orders(judgments: list[Judgment], m: int, n: int) -> Ints | None:
    """The judgments' display orders as a (G, m, n) array (input order where a judgment has none), or None
    when none of them was shuffled (the usual case: no array at all)."""
    if not any(j.order for j in judgments):
        return None
    identity = tuple(range(n))
    chain = itertools.chain.from_iterable
    flat = np.fromiter(chain(j.order or identity for j in judgments), dtype=np.int64, count=len(judgments) * n)
    return flat.reshape(-1, m, n)


def pair_indices(n: int) -> tuple[Ints, Ints]:
    """The response pairs (i, j), i < j, in lexicographic order."""
    first, second = np.triu_indices(n, 1)
    return first.astype(np.int64), second.astype(np.int64)


def levels(scores: Floats) -> Ints:
    """Dense rank levels along the last axis: 0 for the best score, 1 for the next distinct one..."""
    order = np.argsort(-scores, axis=-1, kind="stable")
    ordered = np.take_along_axis(scores, order, axis=-1)
    steps = np.concatenate(
        [np.zeros((*ordered.shape[:-1], 1), dtype=np.int64), (ordered[..., 1:] != ordered[..., :-1]).astype(np.int64)],
        axis=-1,
    )
    result = np.empty_like(order)
    np.put_along_axis(result, order, np.cumsum(steps, axis=-1), axis=-1)
    return result
