"""SageMaker (awsJson1_1) handlers of Ground Truth labeling jobs (spec ground-truth-api.md §3, §11, §12):
CreateLabelingJob, DescribeLabelingJob, ListLabelingJobs, ListLabelingJobsForWorkteam, StopLabelingJob. Tags
go through the SageMaker tag operations (crowdloop.tags knows the labeling-job ARN)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from crowdloop.labeling import jobs
from crowdloop.labeling.jobs import LabelingJob
from crowdloop.runtime import Caller, Services
from crowdloop.tags import Tag

Handler = Callable[[Services, Caller, dict[str, Any]], dict[str, Any]]
Out = dict[str, Any]


def create_labeling_job(svc: Services, caller: Caller, params: dict[str, Any]) -> Out:
    tags = [Tag(t["Key"], t["Value"]) for t in params.get("Tags") or []]
    return {"LabelingJobArn": jobs.create_labeling_job(svc, caller, params, tags)}


def describe_labeling_job(svc: Services, caller: Caller, params: dict[str, Any]) -> Out:
    job, tags = jobs.describe_labeling_job(svc, caller, params["LabelingJobName"])
    request = job.request
    out: Out = {
        "LabelingJobStatus": job.status.value,
        "LabelCounters": job.counters.as_aws(),
        "FailureReason": job.failure_reason,
        "CreationTime": job.created_at,
        "LastModifiedTime": job.updated_at,
        "JobReferenceCode": job.job_reference_code,
        "LabelingJobName": job.name,
        "LabelingJobArn": job.arn,
        "LabelAttributeName": request["LabelAttributeName"],
        "InputConfig": request["InputConfig"],
        "OutputConfig": request["OutputConfig"],
        "RoleArn": request["RoleArn"],
        "LabelCategoryConfigS3Uri": request.get("LabelCategoryConfigS3Uri"),
        "StoppingConditions": request.get("StoppingConditions"),
        "HumanTaskConfig": request["HumanTaskConfig"],
        "Tags": [{"Key": t.key, "Value": t.value} for t in tags] or None,
        "LabelingJobOutput": _output(job),
    }
    return out


def list_labeling_jobs(svc: Services, caller: Caller, params: dict[str, Any]) -> Out:
    page = jobs.list_labeling_jobs(
        svc,
        caller,
        created_after=params.get("CreationTimeAfter"),
        created_before=params.get("CreationTimeBefore"),
        modified_after=params.get("LastModifiedTimeAfter"),
        modified_before=params.get("LastModifiedTimeBefore"),
        name_contains=params.get("NameContains"),
        sort_by=params.get("SortBy"),
        sort_order=params.get("SortOrder"),
        status_equals=params.get("StatusEquals"),
        max_results=params.get("MaxResults"),
        next_token=params.get("NextToken") or None,
    )
    return {"LabelingJobSummaryList": [_summary(job) for job in page.items], "NextToken": page.next_token}


def list_labeling_jobs_for_workteam(svc: Services, caller: Caller, params: dict[str, Any]) -> Out:
    page = jobs.list_labeling_jobs_for_workteam(
        svc,
        caller,
        params["WorkteamArn"],
        created_after=params.get("CreationTimeAfter"),
        created_before=params.get("CreationTimeBefore"),
        reference_contains=params.get("JobReferenceCodeContains"),
        sort_order=params.get("SortOrder"),
        max_results=params.get("MaxResults"),
        next_token=params.get("NextToken") or None,
    )
    return {
        "LabelingJobSummaryList": [
            {
                "LabelingJobName": job.name,
                "JobReferenceCode": job.job_reference_code,
                "WorkRequesterAccountId": job.arn.split(":")[4],
                "CreationTime": job.created_at,
                "LabelCounters": {
                    "HumanLabeled": job.counters.human_labeled,
                    "PendingHuman": job.counters.unlabeled,
                    "Total": job.objects * _workers(job),
                },
                "NumberOfHumanWorkersPerDataObject": _workers(job),
            }
            for job in page.items
        ],
        "NextToken": page.next_token,
    }


def stop_labeling_job(svc: Services, caller: Caller, params: dict[str, Any]) -> Out:
    jobs.stop_labeling_job(svc, caller, params["LabelingJobName"])
    return {}


def _workers(job: LabelingJob) -> int:
    return int(job.request["HumanTaskConfig"]["NumberOfHumanWorkersPerDataObject"])


def _output(job: LabelingJob) -> Out | None:
    """LabelingJobOutput once the output manifest is written: Completed or Stopped (docs/api.md)."""
    if job.status.value in ("Completed", "Stopped"):
        return {"OutputDatasetS3Uri": job.output_manifest_uri}
    return None


def _summary(job: LabelingJob) -> Out:
    hc = job.request["HumanTaskConfig"]
    return {
        "LabelingJobName": job.name,
        "LabelingJobArn": job.arn,
        "CreationTime": job.created_at,
        "LastModifiedTime": job.updated_at,
        "LabelingJobStatus": job.status.value,
        "LabelCounters": job.counters.as_aws(),
        "WorkteamArn": hc["WorkteamArn"],
        "PreHumanTaskLambdaArn": hc.get("PreHumanTaskLambdaArn"),
        "AnnotationConsolidationLambdaArn": (hc.get("AnnotationConsolidationConfig") or {}).get(
            "AnnotationConsolidationLambdaArn"
        ),
        "FailureReason": job.failure_reason,
        "LabelingJobOutput": _output(job),
        "InputConfig": job.request["InputConfig"],
    }


OPERATIONS: dict[str, Handler] = {
    "CreateLabelingJob": create_labeling_job,
    "DescribeLabelingJob": describe_labeling_job,
    "ListLabelingJobs": list_labeling_jobs,
    "ListLabelingJobsForWorkteam": list_labeling_jobs_for_workteam,
    "StopLabelingJob": stop_labeling_job,
}
