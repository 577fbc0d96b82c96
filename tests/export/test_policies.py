"""Pair policies, ties, per-annotator and consensus rows, against outputs worked out by hand.

One item, four responses A B C D shown in that order, three annotators (rank 1 = best):
    w1  1 2 3 4    strict order
    w2  2 1 1 4    B and C tied best
    w3  1 1 1 1    everything tied
Pair orders (+: first of the pair better, 0: tie):
    pair   w1 w2 w3   votes (for + / for - / tie)
    A,B    +  -  0    1/1/1
    A,C    +  -  0    1/1/1
    A,D    +  +  0    2/0/1
    B,C    +  0  0    1/0/2
    B,D    +  +  0    2/0/1
    C,D    +  +  0    2/0/1
Mean ranks: A 4/3, B 4/3, C 5/3, D 3. Copeland (majority wins - losses): A 1, B 2, C 0, D -3.
"""

from __future__ import annotations

from typing import Any

import pytest

from crowdloop.export.batches import make_batch
from crowdloop.export.model import Consensus, Item, Judgment, Kind, Policy
from crowdloop.export.pairs import KtoOptions, PairOptions, kto_rows, pair_rows
from crowdloop.export.rows import ranking_rows, rating_rows

ITEM = Item(
    "item-1",
    "fd",
    Kind.RANKING,
    "Pick one",
    ("A", "B", "C", "D"),
    (None,) * 4,
    (Judgment("w1", (1.0, 2.0, 3.0, 4.0)), Judgment("w2", (2.0, 1.0, 1.0, 4.0)), Judgment("w3", (1.0, 1.0, 1.0, 1.0))),
)

T, TT = 1 / 3, 2 / 3


def rows(policy: Policy, ties: bool = False, consensus: Consensus | None = None) -> list[tuple[Any, ...]]:
    batch = make_batch([ITEM])
    found = pair_rows(batch, PairOptions(policy, ties, consensus))
    names = ITEM.responses
    result = []
    for a, c, r, m, g in zip(
        found.annotator.tolist(),
        found.chosen.tolist(),
        found.rejected.tolist(),
        found.margin.tolist(),
        found.agreement.tolist(),
        strict=True,
    ):
        who = batch.workers[a] if a >= 0 else "*"
        result.append((who, names[c] + ">" + names[r], pytest.approx(m), pytest.approx(g)))
    return result


def test_all_pairs_ties_left_out() -> None:
    assert rows(Policy.ALL) == [
        ("w1", "A>B", 1, T),
        ("w1", "A>C", 2, T),
        ("w1", "A>D", 3, TT),
        ("w1", "B>C", 1, T),
        ("w1", "B>D", 2, TT),
        ("w1", "C>D", 1, TT),
        ("w2", "B>A", 1, T),
        ("w2", "C>A", 1, T),
        ("w2", "A>D", 2, TT),
        ("w2", "B>D", 3, TT),
        ("w2", "C>D", 3, TT),
    ]


def test_all_pairs_ties_with_margin_zero() -> None:
    # A tie row names the response shown first as "chosen"; its agreement is the share that tied it.
    assert rows(Policy.ALL, ties=True) == [
        ("w1", "A>B", 1, T),
        ("w1", "A>C", 2, T),
        ("w1", "A>D", 3, TT),
        ("w1", "B>C", 1, T),
        ("w1", "B>D", 2, TT),
        ("w1", "C>D", 1, TT),
        ("w2", "B>A", 1, T),
        ("w2", "C>A", 1, T),
        ("w2", "A>D", 2, TT),
        ("w2", "B>C", 0, TT),
        ("w2", "B>D", 3, TT),
        ("w2", "C>D", 3, TT),
        ("w3", "A>B", 0, T),
        ("w3", "A>C", 0, T),
        ("w3", "A>D", 0, T),
        ("w3", "B>C", 0, TT),
        ("w3", "B>D", 0, T),
        ("w3", "C>D", 0, T),
    ]


def test_best_vs_rest() -> None:
    # w1: A is best. w2: B and C are best (tied), A and D are the rest. w3: all best, no rest.
    assert rows(Policy.BEST) == [
        ("w1", "A>B", 1, T),
        ("w1", "A>C", 2, T),
        ("w1", "A>D", 3, TT),
        ("w2", "B>A", 1, T),
        ("w2", "C>A", 1, T),
        ("w2", "B>D", 3, TT),
        ("w2", "C>D", 3, TT),
    ]
    # With ties: the pairs among tied best responses, margin 0.
    assert rows(Policy.BEST, ties=True) == [
        ("w1", "A>B", 1, T),
        ("w1", "A>C", 2, T),
        ("w1", "A>D", 3, TT),
        ("w2", "B>A", 1, T),
        ("w2", "C>A", 1, T),
        ("w2", "B>C", 0, TT),
        ("w2", "B>D", 3, TT),
        ("w2", "C>D", 3, TT),
        ("w3", "A>B", 0, T),
        ("w3", "A>C", 0, T),
        ("w3", "A>D", 0, T),
        ("w3", "B>C", 0, TT),
        ("w3", "B>D", 0, T),
        ("w3", "C>D", 0, T),
    ]


def test_adjacent() -> None:
    # Levels: w1 A | B | C | D; w2 B C | A | D. Neighbouring levels only (w2: not B,D nor C,D).
    assert rows(Policy.ADJACENT) == [
        ("w1", "A>B", 1, T),
        ("w1", "B>C", 1, T),
        ("w1", "C>D", 1, TT),
        ("w2", "B>A", 1, T),
        ("w2", "C>A", 1, T),
        ("w2", "A>D", 2, TT),
    ]
    assert rows(Policy.ADJACENT, ties=True)[3:7] == [
        ("w2", "B>A", 1, T),
        ("w2", "C>A", 1, T),
        ("w2", "A>D", 2, TT),
        ("w2", "B>C", 0, TT),
    ]
    assert len(rows(Policy.ADJACENT, ties=True)) == 3 + 4 + 6


def test_mean_rank_consensus() -> None:
    # A and B tie on mean rank 4/3: left out. Margins are gaps of mean ranks.
    assert rows(Policy.ALL, consensus=Consensus.MEAN_RANK) == [
        ("*", "A>C", T, T),
        ("*", "A>D", 5 / 3, TT),
        ("*", "B>C", T, T),
        ("*", "B>D", 5 / 3, TT),
        ("*", "C>D", 4 / 3, TT),
    ]
    assert rows(Policy.ALL, ties=True, consensus=Consensus.MEAN_RANK)[0] == ("*", "A>B", 0, T)
    # Best (A, B at 4/3) against the rest; levels A B | C | D.
    assert rows(Policy.BEST, consensus=Consensus.MEAN_RANK) == [
        ("*", "A>C", T, T),
        ("*", "A>D", 5 / 3, TT),
        ("*", "B>C", T, T),
        ("*", "B>D", 5 / 3, TT),
    ]
    assert rows(Policy.ADJACENT, consensus=Consensus.MEAN_RANK) == [
        ("*", "A>C", T, T),
        ("*", "B>C", T, T),
        ("*", "C>D", 4 / 3, TT),
    ]


def test_majority_consensus() -> None:
    # A,B and A,C split 1:1 (ties). Margin = (votes for - votes against) / 3 annotators.
    assert rows(Policy.ALL, consensus=Consensus.MAJORITY) == [
        ("*", "A>D", TT, TT),
        ("*", "B>C", T, T),
        ("*", "B>D", TT, TT),
        ("*", "C>D", TT, TT),
    ]
    assert rows(Policy.ALL, ties=True, consensus=Consensus.MAJORITY)[:2] == [("*", "A>B", 0, T), ("*", "A>C", 0, T)]
    # Copeland: B best; B,A is split so only B>C and B>D remain.
    assert rows(Policy.BEST, consensus=Consensus.MAJORITY) == [("*", "B>C", T, T), ("*", "B>D", TT, TT)]
    assert rows(Policy.BEST, ties=True, consensus=Consensus.MAJORITY) == [
        ("*", "A>B", 0, T),
        ("*", "B>C", T, T),
        ("*", "B>D", TT, TT),
    ]
    # Copeland levels B | A | C | D: pairs B,A and A,C are split votes, C>D is decided.
    assert rows(Policy.ADJACENT, consensus=Consensus.MAJORITY) == [("*", "C>D", TT, TT)]
    assert rows(Policy.ADJACENT, ties=True, consensus=Consensus.MAJORITY) == [
        ("*", "A>B", 0, T),
        ("*", "A>C", 0, T),
        ("*", "C>D", TT, TT),
    ]


def test_pairs_stay_within_an_item_and_keep_item_order() -> None:
    second = Item("item-2", "fd", Kind.RANKING, "Other", ("X", "Y"), (None, None), (Judgment("w1", (2.0, 1.0)),))
    three = Item(
        "item-3",
        "fd",
        Kind.RANKING,
        "Third",
        ("P", "Q", "R"),
        (None,) * 3,
        (Judgment("w2", (1.0, 2.0, 3.0)), Judgment("w1", (3.0, 2.0, 1.0))),
    )
    batch = make_batch([second, ITEM, three])
    found = pair_rows(batch, PairOptions())
    items = [batch.items[i].item_id for i in found.item.tolist()]
    assert items == ["item-2"] + ["item-1"] * 11 + ["item-3"] * 6
    pairs = [
        (batch.items[i].responses[c], batch.items[i].responses[r])
        for i, c, r in zip(found.item.tolist(), found.chosen.tolist(), found.rejected.tolist(), strict=True)
    ]
    assert pairs[0] == ("Y", "X")
    assert pairs[-6:] == [("P", "Q"), ("P", "R"), ("Q", "R"), ("Q", "P"), ("R", "P"), ("R", "Q")]
    # item-2 has one annotator: no agreement figure (NaN, written as null).
    assert found.agreement[0] != found.agreement[0]


def test_kto_rows() -> None:
    batch = make_batch([ITEM])
    got = [(r["annotator"], r["completion"], r["label"]) for r in kto_rows(batch, KtoOptions())]
    # best desirable, worst undesirable, middle left out; w3 tied everything: no row.
    assert got == [("w1", "A", True), ("w1", "D", False), ("w2", "B", True), ("w2", "C", True), ("w2", "D", False)]
    consensus = [(r["completion"], r["label"]) for r in kto_rows(batch, KtoOptions(Consensus.MEAN_RANK))]
    assert consensus == [("A", True), ("B", True), ("D", False)]


def test_ranking_rows() -> None:
    batch = make_batch([ITEM])
    per = ranking_rows(batch, False, batch_agreement(batch))
    assert per[0]["responses"] == ["A", "B", "C", "D"] and per[0]["ranks"] == [1, 2, 3, 4]
    assert per[0]["scores"] == pytest.approx([1, 1 / 3, -1 / 3, -1])  # Borda: (below - above) / 3
    assert per[1]["responses"] == ["B", "C", "A", "D"] and per[1]["ranks"] == [1, 1, 2, 4]
    assert per[1]["scores"] == pytest.approx([2 / 3, 2 / 3, -1 / 3, -1])
    assert per[2]["responses"] == ["A", "B", "C", "D"] and per[2]["scores"] == [0, 0, 0, 0]
    (consensus,) = ranking_rows(batch, True, batch_agreement(batch))
    # A and B share mean rank 4/3; the mean Borda score breaks the tie: B 1/3 (w1 1/3, w2 2/3, w3 0) over
    # A 2/9 (w1 1, w2 -1/3, w3 0).
    assert consensus["responses"] == ["B", "A", "C", "D"]
    assert consensus["ranks"] == pytest.approx([4 / 3, 4 / 3, 5 / 3, 3])
    assert consensus["scores"] == pytest.approx([1 / 3, 2 / 9, 1 / 9, -2 / 3])  # C: (-1/3 + 2/3 + 0) / 3
    assert consensus["annotator"] == ["w1", "w2", "w3"]
    strengths = consensus["strengths"]
    assert strengths[0] > strengths[1] > strengths[2] > strengths[3]
    assert sum(strengths) == pytest.approx(0)


def batch_agreement(batch: Any) -> Any:
    from crowdloop.export.agreement import Agreement

    return Agreement().item_agreement(batch)


def test_ratings_pairs_and_rows() -> None:
    rated = Item(
        "r-1",
        "fd",
        Kind.RATING,
        "Rate",
        ("A", "B", "C"),
        ("m1", "m2", None),
        (Judgment("w1", (7.0, 3.0, 3.0)), Judgment("w2", (5.0, 6.0, 1.0))),
    )
    batch = make_batch([rated])
    found = pair_rows(batch, PairOptions())
    got = [
        (batch.workers[a], "ABC"[c] + ">" + "ABC"[r], m)
        for a, c, r, m in zip(
            found.annotator.tolist(), found.chosen.tolist(), found.rejected.tolist(), found.margin.tolist(), strict=True
        )
    ]
    # Higher rating = better; margin = rating gap; w1 ties B and C.
    assert got == [("w1", "A>B", 4.0), ("w1", "A>C", 4.0), ("w2", "B>A", 1.0), ("w2", "A>C", 4.0), ("w2", "B>C", 5.0)]
    consensus = rating_rows(batch, True)
    assert [(r["response"], r["rating"], r["ratings"], r["model"]) for r in consensus] == [
        ("A", 6.0, [7.0, 5.0], "m1"),
        ("B", 4.5, [3.0, 6.0], "m2"),
        ("C", 2.0, [3.0, 1.0], None),
    ]
    assert len(rating_rows(batch, False)) == 6
    ranked = ranking_rows(batch, False, batch_agreement(batch))
    assert ranked[0]["responses"] == ["A", "B", "C"] and ranked[0]["ranks"] == [1, 2, 2]
    assert ranked[0]["scores"] == [7.0, 3.0, 3.0]
    assert kto_rows(batch, KtoOptions(threshold=5.0))[0] == {
        "prompt": "Rate",
        "completion": "A",
        "label": True,
        "item_id": "r-1",
        "annotator": "w1",
    }
