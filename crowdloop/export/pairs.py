"""Preference pairs (and unpaired KTO rows) from the items of a batch, formed within an item only.

Policies (crowdloop.export.model.Policy) pick pairs from one score vector (higher = better):
    all            every pair (i, j)
    best-vs-rest   each best response against each response that is not best
    adjacent       responses of neighbouring rank levels (levels: distinct scores, best first)
A tie (equal scores) is never a preference: it is left out, or with ties=True emitted with margin 0 and
the response shown first as "chosen". With ties=True, best-vs-rest adds the pairs among tied best
responses and adjacent the pairs within one level.

Per-annotator rows (default): one row per annotator per selected pair, margin = the score gap (rank gap
for rankings). Consensus rows: one row per selected pair of the item's consensus:
    mean-rank  scores averaged over annotators; margin = the gap of the mean ranks (mean ratings)
    majority   each pair goes the way more annotators ordered it (equal votes: a tie); best-vs-rest and
               adjacent pick pairs by Copeland score (majority wins minus losses); margin =
               (votes for chosen - votes against) / annotators
Every row's agreement is the share of the item's annotators who ordered the pair the row's way
(null for single-annotator items).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from crowdloop.export.batches import Bools, Floats, Group, Ints, ItemBatch, levels, pair_indices
from crowdloop.export.chat import prompt_column, prompt_messages
from crowdloop.export.deps import require
from crowdloop.export.model import Consensus, Kind, Policy, Prompt


@dataclass(frozen=True)
class PairOptions:
    policy: Policy = Policy.ALL
    ties: bool = False
    consensus: Consensus | None = None
    conversational: bool = False


def select(scores: Floats, policy: Policy, ties: bool) -> tuple[Bools, Floats]:
    """(mask, gaps) of shape (..., P) for score vectors (..., n): gap > 0 when the first of the pair is better."""
    first, second = pair_indices(scores.shape[-1])
    gaps = scores[..., first] - scores[..., second]
    tied = gaps == 0
    if policy is Policy.ALL:
        mask = ~tied
    elif policy is Policy.BEST:
        best = scores == scores.max(axis=-1, keepdims=True)
        mask = best[..., first] ^ best[..., second]
        tied = tied & best[..., first] & best[..., second]
    else:
        level = levels(scores)
        step = np.abs(level[..., first] - level[..., second])
        mask = step == 1
        tied = tied & (step == 0)
    return (mask | tied) if ties else mask, gaps


def copeland(votes: Floats, n: int) -> Floats:
    """Majority wins minus losses of each response, from pair votes (..., P) (> 0: first of the pair won)."""
    first, second = pair_indices(n)
    incidence = np.zeros((len(first), n))
    incidence[np.arange(len(first)), first] = 1.0
    incidence[np.arange(len(first)), second] = -1.0
    result: Floats = np.sign(votes) @ incidence
    return result


@dataclass
class PairRows:
    """Selected pairs of one batch, as parallel arrays in output order."""

    item: Ints  # position in batch.items
    annotator: Ints  # position in batch.workers; -1 for consensus rows
    chosen: Ints  # response index within the item
    rejected: Ints
    margin: Floats
    agreement: Floats  # NaN for single-annotator items
    flagged: Bools  # the row's answer is flagged (crowdloop:min-seconds); consensus rows: False (see the column)


def pair_rows(batch: ItemBatch, options: PairOptions) -> PairRows:
    parts = [_group_rows(batch, group, options) for group in batch.groups]
    if not parts:
        empty_i, empty_f = np.zeros(0, dtype=np.int64), np.zeros(0)
        return PairRows(empty_i, empty_i, empty_i, empty_i, empty_f, empty_f, np.zeros(0, dtype=bool))
    item, position, pair, annotator, chosen, rejected, margin, agreement, flagged = (
        np.concatenate([p[k] for p in parts]) for k in range(9)
    )
    order = np.lexsort((pair, position, item))
    return PairRows(
        item[order],
        annotator[order],
        chosen[order],
        rejected[order],
        margin[order],
        agreement[order],
        flagged[order],
    )


def _group_rows(batch: ItemBatch, group: Group, options: PairOptions) -> list[Any]:
    n, m = group.n, group.m
    first, second = pair_indices(n)
    signs = group.signs  # (G, m, P)
    counts = {d: (signs == d).sum(axis=1) for d in (1.0, -1.0, 0.0)}  # (G, P) each
    if options.consensus is None:
        mask, gaps = select(group.scores, options.policy, options.ties)  # (G, m, P)
        g, a, p = np.nonzero(mask)
        gap = gaps[g, a, p]
        annotator = group.workers[g, a]
        flagged = group.flagged[g, a] if group.flagged is not None else np.zeros(len(g), dtype=bool)
        margin = np.abs(gap)
        direction = np.sign(gap)
    else:
        if options.consensus is Consensus.MEAN_RANK:
            mask, gaps = select(group.scores.mean(axis=1), options.policy, options.ties)  # (G, P)
            g, p = np.nonzero(mask)
            gap = gaps[g, p]
            margin = np.abs(gap)
        else:
            votes = signs.sum(axis=1)  # (G, P)
            undecided = votes == 0
            if options.policy is Policy.ALL:
                mask = np.ones_like(votes, dtype=bool)
            else:
                mask, _ = select(copeland(votes, n), options.policy, options.ties)
            mask &= options.ties | ~undecided
            g, p = np.nonzero(mask)
            gap = votes[g, p]
            margin = np.abs(gap) / m
        a = np.zeros_like(g)
        annotator = np.full_like(g, -1)
        flagged = np.zeros(len(g), dtype=bool)
        direction = np.sign(gap)
    chosen = np.where(direction >= 0, first[p], second[p])
    rejected = np.where(direction >= 0, second[p], first[p])
    agreeing = np.select([direction > 0, direction < 0], [counts[1.0][g, p], counts[-1.0][g, p]], counts[0.0][g, p])
    agreement = agreeing / m if m > 1 else np.full(len(g), np.nan)
    return [group.items[g], a, p, annotator, chosen, rejected, margin.astype(np.float64), agreement, flagged]


def preference_batch(batch: ItemBatch, rows: PairRows, options: PairOptions) -> Any:
    """The rows as a pyarrow RecordBatch: prompt, chosen, rejected, margin, item_id, annotator, agreement,
    worker_flagged (per annotator: the answer's flag; consensus rows: one flag per annotator listed)."""
    pa = require("pyarrow")
    items = batch.items
    offsets = batch.offsets[rows.item]
    responses = pa.array(batch.responses(), type=pa.string())
    chosen = _dictionary(pa, offsets + rows.chosen, responses)
    rejected = _dictionary(pa, offsets + rows.rejected, responses)
    if options.conversational:
        prompt = prompt_column(pa, [item.prompt for item in items], rows.item)
        chosen = _messages(pa, "assistant", chosen)
        rejected = _messages(pa, "assistant", rejected)
    else:  # text prompts only (the export refuses chat prompts without --conversational)
        prompt = _dictionary(pa, rows.item, pa.array([item.prompt for item in items], type=pa.string()))
    item_ids = pa.array([item.item_id for item in items], type=pa.string()).take(pa.array(rows.item))
    if options.consensus is None:
        annotator = pa.array(batch.workers, type=pa.string()).take(pa.array(rows.annotator))
        flagged = pa.array(rows.flagged, type=pa.bool_())
    else:
        listed = rows.item.tolist()
        annotator = pa.array([[j.annotator for j in items[i].judgments] for i in listed], type=pa.list_(pa.string()))
        flagged = pa.array([[j.flagged for j in items[i].judgments] for i in listed], type=pa.list_(pa.bool_()))
    columns = [
        prompt,
        chosen,
        rejected,
        pa.array(rows.margin, type=pa.float64()),
        item_ids,
        annotator,
        pa.array(rows.agreement, type=pa.float64(), mask=np.isnan(rows.agreement)),
        flagged,
    ]
    return pa.RecordBatch.from_arrays(columns, schema=preference_schema(options))


def preference_schema(options: PairOptions) -> Any:
    pa = require("pyarrow")
    text = _message_type(pa) if options.conversational else pa.dictionary(pa.int32(), pa.string())
    consensus = options.consensus is not None
    annotator = pa.list_(pa.string()) if consensus else pa.string()
    return pa.schema(
        [
            ("prompt", text),
            ("chosen", text),
            ("rejected", text),
            ("margin", pa.float64()),
            ("item_id", pa.string()),
            ("annotator", annotator),
            ("agreement", pa.float64()),
            ("worker_flagged", pa.list_(pa.bool_()) if consensus else pa.bool_()),
        ]
    )


def _dictionary(pa: Any, indices: Ints, values: Any) -> Any:
    return pa.DictionaryArray.from_arrays(pa.array(indices.astype(np.int32)), values)


def _message_type(pa: Any) -> Any:
    return pa.list_(pa.struct([("role", pa.string()), ("content", pa.string())]))


def _messages(pa: Any, role: str, text: Any) -> Any:
    """One-message conversations: [{"role": role, "content": text}] per row."""
    contents = text.cast(pa.string()) if pa.types.is_dictionary(text.type) else text
    roles = pa.array([role]).take(pa.array(np.zeros(len(contents), dtype=np.int32)))
    messages = pa.StructArray.from_arrays([roles, contents], names=["role", "content"])
    return pa.ListArray.from_arrays(pa.array(np.arange(len(contents) + 1, dtype=np.int32)), messages)


# --- KTO ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class KtoOptions:
    consensus: Consensus | None = None
    threshold: float | None = None  # ratings: desirable when >= threshold (else best / worst)
    conversational: bool = False


def kto_rows(batch: ItemBatch, options: KtoOptions) -> list[dict[str, Any]]:
    """Unpaired rows {prompt, completion, label}: per annotator (or per consensus), the best response(s) are
    desirable and the worst undesirable (middle ones and all-tied items give no row); ratings with a
    threshold: every response, desirable when its rating reaches the threshold."""
    rows: list[dict[str, Any]] = []
    for group in batch.groups:
        if options.consensus is None:
            scores, raw = group.scores, group.raw
            who: list[list[Any]] = [[batch.workers[w] for w in ws] for ws in group.workers.tolist()]
        else:
            scores, raw = group.scores.mean(axis=1, keepdims=True), group.raw.mean(axis=1, keepdims=True)
            who = [[[batch.workers[w] for w in ws]] for ws in group.workers.tolist()]
        if options.threshold is not None and batch.kind is Kind.RATING:
            good, bad = raw >= options.threshold, raw < options.threshold
        else:
            top, bottom = scores.max(axis=-1, keepdims=True), scores.min(axis=-1, keepdims=True)
            spread = top > bottom
            good, bad = (scores == top) & spread, (scores == bottom) & spread
        for g, a, r in zip(*np.nonzero(good | bad), strict=True):
            item = batch.items[int(group.items[g])]
            rows.append(
                _kto_row(
                    item.prompt,
                    item.responses[r],
                    bool(good[g, a, r]),
                    item.item_id,
                    who[g][a],
                    options.conversational,
                    (int(group.items[g]), int(a), int(r)),
                )
            )
    rows.sort(key=lambda row: row.pop("_order"))
    return rows


def kto_label_rows(batch: ItemBatch, desirable: tuple[str, ...], conversational: bool) -> list[dict[str, Any]]:
    """KTO rows from per-response labels: desirable when the label is one of `desirable`."""
    rows = []
    for position, item in enumerate(batch.items):
        for a, judgment in enumerate(item.judgments):
            if len(judgment.labels) != len(item.responses):
                continue
            for r, label in enumerate(judgment.labels):
                rows.append(
                    _kto_row(
                        item.prompt,
                        item.responses[r],
                        label in desirable,
                        item.item_id,
                        judgment.annotator,
                        conversational,
                        (position, a, r),
                    )
                )
    rows.sort(key=lambda row: row.pop("_order"))
    return rows


def _kto_row(
    prompt: Prompt,
    completion: str,
    label: bool,
    item_id: str,
    annotator: Any,
    conversational: bool,
    order: tuple[int, int, int],
) -> dict[str, Any]:
    if conversational:
        return {
            "prompt": prompt_messages(prompt),
            "completion": [{"role": "assistant", "content": completion}],
            "label": label,
            "item_id": item_id,
            "annotator": annotator,
            "_order": order,
        }
    return {
        "prompt": prompt,
        "completion": completion,
        "label": label,
        "item_id": item_id,
        "annotator": annotator,
        "_order": order,
    }
