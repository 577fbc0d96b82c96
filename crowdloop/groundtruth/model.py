"""What consolidation takes and gives, and the helpers every task type shares.

Consolidation works on a batch: the data objects of one iteration, each with its workers' answers
(`answerContent`, already parsed from the JSON string of `annotationData.content`). It returns, per
`datasetObjectId`, the `consolidatedAnnotation.content` a built-in ACS Lambda would return: the label under
the job's `LabelAttributeName` and its `<name>-metadata`, with keys in the order real outputs show.
"""

from __future__ import annotations

import hashlib
import math
import random
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any


@dataclass(frozen=True)
class WorkerAnnotation:
    worker_id: str
    content: dict[str, Any]  # the worker's answerContent: the object crowd-form built


@dataclass(frozen=True)
class DataObject:
    dataset_object_id: str
    line: dict[str, Any]  # the manifest line (every input key)
    annotations: list[WorkerAnnotation]


@dataclass(frozen=True)
class Consolidated:
    content: dict[str, Any]  # {label_attr: value, f"{label_attr}-metadata": {...}}
    files: dict[str, bytes] = field(default_factory=dict)  # relative to annotations/consolidated-annotation/output/


@dataclass(frozen=True)
class Job:
    """What every consolidation needs to know about the job."""

    label_attribute_name: str
    job_name: str
    labels: list[str]
    created: datetime

    @property
    def metadata_key(self) -> str:
        return f"{self.label_attribute_name}-metadata"

    @property
    def job_ref(self) -> str:
        """The `job-name` of built-in outputs: "labeling-job/<name>" (real outputs; the docs' bare name is
        what custom jobs write)."""
        return f"labeling-job/{self.job_name}"

    @property
    def date(self) -> str:
        return creation_date(self.created)

    def index_of(self, label: Any) -> int | None:
        """The class index of a label string (the label file's order), None when it is not one."""
        if not isinstance(label, str):
            return None
        try:
            return self.labels.index(label)
        except ValueError:
            return None


def creation_date(created: datetime) -> str:
    """`creation-date` as real outputs write it: UTC, microseconds, no offset ("2019-04-18T16:40:59.217995").
    A naive datetime is taken as UTC."""
    if created.tzinfo is not None:
        created = created.astimezone(UTC).replace(tzinfo=None)
    return created.strftime("%Y-%m-%dT%H:%M:%S.%f")


def score(value: float, workers: int) -> float:
    """A confidence rounded to 2 decimals; 0.0 when a single worker answered (docs: "If a single worker
    annotates a task … the confidence score is set to 0.00")."""
    return 0.0 if workers <= 1 else round(value, 2)


def whole(value: float) -> float | int:
    """An average as real outputs print it: 245 for 245.0, 187.39999999999998 unrounded."""
    return int(value) if value.is_integer() else value


def tie_breaker(*parts: str) -> random.Random:
    """A random generator seeded from the job and object (the same ties break the same way every run and on
    every machine; Python's hash() is salted per process, so it is not used)."""
    digest = hashlib.sha256("\x1f".join(parts).encode("utf-8")).digest()
    return random.Random(int.from_bytes(digest[:8], "big"))


def is_number(value: Any) -> bool:
    """A finite JSON number (not a bool, NaN or infinity)."""
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
