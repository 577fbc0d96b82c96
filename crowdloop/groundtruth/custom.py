"""ACS-PassThrough and custom jobs (spec §8.4; PassThrough's output is undocumented, §16).

Custom metadata is written the way every real output found writes it — hyphenated keys, lower-case
`groundtruth/custom`, a *bare* job name, the microsecond date — not as the docs print it (`job_name`,
`groundTruth/custom`):
`{"type": "groundtruth/custom", "job-name": <name>, "human-annotated": "yes", "creation-date": …}`.

ACS-PassThrough ("direct passthrough of output data without any transformation") — our choice: the label
is `{"annotationsFromAllWorkers": [{"workerId": …, "annotationData": {"content": "<answerContent as a
compact JSON string>"}}]}`, the shape of AWS's own sample pass-through Lambda as seen in a real 2019
output line, with the custom metadata above.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from crowdloop.groundtruth.model import Consolidated, DataObject, Job, creation_date


def _metadata(job_name: str, created: datetime) -> dict[str, Any]:
    return {
        "type": "groundtruth/custom",
        "job-name": job_name,
        "human-annotated": "yes",
        "creation-date": creation_date(created),
    }


def custom_metadata(
    label_attribute_name: str, job_name: str, created: datetime, content: dict[str, Any]
) -> dict[str, Any]:
    """A custom consolidation Lambda's `content` with `<attr>-metadata` added after it — or as returned,
    when the Lambda wrote its own `<attr>-metadata`."""
    key = f"{label_attribute_name}-metadata"
    if key in content:
        return dict(content)
    return {**content, key: _metadata(job_name, created)}


def custom_without_lambda(
    label_attribute_name: str, job_name: str, worker_response_ref: str, created: datetime
) -> dict[str, Any]:
    """The output of a custom job that has no consolidation Lambda: an empty label and metadata pointing at
    the worker-response file (`worker-response-ref`)."""
    metadata = _metadata(job_name, created)
    metadata["worker-response-ref"] = worker_response_ref
    return {label_attribute_name: {}, f"{label_attribute_name}-metadata": metadata}


def answer_string(content: dict[str, Any]) -> str:
    """answerContent as the compact JSON string `annotationData.content` carries."""
    return json.dumps(content, ensure_ascii=False, separators=(",", ":"))


def pass_through(job: Job, objects: list[DataObject]) -> dict[str, Consolidated]:
    results = {}
    for obj in objects:
        if not obj.annotations:
            continue
        value = {
            "annotationsFromAllWorkers": [
                {"workerId": a.worker_id, "annotationData": {"content": answer_string(a.content)}}
                for a in obj.annotations
            ]
        }
        metadata = _metadata(job.job_name, job.created)
        results[obj.dataset_object_id] = Consolidated({job.label_attribute_name: value, job.metadata_key: metadata})
    return results
