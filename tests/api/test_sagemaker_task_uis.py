"""CreateHumanTaskUi / DescribeHumanTaskUi / ListHumanTaskUis / DeleteHumanTaskUi / RenderUiTemplate."""

from __future__ import annotations

import hashlib
import time
import urllib.request
from datetime import datetime, timedelta
from typing import Any

from tests.api.sagemaker_helpers import ROLE, TEMPLATE, expect_error, make_task_ui, regional_client, unique


def test_create_describe_delete(sm: Any, server: Any) -> None:
    name = unique("ui")
    before = datetime.now().astimezone() - timedelta(seconds=5)
    arn = sm.create_human_task_ui(HumanTaskUiName=name, UiTemplate={"Content": TEMPLATE})["HumanTaskUiArn"]
    assert arn == f"arn:aws:sagemaker:{server.region}:123456789012:human-task-ui/{name}"
    described = sm.describe_human_task_ui(HumanTaskUiName=name)
    sha256 = hashlib.sha256(TEMPLATE.encode()).hexdigest()
    assert described["HumanTaskUiArn"] == arn and described["HumanTaskUiName"] == name
    assert described["HumanTaskUiStatus"] == "Active"
    assert before < described["CreationTime"] < before + timedelta(seconds=65)
    assert described["UiTemplate"] == {
        "Url": f"http://127.0.0.1:{server.port}/_crowdloop/templates/{sha256}",
        "ContentSha256": sha256,
    }
    assert sm.delete_human_task_ui(HumanTaskUiName=name)["ResponseMetadata"]["HTTPStatusCode"] == 200
    expect_error(
        sm.describe_human_task_ui, "ResourceNotFound", f"Could not find human task UI {name}", HumanTaskUiName=name
    )
    expect_error(sm.delete_human_task_ui, "ResourceNotFound", name, HumanTaskUiName=name)


def test_template_url_serves_the_content(sm: Any) -> None:
    name = unique("ui")
    content = TEMPLATE + "<!-- " + name + " -->"
    make_task_ui(sm, name, content)
    url = sm.describe_human_task_ui(HumanTaskUiName=name)["UiTemplate"]["Url"]
    with urllib.request.urlopen(url, timeout=5) as reply:
        assert reply.read().decode() == content


def test_create_errors(sm: Any) -> None:
    name = unique("ui")
    make_task_ui(sm, name)
    expect_error(
        sm.create_human_task_ui,
        "ResourceInUse",
        f"Human task UI {name} already exists",
        HumanTaskUiName=name,
        UiTemplate={"Content": TEMPLATE},
    )
    expect_error(
        sm.create_human_task_ui,
        "ValidationException",
        "not a valid Liquid template",
        HumanTaskUiName=unique("ui"),
        UiTemplate={"Content": "{% for x in task.input.items %}"},
    )
    expect_error(
        sm.create_human_task_ui,
        "ValidationException",
        "at 'humanTaskUiName' failed to satisfy",
        HumanTaskUiName="Bad_Name",
        UiTemplate={"Content": TEMPLATE},
    )


def test_list_paginates_sorts_and_filters(server: Any) -> None:
    sm = regional_client(server)
    names = [unique(f"ui{i}") for i in range(5)]
    for name in names[:2]:
        make_task_ui(sm, name)
    time.sleep(1.1)
    middle = datetime.now().astimezone()
    time.sleep(1.1)
    for name in names[2:]:
        make_task_ui(sm, name)

    default = sm.list_human_task_uis()
    assert [s["HumanTaskUiName"] for s in default["HumanTaskUiSummaries"]] == names[::-1]  # Descending
    assert "NextToken" not in default
    assert set(default["HumanTaskUiSummaries"][0]) == {"HumanTaskUiName", "HumanTaskUiArn", "CreationTime"}

    pages = list(
        sm.get_paginator("list_human_task_uis").paginate(SortOrder="Ascending", PaginationConfig={"PageSize": 2})
    )
    assert [len(p["HumanTaskUiSummaries"]) for p in pages] == [2, 2, 1]
    assert [s["HumanTaskUiName"] for p in pages for s in p["HumanTaskUiSummaries"]] == names

    after = sm.list_human_task_uis(CreationTimeAfter=middle, SortOrder="Ascending")
    assert [s["HumanTaskUiName"] for s in after["HumanTaskUiSummaries"]] == names[2:]
    before = sm.list_human_task_uis(CreationTimeBefore=middle)
    assert [s["HumanTaskUiName"] for s in before["HumanTaskUiSummaries"]] == names[1::-1]

    first = sm.list_human_task_uis(MaxResults=1)
    expect_error(sm.list_human_task_uis, "ValidationException", "NextToken", NextToken="not-a-token")
    expect_error(
        sm.list_human_task_uis, "ValidationException", "NextToken", NextToken=first["NextToken"], SortOrder="Ascending"
    )


def test_deleted_uis_leave_the_list(server: Any) -> None:
    sm = regional_client(server)
    keep, gone = unique("keep"), unique("gone")
    make_task_ui(sm, keep)
    make_task_ui(sm, gone)
    sm.delete_human_task_ui(HumanTaskUiName=gone)
    assert [s["HumanTaskUiName"] for s in sm.list_human_task_uis()["HumanTaskUiSummaries"]] == [keep]


def test_render_ui_template(sm: Any) -> None:
    task = {"Input": '{"text": "Tom & Jerry"}'}
    rendered = sm.render_ui_template(UiTemplate={"Content": TEMPLATE}, Task=task, RoleArn=ROLE)
    assert "<p>Tom &amp; Jerry</p>" in rendered["RenderedContent"]
    assert rendered["Errors"] == []
    arn = make_task_ui(sm)
    by_arn = sm.render_ui_template(HumanTaskUiArn=arn, Task=task, RoleArn=ROLE)
    assert by_arn["RenderedContent"] == rendered["RenderedContent"]


def test_render_problems_come_back_as_errors(sm: Any) -> None:
    rendered = sm.render_ui_template(
        UiTemplate={"Content": "<p>{{ task.input.text | nope }}</p>"}, Task={"Input": '{"text": "x"}'}, RoleArn=ROLE
    )
    assert rendered["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert [e["Code"] for e in rendered["Errors"]] == ["UndefinedFilter"]
    assert "nope" in rendered["Errors"][0]["Message"]


def test_render_ui_template_errors(sm: Any, server: Any) -> None:
    expect_error(
        sm.render_ui_template,
        "ValidationException",
        "not valid JSON",
        UiTemplate={"Content": TEMPLATE},
        Task={"Input": "{not json"},
        RoleArn=ROLE,
    )
    expect_error(
        sm.render_ui_template,
        "ValidationException",
        "exactly one of UiTemplate and HumanTaskUiArn",
        Task={"Input": "{}"},
        RoleArn=ROLE,
    )
    expect_error(
        sm.render_ui_template,
        "ValidationException",
        "exactly one of UiTemplate and HumanTaskUiArn",
        UiTemplate={"Content": TEMPLATE},
        HumanTaskUiArn=make_task_ui(sm),
        Task={"Input": "{}"},
        RoleArn=ROLE,
    )
    missing = f"arn:aws:sagemaker:{server.region}:123456789012:human-task-ui/{unique('missing')}"
    expect_error(
        sm.render_ui_template, "ResourceNotFound", missing, HumanTaskUiArn=missing, Task={"Input": "{}"}, RoleArn=ROLE
    )
