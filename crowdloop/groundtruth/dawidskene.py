"""Modified Dawid-Skene EM (Dawid & Skene 1979) as the spec describes AWS's single-label consolidation.

Given items answered by workers (each answer a class index), estimate each item's true class:

* prior: the class marginal, started from the answers and re-estimated from the posteriors, with add-one
  (Laplace) smoothing so that no class gets probability 0;
* one confusion matrix per worker, `confusion[w][true][said]`, started at 0.7 on the diagonal and the rest
  spread evenly;
* M-step smoothing: each row gets a Dirichlet pseudo-count of weight 1 shaped by the worker's own accuracy
  (the diagonal share of the worker's soft counts) and a half-weight one shaped by the accuracy of all
  workers together; accuracies are clipped to [0.001, 0.999], so every entry stays positive;
* at most 20 epochs (E-step then M-step); stop early when the log-likelihood changes by less than 1e-8 of
  itself. The returned posteriors come from the last E-step.

Plain Python (no numpy): batches are small (≤ 9 answers per object, one iteration's objects).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

INITIAL_ACCURACY = 0.7
MAX_EPOCHS = 20
TOLERANCE = 1e-8
OWN_WEIGHT = 1.0
POOLED_WEIGHT = 0.5
_CLIP = 1e-3

Answers = Sequence[tuple[int, int]]  # one item's answers: (worker index, class index)


def _row(accuracy: float, true: int, classes: int) -> list[float]:
    if classes == 1:
        return [1.0]
    other = (1.0 - accuracy) / (classes - 1)
    return [accuracy if said == true else other for said in range(classes)]


def _log_sum_exp(values: list[float]) -> float:
    top = max(values)
    return top + math.log(sum(math.exp(v - top) for v in values))


def _e_step(
    items: Sequence[Answers], prior: list[float], confusion: list[list[list[float]]]
) -> tuple[list[list[float]], float]:
    log_prior = [math.log(p) for p in prior]
    # by_said[w][said][true]: one log per matrix entry per epoch, laid out for the item loop below
    by_said = [[[math.log(row[said]) for row in matrix] for said in range(len(prior))] for matrix in confusion]
    posteriors = []
    likelihood = 0.0
    for answers in items:
        logs = log_prior
        for worker, said in answers:
            logs = [a + b for a, b in zip(logs, by_said[worker][said], strict=True)]
        total = _log_sum_exp(logs)
        likelihood += total
        posteriors.append([math.exp(v - total) for v in logs])
    return posteriors, likelihood


def _m_step(
    items: Sequence[Answers], posteriors: list[list[float]], workers: int, classes: int
) -> tuple[list[float], list[list[list[float]]]]:
    prior = [(sum(p[k] for p in posteriors) + 1.0) / (len(items) + classes) for k in range(classes)]
    counts = [[[0.0] * classes for _ in range(classes)] for _ in range(workers)]
    for answers, post in zip(items, posteriors, strict=True):
        for worker, said in answers:
            for k in range(classes):
                counts[worker][k][said] += post[k]
    totals = [sum(sum(row) for row in matrix) for matrix in counts]
    diagonals = [sum(matrix[k][k] for k in range(classes)) for matrix in counts]

    def clip(accuracy: float) -> float:
        return min(max(accuracy, _CLIP), 1.0 - _CLIP)

    pooled = clip(sum(diagonals) / sum(totals)) if sum(totals) else INITIAL_ACCURACY
    confusion = []
    for w in range(workers):
        own = clip(diagonals[w] / totals[w]) if totals[w] else pooled
        matrix = []
        for k in range(classes):
            pseudo = [
                OWN_WEIGHT * a + POOLED_WEIGHT * b
                for a, b in zip(_row(own, k, classes), _row(pooled, k, classes), strict=True)
            ]
            row = [c + p for c, p in zip(counts[w][k], pseudo, strict=True)]
            norm = sum(row)
            matrix.append([v / norm for v in row])
        confusion.append(matrix)
    return prior, confusion


def estimate(items: Sequence[Answers], workers: int, classes: int) -> list[list[float]]:
    """Posterior class probabilities per item. `items[i]` lists item i's answers as (worker, class) pairs,
    worker in range(workers), class in range(classes)."""
    if classes < 1 or not items:
        return [[] for _ in items]
    votes = [0] * classes
    for answers in items:
        for _, said in answers:
            votes[said] += 1
    prior = [(v + 1.0) / (sum(votes) + classes) for v in votes]
    confusion = [[_row(INITIAL_ACCURACY, k, classes) for k in range(classes)] for _ in range(workers)]
    previous: float | None = None
    posteriors: list[list[float]] = []
    for _ in range(MAX_EPOCHS):
        posteriors, likelihood = _e_step(items, prior, confusion)
        if previous is not None and abs(likelihood - previous) <= TOLERANCE * abs(previous):
            break
        previous = likelihood
        prior, confusion = _m_step(items, posteriors, workers, classes)
    return posteriors
