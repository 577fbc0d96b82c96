"""Helpers of the labeling-job tests: a job's S3 inputs in the server's built-in S3, and the request."""

from __future__ import annotations

import json
import time
from typing import Any

from tests.api.sagemaker_helpers import make_workteam, unique

ROLE = "arn:aws:iam::123456789012:role/service-role/AmazonSageMaker-ExecutionRole-20210122T130644"
CLASSIFIER = """<script src="https://assets.crowd.aws/crowd-html-elements.js"></script>
<crowd-form>
  <crowd-image-classifier name="crowd-image-classifier" src="{{ task.input.taskObject | grant_read_access }}"
    header="What is in the picture?" categories="{{ task.input.labels | to_json | escape }}">
    <full-instructions header="Instructions">Pick the animal.</full-instructions>
    <short-instructions>Pick the animal.</short-instructions>
  </crowd-image-classifier>
</crowd-form>"""


def lambda_arn(prefix: str, task_type: str, region: str = "us-east-1", account: str = "432418664414") -> str:
    return f"arn:aws:lambda:{region}:{account}:function:{prefix}-{task_type}"


def put_inputs(
    s3: Any,
    lines: list[dict[str, Any]],
    *,
    labels: tuple[str, ...] | None = ("cat", "dog"),
    template: str = CLASSIFIER,
    bucket: str | None = None,
) -> dict[str, str]:
    """Upload the manifest, label file and template to a new bucket; their s3:// URIs."""
    bucket = bucket or unique("gt")
    s3.create_bucket(Bucket=bucket)
    manifest = "".join(json.dumps(line) + "\n" for line in lines)
    s3.put_object(Bucket=bucket, Key="input/in.manifest", Body=manifest.encode())
    s3.put_object(Bucket=bucket, Key="input/template.liquid", Body=template.encode())
    uris = {
        "bucket": bucket,
        "manifest": f"s3://{bucket}/input/in.manifest",
        "template": f"s3://{bucket}/input/template.liquid",
        "output": f"s3://{bucket}/output/",
    }
    if labels is not None:
        document = {"document-version": "2018-11-28", "labels": [{"label": label} for label in labels]}
        s3.put_object(Bucket=bucket, Key="input/labels.json", Body=json.dumps(document).encode())
        uris["labels"] = f"s3://{bucket}/input/labels.json"
    return uris


def job_request(
    sm: Any,
    name: str,
    uris: dict[str, str],
    *,
    workteam_arn: str | None = None,
    task_type: str | None = "ImageMultiClass",
    workers: int = 1,
    attribute: str = "label",
    **extra: Any,
) -> dict[str, Any]:
    """CreateLabelingJob's members, shaped as the public Ground Truth notebooks send them."""
    human: dict[str, Any] = {
        "WorkteamArn": workteam_arn or make_workteam(sm),
        "UiConfig": {"UiTemplateS3Uri": uris["template"]},
        "TaskTitle": "Cats and dogs",
        "TaskDescription": "Say what is in each picture",
        "NumberOfHumanWorkersPerDataObject": workers,
        "TaskTimeLimitInSeconds": 300,
    }
    if task_type is not None:
        human["PreHumanTaskLambdaArn"] = lambda_arn("PRE", task_type)
        human["AnnotationConsolidationConfig"] = {"AnnotationConsolidationLambdaArn": lambda_arn("ACS", task_type)}
    human.update(extra.pop("human", {}))
    request: dict[str, Any] = {
        "LabelingJobName": name,
        "LabelAttributeName": attribute,
        "InputConfig": {"DataSource": {"S3DataSource": {"ManifestS3Uri": uris["manifest"]}}},
        "OutputConfig": {"S3OutputPath": uris["output"]},
        "RoleArn": ROLE,
        "HumanTaskConfig": human,
        **extra,
    }
    if "labels" in uris:
        request.setdefault("LabelCategoryConfigS3Uri", uris["labels"])
    return request


def wait_status(sm: Any, name: str, *statuses: str, timeout: float = 30.0) -> dict[str, Any]:
    """DescribeLabelingJob until the job is in one of `statuses` (the test fails after `timeout`)."""
    deadline = time.monotonic() + timeout
    while True:
        described: dict[str, Any] = sm.describe_labeling_job(LabelingJobName=name)
        if described["LabelingJobStatus"] in statuses:
            return described
        assert time.monotonic() < deadline, described
        time.sleep(0.2)
