"""crowdloop.agreement_item: per-item agreement of rankings, labels and ratings, read as the export reads them."""

from __future__ import annotations

from itertools import combinations

import pytest
from scipy.stats import kendalltau

from crowdloop.agreement_item import item_agreement, label_agreement, ranking_agreement, rating_agreement

SEED_INPUT = {"taskObject": {"prompt": "Q?", "responses": ["a", "b", "c"]}}


def _seed(*ranks: int) -> dict[str, str]:
    return {f"response_{i}_ranking": str(r) for i, r in enumerate(ranks, start=1)}


def test_identical_rankings_agree_fully_and_reversed_ones_not_at_all() -> None:
    assert ranking_agreement([(1, 2, 3), (1, 2, 3), (1, 2, 3)]) == 1.0
    assert ranking_agreement([(1, 2, 3), (3, 2, 1)]) == 0.0
    assert ranking_agreement([(1, 2, 3), (1, 3, 2)]) == pytest.approx(2 / 3)


def test_without_ties_it_is_the_mean_of_kendall_tau_mapped_to_zero_one() -> None:
    rankings = [(1, 2, 3, 4), (2, 1, 3, 4), (4, 3, 2, 1), (1, 3, 2, 4)]
    taus = [kendalltau(a, b).statistic for a, b in combinations(rankings, 2)]
    expected = sum((1 + t) / 2 for t in taus) / len(taus)
    assert ranking_agreement(rankings) == pytest.approx(expected)


def test_a_tie_agrees_only_with_a_tie() -> None:
    assert ranking_agreement([(1, 1), (1, 1)]) == 1.0
    assert ranking_agreement([(1, 1), (1, 2)]) == 0.0


def test_labels_majority_share() -> None:
    assert label_agreement([("good",), ("good",), ("bad",)]) == pytest.approx(2 / 3)
    assert label_agreement([("good",), ("good",)]) == 1.0
    assert label_agreement([("x", "a"), ("x", "b")]) == pytest.approx(0.75)  # mean over targets
    assert label_agreement([("x",), (None,)]) is None  # one label given: nothing to agree with


def test_ratings_one_minus_normalised_spread() -> None:
    assert rating_agreement([(4, 2), (4, 2)]) == 1.0
    assert rating_agreement([(3, 3), (3, 3)]) == 1.0
    assert rating_agreement([(5, 1), (1, 5)]) == 0.0
    assert rating_agreement([(1, 5), (2, 5)]) == pytest.approx(1 - (1 + 0) / 2 / 4)


def test_item_agreement_reads_answers_like_the_export() -> None:
    agreeing = [("w1", _seed(1, 2, 3)), ("w2", _seed(1, 2, 3))]
    assert item_agreement(SEED_INPUT, agreeing) == 1.0
    assert item_agreement(SEED_INPUT, [("w1", _seed(1, 2, 3)), ("w2", _seed(3, 2, 1))]) == 0.0
    label = [("w1", {"q": {"label": "Good"}}), ("w2", {"q": {"label": "Bad"}}), ("w3", {"q": {"label": "Good"}})]
    assert item_agreement({"text": "t"}, label) == pytest.approx(2 / 3)
    ratings = [
        ("w1", {"response_1_rating": 5, "response_2_rating": 1}),
        ("w2", {"response_1_rating": 5, "response_2_rating": 1}),
    ]
    assert item_agreement({"prompt": "p", "responses": ["a", "b"]}, ratings) == 1.0


def test_fewer_than_two_readable_answers_have_no_agreement() -> None:
    assert item_agreement(SEED_INPUT, [("w1", _seed(1, 2, 3))]) is None
    assert item_agreement(SEED_INPUT, [("w1", _seed(1, 2, 3)), ("w2", {"response_1_ranking": "x"})]) is None
    assert item_agreement({"nothing": 1}, [("w1", {"a": 1}), ("w2", {"a": 1})]) is None  # format not recognised
