"""`crowdloop teams create / list / delete`: the SageMaker API's work-team calls from the terminal, with
the API's limits and its messages (both databases; the real CLI through click's runner)."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from crowdloop import workforce
from crowdloop.cli import main
from crowdloop.config import SETTINGS
from crowdloop.runtime import Caller, Services

CALLER = Caller("123456789012", "us-east-1")


@pytest.fixture(autouse=True)
def _no_crowdloop_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for setting in SETTINGS:  # the settings' variables only (not the tests' own, e.g. a PostgreSQL URL)
        monkeypatch.delenv(setting.env, raising=False)


@pytest.fixture
def store_flags(services: Services, tmp_path: Path) -> list[str]:
    return ["--data-dir", str(tmp_path), "--database-url", services.settings.resolved_database_url]


def _cli(flags: list[str], *args: str) -> Result:
    return CliRunner().invoke(main, [*args, *flags])


def _error(result: Result) -> str:
    lines = result.output.strip().splitlines()
    assert result.exit_code == 1, result.output
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.output
    assert "Traceback" not in result.output
    return lines[0]


def test_create_list_delete(services: Services, store_flags: list[str]) -> None:
    created = _cli(store_flags, "teams", "create", "raters", "--group", "a", "--group", "b", "--description", "Raters")
    assert created.exit_code == 0, created.output
    assert created.output.splitlines()[0] == "created raters (groups: a, b)"
    team = workforce.describe_workteam(services, CALLER, "raters")
    assert created.output.splitlines()[1] == team.arn
    assert team.groups == ("a", "b") and team.description == "Raters"
    assert team.member_definitions == [{"OidcMemberDefinition": {"Groups": ["a", "b"]}}]

    assert _cli(store_flags, "teams", "create", "labellers", "--group", "l").exit_code == 0
    listed = _cli(store_flags, "teams", "list")
    assert listed.exit_code == 0, listed.output
    rows = [line.split("\t") for line in listed.output.splitlines()]
    assert [row[:3] for row in rows] == [["labellers", "l", "Workers of l"], ["raters", "a,b", "Raters"]]

    deleted = _cli(store_flags, "teams", "delete", "raters")
    assert deleted.exit_code == 0 and deleted.output == "deleted raters\n"
    assert [team.name for team in workforce.list_workteams(services, CALLER).items] == ["labellers"]


def test_a_cognito_workforce_gets_cognito_members(services: Services, store_flags: list[str]) -> None:
    workforce.delete_workforce(services, CALLER, "default")
    workforce.create_workforce(
        services, CALLER, "pool", cognito_config={"UserPool": "us-east-1_abc", "ClientId": "app"}
    )
    assert _cli(store_flags, "teams", "create", "raters", "--group", "a", "--group", "b").exit_code == 0
    team = workforce.describe_workteam(services, CALLER, "raters")
    assert team.member_definitions == [
        {"CognitoMemberDefinition": {"UserPool": "us-east-1_abc", "UserGroup": g, "ClientId": "app"}}
        for g in ("a", "b")
    ]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["bad_name", "--group", "g"], "A team name is 1 to 63 letters, digits and hyphens"),
        (["x" * 64, "--group", "g"], "A team name is 1 to 63"),
        (["ok", "--group", "has space"], "Group 'has space' is not a group name"),
        (["ok", "--group", "g" * 64], "1 to 63 letters"),
        (["ok", *[f"--group=g{i}" for i in range(11)]], "A team selects 1 to 10 groups."),
        (["ok", "--group", "g", "--description", "d" * 201], "A description is one line of 1 to 200"),
        (["ok", "--group", "g", "--description", " "], "A description is one line"),
    ],
)
def test_create_refuses_what_the_api_refuses(
    services: Services, store_flags: list[str], args: list[str], message: str
) -> None:
    assert message in _error(_cli(store_flags, "teams", "create", *args))
    assert workforce.list_workteams(services, CALLER).items == []


def test_clear_errors(services: Services, store_flags: list[str]) -> None:
    assert "Missing option '--group'" in _cli(store_flags, "teams", "create", "raters").output
    assert _cli(store_flags, "teams", "create", "raters", "--group", "g").exit_code == 0
    assert _error(_cli(store_flags, "teams", "create", "raters", "--group", "g")) == (
        "Error: Work team raters already exists. Choose a different name."
    )
    assert _error(_cli(store_flags, "teams", "delete", "nobody")) == "Error: The work team nobody does not exist."
    for i in range(workforce.MAX_WORKTEAMS - 1):
        workforce.create_workteam(
            services, CALLER, f"t{i}", member_definitions=[{"OidcMemberDefinition": {"Groups": ["g"]}}], description="d"
        )
    assert "at most 25 work teams" in _error(_cli(store_flags, "teams", "create", "one-more", "--group", "g"))
