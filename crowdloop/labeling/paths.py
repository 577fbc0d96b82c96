"""Where a labeling job's files go (spec §10): `<S3OutputPath>/<job name as given>/...`."""

from __future__ import annotations

from datetime import datetime

ITERATION = 1  # crowdloop releases a private team's objects as they come: one iteration (docs/api.md)


def file_time(moment: datetime) -> str:
    """The `YYYY-MM-DD_HH:MM:SS` of the annotation files' names (UTC)."""
    return moment.strftime("%Y-%m-%d_%H:%M:%S")


def worker_response(root: str, object_index: int, ended_at: datetime) -> str:
    return f"{root}/annotations/worker-response/iteration-{ITERATION}/{object_index}/{file_time(ended_at)}.json"


def consolidation_request(root: str, batch_at: datetime) -> str:
    return _consolidation(root, "consolidation-request", batch_at)


def consolidation_response(root: str, batch_at: datetime) -> str:
    return _consolidation(root, "consolidation-response", batch_at)


def _consolidation(root: str, folder: str, batch_at: datetime) -> str:
    return f"{root}/annotations/consolidated-annotation/{folder}/iteration-{ITERATION}/{file_time(batch_at)}.json"


def consolidated_output(root: str) -> str:
    """Where segmentation masks go (`<datasetObjectId>_<date>.png`), with its trailing slash."""
    return f"{root}/annotations/consolidated-annotation/output/"


def annotations_folder(root: str) -> str:
    """The Lambdas' `outputConfig`."""
    return f"{root}/annotations"


def output_manifest(root: str) -> str:
    return f"{root}/manifests/output/output.manifest"


def intermediate_manifest(root: str) -> str:
    return f"{root}/manifests/intermediate/{ITERATION}/output.manifest"
