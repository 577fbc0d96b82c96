"""bench/quality.py runs end to end with tiny sizes (so the bench cannot rot): one JSON line with every run's
figures, numbers in range, and the simulated crowd's answers as the export reads them back."""

from __future__ import annotations

import json
import random

import pytest

from bench import quality

RUN_KEYS = {
    "shuffle",
    "task_count",
    "task_count_min",
    "agreement_target",
    "answers",
    "answers_per_item",
    "spammer_answer_share",
    "consensus_accuracy",
    "top1_accuracy",
    "pair_accuracy",
    "items_exported",
    "items_by_answers",
    "input_first_win_rate",
    "input_first_pairs",
    "shown_first_preferred",
    "shown_first_decided",
    "pairwise_agreement_mean",
    "seconds",
}
GOLD_KEYS = {
    "gold_answers",
    "gold_answer_share",
    "paused_by_kind",
    "failed_qualification_by_kind",
    "gold_accuracy_by_kind",
}


def test_the_bench_prints_one_json_line_with_sane_figures(capsys: pytest.CaptureFixture[str]) -> None:
    result = quality.main(["--items", "12", "--seed", "3", "--targets", "0.9"])
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 1 and json.loads(lines[0]) == result
    assert result["bench"] == "quality" and result["items"] == 12
    assert result["truth_input_first_win_rate"] == 0.5  # 12 items: two balanced blocks of the six true orders
    assert set(result["runs"]) == {"fixed", "fixed_shuffled", "adaptive_0.9", "fixed_gold", "adaptive_0.9_gold"}
    for name, run in result["runs"].items():
        gold_run = name.endswith("_gold")
        assert set(run) == RUN_KEYS | (GOLD_KEYS if gold_run else set()), name
        # every item with no pair out of order is exact: over the same items, exact >= 1 - 3 * (pairs wrong)
        assert run["consensus_accuracy"] >= 1 - 3 * (1 - run["pair_accuracy"]) - 1e-3, name  # figures rounded
        exported = sum(int(n) * count for n, count in run["items_by_answers"].items())
        if gold_run:  # a paused worker's answers are left out of the export
            assert run["items_exported"] <= 12 and exported <= run["answers"]
            assert 0.0 <= run["gold_answer_share"] < 0.5
            continue
        assert run["items_exported"] == 12  # every loop completed and exported
        assert exported == run["answers"]
        assert 0.0 <= run["pair_accuracy"] <= 1.0 and 0.0 <= run["consensus_accuracy"] <= run["top1_accuracy"]
        assert 0.0 <= run["input_first_win_rate"] <= 1.0
        assert run["input_first_pairs"] == 2 * run["answers"]  # input position 1 is in 2 of each answer's 3 pairs
        assert run["shown_first_decided"] == 2 * run["answers"]
    fixed, adaptive = result["runs"]["fixed"], result["runs"]["adaptive_0.9"]
    assert fixed["answers"] == result["runs"]["fixed_shuffled"]["answers"] == 12 * quality.TASK_COUNT
    assert 12 * quality.TASK_COUNT_MIN <= adaptive["answers"] <= 12 * quality.TASK_COUNT
    assert fixed["items_by_answers"] == {"5": 12}
    assert set(adaptive["items_by_answers"]) <= {"2", "3", "4", "5"}
    # unshuffled, the response shown first is the one given first: the report and the preferences agree
    assert fixed["shown_first_preferred"] == fixed["input_first_win_rate"]
    ratio = result["ratios"]["adaptive_0.9"]["answers_ratio_to_fixed"]
    assert ratio == pytest.approx(adaptive["answers"] / fixed["answers"], abs=1e-4)
    # gold is drawn from the CSPRNG at 0.1 per claim: none in ~130 claims would be a 1-in-a-million draw
    assert sum(result["runs"][name]["gold_answers"] for name in ("fixed_gold", "adaptive_0.9_gold")) > 0
    caught = result["gold"]
    assert caught["spammers"] == 3 and 0 <= caught["spammers_paused"] <= 3 and caught["honest_paused"] >= 0
    assert set(caught["accuracy_points_with_gold"]) == {"fixed_gold", "adaptive_0.9_gold"}
    assert all(0.0 <= a <= 1.0 for a in caught["gold_accuracy_by_kind"].values())


def test_answers_are_given_in_displayed_positions() -> None:
    """A careful worker with accuracy 1 ranks the true best first wherever it was shown."""
    item = quality.SimItem("p", ("a", "b", "c"), truth=(2, 0, 1))
    worker = quality.SimWorker("careful", 1.0, 0.0, (1.0, 2.0))
    displayed = [1, 2, 0]  # position 1 shows response 1 ("b"), position 2 response 2, position 3 response 0
    ranking = quality.ranking_of(worker, item, displayed, random.Random(1))
    assert ranking == [2, 0, 1]
    assert quality.answer_content(ranking, displayed) == {
        "response_1_ranking": "3",
        "response_2_ranking": "1",
        "response_3_ranking": "2",
    }


def test_a_fully_biased_worker_ranks_the_displayed_first_on_top() -> None:
    item = quality.SimItem("p", ("a", "b", "c"), truth=(0, 1, 2))
    worker = quality.SimWorker("biased", 1.0, 1.0, (1.0, 2.0))
    assert quality.ranking_of(worker, item, [2, 0, 1], random.Random(1)) == [2, 0, 1]


def test_the_crowd_option_counts_workers_of_each_kind() -> None:
    assert quality.parse_crowd("careful=6,spammer=1") == {"careful": 6, "sloppy": 0, "biased": 0, "spammer": 1}
    for wrong in ("careful=6,lazy=2", "careful=x", "careful=3"):  # unknown kind, not a count, fewer than TaskCount
        with pytest.raises(SystemExit):
            quality.parse_crowd(wrong)
