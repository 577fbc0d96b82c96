"""The built-in PRE-<Type> and ACS-<Type> functions, run in-process (spec §7, §8, §9).

    builtin_task_input     what PRE-<Type> returns as taskInput for one manifest line
    consolidate            what ACS-<Type> returns for one batch: datasetObjectId -> Consolidated
    custom_without_lambda  the output of a custom job without a consolidation Lambda
    custom_metadata        a custom Lambda's content with `<attr>-metadata` added
    creation_date          the metadata's date format

Supported: bounding box (+ adjustment), single- and multi-label image/text classification, named
entities, bounding-box and segmentation verification, semantic segmentation (+ adjustment; needs the
`segmentation` extra, segmentation.py), PassThrough. Not yet: video and 3D point cloud types
(`INFO[t].supported` is False; consolidate raises InvalidInput for them). The algorithms and every choice
where AWS documents nothing are in the docstrings of classification.py, boxes.py, spans.py, segmentation.py
and custom.py. Every answer a worker gives is trusted to be the
parsed `answerContent`; malformed parts are skipped, never raised on.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from crowdloop.errors import InvalidInput
from crowdloop.groundtruth import boxes, classification, custom, segmentation, spans
from crowdloop.groundtruth.custom import custom_metadata, custom_without_lambda
from crowdloop.groundtruth.model import Consolidated, DataObject, Job, WorkerAnnotation, creation_date
from crowdloop.groundtruth.tasktypes import INFO, TaskType

__all__ = [
    "Consolidated",
    "DataObject",
    "WorkerAnnotation",
    "builtin_task_input",
    "consolidate",
    "creation_date",
    "custom_metadata",
    "custom_without_lambda",
]

T = TaskType
_TEXT = {T.TEXT_MULTI_CLASS, T.TEXT_MULTI_CLASS_MULTI_LABEL, T.NAMED_ENTITY_RECOGNITION}
_CHAINED = {t for t in TaskType if t.value.startswith(("Verification", "Adjustment"))}
_SEGMENTATION = {T.SEMANTIC_SEGMENTATION, T.ADJUSTMENT_SEMANTIC_SEGMENTATION}


def builtin_task_input(
    task_type: TaskType,
    line: dict[str, Any],
    labels: list[str],
    *,
    label_objects: list[dict[str, Any]] | None = None,
    instructions: dict[str, Any] | None = None,
    label_attribute_name: str | None = None,
) -> dict[str, Any]:
    """`taskInput` of PRE-<Type> for one manifest line — the exact output of AWS's functions is not
    published; this is what AWS's built-in templates read:

    * `taskObject`: the line's `source-ref`, else its `source` (text types — TextMultiClass*, NER — look at
      `source` first); a line with neither raises InvalidInput;
    * `labels`: the label strings in label-file order; for NER the label *objects* (`label_objects`, or
      `{"label": …}` made from `labels`), since crowd-entity-annotation takes `shortDisplayName` too, plus
      the label file's `shortInstruction` and `fullInstruction` (from `instructions`) when given;
    * verification and adjustment types add `manifestLine`: the whole line, so templates can read the
      previous job's label as AWS's docs show
      (`task.input.manifestLine.<previous-attr>.annotations`, `…-metadata.class-map`);
    * segmentation verification and adjustment add `initialValue` when the line has a previous mask (a
      `*-ref` key with an internal-color-map): `{"src": <its S3 URI>, "labelMappings": {...}}`, what
      crowd-semantic-segmentation's `initial-value` takes (pass `src` through `grant_read_access`);
    * PassThrough ("direct passthrough of input/output data"): the line itself, as when a job has no
      pre-annotation Lambda.
    """
    if task_type is T.PASS_THROUGH:
        return dict(line)
    keys = ("source", "source-ref") if task_type in _TEXT else ("source-ref", "source")
    present = [key for key in keys if key in line]
    if not present:
        raise InvalidInput("The manifest line has neither a 'source-ref' nor a 'source' key.", "dataObject")
    task_input: dict[str, Any] = {"taskObject": line[present[0]], "labels": list(labels)}
    if task_type is T.NAMED_ENTITY_RECOGNITION:
        task_input["labels"] = (
            list(label_objects) if label_objects is not None else [{"label": label} for label in labels]
        )
        for key in ("shortInstruction", "fullInstruction"):  # what the built-in NER UI reads (builtin_uis)
            if instructions is not None and key in instructions:
                task_input[key] = instructions[key]
    if task_type in _CHAINED:
        task_input["manifestLine"] = line
    if task_type in (T.ADJUSTMENT_SEMANTIC_SEGMENTATION, T.VERIFICATION_SEMANTIC_SEGMENTATION):
        initial = segmentation.initial_value(line, label_attribute_name or "")
        if initial is not None:
            task_input["initialValue"] = initial
    return task_input


def consolidate(
    task_type: TaskType,
    *,
    label_attribute_name: str,
    job_name: str,
    labels: list[str],
    objects: list[DataObject],
    created: datetime,
    label_objects: list[dict[str, Any]] | None = None,
    output_prefix: str = "",
    previous_masks: Mapping[str, bytes] | None = None,
) -> dict[str, Consolidated]:
    """ACS-<Type> for one batch: datasetObjectId -> the consolidated content (+ files). Objects with no
    (usable) answer are absent. `labels` = the label file's label strings, in order (class indices);
    `label_objects` = its label objects, echoed by NER. Segmentation: `output_prefix` = the S3 URI of
    `<root>/annotations/consolidated-annotation/output/` (the label is the URI of a file of `.files`, named
    relative to it); `previous_masks` = datasetObjectId -> the bytes of the previous job's mask for
    adjustment (segmentation.py)."""
    job = Job(label_attribute_name, job_name, list(labels), created)
    output_type = INFO[task_type].output_type or ""
    if task_type in (T.IMAGE_MULTI_CLASS, T.TEXT_MULTI_CLASS, T.VIDEO_MULTI_CLASS):
        return classification.single_label(job, objects, output_type)
    if task_type in (T.IMAGE_MULTI_CLASS_MULTI_LABEL, T.TEXT_MULTI_CLASS_MULTI_LABEL):
        return classification.multi_label(job, objects, output_type)
    if task_type in (T.VERIFICATION_BOUNDING_BOX, T.VERIFICATION_SEMANTIC_SEGMENTATION):
        return classification.verification(job, objects, output_type)
    if task_type in (T.BOUNDING_BOX, T.ADJUSTMENT_BOUNDING_BOX):
        return boxes.bounding_box(job, objects, output_type, adjustment=task_type is T.ADJUSTMENT_BOUNDING_BOX)
    if task_type is T.NAMED_ENTITY_RECOGNITION:
        return spans.named_entities(job, objects, output_type, label_objects)
    if task_type in _SEGMENTATION:
        return segmentation.semantic_segmentation(
            job,
            objects,
            output_type,
            output_prefix=output_prefix,
            adjustment=task_type is T.ADJUSTMENT_SEMANTIC_SEGMENTATION,
            previous_masks=previous_masks,
        )
    if task_type is T.PASS_THROUGH:
        return custom.pass_through(job, objects)
    raise InvalidInput(f"crowdloop does not consolidate {task_type.value} tasks yet.", "taskType")
