"""Our hand-written aggregation (crowdloop/export/aggregate.py) against the libraries that do the same: choix
(Bradley-Terry, Plackett-Luce) and crowd-kit (majority vote, Dawid-Skene), on the same data (issue 12, scope 6;
docs/quality.md "Aggregation: our maths and crowd-kit / choix").

The libraries are imported at module level on purpose: without them this module fails to import and the run
fails (it does not skip). They are in the `test` extra (`pip install -e '.[test]'`).

crowd-kit 1.4.2 uses pandas features that pandas 3.1 deprecates (`inplace=True`, `copy=`: Pandas4Warning): that
warning class is ignored around crowd-kit's calls only, every other warning stays an error."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import choix
import numpy as np
import pandas as pd
import pandas.errors
import pytest
from crowdkit.aggregation import DawidSkene, MajorityVote

from crowdloop import queue
from crowdloop.export.aggregate import ModelComparison, bradley_terry, dawid_skene, majority_vote, win_matrices
from crowdloop.export.api import run
from crowdloop.runtime import Services
from tests.domain.loopsetup import make_flow, make_worker, start
from tests.export.helpers import ranks

Floats = np.ndarray[Any, np.dtype[np.float64]]


@contextmanager
def _crowdkit() -> Iterator[None]:
    """crowd-kit's deprecated pandas calls (Pandas4Warning) silenced; any other warning still raises."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", pandas.errors.Pandas4Warning)
        yield


def _pairs(wins: Floats) -> list[tuple[int, int]]:
    """choix's data, (winner, loser) per game, from an integer win matrix."""
    n = len(wins)
    return [(i, j) for i in range(n) for j in range(n) for _ in range(round(wins[i, j]))]


def _choix_bt(wins: Floats, prior: float) -> Floats:
    """choix's maximum-likelihood Bradley-Terry log-strengths, centred, for our win matrix with `prior`
    pseudo-wins each way: counts doubled (the MLE does not change with a common factor, and ties' halves
    become whole games) plus 2 * prior games each way."""
    doubled = 2 * np.asarray(wins) + 2 * prior * (1 - np.eye(len(wins)))
    fitted = np.asarray(choix.ilsr_pairwise(len(wins), _pairs(doubled), alpha=0.0, tol=1e-12, max_iter=10_000), float)
    centred: Floats = fitted - fitted.mean()
    return centred


def _plackett_luce_scores(rng: np.random.Generator, strengths: Floats, annotators: int) -> Floats:
    """Scores (annotators, n) whose orders are Plackett-Luce draws with these log-strengths (Gumbel trick)."""
    result: Floats = strengths + rng.gumbel(size=(annotators, len(strengths)))
    return result


def test_bradley_terry_is_choix_maximum_likelihood() -> None:
    """Without the prior ours is the plain MLE: it equals choix's on every item of a stack (several items
    fitted at once, as the export does), when every response has won and lost a game."""
    rng = np.random.default_rng(1)
    items = np.stack([_plackett_luce_scores(rng, np.linspace(-1, 1, 5), 12) for _ in range(6)])
    wins = win_matrices(items)
    assert ((wins > 0) | np.eye(5, dtype=bool)).sum(axis=-1).min() > 1  # won and lost: the MLE exists
    ours = bradley_terry(wins, prior=0.0)
    for g in range(len(items)):
        np.testing.assert_allclose(ours[g], _choix_bt(wins[g], 0.0), atol=1e-6)


def test_the_prior_is_pseudo_games_and_ties_are_half_wins() -> None:
    """With the export's default prior (0.5 win each way) and ties, ours is choix's MLE on the data with
    those pseudo-games added; an unbeaten response gets a finite strength (without the prior it has none)."""
    scores = np.array([[[3.0, 2, 2, 1]], [[3.0, 1, 2, 2]], [[3.0, 2, 1, 1]]]).reshape(1, 3, 4)  # 0 never loses
    wins = win_matrices(scores)[0]
    assert wins[1, 2] == 1.5 and wins[2, 1] == 1.5  # a tie (half each way) and one win each
    ours = bradley_terry(wins)
    assert np.isfinite(ours).all()
    np.testing.assert_allclose(ours, _choix_bt(wins, 0.5), atol=1e-6)
    assert np.argmax(ours) == 0


def test_model_comparison_is_choix_on_the_pooled_wins() -> None:
    """The report's model-vs-model strengths are the Bradley-Terry MLE (with the prior) of the pooled wins."""
    rng = np.random.default_rng(2)
    comparison = ModelComparison(replicates=20)
    models = ("strong", "medium", "weak")
    for _ in range(30):
        comparison.add_item(models, win_matrices(_plackett_luce_scores(rng, np.array([1.0, 0.0, -1.0]), 3)[None])[0])
    result = comparison.result()
    assert result is not None
    ours = {m["model"]: m["strength"] for m in result["models"]}
    expected = _choix_bt(comparison.wins, comparison.prior)
    for name, index in comparison.models.items():
        assert ours[name] == pytest.approx(expected[index], abs=1e-6)
    assert [m["model"] for m in result["models"]] == list(models)


def test_the_rankings_export_orders_as_plackett_luce(services: Services) -> None:
    """The rankings export's consensus (mean ranks, and Bradley-Terry strengths from the workers' pair orders)
    against choix on the same answers: the strengths equal choix's Bradley-Terry, the responses come out in
    the order of choix's Plackett-Luce fit of the full rankings."""
    responses = ["clear and right", "right", "vague", "wrong", "rude"]
    truth = np.array([3.0, 1.5, 0.0, -1.5, -3.0])
    rng = np.random.default_rng(5)
    annotators = 15
    flow = make_flow(services, "fd-ranked", task_count=annotators)
    start(services, flow, "item-0", {"taskObject": {"prompt": "Q", "responses": responses}})
    rankings: list[tuple[int, ...]] = []
    for scores in _plackett_luce_scores(rng, truth, annotators):
        order = [int(i) for i in np.argsort(-scores)]  # best first
        rankings.append(tuple(order))
        worker = make_worker(services)
        lease = queue.claim(services, worker.id, flow.id)
        assert lease is not None
        queue.submit(services, lease.assignment_id, worker.id, ranks(*[str(order.index(i) + 1) for i in range(5)]), 1.0)

    [row] = list(run("fd-ranked", store=services.store, dataset="rankings", consensus="mean-rank", jobs=1).rows())
    exported = dict(zip(row["responses"], row["strengths"], strict=True))
    wins = np.zeros((5, 5))
    for ranking in rankings:
        for a, better in enumerate(ranking):
            for worse in ranking[a + 1 :]:
                wins[better, worse] += 1
    expected = _choix_bt(wins, 0.5)
    for i, text in enumerate(responses):
        assert exported[text] == pytest.approx(expected[i], abs=1e-6)
    # a light ridge: the Plackett-Luce MLE does not exist when a response is never ranked below another
    plackett_luce = choix.ilsr_rankings(5, rankings, alpha=1e-3, tol=1e-12, max_iter=10_000)
    by_pl = [responses[i] for i in np.argsort(-plackett_luce, kind="stable")]
    # well separated responses: the orders agree (on close ones they may not: 80 % of simulated items with
    # 9 annotators and strengths 0.8 apart, docs/quality.md)
    assert row["responses"] == by_pl
    assert sorted(exported, key=lambda text: -exported[text]) == by_pl


def _labels(seed: int) -> tuple[pd.DataFrame, np.ndarray[Any, Any], int, int, int]:
    """Three labels per unit from workers of accuracy 0.95 down to 0.2 (two worse than chance: adversarial)."""
    rng = np.random.default_rng(seed)
    n_units, n_classes = 300, 3
    accuracy = np.array([0.95, 0.9, 0.85, 0.8, 0.7, 0.6, 0.25, 0.2])
    truth = rng.integers(0, n_classes, n_units)
    rows = []
    for unit in range(n_units):
        for worker in rng.choice(len(accuracy), 3, replace=False):
            wrong = [c for c in range(n_classes) if c != truth[unit]]
            rows.append((unit, int(worker), int(truth[unit] if rng.random() < accuracy[worker] else rng.choice(wrong))))
    return pd.DataFrame(rows, columns=["task", "worker", "label"]), truth, n_units, len(accuracy), n_classes


def test_majority_vote_is_crowd_kits() -> None:
    """Vote shares equal crowd-kit's MajorityVote probabilities; where one label has the most votes the
    label is the same (on a tie the export writes no majority; crowd-kit picks one)."""
    data, _, n_units, _, n_classes = _labels(3)
    votes = majority_vote(data["task"].to_numpy(), data["label"].to_numpy(), n_units, n_classes)
    with _crowdkit():
        fitted = MajorityVote().fit(data)
    assert fitted.probas_ is not None and fitted.labels_ is not None
    shares = fitted.probas_.sort_index().reindex(columns=range(n_classes)).fillna(0.0).to_numpy()
    np.testing.assert_allclose(shares, votes / votes.sum(axis=1, keepdims=True))
    clear = (votes == votes.max(axis=1, keepdims=True)).sum(axis=1) == 1
    assert clear.sum() > 200
    np.testing.assert_array_equal(votes.argmax(axis=1)[clear], fitted.labels_.sort_index().to_numpy()[clear])


def test_dawid_skene_is_crowd_kits() -> None:
    """Without smoothing our EM is crowd-kit's (posteriors within 1e-4); with the export's smoothing (0.01
    pseudo-counts in the confusion matrices) the labels still agree on at least 98 % of the units. Both beat
    the majority vote on a crowd with adversarial workers: Dawid-Skene differs from it by design."""
    data, truth, n_units, n_workers, n_classes = _labels(4)
    columns = (data["task"].to_numpy(), data["worker"].to_numpy(), data["label"].to_numpy())
    with _crowdkit():
        theirs = DawidSkene(n_iter=1000, tol=1e-10).fit(data)
    assert theirs.probas_ is not None and theirs.labels_ is not None
    their_posteriors = theirs.probas_.sort_index().reindex(columns=range(n_classes)).fillna(0.0).to_numpy()
    their_labels = theirs.labels_.sort_index().to_numpy()

    exact = dawid_skene(*columns, n_units, n_workers, n_classes, iterations=1000, tolerance=1e-10, smoothing=0.0)
    np.testing.assert_allclose(exact.posteriors, their_posteriors, atol=1e-4)
    smoothed = dawid_skene(*columns, n_units, n_workers, n_classes)  # as the export calls it
    assert (smoothed.posteriors.argmax(axis=1) == their_labels).mean() >= 0.98

    votes = majority_vote(columns[0], columns[2], n_units, n_classes)
    majority_accuracy = (votes.argmax(axis=1) == truth).mean()
    assert (smoothed.posteriors.argmax(axis=1) == truth).mean() > majority_accuracy + 0.05
    assert (their_labels == truth).mean() > majority_accuracy + 0.05
