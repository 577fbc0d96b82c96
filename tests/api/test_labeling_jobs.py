"""CreateLabelingJob / DescribeLabelingJob / ListLabelingJobs / ListLabelingJobsForWorkteam / StopLabelingJob
and tags, with real boto3 (spec ground-truth-api.md §14 fixtures 1-4, 9, 10)."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.api.labeling_helpers import job_request, lambda_arn, put_inputs, wait_status
from tests.api.sagemaker_helpers import expect_error, make_workteam, regional_client, unique

LINES = [{"source-ref": "s3://pictures/cat.jpg"}, {"source-ref": "s3://pictures/dog.jpg"}]


@pytest.fixture
def sm_region(server: Any) -> Any:
    return regional_client(server)


def test_create_and_describe_round_trip(sm_region: Any, s3: Any, server: Any) -> None:
    uris = put_inputs(s3, LINES)
    name = "Job-" + unique("rt")[3:]
    request = job_request(sm_region, name, uris, Tags=[{"Key": "team", "Value": "vision"}])
    arn = sm_region.create_labeling_job(**request)["LabelingJobArn"]
    region = sm_region.meta.region_name
    assert arn == f"arn:aws:sagemaker:{region}:123456789012:labeling-job/{name.lower()}"
    described = wait_status(sm_region, name, "InProgress")
    assert described["LabelingJobName"] == name and described["LabelingJobArn"] == arn
    assert described["OutputConfig"] == {"S3OutputPath": uris["output"], "KmsKeyId": ""}
    human = described["HumanTaskConfig"]
    assert human["MaxConcurrentTaskCount"] == 1000 and human["TaskAvailabilityLifetimeInSeconds"] == 864000
    assert {k: human[k] for k in request["HumanTaskConfig"]} == request["HumanTaskConfig"]
    assert described["LabelCounters"] == {
        "TotalLabeled": 0,
        "HumanLabeled": 0,
        "MachineLabeled": 0,
        "FailedNonRetryableError": 0,
        "Unlabeled": 2,
    }
    assert re.fullmatch(r"\d{12}[A-Za-z0-9]{16}", described["JobReferenceCode"])
    assert described["JobReferenceCode"].startswith("123456789012")
    assert described["Tags"] == [{"Key": "team", "Value": "vision"}]
    assert described["InputConfig"] == request["InputConfig"] and described["RoleArn"] == request["RoleArn"]
    assert "LabelingJobOutput" not in described and "FailureReason" not in described
    assert described["LastModifiedTime"] >= described["CreationTime"]
    sm_region.add_tags(ResourceArn=arn, Tags=[{"Key": "stage", "Value": "pilot"}])
    assert sm_region.list_tags(ResourceArn=arn)["Tags"] == [
        {"Key": "stage", "Value": "pilot"},
        {"Key": "team", "Value": "vision"},
    ]
    assert len(sm_region.describe_labeling_job(LabelingJobName=name)["Tags"]) == 2
    sm_region.stop_labeling_job(LabelingJobName=name)


def test_names_are_case_insensitive(sm_region: Any, s3: Any) -> None:
    uris = put_inputs(s3, LINES)
    team = make_workteam(sm_region)
    sm_region.create_labeling_job(**job_request(sm_region, "Job-1", uris, workteam_arn=team))
    expect_error(
        sm_region.create_labeling_job,
        "ResourceInUse",
        "A labeling job named 'job-1' exists already",
        **job_request(sm_region, "job-1", uris, workteam_arn=team),
    )
    assert sm_region.describe_labeling_job(LabelingJobName="JOB-1")["LabelingJobName"] == "Job-1"
    sm_region.stop_labeling_job(LabelingJobName="job-1")


def _without_lambdas(request: dict[str, Any]) -> dict[str, Any]:
    request["HumanTaskConfig"].pop("PreHumanTaskLambdaArn")
    request["HumanTaskConfig"].pop("AnnotationConsolidationConfig")
    return request


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        (
            lambda r: r["HumanTaskConfig"].update(NumberOfHumanWorkersPerDataObject=10),
            "numberOfHumanWorkersPerDataObject",
            "less than or equal to 9",
        ),
        (lambda r: r.update(LabelAttributeName="x-metadata"), "", "must not end with '-metadata'"),
        (lambda r: r["HumanTaskConfig"].update(UiConfig={}), "", "exactly one of UiTemplateS3Uri and HumanTaskUiArn"),
        (
            lambda r: r["HumanTaskConfig"]["UiConfig"].update(
                HumanTaskUiArn="arn:aws:sagemaker:us-east-1:394669845002:human-task-ui/NamedEntityRecognition"
            ),
            "",
            "exactly one of UiTemplateS3Uri and HumanTaskUiArn",
        ),
        (lambda r: r["InputConfig"].update(DataSource={}), "", "must have an S3DataSource"),
        (
            lambda r: r["HumanTaskConfig"].update(
                PreHumanTaskLambdaArn=lambda_arn("PRE", "SemanticSegmentation"),
                AnnotationConsolidationConfig={
                    "AnnotationConsolidationLambdaArn": lambda_arn("ACS", "SemanticSegmentation")
                },
            ),
            "",
            "SemanticSegmentation",
        ),
        (
            lambda r: r["HumanTaskConfig"].update(
                AnnotationConsolidationConfig={"AnnotationConsolidationLambdaArn": lambda_arn("ACS", "BoundingBox")}
            ),
            "",
            "",
        ),
        (lambda r: r["HumanTaskConfig"].update(TaskTimeLimitInSeconds=28801), "taskTimeLimitInSeconds", "28800"),
        (lambda r: r.update(LabelAttributeName="label-ref"), "", "must not end with '-ref'"),
        (
            lambda r: r.update(LabelingJobAlgorithmsConfig={"LabelingJobAlgorithmSpecificationArn": "arn:aws:x"}),
            "",
            "Automated data labeling",
        ),
        (
            lambda r: r["HumanTaskConfig"].update(
                WorkteamArn="arn:aws:sagemaker:us-east-1:123456789012:workteam/private-crowd/nobody"
            ),
            "",
            "does not exist",
        ),
    ],
)
def test_invalid_requests_are_validation_exceptions(
    sm_region: Any, s3: Any, change: Any, field: str, message: str
) -> None:
    uris = put_inputs(s3, LINES)
    request = job_request(sm_region, unique("bad"), uris)
    change(request)
    response = expect_error(sm_region.create_labeling_job, "ValidationException", message, **request)
    assert field in response["Error"]["Message"]
    assert sm_region.list_labeling_jobs()["LabelingJobSummaryList"] == []


def test_unknown_job(sm_region: Any) -> None:
    for call in (sm_region.describe_labeling_job, sm_region.stop_labeling_job):
        response = expect_error(call, "ValidationException", "", LabelingJobName="nope")
        assert response["Error"]["Message"] == "Could not find labeling job 'nope'."


def test_unreadable_manifest_fails_the_job(sm_region: Any, s3: Any) -> None:
    uris = put_inputs(s3, LINES)
    uris["manifest"] = f"s3://{uris['bucket']}/input/missing.manifest"
    name = unique("missing")
    sm_region.create_labeling_job(**job_request(sm_region, name, uris))
    described = wait_status(sm_region, name, "Failed")
    assert described["FailureReason"].startswith("ClientError: Unable to read the manifest s3://")
    assert "missing.manifest" in described["FailureReason"]
    expect_error(sm_region.stop_labeling_job, "ValidationException", "not in progress", LabelingJobName=name)


def test_invalid_label_file_fails_the_job(sm_region: Any, s3: Any) -> None:
    uris = put_inputs(s3, LINES, labels=("only-one",))
    name = unique("labels")
    sm_region.create_labeling_job(**job_request(sm_region, name, uris))
    described = wait_status(sm_region, name, "Failed")
    assert "needs at least 2 labels" in described["FailureReason"]


def test_list_labeling_jobs_pages_filters_and_sorts(sm_region: Any, s3: Any) -> None:
    uris = put_inputs(s3, LINES)
    team = make_workteam(sm_region)
    names = ["b-job", "A-job", "c-other"]
    for name in names:
        sm_region.create_labeling_job(**job_request(sm_region, name, uris, workteam_arn=team))
    for name in names:
        wait_status(sm_region, name, "InProgress")
    sm_region.stop_labeling_job(LabelingJobName="c-other")
    pages = sm_region.get_paginator("list_labeling_jobs").paginate(PaginationConfig={"PageSize": 1})
    listed = [s["LabelingJobName"] for page in pages for s in page["LabelingJobSummaryList"]]
    assert listed == names  # CreationTime, Ascending by default
    by_name = sm_region.list_labeling_jobs(SortBy="Name", SortOrder="Descending")["LabelingJobSummaryList"]
    assert [s["LabelingJobName"] for s in by_name] == ["c-other", "b-job", "A-job"]
    contains = sm_region.list_labeling_jobs(NameContains="JOB")["LabelingJobSummaryList"]
    assert sorted(s["LabelingJobName"] for s in contains) == ["A-job", "b-job"]
    summary = contains[0]
    assert summary["WorkteamArn"] == team and summary["LabelCounters"]["Unlabeled"] == 2
    assert summary["PreHumanTaskLambdaArn"] == lambda_arn("PRE", "ImageMultiClass")
    assert summary["InputConfig"]["DataSource"]["S3DataSource"]["ManifestS3Uri"] == uris["manifest"]
    wait_status(sm_region, "c-other", "Stopped")
    stopped = sm_region.list_labeling_jobs(StatusEquals="Stopped")["LabelingJobSummaryList"]
    assert [s["LabelingJobName"] for s in stopped] == ["c-other"]
    for name in names[:2]:
        sm_region.stop_labeling_job(LabelingJobName=name)


def test_list_labeling_jobs_for_workteam(sm_region: Any, s3: Any) -> None:
    uris = put_inputs(s3, LINES)
    team, other = make_workteam(sm_region), make_workteam(sm_region)
    sm_region.create_labeling_job(**job_request(sm_region, "for-team", uris, workteam_arn=team, workers=3))
    sm_region.create_labeling_job(**job_request(sm_region, "for-other", uris, workteam_arn=other))
    wait_status(sm_region, "for-team", "InProgress")
    pages = sm_region.get_paginator("list_labeling_jobs_for_workteam").paginate(
        WorkteamArn=team, PaginationConfig={"PageSize": 1}
    )
    (summary,) = [s for page in pages for s in page["LabelingJobSummaryList"]]
    assert summary["LabelingJobName"] == "for-team"
    assert summary["WorkRequesterAccountId"] == "123456789012"
    assert summary["NumberOfHumanWorkersPerDataObject"] == 3
    assert summary["LabelCounters"] == {"HumanLabeled": 0, "PendingHuman": 2, "Total": 6}
    missing = team.rsplit("/", 1)[0] + "/nobody"
    expect_error(sm_region.list_labeling_jobs_for_workteam, "ResourceNotFound", "does not exist", WorkteamArn=missing)
    for name in ("for-team", "for-other"):
        sm_region.stop_labeling_job(LabelingJobName=name)


def test_stop_ends_stopped_with_the_input_lines(sm_region: Any, s3: Any) -> None:
    uris = put_inputs(s3, LINES)
    name = unique("stop")
    sm_region.create_labeling_job(**job_request(sm_region, name, uris))
    wait_status(sm_region, name, "InProgress")
    sm_region.stop_labeling_job(LabelingJobName=name)
    sm_region.stop_labeling_job(LabelingJobName=name)  # again: nothing to do
    described = wait_status(sm_region, name, "Stopped")
    uri = described["LabelingJobOutput"]["OutputDatasetS3Uri"]
    assert uri == f"{uris['output']}{name}/manifests/output/output.manifest"
    body = s3.get_object(Bucket=uris["bucket"], Key=f"output/{name}/manifests/output/output.manifest")["Body"].read()
    assert body.decode().splitlines() == [
        '{"source-ref":"s3://pictures/cat.jpg"}',
        '{"source-ref":"s3://pictures/dog.jpg"}',
    ]
    assert described["LabelCounters"]["Unlabeled"] == 2


def test_an_unmapped_custom_lambda_fails_the_job(sm_region: Any, s3: Any) -> None:
    uris = put_inputs(s3, LINES)
    name = unique("unmapped")
    request = job_request(sm_region, name, uris, task_type=None)
    custom = "arn:aws:lambda:us-east-1:123456789012:function:my-pre-annotation"
    request["HumanTaskConfig"]["PreHumanTaskLambdaArn"] = custom
    sm_region.create_labeling_job(**request)
    described = wait_status(sm_region, name, "Failed")
    assert described["FailureReason"] == (
        f"ClientError: Lambda function {custom} is not mapped to a target here: add it to the setting "
        "labeling_lambdas (CROWDLOOP_LABELING_LAMBDAS) (docs/settings.md)."
    )
    assert described["LabelCounters"]["Unlabeled"] == 0


def test_semantic_segmentation_needs_a_ref_attribute(sm_region: Any, s3: Any) -> None:
    """Spec §3.4: a SemanticSegmentation (or adjustment) job's LabelAttributeName ends with "-ref"."""
    uris = put_inputs(s3, LINES)
    team = make_workteam(sm_region)
    for task_type in ("SemanticSegmentation", "AdjustmentSemanticSegmentation"):
        request = job_request(sm_region, unique("seg"), uris, workteam_arn=team, task_type=task_type)
        expect_error(sm_region.create_labeling_job, "ValidationException", "must end with '-ref'", **request)
        name = unique("seg")
        request = job_request(sm_region, name, uris, workteam_arn=team, task_type=task_type, attribute="label-ref")
        sm_region.create_labeling_job(**request)
        wait_status(sm_region, name, "InProgress")
        sm_region.stop_labeling_job(LabelingJobName=name)
