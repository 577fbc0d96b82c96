"""Bounding-box consolidation: clustering, means, confidences, output layout and adjustment status."""

from __future__ import annotations

from typing import Any

import orjson

from crowdloop.groundtruth.boxes import Box, iou
from crowdloop.groundtruth.tasktypes import TaskType
from tests.groundtruth.helpers import DATE, obj, run


def box(label: str, left: float, top: float, width: float, height: float) -> dict[str, Any]:
    return {"height": height, "label": label, "left": left, "top": top, "width": width}


def drawn(*boxes: dict[str, Any], width: int = 1024, height: int = 768) -> dict[str, Any]:
    return {"boundingBox": {"boundingBoxes": list(boxes), "inputImageProperties": {"height": height, "width": width}}}


def _iou(a: tuple[float, float, float, float], b: tuple[float, float, float, float]) -> float:
    """IoU of (left, top, width, height) boxes, written out independently of the module."""
    x = max(0.0, min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0]))
    y = max(0.0, min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1]))
    return x * y / (a[2] * a[3] + b[2] * b[3] - x * y)


def test_iou() -> None:
    a = Box(0, 0, top=0, left=0, height=10, width=10)
    assert iou(a, a) == 1.0
    assert iou(a, Box(1, 0, top=0, left=5, height=10, width=10)) == 50 / 150
    assert iou(a, Box(1, 0, top=10, left=0, height=10, width=10)) == 0.0  # touching edges


def test_two_workers_near_identical_boxes_average_unrounded() -> None:
    answers = [drawn(box("Bird", 455, 187, 257, 245)), drawn(box("Bird", 456, 188, 258, 245))]
    results = run(TaskType.BOUNDING_BOX, [obj(0, answers)], ["Bird"], attr="category", job="od")
    content = results["0"].content
    assert content["category"] == {
        "image_size": [{"width": 1024, "height": 768, "depth": 3}],
        "annotations": [{"class_id": 0, "top": 187.5, "left": 455.5, "height": 245, "width": 257.5}],
    }
    expected = round(_iou((455, 187, 257, 245), (456, 188, 258, 245)), 2)
    assert content["category-metadata"]["objects"] == [{"confidence": expected}] and expected == 0.98
    # five workers: means such as 455.6 stay floats, an integral mean is an int
    lefts, tops, widths = [455, 455, 456, 456, 456], [187, 187, 187, 188, 188], [257, 257, 257, 258, 258]
    five = [drawn(box("Bird", x, y, w, 245)) for x, y, w in zip(lefts, tops, widths, strict=True)]
    annotation = run(TaskType.BOUNDING_BOX, [obj(0, five)], ["Bird"])["0"].content["attr"]["annotations"][0]
    assert annotation == {"class_id": 0, "top": 187.4, "left": 455.6, "height": 245, "width": 257.4}
    assert isinstance(annotation["height"], int)


def test_output_layout_matches_the_real_2022_line() -> None:
    """The real sample's shape and key order; coordinates are our means of the workers' integer boxes."""
    line = {"source-ref": "s3://rns-groundtruth-bucket/ground-truth-od-full-demo/images/000411001ff7dd4f.jpg"}
    answers = [
        drawn(
            box("Bird", 455 + i % 2, 187, 257, 245),
            box("Bird", 951, 302 + (i == 0), 72, 226),
            box("Bird", 163, 146, 318, 475),
        )
        for i in range(4)
    ]
    results = run(
        TaskType.BOUNDING_BOX, [obj(0, answers, line)], ["Bird"], "category", "ground-truth-od-demo-1662974840"
    )
    output = orjson.loads(orjson.dumps({**line, **results["0"].content}))
    assert list(output) == ["source-ref", "category", "category-metadata"]
    assert list(output["category"]) == ["image_size", "annotations"]
    assert output["category"]["annotations"] == [
        {"class_id": 0, "top": 187, "left": 455.5, "height": 245, "width": 257},
        {"class_id": 0, "top": 302.25, "left": 951, "height": 226, "width": 72},
        {"class_id": 0, "top": 146, "left": 163, "height": 475, "width": 318},
    ]
    metadata = output["category-metadata"]
    assert list(metadata) == ["objects", "class-map", "type", "human-annotated", "creation-date", "job-name"]
    assert metadata["class-map"] == {"0": "Bird"}
    assert metadata["type"] == "groundtruth/object-detection"
    assert metadata["job-name"] == "labeling-job/ground-truth-od-demo-1662974840"
    assert metadata["creation-date"] == DATE
    assert [o["confidence"] for o in metadata["objects"]][2] == 1.0  # four identical boxes
    assert all(0.9 < o["confidence"] <= 1.0 for o in metadata["objects"])


def test_disjoint_boxes_stay_separate_and_lone_boxes_are_kept() -> None:
    answers = [
        drawn(box("cat", 0, 0, 100, 100), box("dog", 500, 500, 50, 50)),
        drawn(box("cat", 300, 300, 100, 100)),
        drawn(box("cat", 2, 2, 100, 100)),
    ]
    results = run(TaskType.BOUNDING_BOX, [obj(0, answers)], ["cat", "dog"])
    value, metadata = results["0"].content["attr"], results["0"].content["attr-metadata"]
    assert value["annotations"] == [
        {"class_id": 0, "top": 1, "left": 1, "height": 100, "width": 100},  # workers 0 and 2
        {"class_id": 1, "top": 500, "left": 500, "height": 50, "width": 50},  # only worker 0
        {"class_id": 0, "top": 300, "left": 300, "height": 100, "width": 100},  # only worker 1
    ]
    pair = round(2 / 3 * _iou((0, 0, 100, 100), (2, 2, 100, 100)), 2)
    assert [o["confidence"] for o in metadata["objects"]] == [pair, 0.33, 0.33]
    assert metadata["class-map"] == {"0": "cat", "1": "dog"}


def test_labels_never_merge_and_one_box_per_worker() -> None:
    answers = [
        drawn(box("cat", 0, 0, 100, 100), box("dog", 0, 0, 100, 100)),
        drawn(box("cat", 0, 0, 100, 100), box("cat", 5, 5, 100, 100)),  # two cats over one cat of worker 0
    ]
    results = run(TaskType.BOUNDING_BOX, [obj(0, answers)], ["cat", "dog"])
    annotations = results["0"].content["attr"]["annotations"]
    assert annotations == [
        {"class_id": 0, "top": 0, "left": 0, "height": 100, "width": 100},  # the identical pair
        {"class_id": 1, "top": 0, "left": 0, "height": 100, "width": 100},
        {"class_id": 0, "top": 5, "left": 5, "height": 100, "width": 100},  # worker 1's second cat, alone
    ]
    assert [o["confidence"] for o in results["0"].content["attr-metadata"]["objects"]] == [1.0, 0.5, 0.5]


def test_complete_linkage_keeps_a_chain_apart() -> None:
    """A overlaps B and B overlaps C enough, A and C do not: B joins one of them, not both."""
    answers = [drawn(box("x", 0, 0, 100, 100)), drawn(box("x", 20, 0, 100, 100)), drawn(box("x", 40, 0, 100, 100))]
    assert _iou((0, 0, 100, 100), (40, 0, 100, 100)) < 0.5 <= _iou((0, 0, 100, 100), (20, 0, 100, 100))
    annotations = run(TaskType.BOUNDING_BOX, [obj(0, answers)], ["x"])["0"].content["attr"]["annotations"]
    assert [a["left"] for a in annotations] == [10, 40]


def test_one_worker_and_invalid_boxes() -> None:
    answer = drawn(
        box("Bird", 583, 302, 1375, 2052),
        box("Plane", 1, 1, 10, 10),  # not a label of the job
        box("Bird", 1, 1, 0, 10),  # no width
        {"label": "Bird", "left": "1", "top": 1, "width": 10, "height": 10},  # a string
        {"label": "Bird", "left": True, "top": 1, "width": 10, "height": 10},
        "not a box",
        width=3745,
        height=2497,
    )
    results = run(TaskType.BOUNDING_BOX, [obj(0, [answer, {"other": {}}])], ["Bird"])
    assert results["0"].content == {
        "attr": {
            "image_size": [{"width": 3745, "height": 2497, "depth": 3}],
            "annotations": [{"class_id": 0, "top": 302, "left": 583, "height": 2052, "width": 1375}],
        },
        "attr-metadata": {
            "objects": [{"confidence": 0.0}],
            "class-map": {"0": "Bird"},
            "type": "groundtruth/object-detection",
            "human-annotated": "yes",
            "creation-date": DATE,
            "job-name": "labeling-job/job",
        },
    }


def test_no_boxes_and_no_answers() -> None:
    nothing = {"boundingBox": {"boundingBoxes": []}}
    results = run(TaskType.BOUNDING_BOX, [obj(0, [nothing]), obj(1, [{"x": 1}]), obj(2, [])], ["Bird"])
    assert set(results) == {"0"}
    assert results["0"].content["attr"] == {"image_size": [], "annotations": []}
    assert results["0"].content["attr-metadata"]["objects"] == []
    assert results["0"].content["attr-metadata"]["class-map"] == {}


def _chained_line() -> dict[str, Any]:
    return {
        "source-ref": "s3://bucket/bird.jpg",
        "category": {
            "image_size": [{"width": 1024, "height": 768, "depth": 3}],
            "annotations": [
                {"class_id": 0, "top": 187.39999999999998, "left": 455.6, "height": 245, "width": 257.4},
                {"class_id": 1, "top": 10, "left": 10, "height": 20, "width": 20},
            ],
        },
        "category-metadata": {"class-map": {"0": "Bird", "1": "Plane"}, "type": "groundtruth/object-detection"},
    }


def test_adjustment_status() -> None:
    labels = ["Plane", "Bird"]  # another order than the previous job's: names come from its class-map
    same = drawn(box("Bird", 456, 187, 257, 245), box("Plane", 10, 10, 20, 20))  # the UI rounded the floats
    moved = drawn(box("Bird", 470, 187, 257, 245), box("Plane", 10, 10, 20, 20))
    fewer = drawn(box("Bird", 456, 187, 257, 245))
    relabeled = drawn(box("Plane", 456, 187, 257, 245), box("Plane", 10, 10, 20, 20))

    def status(*answers: dict[str, Any]) -> str:
        results = run(TaskType.ADJUSTMENT_BOUNDING_BOX, [obj(0, list(answers), _chained_line())], labels, "adjusted")
        metadata = results["0"].content["adjusted-metadata"]
        assert list(metadata)[-1] == "adjustment-status"
        assert metadata["type"] == "groundtruth/object-detection"
        return str(metadata["adjustment-status"])

    assert status(same, same) == "unadjusted"
    assert status(same, moved) == "adjusted"
    assert status(fewer) == "adjusted"
    assert status(relabeled, same) == "adjusted"
    no_previous = run(TaskType.ADJUSTMENT_BOUNDING_BOX, [obj(0, [drawn()]), obj(1, [same])], labels)
    assert no_previous["0"].content["attr-metadata"]["adjustment-status"] == "unadjusted"
    assert no_previous["1"].content["attr-metadata"]["adjustment-status"] == "adjusted"
    plain = run(TaskType.BOUNDING_BOX, [obj(0, [same], _chained_line())], labels)
    assert "adjustment-status" not in plain["0"].content["attr-metadata"]
