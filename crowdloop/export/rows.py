"""Listwise rows: rankings, ratings and labels, per annotator or one consensus row per item (or unit).

rankings  {prompt, responses (best -> worst), ranks, scores, item_id, annotator, agreement}
          ranks: the ranks given (ratings: 1 + the number of better-rated responses); consensus: mean ranks.
          scores, higher = better: for rankings the Borda score (responses ranked below minus above,
          over n - 1, in [-1, 1]); for ratings the rating; consensus: their means, plus `strengths`, the
          item's Bradley-Terry log-strengths from all its annotators. Ties keep the order shown.
ratings   {prompt, response, response_index, model, rating, item_id, annotator}; consensus: the mean
          rating, the list of ratings and their standard deviation
labels    {prompt, response, label, item_id, annotator} (response is null for item-level labels);
          consensus: the Dawid-Skene label with its probability, the majority label (null when the
          vote is tied) and the labels given
"""

from __future__ import annotations

from typing import Any

import numpy as np

from crowdloop.export.aggregate import bradley_terry, dawid_skene, majority_vote, win_matrices
from crowdloop.export.batches import Floats, ItemBatch
from crowdloop.export.deps import require
from crowdloop.export.model import Item, Kind


def borda(scores: Floats) -> Floats:
    """(better than - worse than) / (n - 1) along the last axis."""
    n = scores.shape[-1]
    gaps = scores[..., :, None] - scores[..., None, :]
    result: Floats = ((gaps > 0).sum(axis=-1) - (gaps < 0).sum(axis=-1)) / max(n - 1, 1)
    return result


def ranking_rows(batch: ItemBatch, consensus: bool, agreement: Floats) -> list[dict[str, Any]]:
    rows: list[tuple[tuple[int, int], dict[str, Any]]] = []
    for group in batch.groups:
        if batch.kind is Kind.RANKING:
            ranks, scores = group.raw, borda(group.scores)
        else:
            ranks = 1.0 + (group.scores[..., None, :] > group.scores[..., :, None]).sum(axis=-1)
            scores = group.raw
        strengths = bradley_terry(win_matrices(group.scores)) if consensus else None
        for g, position in enumerate(group.items.tolist()):
            item = batch.items[position]
            agreed = _number(agreement[position])
            if consensus:
                mean_ranks, mean_scores = ranks[g].mean(axis=0), scores[g].mean(axis=0)
                order = np.lexsort((np.arange(group.n), -mean_scores, mean_ranks))
                assert strengths is not None
                rows.append(
                    (
                        (position, 0),
                        {
                            "prompt": item.prompt,
                            "responses": [item.responses[i] for i in order],
                            "ranks": [float(mean_ranks[i]) for i in order],
                            "scores": [float(mean_scores[i]) for i in order],
                            "strengths": [float(strengths[g, i]) for i in order],
                            "item_id": item.item_id,
                            "annotator": [j.annotator for j in item.judgments],
                            "agreement": agreed,
                            "worker_flagged": [j.flagged for j in item.judgments],
                        },
                    )
                )
                continue
            for a, judgment in enumerate(item.judgments):
                order = np.lexsort((np.arange(group.n), ranks[g, a]))
                rows.append(
                    (
                        (position, a),
                        {
                            "prompt": item.prompt,
                            "responses": [item.responses[i] for i in order],
                            "ranks": [float(ranks[g, a, i]) for i in order],
                            "scores": [float(scores[g, a, i]) for i in order],
                            "item_id": item.item_id,
                            "annotator": judgment.annotator,
                            "agreement": agreed,
                            "worker_flagged": judgment.flagged,
                        },
                    )
                )
    rows.sort(key=lambda pair: pair[0])
    return [row for _, row in rows]


def rating_rows(batch: ItemBatch, consensus: bool) -> list[dict[str, Any]]:
    rows = []
    for item in batch.items:
        for r, response in enumerate(item.responses):
            base = {"prompt": item.prompt, "response": response, "response_index": r, "model": item.models[r]}
            given = [j.values[r] for j in item.judgments]
            if consensus:
                rows.append(
                    {
                        **base,
                        "rating": float(np.mean(given)),
                        "ratings": given,
                        "rating_std": float(np.std(given)),
                        "item_id": item.item_id,
                        "annotator": [j.annotator for j in item.judgments],
                    }
                )
            else:
                rows.extend(
                    {**base, "rating": value, "item_id": item.item_id, "annotator": j.annotator}
                    for value, j in zip(given, item.judgments, strict=True)
                )
    return rows


def label_rows(batch: ItemBatch) -> list[dict[str, Any]]:
    rows = []
    for item in batch.items:
        for judgment in item.judgments:
            for t, label in enumerate(judgment.labels):
                rows.append(
                    {
                        "prompt": item.prompt,
                        "response": _target(item, t),
                        "label": label,
                        "item_id": item.item_id,
                        "annotator": judgment.annotator,
                    }
                )
    return rows


def label_consensus_rows(items: list[Item]) -> list[dict[str, Any]]:
    """One row per (item, target) with the Dawid-Skene and majority labels (needs every item at once)."""
    names: dict[str, int] = {}
    workers: dict[str, int] = {}
    units: list[tuple[Item, int]] = []
    triples = []
    for item in items:
        targets = max(len(j.labels) for j in item.judgments)
        for t in range(targets):
            for judgment in item.judgments:
                label = judgment.labels[t] if t < len(judgment.labels) else None
                if label is not None:
                    triples.append(
                        (
                            len(units),
                            workers.setdefault(judgment.annotator, len(workers)),
                            names.setdefault(label, len(names)),
                        )
                    )
            units.append((item, t))
    if not triples:
        return []
    data = np.array(triples, dtype=np.int64)
    fitted = dawid_skene(data[:, 0], data[:, 1], data[:, 2], len(units), len(workers), len(names))
    votes = majority_vote(data[:, 0], data[:, 2], len(units), len(names))
    label_names = list(names)
    rows = []
    for u, (item, t) in enumerate(units):
        best = int(fitted.posteriors[u].argmax())
        top = votes[u].max()
        winners = np.flatnonzero(votes[u] == top)
        rows.append(
            {
                "prompt": item.prompt,
                "response": _target(item, t),
                "label": label_names[best],
                "probability": float(fitted.posteriors[u, best]),
                "majority": label_names[int(winners[0])] if len(winners) == 1 else None,
                "labels": [j.labels[t] if t < len(j.labels) else None for j in item.judgments],
                "item_id": item.item_id,
                "annotator": [j.annotator for j in item.judgments],
            }
        )
    return rows


def _target(item: Item, t: int) -> str | None:
    """The response a label is about; None for a label of the whole item."""
    return item.responses[t] if t < len(item.responses) else None


def _number(value: float) -> float | None:
    return None if np.isnan(value) else float(value)


def schema(dataset: str, consensus: bool, conversational: bool = False) -> Any:
    """The Arrow schema of the listwise and KTO datasets."""
    pa = require("pyarrow")
    text = pa.string()
    message = pa.list_(pa.struct([("role", pa.string()), ("content", pa.string())]))
    who = pa.list_(pa.string()) if consensus else pa.string()
    numbers = pa.list_(pa.float64())
    if dataset == "rankings":
        fields = [("prompt", text), ("responses", pa.list_(text)), ("ranks", numbers), ("scores", numbers)]
        fields += [("strengths", numbers)] if consensus else []
        fields += [("item_id", text), ("annotator", who), ("agreement", pa.float64())]
        fields += [("worker_flagged", pa.list_(pa.bool_()) if consensus else pa.bool_())]
    elif dataset == "ratings":
        fields = [
            ("prompt", text),
            ("response", text),
            ("response_index", pa.int64()),
            ("model", text),
            ("rating", pa.float64()),
        ]
        fields += [("ratings", numbers), ("rating_std", pa.float64())] if consensus else []
        fields += [("item_id", text), ("annotator", who)]
    elif dataset == "labels":
        fields = [("prompt", text), ("response", text), ("label", text)]
        fields += [("probability", pa.float64()), ("majority", text), ("labels", pa.list_(text))] if consensus else []
        fields += [("item_id", text), ("annotator", who)]
    elif dataset == "kto":
        style = message if conversational else text
        fields = [
            ("prompt", style),
            ("completion", style),
            ("label", pa.bool_()),
            ("item_id", text),
            ("annotator", who),
        ]
    else:
        raise ValueError(dataset)
    return pa.schema(fields)
