"""Named-entity consolidation: the docs' example, span clustering, boundaries and label votes."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import orjson

from crowdloop.groundtruth import spans
from crowdloop.groundtruth.consolidation import consolidate
from crowdloop.groundtruth.tasktypes import TaskType
from tests.groundtruth.helpers import obj, run

LABELS = ["Date", "Verb", "Person"]


def tagged(*entities: tuple[int, int, str]) -> dict[str, Any]:
    return {
        "crowd-entity-annotation": {
            "entities": [{"endOffset": end, "label": label, "startOffset": start} for start, end, label in entities]
        }
    }


def entities(*answers: dict[str, Any]) -> list[tuple[int, int, str]]:
    content = run(TaskType.NAMED_ENTITY_RECOGNITION, [obj(0, list(answers))], LABELS)["0"].content
    return [(e["startOffset"], e["endOffset"], e["label"]) for e in content["attr"]["annotations"]["entities"]]


def confidences(*answers: dict[str, Any]) -> list[float]:
    content = run(TaskType.NAMED_ENTITY_RECOGNITION, [obj(0, list(answers))], LABELS)["0"].content
    return [e["confidence"] for e in content["attr-metadata"]["entities"]]


def test_the_docs_example_from_one_worker() -> None:
    source = "Amazon SageMaker is a cloud machine-learning platform …"
    label_objects = [{"label": "Date", "shortDisplayName": "dt"}, {"label": "Verb", "shortDisplayName": "vb"}]
    results = consolidate(
        TaskType.NAMED_ENTITY_RECOGNITION,
        label_attribute_name="ner-labeling-job-attribute-name",
        job_name="example-ner-labeling-job",
        labels=["Date", "Verb"],
        label_objects=label_objects,
        objects=[obj(0, [tagged((75, 88, "Date"), (63, 71, "Verb"))], {"source": source})],
        created=datetime(2020, 10, 29, 0, 40, 39, 398470, tzinfo=UTC),
    )
    assert (
        orjson.dumps({"source": source, **results["0"].content})
        == (
            '{"source":"Amazon SageMaker is a cloud machine-learning platform …","ner-labeling-job-attribute-name":'
            '{"annotations":{"labels":[{"label":"Date","shortDisplayName":"dt"},{"label":"Verb","shortDisplayName":"vb"}],'
            '"entities":[{"label":"Date","startOffset":75,"endOffset":88},{"label":"Verb","startOffset":63,"endOffset":71}]}},'
            '"ner-labeling-job-attribute-name-metadata":{"job-name":"labeling-job/example-ner-labeling-job",'
            '"type":"groundtruth/text-span","creation-date":"2020-10-29T00:40:39.398470","human-annotated":"yes",'
            '"entities":[{"confidence":0},{"confidence":0}]}}'
        ).encode()
    )


def test_label_objects_default_to_the_label_strings() -> None:
    content = run(TaskType.NAMED_ENTITY_RECOGNITION, [obj(0, [tagged()])], ["A", "B"])["0"].content
    assert content["attr"] == {"annotations": {"labels": [{"label": "A"}, {"label": "B"}], "entities": []}}
    assert content["attr-metadata"]["entities"] == []


def test_agreeing_spans_merge_with_the_mode_of_their_boundaries() -> None:
    a = tagged((0, 6, "Verb"), (20, 30, "Person"))
    b = tagged((0, 6, "Verb"), (21, 30, "Person"))
    c = tagged((0, 7, "Verb"), (20, 30, "Person"))
    assert entities(a, b, c) == [(0, 6, "Verb"), (20, 30, "Person")]
    # mean pairwise Jaccard of the Verb spans: (1 + 6/7 + 6/7) / 3; all three agree on the label
    assert confidences(a, b, c) == [round((1 + 6 / 7 + 6 / 7) / 3, 2), round((0.9 + 1 + 0.9) / 3, 2)]


def test_no_clear_mode_takes_the_lower_median() -> None:
    spans = [tagged((10, 20, "Date")), tagged((11, 21, "Date")), tagged((12, 22, "Date"))]
    assert entities(*spans) == [(11, 21, "Date")]
    assert entities(tagged((10, 20, "Date")), tagged((12, 21, "Date"))) == [(10, 20, "Date")]


def test_majority_label_and_seeded_ties() -> None:
    votes = [tagged((0, 10, "Person")), tagged((0, 10, "Date")), tagged((0, 10, "Person"))]
    assert entities(*votes) == [(0, 10, "Person")]
    assert confidences(*votes) == [0.67]
    tie = [tagged((0, 10, "Person")), tagged((0, 10, "Date"))]
    first = entities(*tie)
    assert first in ([(0, 10, "Person")], [(0, 10, "Date")])
    assert all(entities(*tie) == first for _ in range(5))
    assert entities(*reversed(tie)) == first  # the seed is the job, object and span, not the answer order
    picks = set()
    for n in range(30):
        results = run(TaskType.NAMED_ENTITY_RECOGNITION, [obj(n, tie)], LABELS, job=f"job-{n}")
        picks.add(results[str(n)].content["attr"]["annotations"]["entities"][0]["label"])
    assert picks == {"Person", "Date"}


def test_dissimilar_spans_stay_apart_and_lone_spans_are_kept() -> None:
    a = tagged((0, 10, "Date"), (40, 50, "Verb"))
    b = tagged((6, 16, "Date"))  # Jaccard with (0, 10): 4/16 < 0.5
    assert entities(a, b) == [(0, 10, "Date"), (40, 50, "Verb"), (6, 16, "Date")]
    assert confidences(a, b) == [0.5, 0.5, 0.5]


def test_invalid_entities_are_dropped() -> None:
    answer = tagged((0, 5, "Date"), (5, 5, "Date"), (7, 3, "Date"), (-1, 4, "Date"), (0, 5, "Planet"))
    answer["crowd-entity-annotation"]["entities"] += [{"startOffset": "0", "endOffset": 3, "label": "Date"}, 7]
    assert entities(answer) == [(0, 5, "Date")]
    assert run(TaskType.NAMED_ENTITY_RECOGNITION, [obj(0, [{"x": {"label": "Date"}}]), obj(1, [])], LABELS) == {}


def test_offsets_after_emoji_are_code_points() -> None:
    # crowdloop's crowd-entity-annotation answers UTF-16 indices; the output's are the line text's code
    # points (found by the browser test of labeling jobs: spans after an emoji were one character late)
    source = "Zoë 🎉 met Carol at Initech 😀 today."
    utf16 = lambda i: len(source[:i].encode("utf-16-le")) // 2  # noqa: E731
    carol, initech = source.index("Carol"), source.index("Initech")
    answer = tagged((utf16(carol), utf16(carol + 5), "Person"), (utf16(initech), utf16(initech + 7), "Verb"))
    content = run(TaskType.NAMED_ENTITY_RECOGNITION, [obj(0, [answer], {"source": source})], LABELS)["0"].content
    found = content["attr"]["annotations"]["entities"]
    assert found == [
        {"label": "Person", "startOffset": carol, "endOffset": carol + 5},
        {"label": "Verb", "startOffset": initech, "endOffset": initech + 7},
    ]
    assert [source[e["startOffset"] : e["endOffset"]] for e in found] == ["Carol", "Initech"]


def test_two_workers_agree_across_units_of_the_same_text() -> None:
    source = "😀😀 Bo"
    answers = [tagged((5, 7, "Person")), tagged((5, 7, "Person"))]  # UTF-16: the emoji count twice
    content = run(TaskType.NAMED_ENTITY_RECOGNITION, [obj(0, answers, {"source": source})], LABELS)["0"].content
    assert content["attr"]["annotations"]["entities"] == [{"label": "Person", "startOffset": 3, "endOffset": 5}]
    assert content["attr-metadata"]["entities"] == [{"confidence": 1.0}]


def test_an_offset_inside_a_surrogate_pair_takes_the_whole_character() -> None:
    source = "a😀b"
    converted = spans.code_points(source)
    assert [converted(unit, False) for unit in range(5)] == [0, 1, 1, 2, 3]
    assert [converted(unit, True) for unit in range(5)] == [0, 1, 2, 2, 3]
    assert spans.code_points("plain")(7, True) == 7 and spans.code_points(None)(7, False) == 7


def test_a_source_ref_line_keeps_the_offsets_given() -> None:
    answer = tagged((4, 6, "Person"))
    line = {"source-ref": "s3://bucket/doc.txt"}
    content = run(TaskType.NAMED_ENTITY_RECOGNITION, [obj(0, [answer], line)], LABELS)["0"].content
    assert content["attr"]["annotations"]["entities"] == [{"label": "Person", "startOffset": 4, "endOffset": 6}]
