"""Labeling jobs as the SageMaker API sees them (spec ground-truth-api.md §2-§4, §11-§12): create, describe,
list, list for a work team, stop. This module owns `labeling_jobs` and `labeling_objects`; the work between
the calls (reading the manifest, releasing objects as tasks, consolidating, writing the output) is the
background step's (runner.py and the modules it calls), which these functions wake.

Choices where AWS is silent (docs/api.md "Ground Truth labeling jobs"): an unknown job is ValidationException
"Could not find labeling job '<name>'."; Stop of a Stopping/Stopped job is a no-op, of a Completed/Failed one a
ValidationException; S3 objects (manifest, template, label file) are read while Initializing, and a problem
there fails the job with a FailureReason instead of failing the call.
"""

from __future__ import annotations

import secrets
import string
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Unpack

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Row
from sqlalchemy.exc import IntegrityError

from crowdloop import arns, flows
from crowdloop.errors import AlreadyExists, InvalidInput, NotFound
from crowdloop.groundtruth import builtin_uis, segmentation, tasktypes
from crowdloop.listing import Page, PageArgs, fetch_page
from crowdloop.model import LabelingJobStatus
from crowdloop.paging import PageRequest
from crowdloop.runtime import Caller, Services
from crowdloop.store.tables import labeling_jobs, tags, workteams
from crowdloop.tags import Tag, put_tags

DEFAULT_MAX_CONCURRENT_TASK_COUNT = 1000
DEFAULT_TASK_AVAILABILITY_LIFETIME_SECONDS = 864000  # what Describe shows when none was sent (spec §4.5)
MAX_TASK_TIME_LIMIT_SECONDS = 28800  # 8 hours: image and text tasks (spec §3.2)
MAX_TASK_AVAILABILITY_LIFETIME_SECONDS = 30 * 86400
ACTIVE = (LabelingJobStatus.INITIALIZING.value, LabelingJobStatus.IN_PROGRESS.value, LabelingJobStatus.STOPPING.value)
_REFERENCE_ALPHABET = string.ascii_letters + string.digits


@dataclass(frozen=True)
class LabelCounters:
    total_labeled: int
    human_labeled: int
    machine_labeled: int
    failed: int
    unlabeled: int

    def as_aws(self) -> dict[str, int]:
        return {
            "TotalLabeled": self.total_labeled,
            "HumanLabeled": self.human_labeled,
            "MachineLabeled": self.machine_labeled,
            "FailedNonRetryableError": self.failed,
            "Unlabeled": self.unlabeled,
        }


@dataclass(frozen=True)
class LabelingJob:
    id: int
    name: str
    arn: str
    status: LabelingJobStatus
    created_at: datetime
    updated_at: datetime
    job_reference_code: str
    workteam_arn: str
    task_type: tasktypes.TaskType | None
    request: dict[str, Any]
    counters: LabelCounters
    objects: int
    failure_reason: str | None
    flow_definition_id: int | None
    label_config: dict[str, Any] | None  # the label category file as kept (start.py): labels (+ instructions)
    released: int  # objects out with workers or being consolidated
    queued: int  # objects waiting to be released
    next_release: int  # no object below this index is queued
    last_batch_at: datetime | None

    @property
    def label_names(self) -> list[str]:
        """The labels in the file's order: their positions are the class indices of the output."""
        return [str(entry["label"]) for entry in (self.label_config or {}).get("labels", [])]

    @property
    def attribute(self) -> str:
        return str(self.request["LabelAttributeName"])

    @property
    def output_root(self) -> str:
        """`<S3OutputPath>/<job name as given>`: where every file of the job goes (spec §10)."""
        return output_root(str(self.request["OutputConfig"]["S3OutputPath"]), self.name)

    @property
    def output_manifest_uri(self) -> str:
        return f"{self.output_root}/manifests/output/output.manifest"

    @property
    def streaming(self) -> bool:
        """A streaming job (an SnsDataSource): objects keep arriving until it is stopped (spec §6.3)."""
        return self.request["InputConfig"]["DataSource"].get("SnsDataSource") is not None

    @property
    def ended(self) -> bool:
        return self.status in (LabelingJobStatus.COMPLETED, LabelingJobStatus.STOPPED, LabelingJobStatus.FAILED)


def output_root(s3_output_path: str, job_name: str) -> str:
    return f"{s3_output_path.rstrip('/')}/{job_name}"


class LabelingJobListing(PageArgs, total=False):
    """ListLabelingJobs' members."""

    created_after: datetime | None
    created_before: datetime | None
    modified_after: datetime | None
    modified_before: datetime | None
    name_contains: str | None
    sort_by: str | None
    sort_order: str | None
    status_equals: str | None


# --- create ------------------------------------------------------------------------------------------------


def create_labeling_job(svc: Services, caller: Caller, request: Mapping[str, Any], tag_list: list[Tag]) -> str:
    """Create a job from CreateLabelingJob's validated members (`request`, without Tags); its ARN. The job
    starts Initializing; the background step reads its S3 objects and makes it InProgress (or Failed)."""
    name = str(request["LabelingJobName"])
    task_type = _check_request(request)
    stored = _with_defaults(request)
    arn = arns.build("labeling-job", name.lower(), caller.account, caller.region)
    with svc.store.write() as conn:
        if _row(conn, caller, name) is not None:
            raise _exists(name)
        hc = request["HumanTaskConfig"]
        workteam_arn = flows.existing_workteam(conn, caller, str(hc["WorkteamArn"]), "humanTaskConfig.workteamArn")
        ui_arn = hc["UiConfig"].get("HumanTaskUiArn")
        if ui_arn is not None and builtin_uis.builtin_ui_name(str(ui_arn)) is None:
            flows.existing_ui(conn, caller, str(ui_arn), "humanTaskConfig.uiConfig.humanTaskUiArn")
        now = svc.clock.now()
        try:
            with conn.begin_nested():
                conn.execute(
                    labeling_jobs.insert().values(
                        account=caller.account,
                        region=caller.region,
                        name=name,
                        name_key=name.lower(),
                        arn=arn,
                        status=LabelingJobStatus.INITIALIZING.value,
                        created_at=now,
                        updated_at=now,
                        job_reference_code=caller.account
                        + "".join(secrets.choice(_REFERENCE_ALPHABET) for _ in range(16)),
                        workteam_arn=workteam_arn,
                        task_type=None if task_type is None else task_type.value,
                        request=stored,
                        next_step_at=now,
                    )
                )
        except IntegrityError:
            raise _exists(name) from None
        put_tags(conn, arn, tag_list)
    wake_runner(svc)
    return arn


def _check_request(request: Mapping[str, Any]) -> tasktypes.TaskType | None:
    """The rules botocore's model cannot say (spec §3); the job's built-in task type, or None (custom)."""
    attribute = str(request["LabelAttributeName"])
    if attribute.endswith("-metadata"):
        raise InvalidInput(
            f"LabelAttributeName '{attribute}' must not end with '-metadata': Ground Truth writes "
            f"'{attribute}-metadata' next to the label.",
            "labelAttributeName",
        )
    data_source = request["InputConfig"]["DataSource"]
    if data_source.get("S3DataSource") is None and data_source.get("SnsDataSource") is None:
        raise InvalidInput(
            "InputConfig.DataSource must have an S3DataSource (a ManifestS3Uri) or an SnsDataSource (a streaming job).",
            "inputConfig.dataSource",
        )
    if request.get("LabelingJobAlgorithmsConfig") is not None:
        raise InvalidInput(
            "Automated data labeling (LabelingJobAlgorithmsConfig) is not supported: crowdloop does not train "
            "models. Leave it out; every object is labeled by people.",
            "labelingJobAlgorithmsConfig",
        )
    hc = request["HumanTaskConfig"]
    ui = hc["UiConfig"]
    if (ui.get("UiTemplateS3Uri") is None) == (ui.get("HumanTaskUiArn") is None):
        raise InvalidInput(
            "HumanTaskConfig.UiConfig needs exactly one of UiTemplateS3Uri and HumanTaskUiArn.",
            "humanTaskConfig.uiConfig",
        )
    time_limit = int(hc["TaskTimeLimitInSeconds"])
    if time_limit > MAX_TASK_TIME_LIMIT_SECONDS:
        raise _too_big(time_limit, MAX_TASK_TIME_LIMIT_SECONDS, "humanTaskConfig.taskTimeLimitInSeconds")
    lifetime = hc.get("TaskAvailabilityLifetimeInSeconds")
    if lifetime is not None and int(lifetime) > MAX_TASK_AVAILABILITY_LIFETIME_SECONDS:
        raise _too_big(
            int(lifetime), MAX_TASK_AVAILABILITY_LIFETIME_SECONDS, "humanTaskConfig.taskAvailabilityLifetimeInSeconds"
        )
    consolidation = hc.get("AnnotationConsolidationConfig") or {}
    task_type = tasktypes.infer_task_type(
        hc.get("PreHumanTaskLambdaArn"), consolidation.get("AnnotationConsolidationLambdaArn"), ui.get("HumanTaskUiArn")
    )
    if ui.get("HumanTaskUiArn") is not None:
        builtin = builtin_uis.builtin_ui_name(str(ui["HumanTaskUiArn"]))
        if builtin is not None and builtin_uis.builtin_ui_template(builtin) is None:
            raise InvalidInput(
                f"The built-in human task UI {ui['HumanTaskUiArn']} is not available in crowdloop "
                "(video frame and 3D point cloud tasks are not supported).",
                "humanTaskConfig.uiConfig.humanTaskUiArn",
            )
    if task_type is not None:
        info = tasktypes.INFO[task_type]
        if not info.supported:
            raise InvalidInput(
                f"The {task_type.value} task type is not supported by crowdloop yet (see docs/api.md).",
                "humanTaskConfig.preHumanTaskLambdaArn",
            )
        if task_type in segmentation.TASK_TYPES and not segmentation.available():
            raise InvalidInput(segmentation.MISSING_EXTRA, "humanTaskConfig.preHumanTaskLambdaArn")
        if info.label_ref and not attribute.endswith("-ref"):
            raise InvalidInput(
                f"LabelAttributeName '{attribute}' must end with '-ref' for a {task_type.value} labeling job.",
                "labelAttributeName",
            )
        if not info.label_ref and attribute.endswith("-ref"):
            raise InvalidInput(
                f"LabelAttributeName '{attribute}' must not end with '-ref' for a {task_type.value} labeling job.",
                "labelAttributeName",
            )
    return task_type


def _with_defaults(request: Mapping[str, Any]) -> dict[str, Any]:
    """The request as Describe echoes it: members as sent, plus the values AWS fills in (spec §4.5)."""
    stored = {key: value for key, value in request.items() if key != "Tags"}
    stored["OutputConfig"] = {"KmsKeyId": "", **request["OutputConfig"]}
    hc = dict(request["HumanTaskConfig"])
    hc.setdefault("TaskAvailabilityLifetimeInSeconds", DEFAULT_TASK_AVAILABILITY_LIFETIME_SECONDS)
    hc.setdefault("MaxConcurrentTaskCount", DEFAULT_MAX_CONCURRENT_TASK_COUNT)
    stored["HumanTaskConfig"] = hc
    return stored


def _too_big(value: int, maximum: int, field: str) -> InvalidInput:
    return InvalidInput(
        f"1 validation error detected: Value '{value}' at '{field}' failed to satisfy constraint: "
        f"Member must have value less than or equal to {maximum}",
        field,
    )


def _exists(name: str) -> AlreadyExists:
    return AlreadyExists(
        "labeling job", name, f"A labeling job named '{name}' exists already (names are not case-sensitive)."
    )


# --- read ----------------------------------------------------------------------------------------------------


def describe_labeling_job(svc: Services, caller: Caller, name: str) -> tuple[LabelingJob, list[Tag]]:
    """The job and its tags (DescribeLabelingJob returns them)."""
    with svc.store.read() as conn:
        row = _row(conn, caller, name)
        if row is None:
            raise _not_found(name)
        found = conn.execute(
            sa.select(tags.c.key, tags.c.value).where(tags.c.resource_arn == row.arn).order_by(tags.c.key)
        ).all()
    return to_job(row), [Tag(t.key, t.value) for t in found]


def get_job(conn: Connection, job_id: int) -> LabelingJob | None:
    row = conn.execute(sa.select(labeling_jobs).where(labeling_jobs.c.id == job_id)).first()
    return None if row is None else to_job(row)


_SORT_COLUMNS = {
    "CreationTime": (labeling_jobs.c.created_at,),
    "Name": (labeling_jobs.c.name_key,),
    "Status": (labeling_jobs.c.status, labeling_jobs.c.created_at),
}


def list_labeling_jobs(svc: Services, caller: Caller, **listing: Unpack[LabelingJobListing]) -> Page[LabelingJob]:
    """ListLabelingJobs: the caller's jobs, filtered and sorted (default CreationTime, Ascending)."""
    j = labeling_jobs
    sort_by = listing.get("sort_by") or "CreationTime"
    sort_order = listing.get("sort_order") or "Ascending"
    filters = {key: value for key, value in listing.items() if key not in ("max_results", "next_token")}
    page = PageRequest(
        {"op": "ListLabelingJobs", "account": caller.account, "region": caller.region, **_plain(filters)},
        listing.get("max_results"),
        listing.get("next_token"),
        key=svc.paging_key,
    )
    query = sa.select(j).where(j.c.account == caller.account, j.c.region == caller.region)
    for column, key, op in (
        (j.c.created_at, "created_after", "ge"),
        (j.c.created_at, "created_before", "lt"),
        (j.c.updated_at, "modified_after", "ge"),
        (j.c.updated_at, "modified_before", "lt"),
    ):
        value = listing.get(key)
        if value is not None:
            query = query.where(column >= value if op == "ge" else column < value)
    if listing.get("name_contains"):
        query = query.where(j.c.name_key.contains(str(listing["name_contains"]).lower(), autoescape=True))
    if listing.get("status_equals"):
        query = query.where(j.c.status == listing["status_equals"])
    with svc.store.read() as conn:
        rows, token = fetch_page(
            conn, query, [*_SORT_COLUMNS[sort_by], j.c.id], descending=sort_order == "Descending", page=page
        )
    return Page([to_job(row) for row in rows], token)


def list_labeling_jobs_for_workteam(
    svc: Services,
    caller: Caller,
    workteam_arn: str,
    *,
    created_after: datetime | None = None,
    created_before: datetime | None = None,
    reference_contains: str | None = None,
    sort_order: str | None = None,
    max_results: int | None = None,
    next_token: str | None = None,
) -> Page[LabelingJob]:
    """ListLabelingJobsForWorkteam: every job of the caller whose tasks go to this private team, any status.
    An unknown team is ResourceNotFound (the operation's one modeled error; spec §12.1)."""
    j = labeling_jobs
    order = sort_order or "Ascending"
    page = PageRequest(
        {
            "op": "ListLabelingJobsForWorkteam",
            "team": workteam_arn,
            **_plain({"after": created_after, "before": created_before, "code": reference_contains, "order": order}),
        },
        max_results,
        next_token,
        key=svc.paging_key,
    )
    with svc.store.read() as conn:
        parsed = arns.parse(workteam_arn, "workteam", "workteamArn")
        team = conn.execute(
            sa.select(workteams.c.arn).where(
                workteams.c.account == caller.account,
                workteams.c.region == caller.region,
                workteams.c.name == parsed.name,
            )
        ).scalar()
        if team is None or (parsed.account, parsed.region) != (caller.account, caller.region):
            raise NotFound("work team", workteam_arn, f"Work team {workteam_arn} does not exist.")
        query = sa.select(j).where(j.c.account == caller.account, j.c.region == caller.region, j.c.workteam_arn == team)
        if created_after is not None:
            query = query.where(j.c.created_at >= created_after)
        if created_before is not None:
            query = query.where(j.c.created_at < created_before)
        if reference_contains:
            query = query.where(j.c.job_reference_code.contains(reference_contains, autoescape=True))
        rows, token = fetch_page(conn, query, [j.c.created_at, j.c.id], descending=order == "Descending", page=page)
    return Page([to_job(row) for row in rows], token)


def _plain(values: Mapping[str, Any]) -> dict[str, Any]:
    """Filter values as JSON-able fingerprint parts (times as ISO strings)."""
    return {key: value.isoformat() if isinstance(value, datetime) else value for key, value in values.items()}


# --- stop ------------------------------------------------------------------------------------------------------


def stop_labeling_job(svc: Services, caller: Caller, name: str) -> None:
    """InProgress or Initializing -> Stopping (the step withdraws the tasks nobody holds, lets the held ones
    be finished, consolidates, writes the output and ends Stopped); Stopping/Stopped: nothing to do;
    Completed/Failed: InvalidInput."""
    with svc.store.write() as conn:
        row = _row(conn, caller, name)
        if row is None:
            raise _not_found(name)
        if row.status in (LabelingJobStatus.STOPPING, LabelingJobStatus.STOPPED):
            return
        if row.status not in (LabelingJobStatus.IN_PROGRESS, LabelingJobStatus.INITIALIZING):
            raise InvalidInput(f"Labeling job {row.name} is {row.status}; it is not in progress.", "labelingJobName")
        now = svc.clock.now()
        conn.execute(
            labeling_jobs.update()
            .where(labeling_jobs.c.id == row.id)
            .values(
                status=LabelingJobStatus.STOPPING.value,
                updated_at=now,
                next_step_at=now,
                wakes=labeling_jobs.c.wakes + 1,
            )
        )
    wake_runner(svc)


# --- shared ------------------------------------------------------------------------------------------------------


def wake_runner(svc: Services) -> None:
    """Have this process's labeling step look at the due jobs now (none in a process without one)."""
    if svc.labeling is not None:
        svc.labeling.wake()


def _row(conn: Connection, caller: Caller, name: str) -> Row[Any] | None:
    j = labeling_jobs
    return conn.execute(
        sa.select(j).where(j.c.account == caller.account, j.c.region == caller.region, j.c.name_key == name.lower())
    ).first()


def _not_found(name: str) -> NotFound:
    return NotFound("labeling job", name)


def to_job(row: Row[Any]) -> LabelingJob:
    labeled, failed, skipped = int(row.labeled), int(row.failed), int(row.skipped)
    return LabelingJob(
        id=int(row.id),
        name=row.name,
        arn=row.arn,
        status=LabelingJobStatus(row.status),
        created_at=row.created_at,
        updated_at=row.updated_at,
        job_reference_code=row.job_reference_code,
        workteam_arn=row.workteam_arn,
        task_type=None if row.task_type is None else tasktypes.TaskType(row.task_type),
        request=dict(row.request),
        counters=LabelCounters(
            total_labeled=labeled,
            human_labeled=labeled,
            machine_labeled=0,
            failed=failed,
            unlabeled=max(int(row.objects) - labeled - failed - skipped, 0),
        ),
        objects=int(row.objects),
        failure_reason=row.failure_reason,
        flow_definition_id=row.flow_definition_id,
        label_config=None if row.labels is None else dict(row.labels),
        released=int(row.released),
        queued=int(row.queued),
        next_release=int(row.next_release),
        last_batch_at=row.last_batch_at,
    )
