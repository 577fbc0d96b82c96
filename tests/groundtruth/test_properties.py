"""Properties over random answers: consolidation never raises, is deterministic, and only ever writes
valid class indices, boxes and spans."""

from __future__ import annotations

from typing import Any

import orjson
from hypothesis import given, settings
from hypothesis import strategies as st

from crowdloop.groundtruth.consolidation import DataObject, WorkerAnnotation
from crowdloop.groundtruth.tasktypes import INFO, TaskType
from tests.groundtruth.helpers import run

LABELS = ["a", "b", "c", "d"]
SUPPORTED = [t for t in TaskType if INFO[t].supported]

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-5, 5)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=3),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner, max_size=3),
    max_leaves=8,
)
label = st.sampled_from([*LABELS, "zzz"])  # mostly known labels, sometimes not
number = st.integers(-10, 300) | st.floats(-10, 300, allow_nan=False)
a_box = st.fixed_dictionaries({"label": label, "left": number, "top": number, "width": number, "height": number})
a_span = st.integers(0, 40).flatmap(
    lambda start: st.fixed_dictionaries(
        {"startOffset": st.just(start), "endOffset": st.integers(start - 2, start + 15), "label": label}
    )
)
answer = st.one_of(
    st.builds(lambda v: {"crowd-classifier": {"label": v}}, label),
    st.builds(lambda v, c: {"crowd-classifier": {"label": v}, "comment": c}, label, st.text(max_size=5)),
    st.builds(lambda vs: {"x": {"labels": vs}}, st.lists(label, max_size=4)),
    st.builds(
        lambda bs: {"boundingBox": {"boundingBoxes": bs, "inputImageProperties": {"width": 300, "height": 200}}},
        st.lists(a_box | json_values, max_size=4),
    ),
    st.builds(lambda es: {"crowd-entity-annotation": {"entities": es}}, st.lists(a_span | json_values, max_size=4)),
    st.dictionaries(st.text(max_size=3), json_values, max_size=3),
)
workers = st.sampled_from([f"private.us-east-1.w{i}" for i in range(6)])
objects = st.lists(st.lists(st.tuples(workers, answer), max_size=5), max_size=6).map(
    lambda rows: [
        DataObject(str(i), {"source-ref": f"s3://b/{i}"}, [WorkerAnnotation(w, a) for w, a in row])
        for i, row in enumerate(rows)
    ]
)


def _check(task_type: TaskType, content: dict[str, Any]) -> None:
    value, metadata = content["attr"], content["attr-metadata"]
    assert metadata["human-annotated"] == "yes" or task_type is TaskType.PASS_THROUGH
    if task_type in (TaskType.IMAGE_MULTI_CLASS, TaskType.TEXT_MULTI_CLASS):
        assert isinstance(value, int) and metadata["class-name"] == LABELS[value]
        assert 0.0 <= metadata["confidence"] <= 0.95
    elif task_type.value.startswith("Verification"):
        assert isinstance(value, str) and metadata["class-name"] == LABELS[int(value)]
    elif task_type.value.endswith("MultiLabel"):
        assert len(set(value)) == len(value) and all(0 <= k < len(LABELS) for k in value)
        assert list(metadata["class-map"]) == [str(k) for k in value] == list(metadata["confidence-map"])
        assert all(0.0 <= c <= 0.95 for c in metadata["confidence-map"].values())
    elif task_type in (TaskType.BOUNDING_BOX, TaskType.ADJUSTMENT_BOUNDING_BOX):
        assert len(value["annotations"]) == len(metadata["objects"])
        for a, o in zip(value["annotations"], metadata["objects"], strict=True):
            assert 0 <= a["class_id"] < len(LABELS) and a["width"] > 0 and a["height"] > 0
            assert 0.0 <= o["confidence"] <= 1.0
        assert set(metadata["class-map"]) == {str(a["class_id"]) for a in value["annotations"]}
    elif task_type is TaskType.NAMED_ENTITY_RECOGNITION:
        found = value["annotations"]["entities"]
        assert len(found) == len(metadata["entities"])
        assert all(e["label"] in LABELS and 0 <= e["startOffset"] < e["endOffset"] for e in found)


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(SUPPORTED), objects)
def test_consolidate_never_raises_and_writes_valid_values(task_type: TaskType, batch: list[DataObject]) -> None:
    results = run(task_type, batch, LABELS)
    assert set(results) <= {o.dataset_object_id for o in batch if o.annotations}
    for content in (r.content for r in results.values()):
        assert list(content) == ["attr", "attr-metadata"]
        orjson.dumps(content)  # plain JSON
        _check(task_type, content)
    assert run(task_type, batch, LABELS) == results  # deterministic
