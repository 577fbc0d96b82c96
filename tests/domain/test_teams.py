"""crowdloop.teams: work teams from group lists, as the console and `crowdloop teams` make them (both
databases): member definitions built for the workforce, the API's limits, the team's kind kept on update."""

from __future__ import annotations

import pytest

from crowdloop import teams, workforce
from crowdloop.errors import InvalidInput
from crowdloop.runtime import Caller, Services

CALLER = Caller("123456789012", "us-east-1")
COGNITO = {"UserPool": "us-east-1_abc", "ClientId": "app"}


def test_oidc_members_on_the_default_workforce(services: Services) -> None:
    team = teams.create_team(services, CALLER, "raters", [" a ", "b", "a", ""], "  Raters  ")
    assert team.member_definitions == [{"OidcMemberDefinition": {"Groups": ["a", "b"]}}]
    assert team.groups == ("a", "b") and team.description == "Raters"
    assert teams.workforce_name(services, CALLER) == "default"
    updated = teams.update_team(services, CALLER, "raters", ["c"], "Now c")
    assert updated.member_definitions == [{"OidcMemberDefinition": {"Groups": ["c"]}}]
    assert [t.name for t in teams.list_teams(services, CALLER)] == ["raters"]
    teams.delete_team(services, CALLER, "raters")
    assert teams.list_teams(services, CALLER) == []


def test_a_cognito_team_stays_cognito(services: Services) -> None:
    workforce.create_workteam(
        services,
        CALLER,
        "pool-team",
        member_definitions=[{"CognitoMemberDefinition": {**COGNITO, "UserGroup": "a"}}],
        description="made with boto3",
    )
    updated = teams.update_team(services, CALLER, "pool-team", ["b", "c"], "regrouped")
    assert updated.member_definitions == [{"CognitoMemberDefinition": {**COGNITO, "UserGroup": g}} for g in ("b", "c")]


def test_longer_group_names_on_a_cognito_workforce(services: Services) -> None:
    workforce.delete_workforce(services, CALLER, "default")
    workforce.create_workforce(services, CALLER, "pool", cognito_config=COGNITO)
    team = teams.create_team(services, CALLER, "raters", ["g" * 128], "d")
    assert team.member_definitions == [{"CognitoMemberDefinition": {**COGNITO, "UserGroup": "g" * 128}}]
    with pytest.raises(InvalidInput, match="1 to 128"):
        teams.create_team(services, CALLER, "other", ["g" * 129], "d")


@pytest.mark.parametrize(
    ("name", "groups", "description", "field"),
    [
        ("-starts-with-hyphen", ["g"], "d", "name"),
        ("ends-", ["g"], "d", "name"),
        ("", ["g"], "d", "name"),
        ("ok", ["g" * 64], "d", "groups"),
        ("ok", ["tab\there"], "d", "groups"),
        ("ok", [f"g{i}" for i in range(11)], "d", "groups"),
        ("ok", ["g"], "two\nlines", "description"),
        ("ok", ["g"], "nul\0", "description"),
    ],
)
def test_the_api_limits(services: Services, name: str, groups: list[str], description: str, field: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        teams.create_team(services, CALLER, name, groups, description)
    assert refused.value.field == field
    assert teams.list_teams(services, CALLER) == []
