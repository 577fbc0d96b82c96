"""AddTags / ListTags / DeleteTags on crowdloop's SageMaker resources."""

from __future__ import annotations

from typing import Any

from tests.api.sagemaker_helpers import TEMPLATE, expect_error, make_task_ui, make_workteam, unique


def test_add_list_delete(sm: Any) -> None:
    arn = make_task_ui(sm)
    added = sm.add_tags(ResourceArn=arn, Tags=[{"Key": "b", "Value": "1"}, {"Key": "a", "Value": ""}])
    assert added["Tags"] == [{"Key": "b", "Value": "1"}, {"Key": "a", "Value": ""}]
    sm.add_tags(ResourceArn=arn, Tags=[{"Key": "b", "Value": "2"}])
    assert sm.list_tags(ResourceArn=arn)["Tags"] == [{"Key": "a", "Value": ""}, {"Key": "b", "Value": "2"}]
    sm.delete_tags(ResourceArn=arn, TagKeys=["a", "missing"])
    assert sm.list_tags(ResourceArn=arn)["Tags"] == [{"Key": "b", "Value": "2"}]


def test_tags_given_at_creation(sm: Any) -> None:
    name = unique("ui")
    arn = sm.create_human_task_ui(
        HumanTaskUiName=name, UiTemplate={"Content": TEMPLATE}, Tags=[{"Key": "project", "Value": "rlhf"}]
    )["HumanTaskUiArn"]
    assert sm.list_tags(ResourceArn=arn)["Tags"] == [{"Key": "project", "Value": "rlhf"}]
    team = sm.create_workteam(
        WorkteamName=unique("team"),
        Description="d",
        Tags=[{"Key": "k", "Value": "v"}],
        MemberDefinitions=[{"OidcMemberDefinition": {"Groups": ["g"]}}],
    )["WorkteamArn"]
    assert sm.list_tags(ResourceArn=team)["Tags"] == [{"Key": "k", "Value": "v"}]


def test_paginator_and_limits(sm: Any) -> None:
    arn = make_workteam(sm)
    keys = [f"k{i:02d}" for i in range(50)]
    sm.add_tags(ResourceArn=arn, Tags=[{"Key": k, "Value": "v"} for k in keys])
    pages = list(sm.get_paginator("list_tags").paginate(ResourceArn=arn, PaginationConfig={"PageSize": 50}))
    assert [t["Key"] for p in pages for t in p["Tags"]] == keys and len(pages) == 1
    expect_error(
        sm.add_tags, "ValidationException", "at most 50 tags", ResourceArn=arn, Tags=[{"Key": "one-more", "Value": "v"}]
    )
    expect_error(
        sm.add_tags, "ValidationException", "reserved", ResourceArn=arn, Tags=[{"Key": "aws:thing", "Value": "v"}]
    )


def test_unknown_resources(sm: Any, server: Any) -> None:
    ghost = f"arn:aws:sagemaker:{server.region}:123456789012:human-task-ui/{unique('ghost')}"
    expect_error(sm.list_tags, "ValidationException", f"Resource {ghost} does not exist", ResourceArn=ghost)
    expect_error(
        sm.add_tags, "ValidationException", "does not exist", ResourceArn=ghost, Tags=[{"Key": "a", "Value": "b"}]
    )
    expect_error(sm.delete_tags, "ValidationException", "does not exist", ResourceArn=ghost, TagKeys=["a"])
    endpoint = f"arn:aws:sagemaker:{server.region}:123456789012:endpoint/e"
    expect_error(sm.list_tags, "ValidationException", "cannot be tagged", ResourceArn=endpoint)
