"""A labeling job's data objects as the console shows them: one keyset page at a time, by datasetObjectId
(`object_index`), optionally of one state, each page an index seek (the primary key (job_id, object_index), or
ix_labeling_objects_state (job_id, state, object_index) with a state), whatever the job's size.

    page_objects(svc, caller, job_name, state=, after=, limit=)   the page and the index to continue after

An object's consolidated label is read from its stored output content (`labeling_objects.label`): the value
under the job's LabelAttributeName and, for the built-in task types, the class name(s) and confidence from its
`<attribute>-metadata`; anything else is left to the caller as compact JSON.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from crowdloop.errors import InvalidInput
from crowdloop.labeling.jobs import LabelingJob, describe_labeling_job
from crowdloop.runtime import Caller, Services
from crowdloop.store.tables import labeling_objects

# queued -> released -> consolidating -> labeled | failed; skipped (no human needed); withdrawn (job stopped)
OBJECT_STATES = ("queued", "released", "consolidating", "labeled", "failed", "skipped", "withdrawn")
MAX_PAGE = 100


@dataclass(frozen=True)
class ObjectLabel:
    """An object's consolidated label, read from its output content."""

    value: Any  # the content under the label attribute (a class index, a list, a dict of annotations...)
    class_names: list[str]  # metadata class-name, or the class-map's names (built-in types); [] otherwise
    confidence: float | None  # metadata confidence, or the lowest of a confidence-map; None otherwise
    compact: str  # the whole content as compact JSON

    @property
    def scalar(self) -> bool:
        return isinstance(self.value, str | int | float | bool) or self.value is None


@dataclass(frozen=True)
class LabelingObject:
    index: int  # datasetObjectId
    state: str
    source: str | None  # the manifest line's source-ref or source (text), None when it has neither
    source_is_ref: bool
    label: ObjectLabel | None
    failure_reason: str | None


@dataclass(frozen=True)
class ObjectsPage:
    job: LabelingJob
    objects: list[LabelingObject]
    next_after: int | None  # the last index shown when there are more


def page_objects(
    svc: Services, caller: Caller, job_name: str, *, state: str | None = None, after: int | None = None, limit: int = 50
) -> ObjectsPage:
    """The job's objects after datasetObjectId `after` (None: from the first), `limit` at most, of one state when
    given. NotFound for an unknown job; InvalidInput for an unknown state or a limit outside 1..MAX_PAGE."""
    if state is not None and state not in OBJECT_STATES:
        raise InvalidInput("state must be one of " + ", ".join(OBJECT_STATES) + ".", "state")
    if not 1 <= limit <= MAX_PAGE:
        raise InvalidInput(f"limit must be between 1 and {MAX_PAGE}.", "limit")
    job, _ = describe_labeling_job(svc, caller, job_name)
    o = labeling_objects
    query = sa.select(o.c.object_index, o.c.state, o.c.line, o.c.label, o.c.failure_reason).where(o.c.job_id == job.id)
    if state is not None:
        query = query.where(o.c.state == state)
    if after is not None:
        query = query.where(o.c.object_index > after)
    with svc.store.read() as conn:
        rows = conn.execute(query.order_by(o.c.object_index).limit(limit + 1)).all()
    more = len(rows) > limit
    rows = rows[:limit]
    objects = [
        LabelingObject(
            index=int(row.object_index),
            state=str(row.state),
            **_source(str(row.line)),
            label=None if row.label is None else read_label(str(row.label), job.attribute),
            failure_reason=row.failure_reason,
        )
        for row in rows
    ]
    return ObjectsPage(job, objects, objects[-1].index if more else None)


def _source(line: str) -> dict[str, Any]:
    try:
        parsed = json.loads(line)
    except ValueError:
        return {"source": None, "source_is_ref": False}
    if not isinstance(parsed, dict):
        return {"source": None, "source_is_ref": False}
    if "source-ref" in parsed:
        return {"source": str(parsed["source-ref"]), "source_is_ref": True}
    if "source" in parsed:
        value = parsed["source"]
        return {"source": value if isinstance(value, str) else _compact(value), "source_is_ref": False}
    return {"source": None, "source_is_ref": False}


def read_label(text: str, attribute: str) -> ObjectLabel:
    """The label of an object's stored output content (compact JSON merged into its output line)."""
    try:
        content = json.loads(text)
    except ValueError:
        return ObjectLabel(text, [], None, text)
    if not isinstance(content, dict):
        return ObjectLabel(content, [], None, _compact(content))
    metadata = content.get(f"{attribute}-metadata")
    names: list[str] = []
    confidence: float | None = None
    if isinstance(metadata, dict):
        if isinstance(metadata.get("class-name"), str):
            names = [metadata["class-name"]]
        elif isinstance(metadata.get("class-map"), dict):
            names = [str(name) for name in metadata["class-map"].values()]
        if isinstance(metadata.get("confidence"), int | float):
            confidence = float(metadata["confidence"])
        elif isinstance(metadata.get("confidence-map"), dict):
            values = [float(v) for v in metadata["confidence-map"].values() if isinstance(v, int | float)]
            confidence = min(values) if values else None
    value = content.get(attribute, content if metadata is None else None)
    return ObjectLabel(value, names, confidence, _compact(content))


def _compact(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
