"""CreateWorkteam / DescribeWorkteam / ListWorkteams / UpdateWorkteam / DeleteWorkteam."""

from __future__ import annotations

from typing import Any

from tests.api.sagemaker_helpers import expect_error, make_workteam, oidc_members, regional_client, unique


def test_create_and_describe(sm: Any, server: Any) -> None:
    name = unique("Raters")
    topic = {"NotificationTopicArn": "arn:aws:sns:us-east-1:123456789012:topic"}
    arn = sm.create_workteam(
        WorkteamName=name,
        Description="RLHF raters",
        MemberDefinitions=oidc_members("raters"),
        NotificationConfiguration=topic,
    )["WorkteamArn"]
    assert arn == f"arn:aws:sagemaker:{server.region}:123456789012:workteam/private-crowd/{name}"
    team = sm.describe_workteam(WorkteamName=name)["Workteam"]
    assert team["WorkteamName"] == name and team["WorkteamArn"] == arn
    assert team["MemberDefinitions"] == oidc_members("raters")
    assert team["Description"] == "RLHF raters"
    assert team["SubDomain"] == f"127.0.0.1:{server.port}"
    assert team["WorkforceArn"] == f"arn:aws:sagemaker:{server.region}:123456789012:workforce/default"
    assert team["NotificationConfiguration"] == topic
    assert team["CreateDate"] == team["LastUpdatedDate"]
    assert "ProductListingIds" not in team and "WorkerAccessConfiguration" not in team


def test_not_found_is_a_validation_exception(sm: Any) -> None:
    for call, extra in (
        (sm.describe_workteam, {}),
        (sm.delete_workteam, {}),
        (sm.update_workteam, {"Description": "x"}),
    ):
        expect_error(
            call, "ValidationException", "The work team ghost-team does not exist.", WorkteamName="ghost-team", **extra
        )


def test_create_errors(sm: Any) -> None:
    name = unique("team")
    make_workteam(sm, name)
    expect_error(
        sm.create_workteam,
        "ResourceInUse",
        f"Work team {name} already exists",
        WorkteamName=name,
        Description="d",
        MemberDefinitions=oidc_members("g"),
    )
    cognito = {"CognitoMemberDefinition": {"UserPool": "us-east-1_abc", "UserGroup": "g", "ClientId": "c"}}
    expect_error(
        sm.create_workteam,
        "ValidationException",
        "Do not mix",
        WorkteamName=unique("team"),
        Description="d",
        MemberDefinitions=[cognito, *oidc_members("g")],
    )
    other_pool = {"CognitoMemberDefinition": {"UserPool": "us-east-1_xyz", "UserGroup": "h", "ClientId": "c"}}
    expect_error(
        sm.create_workteam,
        "ValidationException",
        "same UserPool and ClientId",
        WorkteamName=unique("team"),
        Description="d",
        MemberDefinitions=[cognito, other_pool],
    )
    expect_error(
        sm.create_workteam,
        "ValidationException",
        "exactly one of CognitoMemberDefinition",
        WorkteamName=unique("team"),
        Description="d",
        MemberDefinitions=[{}],
    )
    expect_error(
        sm.create_workteam,
        "ValidationException",
        "No workforce found with name nope",
        WorkteamName=unique("team"),
        Description="d",
        MemberDefinitions=oidc_members("g"),
        WorkforceName="nope",
    )


def test_update_replaces_members(sm: Any) -> None:
    name = unique("team")
    make_workteam(sm, name, groups=("a", "b"))
    before = sm.describe_workteam(WorkteamName=name)["Workteam"]
    access = {"S3Presign": {"IamPolicyConstraints": {"SourceIp": "Enabled"}}}
    updated = sm.update_workteam(
        WorkteamName=name,
        MemberDefinitions=oidc_members("c"),
        Description="new description",
        WorkerAccessConfiguration=access,
    )["Workteam"]
    assert updated["MemberDefinitions"] == oidc_members("c")
    assert updated["Description"] == "new description"
    assert updated["WorkerAccessConfiguration"] == access
    assert updated["LastUpdatedDate"] >= before["LastUpdatedDate"]
    assert updated["CreateDate"] == before["CreateDate"]
    assert sm.describe_workteam(WorkteamName=name)["Workteam"] == updated


def test_delete(sm: Any) -> None:
    name = unique("team")
    make_workteam(sm, name)
    response = sm.delete_workteam(WorkteamName=name)
    assert response["Success"] is True
    expect_error(
        sm.describe_workteam, "ValidationException", f"The work team {name} does not exist.", WorkteamName=name
    )


def test_list_sorts_filters_and_pages(server: Any) -> None:
    sm = regional_client(server)
    names = ["beta", "alpha", "Gamma-Team", "delta-team"]
    for name in names:
        make_workteam(sm, name)
    assert [t["WorkteamName"] for t in sm.list_workteams()["Workteams"]] == names  # CreateDate, Ascending
    by_name = sm.list_workteams(SortBy="Name", SortOrder="Descending")["Workteams"]
    assert [t["WorkteamName"] for t in by_name] == ["delta-team", "beta", "alpha", "Gamma-Team"]
    found = sm.list_workteams(NameContains="team", SortBy="Name")["Workteams"]
    assert [t["WorkteamName"] for t in found] == ["Gamma-Team", "delta-team"]
    assert sm.list_workteams()["Workteams"][0]["SubDomain"] == f"127.0.0.1:{server.port}"
    pages = list(sm.get_paginator("list_workteams").paginate(PaginationConfig={"PageSize": 3}))
    assert [len(p["Workteams"]) for p in pages] == [3, 1]
    assert [t["WorkteamName"] for p in pages for t in p["Workteams"]] == names
    first = sm.list_workteams(MaxResults=1)
    expect_error(sm.list_workteams, "ValidationException", "NextToken", NextToken=first["NextToken"], SortBy="Name")


def test_work_team_limit(server: Any) -> None:
    sm = regional_client(server)
    for i in range(25):
        make_workteam(sm, f"team-{i}")
    expect_error(
        sm.create_workteam,
        "ResourceLimitExceeded",
        "at most 25 work teams",
        WorkteamName="team-25",
        Description="d",
        MemberDefinitions=oidc_members("g"),
    )
