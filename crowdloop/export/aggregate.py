"""Aggregating several workers' answers: Bradley-Terry strengths (per item, and across items per model with
bootstrap confidence intervals) and Dawid-Skene for categorical labels. Majority and mean-rank consensus
of pairs live in pairs.py, where they are applied.

Bradley-Terry: P(i beats j) = sigmoid(s_i - s_j). Strengths are fitted by Hunter's (2004) MM algorithm,
vectorised over a stack of win matrices (the items of a batch, or the bootstrap replicates), with `prior`
pseudo-wins added in both directions of every pair so that an unbeaten response gets a finite strength.
Ties count half a win to each side. Strengths are centred (mean 0 per fit).

Model-level comparison streams: each item adds its model-vs-model wins to the total and, for the
bootstrap, to B replicate totals weighted by Poisson(1) draws (the online bootstrap over items), so
memory does not grow with the number of items.

Dawid-Skene (1979): EM over class priors and one confusion matrix per worker, started from the majority
vote; answers are kept as three integer arrays (item, worker, label).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from crowdloop.export.batches import Floats, Ints

DEFAULT_PRIOR = 0.5


def bradley_terry(
    wins: Floats, prior: float = DEFAULT_PRIOR, iterations: int = 2000, tolerance: float = 1e-10
) -> Floats:
    """Log-strengths (..., n), centred, for win matrices (..., n, n): wins[..., i, j] = times i beat j."""
    wins = np.array(wins, dtype=np.float64)
    n = wins.shape[-1]
    if prior:
        wins = wins + prior * (1.0 - np.eye(n))
    games = wins + np.swapaxes(wins, -1, -2)
    won = wins.sum(axis=-1)
    strength = np.ones(wins.shape[:-1])
    active = np.ones((*wins.shape[:-2], 1), dtype=bool)  # fits still moving: one that has converged stays put,
    for _ in range(iterations):  # so a matrix gets the same strengths whatever it is stacked with
        pair_sum = strength[..., :, None] + strength[..., None, :]
        denominator = np.where(games > 0, games / np.where(pair_sum > 0, pair_sum, 1.0), 0.0).sum(axis=-1)
        updated = np.where(denominator > 0, won / np.where(denominator > 0, denominator, 1.0), strength)
        with np.errstate(divide="ignore"):
            log_updated = np.log(updated)
        log_updated -= np.mean(np.where(np.isfinite(log_updated), log_updated, 0.0), axis=-1, keepdims=True)
        updated = np.exp(log_updated)
        change = np.nanmax(
            np.abs(np.where(np.isfinite(log_updated), log_updated - np.log(strength), 0.0)), axis=-1, keepdims=True
        )
        strength = np.where(active, updated, strength)
        active &= ~(change < tolerance)
        if not active.any():
            break
    with np.errstate(divide="ignore"):
        result: Floats = np.log(strength)
    result = result - np.mean(np.where(np.isfinite(result), result, 0.0), axis=-1, keepdims=True)
    return np.round(result, 12)


def win_matrices(scores: Floats) -> Floats:
    """Per-item win matrices (G, n, n) from score vectors (G, m, n): each annotator's pair orders, ties as 1/2."""
    gaps = scores[..., :, None] - scores[..., None, :]  # (G, m, n, n)
    result: Floats = ((gaps > 0) + 0.5 * ((gaps == 0) & ~np.eye(scores.shape[-1], dtype=bool))).sum(axis=1)
    return result


@dataclass
class ModelComparison:
    """Bradley-Terry strengths of the models that wrote the responses, with bootstrap intervals."""

    replicates: int = 200
    seed: int = 0
    prior: float = DEFAULT_PRIOR
    models: dict[str, int] = field(default_factory=dict)
    wins: Floats = field(default_factory=lambda: np.zeros((0, 0)))
    boot: Floats = field(default_factory=lambda: np.zeros((0, 0, 0)))
    items: int = 0

    def __post_init__(self) -> None:
        self.rng = np.random.default_rng(self.seed)
        self.boot = np.zeros((self.replicates, 0, 0))

    def add_item(self, models: tuple[str | None, ...], item_wins: Floats) -> None:
        """item_wins (n, n) between the item's responses; pairs of one model or of unknown models are skipped."""
        known = [i for i, model in enumerate(models) if model is not None]
        if len(known) < 2:
            return
        for i in known:
            if models[i] not in self.models:
                self._grow(str(models[i]))
        index = np.array([self.models[str(models[i])] for i in known])
        sub = np.asarray(item_wins)[np.ix_(known, known)]
        same = index[:, None] == index[None, :]
        sub = np.where(same, 0.0, sub)
        if not sub.any():
            return
        local = np.zeros_like(self.wins)
        np.add.at(local, (index[:, None], index[None, :]), sub)
        self.items += 1
        self.wins += local
        weights = self.rng.poisson(1.0, self.replicates).astype(np.float64)
        self.boot += weights[:, None, None] * local[None]

    def _grow(self, model: str) -> None:
        self.models[model] = len(self.models)
        size = len(self.models)
        self.wins = np.pad(self.wins, ((0, size - self.wins.shape[0]), (0, size - self.wins.shape[1])))
        self.boot = np.pad(self.boot, ((0, 0), (0, size - self.boot.shape[1]), (0, size - self.boot.shape[2])))

    def result(self) -> dict[str, Any] | None:
        if len(self.models) < 2 or not self.wins.any():
            return None
        names = list(self.models)
        strengths = bradley_terry(self.wins, self.prior)
        boot = bradley_terry(self.boot, self.prior)
        low, high = np.percentile(boot, [2.5, 97.5], axis=0)
        order = np.argsort(-strengths, kind="stable")
        games = self.wins + self.wins.T
        return {
            "items": self.items,
            "bootstrap_replicates": self.replicates,
            "prior": self.prior,
            "models": [
                {
                    "model": names[i],
                    "strength": float(strengths[i]),
                    "ci95": [float(low[i]), float(high[i])],
                    "wins": float(self.wins[i].sum()),
                    "games": float(games[i].sum()),
                }
                for i in order
            ],
        }


# --- Dawid-Skene --------------------------------------------------------------------------------------


@dataclass
class DawidSkeneResult:
    posteriors: Floats  # (units, classes)
    priors: Floats  # (classes,)
    confusion: Floats  # (workers, classes, classes): P(worker says l | truth k)
    iterations: int


def majority_vote(units: Ints, labels: Ints, n_units: int, n_classes: int) -> Floats:
    """Vote counts (units, classes)."""
    counts = np.zeros((n_units, n_classes))
    np.add.at(counts, (units, labels), 1.0)
    return counts


def dawid_skene(
    units: Ints,
    workers: Ints,
    labels: Ints,
    n_units: int,
    n_workers: int,
    n_classes: int,
    iterations: int = 200,
    tolerance: float = 1e-8,
    smoothing: float = 0.01,
) -> DawidSkeneResult:
    """EM estimate of each unit's true class from (unit, worker, label) triples."""
    votes = majority_vote(units, labels, n_units, n_classes)
    posteriors = votes / np.maximum(votes.sum(axis=1, keepdims=True), 1.0)
    priors = np.full(n_classes, 1.0 / n_classes)
    confusion = np.zeros((n_workers, n_classes, n_classes))
    done = 0
    while done < iterations:
        done += 1
        priors = (posteriors.sum(axis=0) + smoothing) / (n_units + smoothing * n_classes)
        confusion = np.full((n_workers, n_classes, n_classes), smoothing)
        np.add.at(confusion, (workers, slice(None), labels), posteriors[units])  # type: ignore[arg-type]
        confusion /= confusion.sum(axis=2, keepdims=True)
        log_post = np.tile(np.log(priors), (n_units, 1))
        np.add.at(log_post, units, np.log(confusion[workers, :, labels]))
        log_post -= log_post.max(axis=1, keepdims=True)
        updated = np.exp(log_post)
        updated /= updated.sum(axis=1, keepdims=True)
        change = float(np.abs(updated - posteriors).max()) if n_units else 0.0
        posteriors = updated
        if change < tolerance:
            break
    return DawidSkeneResult(posteriors, priors, confusion, done)
