"""Scoring a worker's answer against a gold item's known answer (crowdloop.goldspec.score): each kind of known
answer, answers read the export's way, shuffled answers put back in input order first."""

from __future__ import annotations

from crowdloop import gold

ITEM = {"taskObject": {"prompt": "Which is best?", "responses": ["a", "b", "c"]}}
LABEL_ITEM = {"taskObject": {"prompt": "Is this toxic?", "responses": ["a", "b"]}}


def seed(*ranks: int) -> dict[str, str]:
    return {f"response_{i + 1}_ranking": str(rank) for i, rank in enumerate(ranks)}


def test_best_is_one_when_the_worker_puts_it_alone_on_top() -> None:
    assert gold.score(ITEM, {"best": 1}, seed(2, 1, 3), None) == 1.0
    assert gold.score(ITEM, {"best": 1}, seed(1, 2, 3), None) == 0.0
    assert gold.score(ITEM, {"best": 1}, seed(1, 1, 3), None) == 0.0  # a tie at the top is not a choice


def test_ratings_count_higher_as_better() -> None:
    ratings = {"response_1_rating": 2, "response_2_rating": 5, "response_3_rating": 1}
    assert gold.score(ITEM, {"best": 1}, ratings, None) == 1.0
    assert gold.score(ITEM, {"ranking": [1, 0, 2]}, ratings, None) == 1.0


def test_ranking_is_the_share_of_pairs_ordered_as_known() -> None:
    assert gold.score(ITEM, {"ranking": [0, 1, 2]}, seed(1, 2, 3), None) == 1.0
    assert gold.score(ITEM, {"ranking": [0, 1, 2]}, seed(3, 2, 1), None) == 0.0
    assert gold.score(ITEM, {"ranking": [0, 1, 2]}, seed(1, 3, 2), None) == 2 / 3
    assert gold.score(ITEM, {"ranking": [0, 1, 2]}, seed(1, 1, 2), None) == 2 / 3  # the tie counts 0
    assert gold.score(ITEM, {"ranking": [2, 0]}, seed(2, 3, 1), None) == 1.0  # a partial ranking


def test_a_shuffled_answer_is_scored_in_input_order() -> None:
    # shown [c, a, b]: the worker ranked displayed position 0 (response 2) first
    order = (2, 0, 1)
    assert gold.score(ITEM, {"best": 2}, seed(1, 2, 3), order) == 1.0
    assert gold.score(ITEM, {"best": 0}, seed(1, 2, 3), order) == 0.0
    assert gold.score(ITEM, {"ranking": [2, 0, 1]}, seed(1, 2, 3), order) == 1.0


def test_labels_are_accepted_or_not() -> None:
    answer = {"toxicity": {"label": "no"}}
    assert gold.score(LABEL_ITEM, {"label": "no"}, answer, None) == 1.0
    assert gold.score(LABEL_ITEM, {"labels": ["maybe", "no"]}, answer, None) == 1.0
    assert gold.score(LABEL_ITEM, {"label": "yes"}, answer, None) == 0.0


def test_unreadable_answers_have_no_score() -> None:
    assert gold.score(ITEM, {"best": 0}, {"free": "text"}, None) is None
    assert gold.score(LABEL_ITEM, {"best": 0}, {"toxicity": {"label": "no"}}, None) is None
    assert gold.score(ITEM, {"label": "x"}, seed(1, 2, 3), None) is None
    assert gold.score(ITEM, {"best": 0}, seed(1, 2, 3), (0, 1)) is None  # an order that does not fit
