"""From loops to items: the conventions detected without a mapping file, mapping files, and how bad answers
are reported (never dropped silently, never guessed)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from crowdloop.errors import InvalidInput
from crowdloop.export.api import run
from crowdloop.export.mapping import Mapper, load_mapping, mapping_from_dict
from crowdloop.export.model import Kind, ProblemLog, RawAnswer, RawLoop
from tests.export.helpers import Loop, ranks, write_outputs


def loop(input_content: Any, *answers: tuple[str, Any], name: str = "l1", flow: str = "fd") -> RawLoop:
    return RawLoop(name, flow, input_content, tuple(RawAnswer(w, a) for w, a in answers))


def reasons(problems: ProblemLog) -> dict[str, int]:
    return dict(problems.counts)


SEED_INPUT = {"taskObject": {"prompt": "P", "responses": ["a", "b", "c"]}}


def test_seed_convention_with_strings_numbers_and_bad_answers() -> None:
    problems = ProblemLog()
    mapper = Mapper(problems)
    item = mapper.map(
        loop(
            SEED_INPUT,
            ("w1", ranks("1", "3", "2")),
            ("w2", ranks(2, 1.0, 3)),
            ("w3", {**ranks("1", "2", "3"), "response_4_ranking": "4"}),
            ("w4", ranks(" 2", "true", "1")),
            ("w5", ranks(True, 2, 3)),
            ("w1", ranks("1", "2", "3")),
            ("w6", ranks("1", "2", "NaN")),
            ("w7", ranks("0", "1", "2")),
            ("w8", "1,2,3"),
        )
    )
    assert item is not None and item.kind is Kind.RANKING
    assert [(j.annotator, j.values) for j in item.judgments] == [("w1", (1.0, 3.0, 2.0)), ("w2", (2.0, 1.0, 3.0))]
    assert reasons(problems) == {
        "answer for a response the input does not have": 1,
        "not a number": 3,
        "second answer by the same worker": 1,
        "rank out of range": 1,
        "answer is not a JSON object": 1,
    }
    assert (
        problems.examples["answer for a response the input does not have"][0].detail
        == "response_4_ranking (the input has 3 responses)"
    )
    assert problems.answers == 7 and problems.loops == 0


def test_loops_that_cannot_be_read_are_reported() -> None:
    problems = ProblemLog()
    mapper = Mapper(problems)
    assert mapper.map(loop({"question": "?"}, ("w1", {"free": "text"}))) is None
    assert problems.examples["answer format not recognised"][0].detail.startswith(
        "inputContent keys ['question'], answer keys ['free']"
    )
    assert mapper.map(loop(SEED_INPUT, ("w1", ranks("1", "2", "3")))) is not None  # detection on the next loop
    assert mapper.map(loop({"taskObject": {"prompt": "P", "responses": ["only one"]}}, ("w1", ranks("1")))) is None
    assert mapper.map(loop({"taskObject": {"prompt": 3, "responses": ["a", "b"]}}, ("w1", ranks("1", "2")))) is None
    assert mapper.map(loop({"taskObject": {"prompt": "P", "responses": ["a", 5]}}, ("w1", ranks("1", "2")))) is None
    assert mapper.map(loop(SEED_INPUT)) is None
    assert reasons(problems) == {
        "answer format not recognised": 1,
        "fewer than two responses": 1,
        "prompt missing": 1,
        "response is not text": 1,
        "no answers": 1,
    }
    assert problems.loops == 5 and problems.answers == 4


def test_crowd_text_ranking() -> None:
    nested = {"ranking": {"ordinalRankingDimensions": [{"name": "Helpfulness", "responseRankings": [2, 1, 3]}]}}
    top = {"ordinalRankingDimensions": [{"name": "Helpfulness", "responseRankings": [1, 2, 3]}]}
    source = {"prompt": "P", "responses": [{"text": "a", "model": "m1"}, {"text": "b", "model": "m2"}, "c"]}
    item = Mapper(ProblemLog()).map(loop(source, ("w1", nested)))
    assert item is not None and item.responses == ("a", "b", "c") and item.models == ("m1", "m2", None)
    assert item.judgments[0].values == (2.0, 1.0, 3.0)
    assert Mapper(ProblemLog()).map(loop(source, ("w1", top))) is not None
    two = {
        "ordinalRankingDimensions": [
            {"name": "Helpfulness", "responseRankings": [1, 2, 3]},
            {"name": "Safety", "responseRankings": [3, 1, 1]},
        ]
    }
    problems = ProblemLog()
    assert Mapper(problems).map(loop(source, ("w1", two))) is None
    assert "choose one with --dimension" in problems.examples["several ranking dimensions"][0].detail
    chosen = Mapper(ProblemLog(), dimension="Safety").map(loop(source, ("w1", two)))
    assert chosen is not None and chosen.judgments[0].values == (3.0, 1.0, 1.0)


def test_pairwise_choice_of_the_spec_example() -> None:
    source = {"prompt": "P", "responses": [{"text": "A text"}, {"text": "B text"}]}
    problems = ProblemLog()
    mapper = Mapper(problems)
    item = mapper.map(
        loop(
            source,
            ("w1", {"preference": {"label": "A is better"}, "rationale": "clearer"}),
            ("w2", {"preference": {"label": "B is better"}}),
            ("w3", {"preference": {"label": "Tie"}}),
            ("w4", {"preference": {"label": "Both bad"}}),
        )
    )
    assert item is not None
    assert [j.values for j in item.judgments] == [(1.0, 2.0), (2.0, 1.0), (1.0, 1.0)]
    assert reasons(problems) == {"unknown choice": 1}
    assert mapper.mappings()[0]["convention"] == "pairwise-choice"


def test_rating_fields_and_labels() -> None:
    item = Mapper(ProblemLog()).map(
        loop(SEED_INPUT, ("w1", {f"response_{i}_rating": v for i, v in ((1, 70), (2, "35.5"), (3, 100))}))
    )
    assert item is not None and item.kind is Kind.RATING and item.judgments[0].values == (70.0, 35.5, 100.0)
    labelled = Mapper(ProblemLog()).map(loop({"text": "Is this toxic?"}, ("w1", {"category": {"label": "toxic"}})))
    assert labelled is not None and labelled.kind is Kind.LABEL and labelled.judgments[0].labels == ("toxic",)
    assert labelled.responses == ()


def test_kinds_do_not_mix_in_one_export() -> None:
    problems = ProblemLog()
    mapper = Mapper(problems)
    assert mapper.map(loop(SEED_INPUT, ("w1", ranks("1", "2", "3")), flow="a")) is not None
    rated = loop(SEED_INPUT, ("w1", {"response_1_score": 1, "response_2_score": 2, "response_3_score": 3}), flow="b")
    assert mapper.map(rated) is None
    assert reasons(problems) == {"different kind of answer": 1}


def test_mapping_file_toml(tmp_path: Path) -> None:
    path = tmp_path / "mapping.toml"
    path.write_text("""
kind = "ranking"
[input]
prompt = "question.body"
responses = "candidates"
response_text = "content"
response_model = "author"
[answer]
list = "order.scores"
best = "highest"
""")
    mapping = load_mapping(path)
    source = {"question": {"body": "Q"}, "candidates": [{"content": "x", "author": "gpt"}, {"content": "y"}]}
    item = Mapper(ProblemLog(), mapping).map(loop(source, ("w1", {"order": {"scores": ["2", "1"]}})))
    # best = "highest": 2 means best, stored as rank 1.
    assert item is not None and item.judgments[0].values == (1.0, 2.0) and item.models == ("gpt", None)
    assert mapping.describe()["best"] == "highest"


def test_mapping_file_json_choice_and_radio_scale(tmp_path: Path) -> None:
    choice = tmp_path / "choice.json"
    choice.write_text(
        json.dumps(
            {
                "kind": "choice",
                "input": {"prompt": "q", "responses": "r"},
                "answer": {"field": "pick", "choices": {"left": 1, "right": 2, "same": "tie"}},
            }
        )
    )
    item = Mapper(ProblemLog(), load_mapping(choice)).map(
        loop({"q": "Q", "r": ["L", "R"]}, ("w1", {"pick": {"right": True}}), ("w2", {"pick": "same"}))
    )
    assert item is not None and [j.values for j in item.judgments] == [(2.0, 1.0), (1.0, 1.0)]
    scale = mapping_from_dict(
        {
            "kind": "rating",
            "input": {"prompt": "q", "responses": "r"},
            "answer": {"field": "quality_{i}", "index_base": 0, "min": 1, "max": 5},
        }
    )
    problems = ProblemLog()
    rated = Mapper(problems, scale).map(
        loop(
            {"q": "Q", "r": ["L", "R"]},
            ("w1", {"quality_0": {"1": False, "4": True}, "quality_1": {"2": True}}),
            ("w2", {"quality_0": {"9": True}, "quality_1": {"2": True}}),
            ("w3", {"quality_0": {"1": True, "2": True}, "quality_1": 3}),
        )
    )
    assert rated is not None and rated.judgments[0].values == (4.0, 2.0)
    assert reasons(problems) == {"rating out of range": 1, "not one choice": 1}


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"kind": "vote"}, "kind must be"),
        ({"answer": {}}, "exactly one of field"),
        ({"answer": {"field": "x"}}, "must contain {i}"),
        ({"kind": "choice", "answer": {"field": "x", "choices": {"a": 3}}}, "must name response"),
        ({"answer": {"field": "x_{i}", "best": "top"}}, "best must be"),
        ({"input": {"promt": "x"}, "answer": {"field": "x_{i}"}}, "unknown \\[input\\] keys"),
        ({"extra": 1}, "unknown keys"),
    ],
)
def test_mapping_file_errors(data: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        mapping_from_dict(data)


def test_labels_export_with_dawid_skene_consensus(tmp_path: Path) -> None:
    loops = [
        Loop(
            f"t{k}",
            f"text {k}",
            ["r"],
            [
                ("w1", {"tox": {"label": "toxic" if k % 2 else "ok"}}),
                ("w2", {"tox": {"label": "toxic" if k % 2 else "ok"}}),
                ("w3", {"tox": {"label": "ok"}}),
            ],
        )
        for k in range(6)
    ]
    write_outputs(tmp_path / "a2i", loops)
    rows = list(run(str(tmp_path / "a2i"), "labels", consensus="mean-rank").rows())
    assert [r["label"] for r in rows] == ["ok", "toxic"] * 3
    assert [r["majority"] for r in rows] == ["ok", "toxic"] * 3
    assert rows[1]["labels"] == ["toxic", "toxic", "ok"] and rows[1]["annotator"] == ["w1", "w2", "w3"]
    assert all(r["response"] is None for r in rows)
    per = list(run(str(tmp_path / "a2i"), "labels").rows())
    assert len(per) == 18 and per[0] == {
        "prompt": "text 0",
        "response": None,
        "label": "ok",
        "item_id": "t0",
        "annotator": "w1",
    }


def test_kto_from_labels_needs_desirable_labels(tmp_path: Path) -> None:
    loops = [Loop("t0", "P", ["a", "b"], [("w1", {"response_1_label": "good", "response_2_label": "bad"})])]
    write_outputs(tmp_path / "a2i", loops)
    mapping = tmp_path / "m.toml"
    mapping.write_text('kind = "label"\n[answer]\nfield = "response_{i}_label"\ndesirable = ["good"]\n')
    rows = list(run(str(tmp_path / "a2i"), "kto", mapping=mapping).rows())
    assert [(r["completion"], r["label"]) for r in rows] == [("a", True), ("b", False)]
    mapping.write_text('kind = "label"\n[answer]\nfield = "response_{i}_label"\n')
    with pytest.raises(InvalidInput, match="desirable"):
        list(run(str(tmp_path / "a2i"), "kto", mapping=mapping).rows())
