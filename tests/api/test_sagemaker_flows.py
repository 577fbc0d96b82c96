"""CreateFlowDefinition / DescribeFlowDefinition / ListFlowDefinitions / DeleteFlowDefinition."""

from __future__ import annotations

import contextlib
import json
import time
from typing import Any

from tests.api.sagemaker_helpers import (
    ROLE,
    expect_error,
    human_loop_config,
    make_task_ui,
    make_workteam,
    regional_client,
    unique,
)


def _create(sm: Any, name: str, config: dict[str, Any], path: str = "s3://bucket/a2i/", **extra: Any) -> str:
    arn: str = sm.create_flow_definition(
        FlowDefinitionName=name, HumanLoopConfig=config, OutputConfig={"S3OutputPath": path}, RoleArn=ROLE, **extra
    )["FlowDefinitionArn"]
    return arn


def _wait_active(sm: Any, name: str) -> dict[str, Any]:
    deadline = time.monotonic() + 10
    while True:
        described: dict[str, Any] = sm.describe_flow_definition(FlowDefinitionName=name)
        if described["FlowDefinitionStatus"] == "Active" or time.monotonic() > deadline:
            return described
        time.sleep(0.2)


def test_create_and_describe_echo_the_request(sm: Any, server: Any) -> None:
    name = unique("fd")
    config = human_loop_config(sm, TaskKeywords=["rank", "text"], TaskCount=2)
    arn = _create(sm, name, config, path="https://bucket.s3.us-east-1.amazonaws.com/a2i/")
    assert arn == f"arn:aws:sagemaker:{server.region}:123456789012:flow-definition/{name}"
    first = sm.describe_flow_definition(FlowDefinitionName=name)
    assert first["FlowDefinitionStatus"] in ("Initializing", "Active")
    second = sm.describe_flow_definition(FlowDefinitionName=name)
    assert second["FlowDefinitionStatus"] == "Active"  # observed once: Active from then on
    assert second["FlowDefinitionArn"] == arn and second["FlowDefinitionName"] == name
    assert second["HumanLoopConfig"] == config  # no TaskTimeLimitInSeconds etc. injected
    assert second["OutputConfig"] == {"S3OutputPath": "https://bucket.s3.us-east-1.amazonaws.com/a2i/"}
    assert second["RoleArn"] == ROLE
    assert "HumanLoopRequestSource" not in second and "FailureReason" not in second
    assert second["CreationTime"] == first["CreationTime"]


def test_task_count_above_three_is_our_extension(sm: Any) -> None:
    name = unique("fd")
    _create(sm, name, human_loop_config(sm, TaskCount=50))
    assert sm.describe_flow_definition(FlowDefinitionName=name)["HumanLoopConfig"]["TaskCount"] == 50
    expect_error(
        sm.create_flow_definition,
        "ValidationException",
        "at 'humanLoopConfig.taskCount'",
        FlowDefinitionName=unique("fd"),
        HumanLoopConfig=human_loop_config(sm, TaskCount=51),
        OutputConfig={"S3OutputPath": "s3://b"},
        RoleArn=ROLE,
    )


def test_create_errors(sm: Any, server: Any) -> None:
    name = unique("fd")
    config = human_loop_config(sm)
    _create(sm, name, config)
    expect_error(
        sm.create_flow_definition,
        "ResourceInUse",
        f"Flow definition {name} already exists",
        FlowDefinitionName=name,
        HumanLoopConfig=config,
        OutputConfig={"S3OutputPath": "s3://b"},
        RoleArn=ROLE,
    )
    expect_error(
        sm.create_flow_definition,
        "ValidationException",
        "Value null at 'humanLoopConfig'",
        FlowDefinitionName=unique("fd"),
        OutputConfig={"S3OutputPath": "s3://b"},
        RoleArn=ROLE,
    )
    ghost_team = f"arn:aws:sagemaker:{server.region}:123456789012:workteam/private-crowd/{unique('ghost')}"
    expect_error(
        sm.create_flow_definition,
        "ValidationException",
        f"The work team {ghost_team}",
        FlowDefinitionName=unique("fd"),
        HumanLoopConfig={**config, "WorkteamArn": ghost_team},
        OutputConfig={"S3OutputPath": "s3://b"},
        RoleArn=ROLE,
    )
    ghost_ui = f"arn:aws:sagemaker:{server.region}:123456789012:human-task-ui/{unique('ghost')}"
    expect_error(
        sm.create_flow_definition,
        "ValidationException",
        f"The human task UI {ghost_ui}",
        FlowDefinitionName=unique("fd"),
        HumanLoopConfig={**config, "HumanTaskUiArn": ghost_ui},
        OutputConfig={"S3OutputPath": "s3://b"},
        RoleArn=ROLE,
    )
    expect_error(
        sm.create_flow_definition,
        "ValidationException",
        "is not an Amazon S3 URL",
        FlowDefinitionName=unique("fd"),
        HumanLoopConfig=config,
        OutputConfig={"S3OutputPath": "https://example.com/bucket"},
        RoleArn=ROLE,
    )
    expect_error(
        sm.create_flow_definition,
        "ValidationException",
        "less than or equal to 28800",
        FlowDefinitionName=unique("fd"),
        HumanLoopConfig={**config, "TaskTimeLimitInSeconds": 28801},
        OutputConfig={"S3OutputPath": "s3://b"},
        RoleArn=ROLE,
    )


def test_activation_conditions(sm: Any) -> None:
    config = human_loop_config(sm)
    source = {"AwsManagedHumanLoopRequestSource": "AWS/Rekognition/DetectModerationLabels/Image/V3"}
    conditions = json.dumps(
        {
            "Conditions": [
                {
                    "ConditionType": "ModerationLabelConfidenceCheck",
                    "ConditionParameters": {"ModerationLabelName": "*", "ConfidenceLessThan": 90},
                }
            ]
        }
    )
    activation = {"HumanLoopActivationConditionsConfig": {"HumanLoopActivationConditions": conditions}}
    expect_error(
        sm.create_flow_definition,
        "ValidationException",
        "must be given together",
        FlowDefinitionName=unique("fd"),
        HumanLoopConfig=config,
        HumanLoopRequestSource=source,
        OutputConfig={"S3OutputPath": "s3://b"},
        RoleArn=ROLE,
    )
    expect_error(
        sm.create_flow_definition,
        "ValidationException",
        "must be given together",
        FlowDefinitionName=unique("fd"),
        HumanLoopConfig=config,
        HumanLoopActivationConfig=activation,
        OutputConfig={"S3OutputPath": "s3://b"},
        RoleArn=ROLE,
    )
    bad = {"HumanLoopActivationConditionsConfig": {"HumanLoopActivationConditions": '{"Conditions": 1}'}}
    expect_error(
        sm.create_flow_definition,
        "ValidationException",
        "activation conditions",
        FlowDefinitionName=unique("fd"),
        HumanLoopConfig=config,
        HumanLoopRequestSource=source,
        HumanLoopActivationConfig=bad,
        OutputConfig={"S3OutputPath": "s3://b"},
        RoleArn=ROLE,
    )
    name = unique("fd")
    _create(sm, name, config, HumanLoopRequestSource=source, HumanLoopActivationConfig=activation)
    described = sm.describe_flow_definition(FlowDefinitionName=name)
    assert described["HumanLoopRequestSource"] == source
    assert described["HumanLoopActivationConfig"] == activation  # the JSON string verbatim


def test_describe_unknown(sm: Any) -> None:
    expect_error(
        sm.describe_flow_definition,
        "ResourceNotFound",
        "Could not find flow definition nope-fd",
        FlowDefinitionName="nope-fd",
    )
    expect_error(
        sm.delete_flow_definition,
        "ResourceNotFound",
        "Could not find flow definition nope-fd",
        FlowDefinitionName="nope-fd",
    )


def test_list_flow_definitions(server: Any) -> None:
    sm = regional_client(server)
    config = {
        "WorkteamArn": make_workteam(sm),
        "HumanTaskUiArn": make_task_ui(sm),
        "TaskTitle": "t",
        "TaskDescription": "d",
        "TaskCount": 1,
    }
    names = [unique(f"fd{i}") for i in range(5)]
    for name in names:
        _create(sm, name, config)
    listed = sm.list_flow_definitions()["FlowDefinitionSummaries"]
    assert [s["FlowDefinitionName"] for s in listed] == names[::-1]
    assert set(listed[0]) == {"FlowDefinitionName", "FlowDefinitionArn", "FlowDefinitionStatus", "CreationTime"}
    assert listed[0]["FlowDefinitionStatus"] in ("Initializing", "Active")
    pages = list(
        sm.get_paginator("list_flow_definitions").paginate(SortOrder="Ascending", PaginationConfig={"PageSize": 2})
    )
    assert [s["FlowDefinitionName"] for p in pages for s in p["FlowDefinitionSummaries"]] == names
    assert len(pages) == 3
    expect_error(sm.list_flow_definitions, "ValidationException", "NextToken", NextToken="x" * 40)


def test_delete_lifecycle_and_name_reuse(sm: Any) -> None:
    name = unique("fd")
    config = human_loop_config(sm)
    _create(sm, name, config)
    assert _wait_active(sm, name)["FlowDefinitionStatus"] == "Active"
    assert sm.delete_flow_definition(FlowDefinitionName=name)["ResponseMetadata"]["HTTPStatusCode"] == 200
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:  # Deleting until the reaper purges it (no loops: next sweep)
        try:
            status = sm.describe_flow_definition(FlowDefinitionName=name)["FlowDefinitionStatus"]
        except sm.exceptions.ResourceNotFound:
            break
        assert status == "Deleting"
        try:
            sm.delete_flow_definition(FlowDefinitionName=name)
        except sm.exceptions.ResourceInUse as exc:
            assert "Deleting" in str(exc)
        except sm.exceptions.ResourceNotFound:  # the sweep purged it between the two calls
            break
        else:
            raise AssertionError("a Deleting flow definition was deleted again")
        time.sleep(0.5)
    else:
        raise AssertionError("flow definition was not purged after deletion")
    assert name not in [
        s["FlowDefinitionName"] for s in sm.list_flow_definitions(MaxResults=100)["FlowDefinitionSummaries"]
    ]
    _create(sm, name, config)  # the name is free again


def test_delete_right_after_create_is_in_use(sm: Any) -> None:
    name = unique("fd")
    _create(sm, name, human_loop_config(sm))
    try:
        sm.delete_flow_definition(FlowDefinitionName=name)
    except sm.exceptions.ResourceInUse as exc:  # still Initializing: the documented answer
        assert "is Initializing: only an Active flow definition can be deleted" in str(exc)
        assert exc.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    else:  # more than a second passed since creation on a slow machine: it was Active already
        with contextlib.suppress(sm.exceptions.ResourceNotFound):  # or the reaper purged it already
            assert sm.describe_flow_definition(FlowDefinitionName=name)["FlowDefinitionStatus"] == "Deleting"


def test_quality_tags_are_checked_the_boto3_way(sm: Any) -> None:
    """`crowdloop:` tags (docs/quality.md) set with plain boto3: a bad one is a ValidationException naming it."""
    config = human_loop_config(sm, TaskCount=3)
    expect_error(
        _create,
        "ValidationException",
        "crowdloop:gold-rate",
        sm=sm,
        name=unique("fd"),
        config=config,
        Tags=[{"Key": "crowdloop:gold-rate", "Value": "2"}],
    )
    arn = _create(sm, unique("fd"), config, Tags=[{"Key": "crowdloop:shuffle-responses", "Value": "true"}])
    expect_error(
        sm.add_tags,
        "ValidationException",
        "TaskCount (3)",
        ResourceArn=arn,
        Tags=[{"Key": "crowdloop:task-count-min", "Value": "4"}],
    )
    sm.add_tags(ResourceArn=arn, Tags=[{"Key": "crowdloop:task-count-min", "Value": "2"}])
    stored = {t["Key"]: t["Value"] for t in sm.list_tags(ResourceArn=arn)["Tags"]}
    assert stored == {"crowdloop:shuffle-responses": "true", "crowdloop:task-count-min": "2"}
