"""Bounding boxes (BoundingBox) and their adjustment (AdjustmentBoundingBox) — spec §8.2, §8.3.

Answer: the first object value of answerContent with a `boundingBoxes` list (crowd-bounding-box,
`{"boundingBox": {"boundingBoxes": [{"height", "label", "left", "top", "width"}], "inputImageProperties":
{"height", "width"}}}`). A box whose label is not in the label file, whose numbers are missing or not
finite, or whose width or height is not positive is dropped. A worker whose answer has the list (even an
empty one) counts as one of the object's N workers; an object with no such answer gets no result.

Clustering, per label: greedy complete linkage on IoU ≥ 0.5 (clusters.py: at most one box per worker
in a cluster, all members pairwise similar). Each cluster gives
one box: the plain mean of its members' top/left/height/width, unrounded (an integral mean is written as
an int, as in the real output). Its confidence = (workers in the cluster / N) * (mean pairwise IoU of the
cluster), rounded to 2; 0.0 when N = 1. A box drawn by one worker of several is kept, with the low
confidence 1/N (a cluster of one has mean IoU 1). Boxes are listed by the first worker (then box) that drew
a member; `class-map` has the classes present, by index; `image_size` comes from the first answer's
`inputImageProperties` (depth 3), `[]` when no answer carries it.

Adjustment: the same result plus `adjustment-status` (last metadata key): "adjusted" when at least one
worker's boxes differ from the line's previous annotation — the first line key other than this job's
label attribute whose value is an object with `annotations` and `image_size` (a bounding-box job's
label), its class names read from that key's `-metadata` `class-map` (else this job's label list).
"Differ" means a different number of boxes, or a box with no unused previous box of the same label
within 0.5 px on all four numbers (the UI may round the previous job's float means). Without a
previous annotation, any box at all counts as an adjustment.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import combinations
from typing import Any

from crowdloop.groundtruth.clusters import greedy
from crowdloop.groundtruth.model import Consolidated, DataObject, Job, is_number, score, whole

THRESHOLD = 0.5
TOLERANCE_PX = 0.5
_SIDES = ("top", "left", "height", "width")


@dataclass(frozen=True)
class Box:
    worker: int  # index of the answer among the object's counted answers
    class_id: int
    top: float
    left: float
    height: float
    width: float


def iou(a: Box, b: Box) -> float:
    across = min(a.left + a.width, b.left + b.width) - max(a.left, b.left)
    down = min(a.top + a.height, b.top + b.height) - max(a.top, b.top)
    if across <= 0 or down <= 0:
        return 0.0
    overlap = across * down
    return overlap / (a.width * a.height + b.width * b.height - overlap)


def answer_of(content: dict[str, Any]) -> dict[str, Any] | None:
    for value in content.values():
        if isinstance(value, dict) and isinstance(value.get("boundingBoxes"), list):
            return value
    return None


def boxes_of(job: Job, worker: int, answer: dict[str, Any]) -> list[Box]:
    found = []
    for raw in answer["boundingBoxes"]:
        if not isinstance(raw, dict) or not all(is_number(raw.get(side)) for side in _SIDES):
            continue
        k = job.index_of(raw.get("label"))
        if k is not None and raw["width"] > 0 and raw["height"] > 0:
            found.append(Box(worker, k, *(float(raw[side]) for side in _SIDES)))
    return found


def cluster(boxes: list[Box]) -> list[list[int]]:
    """One label's boxes grouped (indices into `boxes`, see clusters.greedy)."""
    return greedy([box.worker for box in boxes], lambda i, j: iou(boxes[i], boxes[j]), THRESHOLD)


def _confidence(group: list[Box], workers: int) -> float:
    pairs = list(combinations(group, 2))
    mean_iou = sum(iou(a, b) for a, b in pairs) / len(pairs) if pairs else 1.0
    return score(len(group) / workers * mean_iou, workers)


def _image_size(answers: list[dict[str, Any]]) -> list[dict[str, Any]]:
    for answer in answers:
        props = answer.get("inputImageProperties")
        if isinstance(props, dict) and is_number(props.get("width")) and is_number(props.get("height")):
            return [{"width": whole(float(props["width"])), "height": whole(float(props["height"])), "depth": 3}]
    return []


def consolidate_object(
    job: Job, answers: list[dict[str, Any]], output_type: str
) -> tuple[dict[str, Any], dict[str, Any]]:
    """(label value, metadata) for one object's bounding-box answers (at least one)."""
    boxes = [box for worker, answer in enumerate(answers) for box in boxes_of(job, worker, answer)]
    groups: list[list[int]] = []
    for k in sorted({box.class_id for box in boxes}):
        ours = [i for i, box in enumerate(boxes) if box.class_id == k]
        groups += [[ours[m] for m in members] for members in cluster([boxes[i] for i in ours])]
    groups.sort(key=lambda members: members[0])
    annotations, objects = [], []
    for members in groups:
        group = [boxes[i] for i in members]
        mean = {side: whole(sum(getattr(b, side) for b in group) / len(group)) for side in _SIDES}
        annotations.append({"class_id": group[0].class_id, **mean})
        objects.append({"confidence": _confidence(group, len(answers))})
    present = sorted({boxes[members[0]].class_id for members in groups})
    value = {"image_size": _image_size(answers), "annotations": annotations}
    metadata = {
        "objects": objects,
        "class-map": {str(k): job.labels[k] for k in present},
        "type": output_type,
        "human-annotated": "yes",
        "creation-date": job.date,
        "job-name": job.job_ref,
    }
    return value, metadata


def bounding_box(job: Job, objects: list[DataObject], output_type: str, adjustment: bool) -> dict[str, Consolidated]:
    results = {}
    for obj in objects:
        answers = [a for a in (answer_of(n.content) for n in obj.annotations) if a is not None]
        if not answers:
            continue
        value, metadata = consolidate_object(job, answers, output_type)
        if adjustment:
            before = previous_boxes(job, obj.line)
            changed = any(_differs(job, boxes_of(job, w, a), before) for w, a in enumerate(answers))
            metadata["adjustment-status"] = "adjusted" if changed else "unadjusted"
        results[obj.dataset_object_id] = Consolidated({job.label_attribute_name: value, job.metadata_key: metadata})
    return results


def previous_annotation(line: dict[str, Any], label_attribute_name: str) -> str | None:
    """The line key holding the bounding-box label to adjust (module docstring), None when there is none."""
    for key, value in line.items():
        if (
            key != label_attribute_name
            and isinstance(value, dict)
            and isinstance(value.get("annotations"), list)
            and "image_size" in value
        ):
            return key
    return None


def previous_boxes(job: Job, line: dict[str, Any]) -> list[tuple[str, tuple[float, ...]]]:
    """The previous annotation's boxes as (label name, (top, left, height, width))."""
    key = previous_annotation(line, job.label_attribute_name)
    if key is None:
        return []
    metadata = line.get(f"{key}-metadata")
    class_map = metadata.get("class-map") if isinstance(metadata, dict) else None
    found = []
    for raw in line[key]["annotations"]:
        if not isinstance(raw, dict) or not all(is_number(raw.get(side)) for side in _SIDES):
            continue
        class_id = raw.get("class_id")
        name = class_map.get(str(class_id)) if isinstance(class_map, dict) else None
        if name is None and isinstance(class_id, int) and 0 <= class_id < len(job.labels):
            name = job.labels[class_id]
        found.append((str(name), tuple(float(raw[side]) for side in _SIDES)))
    return found


def _differs(job: Job, boxes: list[Box], before: list[tuple[str, tuple[float, ...]]]) -> bool:
    if len(boxes) != len(before):
        return True
    unused = list(before)
    for box in boxes:
        sides = tuple(getattr(box, side) for side in _SIDES)
        match = next(
            (
                i
                for i, (name, old) in enumerate(unused)
                if name == job.labels[box.class_id]
                and all(abs(a - b) <= TOLERANCE_PX for a, b in zip(sides, old, strict=True))
            ),
            None,
        )
        if match is None:
            return True
        unused.pop(match)
    return False
