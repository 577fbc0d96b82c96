"""Agreement and aggregation figures against independently known values."""

from __future__ import annotations

import math
from typing import Any

import krippendorff
import numpy as np
import pytest
from scipy import optimize, stats

from crowdloop.export.aggregate import ModelComparison, bradley_terry, dawid_skene, majority_vote, win_matrices
from crowdloop.export.agreement import (
    Agreement,
    Coincidences,
    first_shown_p_value,
    kendall_w,
    mid_ranks,
    pairwise_agreement,
)
from crowdloop.export.batches import make_batch
from crowdloop.export.model import Item, Judgment, Kind

NAN = np.nan
# Krippendorff (2011), "Computing Krippendorff's Alpha-Reliability", section C: 4 coders, 12 units.
PUBLISHED = np.array(
    [
        [1, 2, 3, 3, 2, 1, 4, 1, 2, NAN, NAN, NAN],
        [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, NAN, 3],
        [NAN, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, NAN],
        [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, NAN],
    ]
)


def accumulate(data: np.ndarray, split: int = 5) -> Coincidences:
    """Units fed in two chunks, as batches would be (alpha must not depend on the chunking)."""
    acc = Coincidences()
    units = data.T
    for chunk in (units[:split], units[split:]):
        values = sorted({float(v) for v in chunk.ravel() if not math.isnan(v)})
        codes = np.array([[values.index(v) if not math.isnan(v) else -1 for v in row] for row in chunk])
        acc.add_units(codes, values)
    return acc


@pytest.mark.parametrize(
    ("level", "published"), [("nominal", 0.743), ("ordinal", 0.815), ("interval", 0.849), ("ratio", 0.797)]
)
def test_krippendorff_published_example(level: Any, published: float) -> None:
    alpha = accumulate(PUBLISHED).alpha(level)
    assert alpha is not None and round(alpha, 3) == published
    assert alpha == pytest.approx(krippendorff.alpha(reliability_data=PUBLISHED, level_of_measurement=level))


@pytest.mark.parametrize("level", ["nominal", "ordinal", "interval", "ratio"])
def test_krippendorff_matches_the_library_on_random_data(level: Any) -> None:
    rng = np.random.default_rng(3)
    for _ in range(5):
        data = rng.integers(1, 6, size=(5, 40)).astype(float)
        data[rng.random(data.shape) < 0.3] = NAN
        assert accumulate(data, 17).alpha(level) == pytest.approx(
            krippendorff.alpha(reliability_data=data, level_of_measurement=level), abs=1e-12
        )


def test_alpha_undefined_without_pairable_values() -> None:
    assert accumulate(np.array([[1.0, 2.0], [NAN, NAN]]), 1).alpha("nominal") is None


def test_kendall_w_textbook_examples() -> None:
    # Strawberries from 8 farms ranked by 4 raters (influentialpoints.com): rank sums 31 12 12 15 22 5 22 25,
    # sum of squared deviations 500, W = 500 / (504 * 16 / 12) = 0.744.
    strawberries = np.array(
        [[8, 4, 2, 3, 5, 1, 6, 7], [7, 3, 1, 4, 5, 2, 6, 8], [8, 2, 5, 6, 7, 1, 4, 3], [8, 3, 4, 2, 5, 1, 6, 7]],
        dtype=float,
    )
    assert round(float(kendall_w(strawberries)), 3) == 0.744
    # 10 projects ranked by 4 judges: sum of D^2 = 1048, W = 12 * 1048 / (16 * 990) = 0.794.
    projects = np.array(
        [
            [1, 3, 4, 5, 2, 8, 6, 7, 10, 9],
            [2, 1, 4, 5, 6, 3, 8, 7, 10, 9],
            [3, 2, 1, 5, 7, 4, 6, 8, 9, 10],
            [4, 2, 3, 1, 6, 7, 5, 9, 8, 10],
        ],
        dtype=float,
    )
    assert float(kendall_w(projects)) == pytest.approx(12 * 1048 / (16 * 990))


def test_kendall_w_with_ties_by_hand_and_by_friedman() -> None:
    # Mid-ranks 1.5 1.5 3 and 1 2 3: R = 2.5 3.5 6, S = 6.5, one tie group of 2 (T = 6):
    # W = 12 * 6.5 / (4 * 24 - 2 * 6) = 78 / 84.
    judged = np.array([[1, 1, 3], [1, 2, 3]], dtype=float)
    assert float(kendall_w(judged)) == pytest.approx(78 / 84)
    # W = chi2_Friedman / (m (n - 1)), scipy's statistic being tie-corrected.
    rng = np.random.default_rng(1)
    for _ in range(5):
        data = rng.integers(1, 4, size=(6, 5)).astype(float)
        chi2 = stats.friedmanchisquare(*data.T).statistic
        assert float(kendall_w(data)) == pytest.approx(chi2 / (6 * 4))
    # Several items at once, and best = highest for ratings.
    both = kendall_w(np.stack([judged, -judged]))
    assert both.tolist() == pytest.approx([78 / 84, 78 / 84])
    assert float(kendall_w(-judged, lowest_is_best=False)) == pytest.approx(78 / 84)


def test_pairwise_agreement() -> None:
    # 3 annotators, 2 pairs: pair 1 ordered +, +, - (1 agreeing annotator pair of 3), pair 2 all 0 (3 of 3).
    signs = np.array([[[1, 0], [1, 0], [-1, 0]]], dtype=float)
    assert pairwise_agreement(signs).tolist() == pytest.approx([4 / 6])
    assert np.isnan(pairwise_agreement(signs[:, :1])).all()


def test_bradley_terry_known_values() -> None:
    # Two players, 3 wins to 1: s_a - s_b = log 3 (no prior), log(3.5 / 1.5) with 0.5 pseudo-wins each way.
    wins = np.array([[0, 3], [1, 0]], dtype=float)
    assert bradley_terry(wins, prior=0).tolist() == pytest.approx([math.log(3) / 2, -math.log(3) / 2])
    assert bradley_terry(wins).tolist() == pytest.approx([math.log(3.5 / 1.5) / 2, -math.log(3.5 / 1.5) / 2])


def test_bradley_terry_is_the_maximum_likelihood_estimate() -> None:
    rng = np.random.default_rng(5)
    wins = rng.integers(0, 6, size=(5, 5)).astype(float)
    np.fill_diagonal(wins, 0)

    def negative_log_likelihood(s: np.ndarray) -> float:
        gaps = s[:, None] - s[None, :]
        return float(-(wins * -np.logaddexp(0, -gaps)).sum())

    fitted = optimize.minimize(negative_log_likelihood, np.zeros(5), method="BFGS", options={"gtol": 1e-10}).x
    assert bradley_terry(wins, prior=0).tolist() == pytest.approx((fitted - fitted.mean()).tolist(), abs=1e-5)
    stacked = bradley_terry(np.stack([wins, wins.T]), prior=0)  # a batch of fits at once
    assert stacked[0].tolist() == pytest.approx(bradley_terry(wins, prior=0).tolist())
    assert stacked[1].tolist() == pytest.approx((-stacked[0]).tolist(), abs=1e-6)


def test_win_matrices_count_ties_as_halves() -> None:
    scores = np.array([[[3.0, 2.0, 2.0], [1.0, 2.0, 3.0]]])  # two annotators (higher = better)
    # 0 beat 1 and 2 for the first; 1 and 2 beat 0, 2 beat 1 for the second; 1 and 2 tie for the first.
    assert win_matrices(scores)[0].tolist() == [[0, 1.0, 1.0], [1.0, 0, 0.5], [1.0, 1.5, 0]]


def test_model_comparison_with_bootstrap_interval() -> None:
    comparison = ModelComparison(replicates=300, seed=1, prior=0)
    for i in range(40):
        # model "big" wins 30 of 40 items against "small"; the third response's model is unknown.
        item_wins = np.array([[0, 1, 1], [0, 0, 1], [0, 0, 0]], dtype=float)
        models = ("big", "small", None) if i < 30 else ("small", "big", None)
        comparison.add_item(models, item_wins)
    result = comparison.result()
    assert result is not None and result["items"] == 40
    big, small = result["models"]
    assert big["model"] == "big" and big["wins"] == 30 and big["games"] == 40
    assert big["strength"] - small["strength"] == pytest.approx(math.log(3))
    low, high = big["ci95"]
    assert low < big["strength"] < high and low > 0  # the interval excludes "no difference"


def test_dawid_skene_outvotes_the_majority_where_it_should() -> None:
    # Ten items answered by five workers: A, D and E give the true label, B and C always the other one, so
    # the majority (3 of 5) is right and B and C are seen to swap labels. Four more items are answered by
    # A, B and C only: the majority (B and C) is wrong there, but knowing that B and C swap, DS recovers the
    # truth from all three answers.
    units, workers, labels, truth = [], [], [], []
    for u in range(14):
        t = u % 2
        truth.append(t)
        for w in range(5) if u < 10 else range(3):
            units.append(u)
            workers.append(w)
            labels.append(1 - t if w in (1, 2) else t)
    data = [np.array(x) for x in (units, workers, labels)]
    fitted = dawid_skene(data[0], data[1], data[2], 14, 5, 2)
    assert fitted.posteriors.argmax(axis=1).tolist() == truth
    assert fitted.posteriors[10:].max(axis=1).min() > 0.99
    majority = majority_vote(data[0], data[2], 14, 2).argmax(axis=1)
    assert majority[:10].tolist() == truth[:10] and majority[10:].tolist() == [1 - t for t in truth[10:]]
    assert fitted.confusion[1, 0, 1] > 0.9 and fitted.confusion[0, 0, 0] > 0.9


def test_dawid_skene_agrees_with_unanimous_workers() -> None:
    units = np.repeat(np.arange(4), 3)
    labels = np.repeat(np.array([0, 1, 2, 1]), 3)
    fitted = dawid_skene(units, np.tile(np.arange(3), 4), labels, 4, 3, 3)
    assert fitted.posteriors.argmax(axis=1).tolist() == [0, 1, 2, 1]
    assert fitted.posteriors.max(axis=1).min() > 0.95


def test_worker_agreement_and_position_bias() -> None:
    items = [
        # w1 always prefers the first response shown; w2 and w3 prefer the second.
        Item(
            f"i{k}",
            "fd",
            Kind.RANKING,
            "P",
            ("x", "y"),
            (None, None),
            (Judgment("w1", (1.0, 2.0)), Judgment("w2", (2.0, 1.0)), Judgment("w3", (2.0, 1.0))),
        )
        for k in range(10)
    ]
    tally = Agreement()
    batch = make_batch(items)
    tally.add(batch, tally.item_agreement(batch), np.ones(10, dtype=bool))
    summary = tally.summary()
    workers = {w["worker"]: w for w in summary["workers"]}
    assert workers["w1"]["first_shown_preferred"] == 1.0 and workers["w1"]["first_shown_decided"] == 10
    assert workers["w2"]["first_shown_preferred"] == 0.0
    assert workers["w1"]["position_bias_p"] == pytest.approx(2 / 1024)  # binomial, 10 of 10, two-sided
    assert workers["w1"]["agreement_with_others"] == 0.0  # the others agree with each other, not with w1
    # w2 against the others' majority: w1 and w3 split 1:1, so nothing to compare with.
    assert workers["w2"]["compared"] == 0 and workers["w2"]["agreement_with_others"] is None
    assert summary["pairwise_agreement_mean"] == pytest.approx(1 / 3)
    assert summary["kendall_w_mean"] == pytest.approx(1 / 9)  # R = 5, 4 -> S = 0.5, W = 12 * 0.5 / (9 * 6)


def test_mid_ranks_are_scipys_average_ranks() -> None:
    assert mid_ranks(np.array([3.0, 1.0, 3.0, 2.0])).tolist() == [3.5, 1.0, 3.5, 2.0]
    values = np.random.default_rng(5).integers(1, 4, size=(50, 3, 6)).astype(np.float64)
    assert np.array_equal(mid_ranks(values), stats.rankdata(values, axis=-1, method="average"))


@pytest.mark.parametrize(
    ("preferred", "decided"),
    [(10, 10), (0, 10), (7, 10), (5, 10), (3, 7), (4, 7), (0, 1), (1, 2), (480, 1000), (530, 1000), (12, 40)],
)
def test_first_shown_p_value_is_the_two_sided_binomial_test(preferred: int, decided: int) -> None:
    expected = stats.binomtest(preferred, decided).pvalue
    assert first_shown_p_value(preferred, decided) == pytest.approx(expected, rel=1e-9)


def test_labels_summary() -> None:
    items = [
        Item(
            f"i{k}",
            "fd",
            Kind.LABEL,
            "P",
            (),
            (),
            (Judgment("w1", labels=("ok",)), Judgment("w2", labels=("ok" if k < 3 else "bad",))),
        )
        for k in range(4)
    ]
    tally = Agreement()
    batch = make_batch(items)
    agreement = tally.item_agreement(batch)
    assert agreement.tolist() == [1.0, 1.0, 1.0, 0.0]
    tally.add(batch, agreement, np.ones(4, dtype=bool))
    summary = tally.summary()
    assert summary["labels"] == {"ok": 7, "bad": 1}
    data = np.array([["ok"] * 4, ["ok", "ok", "ok", "bad"]])
    assert summary["krippendorff_alpha"]["value"] == pytest.approx(
        krippendorff.alpha(reliability_data=data, level_of_measurement="nominal")
    )
    assert set(summary["dawid_skene"]["class_priors"]) == {"ok", "bad"}
