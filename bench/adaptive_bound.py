"""Benchmark: how far *any* stopping rule can take the adaptive worker count on bench/quality.py's crowd.

Issue 12's target is the fixed run's consensus accuracy within 1 point with at least 30 % fewer answers.
bench/quality.py measures crowdloop's rule (pairwise agreement >= crowdloop:agreement-target) through the real
queue; this asks whether a better rule could meet the target at all on the same crowd, without the queue (an
item's answers are drawn straight from bench/quality.py's worker models: `make_crowd`, `ranking_of`).

The crowd is the default one without its spammers (gold and a qualification keep them out: bench/quality.py
"Gold items"); each item gets up to TaskCount 5 distinct random workers, and a rule may stop after 2. Rules:

* `agreement`: crowdloop's rule (the share of agreeing worker pairs and response pairs >= T);
* `gold_weighted`: one a real server could run: each worker's accuracy on response pairs measured on 30 gold
  items, a one-coin model per response pair; stop when the least certain pair's posterior reaches T;
* `oracle`: the Bayes-optimal one, which knows every worker's true error model (its kind, accuracy and
  position bias): stop when the posterior probability of the most probable ranking reaches T. No real rule
  knows as much; it bounds what weighing answers by who gave them can do.

Each stopped item's consensus is read two ways: `mean-rank` (the export's: responses by mean rank, ties by
input order) and `map` (the oracle's most probable ranking, which no export can compute without the true
model). Prints one JSON line: per rule and threshold, accuracy and answers per item, with the fixed run's
(5 answers, the baseline, same items and draws) and the difference.

    python bench/adaptive_bound.py [--items 20000] [--seed 7]
"""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:] = [str(HERE.parent)] + [p for p in sys.path if Path(p or ".").resolve() != HERE]

import argparse
import itertools
import json
import math
import random
from collections.abc import Callable, Sequence
from typing import Any

from bench.quality import (
    DEFAULT_CROWD,
    RESPONSES,
    TASK_COUNT,
    TASK_COUNT_MIN,
    SimItem,
    SimWorker,
    make_crowd,
    parse_crowd,
    ranking_of,
)
from crowdloop.agreement_item import ranking_agreement

PERMUTATIONS = list(itertools.permutations(range(RESPONSES)))
Answer = tuple[int, ...]  # original response indexes, best first
Drawn = list[tuple[SimItem, list[tuple[SimWorker, Answer]]]]  # items, each with its TaskCount answers


def _honest_probability(worker: SimWorker, answer: Answer, truth: Answer) -> float:
    """P(answer | truth) of bench/quality.py's honest answer: the truth, else one neighbouring swap."""
    if answer == truth:
        return worker.accuracy
    swaps = [(*truth[:k], truth[k + 1], truth[k], *truth[k + 2 :]) for k in range(len(truth) - 1)]
    return (1 - worker.accuracy) / len(swaps) if answer in swaps else 0.0


def answer_probability(worker: SimWorker, answer: Answer, truth: Answer) -> float:
    """P(answer | truth) of bench/quality.py's `ranking_of` (responses displayed in a random order)."""
    honest = _honest_probability(worker, answer, truth)
    if not worker.first_bias:
        return honest
    first_on_top = sum(  # the response displayed first (any, 1/n) put on top, the rest in an honest order
        _honest_probability(worker, other, truth) / RESPONSES
        for other in PERMUTATIONS
        if tuple(i for i in other if i != answer[0]) == answer[1:]
    )
    return worker.first_bias * first_on_top + (1 - worker.first_bias) * honest


def posterior(answers: Sequence[tuple[SimWorker, Answer]]) -> dict[Answer, float]:
    weights = {}
    for truth in PERMUTATIONS:
        weight = 1.0
        for worker, answer in answers:
            weight *= answer_probability(worker, answer, truth)
        weights[truth] = weight
    total = sum(weights.values()) or 1.0
    return {truth: weight / total for truth, weight in weights.items()}


def mean_rank(answers: Sequence[tuple[SimWorker, Answer]]) -> Answer:
    mean = [sum(answer.index(i) for _, answer in answers) / len(answers) for i in range(RESPONSES)]
    return tuple(sorted(range(RESPONSES), key=lambda i: (mean[i], i)))


def map_ranking(answers: Sequence[tuple[SimWorker, Answer]]) -> Answer:
    found = posterior(answers)
    return max(found, key=lambda truth: found[truth])


def agreement(answers: Sequence[tuple[SimWorker, Answer]]) -> float:
    ranks = [[answer.index(i) + 1 for i in range(RESPONSES)] for _, answer in answers]
    return ranking_agreement(ranks) or 0.0


def oracle(answers: Sequence[tuple[SimWorker, Answer]]) -> float:
    return max(posterior(answers).values())


def gold_weighted(pair_accuracy: dict[int, float]) -> Rule:
    """A rule a real server could run: each worker's gold accuracy on response pairs (as crowdloop scores a
    ranking's gold answer), a one-coin model per response pair; the least certain pair's posterior."""

    def confidence(answers: Sequence[tuple[SimWorker, Answer]]) -> float:
        least = 1.0
        for i, j in itertools.combinations(range(RESPONSES), 2):
            log_odds = 0.0
            for worker, answer in answers:
                accuracy = min(max(pair_accuracy[worker.number], 0.5), 0.99)
                sign = 1 if answer.index(i) < answer.index(j) else -1
                log_odds += sign * math.log(accuracy / (1 - accuracy))
            least = min(least, 1 / (1 + math.exp(-abs(log_odds))))
        return least

    return confidence


def gold_pair_accuracy(crowd: list[SimWorker], rng: random.Random, gold_items: int = 30) -> dict[int, float]:
    """Each worker's share of response pairs ordered right over `gold_items` gold answers."""
    found = {}
    for worker in crowd:
        right = 0
        for n in range(gold_items):
            truth = PERMUTATIONS[rng.randrange(len(PERMUTATIONS))]
            item = SimItem(f"gold {n}", tuple(f"response {k}" for k in range(RESPONSES)), truth)
            displayed = list(range(RESPONSES))
            rng.shuffle(displayed)
            answer = ranking_of(worker, item, displayed, rng)
            for i, j in itertools.combinations(range(RESPONSES), 2):
                right += (answer.index(i) < answer.index(j)) == (truth.index(i) < truth.index(j))
        found[worker.number] = right / (gold_items * RESPONSES * (RESPONSES - 1) // 2)
    return found


Rule = Callable[[Sequence[tuple[SimWorker, Answer]]], float]


def run(items: Drawn, rule: Rule | None, threshold: float) -> dict[str, Any]:
    """Each item's answers in drawn order, cut where the rule stops; accuracy of both consensus readings."""
    right = {"mean-rank": 0, "map": 0}
    spent = 0
    for item, drawn in items:
        taken = drawn
        for count in range(TASK_COUNT_MIN, TASK_COUNT + 1):
            taken = drawn[:count]
            if rule is not None and rule(taken) >= threshold:
                break
        spent += len(taken)
        right["mean-rank"] += mean_rank(taken) == item.truth
        right["map"] += map_ranking(taken) == item.truth
    count = max(len(items), 1)
    return {
        "answers_per_item": round(spent / count, 3),
        "accuracy_mean_rank": round(100 * right["mean-rank"] / count, 2),
        "accuracy_map": round(100 * right["map"] / count, 2),
    }


def draw(
    count: int, crowd: list[SimWorker], rng: random.Random
) -> list[tuple[SimItem, list[tuple[SimWorker, Answer]]]]:
    items = []
    for n in range(count):
        truth = PERMUTATIONS[rng.randrange(len(PERMUTATIONS))]
        item = SimItem(f"item {n}", tuple(f"response {k}" for k in range(RESPONSES)), truth)
        answers = []
        for worker in rng.sample(crowd, TASK_COUNT):
            displayed = list(range(RESPONSES))
            rng.shuffle(displayed)  # crowdloop:shuffle-responses
            answers.append((worker, tuple(ranking_of(worker, item, displayed, rng))))
        items.append((item, answers))
    return items


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--items", type=int, default=20000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--crowd", default=DEFAULT_CROWD, help="as bench/quality.py's; spammers are left out")
    args = parser.parse_args()
    rng = random.Random(args.seed)
    crowd = [worker for worker in make_crowd(parse_crowd(args.crowd), rng) if not worker.spammer]
    items = draw(args.items, crowd, rng)
    fixed = run(items, None, 0.0)
    rules: list[tuple[str, Rule, list[float]]] = [
        ("agreement", agreement, [0.7, 0.8, 0.9]),
        ("gold_weighted", gold_weighted(gold_pair_accuracy(crowd, rng)), [0.95, 0.97, 0.98, 0.99]),
        ("oracle", oracle, [0.8, 0.9, 0.95, 0.98]),
    ]
    results = []
    for name, rule, thresholds in rules:
        for threshold in thresholds:
            found = run(items, rule, threshold)
            found |= {
                "rule": name,
                "threshold": threshold,
                "answers_saved": round(1 - found["answers_per_item"] / fixed["answers_per_item"], 3),
                "points_mean_rank": round(found["accuracy_mean_rank"] - fixed["accuracy_mean_rank"], 2),
                "points_map": round(found["accuracy_map"] - fixed["accuracy_map"], 2),
            }
            results.append(found)
    print(
        json.dumps(
            {"bench": "adaptive_bound", "seed": args.seed, "items": args.items, "fixed": fixed, "rules": results}
        )
    )


if __name__ == "__main__":
    main()
