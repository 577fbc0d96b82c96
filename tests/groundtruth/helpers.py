"""Builders for the groundtruth tests: worker answers as crowd-form builds them, data objects, a fixed date."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from crowdloop.groundtruth.consolidation import Consolidated, DataObject, WorkerAnnotation, consolidate
from crowdloop.groundtruth.tasktypes import TaskType

CREATED = datetime(2019, 4, 18, 16, 40, 59, 217995, tzinfo=UTC)
DATE = "2019-04-18T16:40:59.217995"


def obj(object_id: str | int, answers: list[dict[str, Any]], line: dict[str, Any] | None = None) -> DataObject:
    """A data object whose i-th answer comes from worker `private.us-east-1.w<i>`."""
    return DataObject(
        str(object_id),
        line if line is not None else {"source-ref": f"s3://bucket/{object_id}.jpg"},
        [WorkerAnnotation(f"private.us-east-1.w{i}", answer) for i, answer in enumerate(answers)],
    )


def by(workers: list[str], answers: list[dict[str, Any]], object_id: str = "0") -> DataObject:
    """A data object answered by the named workers."""
    return DataObject(
        object_id, {"source": "text"}, [WorkerAnnotation(w, a) for w, a in zip(workers, answers, strict=True)]
    )


def image_label(label: str, element: str = "crowd-image-classifier") -> dict[str, Any]:
    return {element: {"label": label}}


def run(
    task_type: TaskType,
    objects: list[DataObject],
    labels: list[str],
    attr: str = "attr",
    job: str = "job",
    **extra: Any,
) -> dict[str, Consolidated]:
    return consolidate(
        task_type, label_attribute_name=attr, job_name=job, labels=labels, objects=objects, created=CREATED, **extra
    )
