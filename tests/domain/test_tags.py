from __future__ import annotations

import pytest

from crowdloop import flows, tags, workforce
from crowdloop.errors import InvalidInput
from crowdloop.runtime import Caller, Services
from crowdloop.tags import Tag

CALLER = Caller("123456789012", "us-east-1")


def _ui(services: Services, name: str = "ui", with_tags: tuple[Tag, ...] = ()) -> str:
    return flows.create_human_task_ui(services, CALLER, name, "<p>{{ task.input.x }}</p>", with_tags).arn


def test_add_list_overwrite_and_delete(services: Services) -> None:
    arn = _ui(services)
    given = [Tag("b", "1"), Tag("a", "")]
    assert tags.add_tags(services, CALLER, arn, given) == given
    tags.add_tags(services, CALLER, arn, [Tag("b", "2")])
    assert tags.list_tags(services, CALLER, arn).items == [Tag("a", ""), Tag("b", "2")]
    tags.delete_tags(services, CALLER, arn, ["a", "not-there"])
    assert tags.list_tags(services, CALLER, arn).items == [Tag("b", "2")]


def test_create_tags_and_delete_with_resource(services: Services) -> None:
    arn = _ui(services, with_tags=(Tag("team", "ml"),))
    assert tags.list_tags(services, CALLER, arn).items == [Tag("team", "ml")]
    flows.delete_human_task_ui(services, CALLER, "ui")
    with pytest.raises(InvalidInput, match="does not exist"):
        tags.list_tags(services, CALLER, arn)
    assert tags.list_tags(services, CALLER, _ui(services)).items == []  # the new "ui" starts untagged


def test_every_resource_kind_is_taggable(services: Services) -> None:
    team = workforce.create_workteam(
        services,
        CALLER,
        "Team",
        description="d",
        member_definitions=[{"OidcMemberDefinition": {"Groups": ["g"]}}],
        tags=[Tag("k", "team")],
    )
    ui = _ui(services)
    fd = flows.create_flow_definition(
        services,
        CALLER,
        "fd",
        role_arn="arn:aws:iam::123456789012:role/r",
        output_config={"S3OutputPath": "s3://bucket"},
        tags=[Tag("k", "fd")],
        human_loop_config={
            "WorkteamArn": team.arn,
            "HumanTaskUiArn": ui,
            "TaskTitle": "t",
            "TaskDescription": "d",
            "TaskCount": 1,
        },
    )
    wf = workforce.describe_workforce(services, CALLER, "default")
    tags.add_tags(services, CALLER, wf.arn, [Tag("k", "wf")])
    values = [t.value for arn in (team.arn, fd.arn, wf.arn) for t in tags.list_tags(services, CALLER, arn).items]
    assert values == ["team", "fd", "wf"]


def test_tag_limits_and_reserved_keys(services: Services) -> None:
    arn = _ui(services)
    tags.add_tags(services, CALLER, arn, [Tag(f"k{i}", "v") for i in range(50)])
    tags.add_tags(services, CALLER, arn, [Tag("k0", "overwrite is fine")])
    with pytest.raises(InvalidInput, match="at most 50 tags") as caught:
        tags.add_tags(services, CALLER, arn, [Tag("k50", "v")])
    assert caught.value.field == "tags"
    with pytest.raises(InvalidInput, match="reserved"):
        tags.add_tags(services, CALLER, arn, [Tag("aws:cost", "v")])
    with pytest.raises(InvalidInput, match="Duplicate tag key 'x'"):
        tags.add_tags(services, CALLER, _ui(services, "other"), [Tag("x", "1"), Tag("x", "2")])


def test_unknown_or_foreign_resources(services: Services) -> None:
    arn = _ui(services)
    for bad in (
        arn.replace("123456789012", "210987654321"),
        arn.replace("us-east-1", "eu-west-1"),
        arn + "-missing",
        "arn:aws:sagemaker:us-east-1:123456789012:endpoint/e",
        "arn:aws:sagemaker:us-east-1:123456789012:human-loop/l",
    ):
        with pytest.raises(InvalidInput) as caught:
            tags.list_tags(services, CALLER, bad)
        assert caught.value.field == "resourceArn"
        with pytest.raises(InvalidInput):
            tags.add_tags(services, CALLER, bad, [Tag("a", "b")])
        with pytest.raises(InvalidInput):
            tags.delete_tags(services, CALLER, bad, ["a"])


def test_list_tags_pages_by_key(services: Services) -> None:
    arn = _ui(services)
    tags.add_tags(services, CALLER, arn, [Tag(k, "v") for k in "edcba"])
    first = tags.list_tags(services, CALLER, arn, max_results=3)
    assert [t.key for t in first.items] == ["a", "b", "c"] and first.next_token
    second = tags.list_tags(services, CALLER, arn, max_results=3, next_token=first.next_token)
    assert [t.key for t in second.items] == ["d", "e"] and second.next_token is None
    with pytest.raises(InvalidInput, match="NextToken"):
        tags.list_tags(services, CALLER, _ui(services, "other"), next_token=first.next_token)
