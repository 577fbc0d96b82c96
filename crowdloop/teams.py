"""Work teams made from a list of worker groups: what the console's teams page and `crowdloop teams` offer.

    create_team(svc, caller, name, groups, description) -> Workteam
    update_team(svc, caller, name, groups, description) -> Workteam
    delete_team(svc, caller, name)
    list_teams(svc, caller)                             -> list[Workteam]   by name (at most 25 exist)

These are the SageMaker API's own domain calls (workforce.create_workteam / update_workteam /
delete_workteam, the ones aws/sagemaker.py calls) with MemberDefinitions built as that API takes them:
one OidcMemberDefinition naming the groups, or, on a workforce with a CognitoConfig (or for a team that
already uses Cognito members), one CognitoMemberDefinition per group with the pool and client it uses.
The API checks its input against botocore's model before calling the domain; the checks it would make on
these values are made here first, with the same limits (name, description, group names and count), so
the console and the CLI refuse what CreateWorkteam would refuse. InvalidInput.field names the form
field: "name", "description" or "groups".
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import regex

from crowdloop import workforce
from crowdloop.errors import InvalidInput
from crowdloop.runtime import Caller, Services
from crowdloop.workforce import Workteam

MAX_GROUPS = 10  # MemberDefinitions (Cognito) and OidcMemberDefinition.Groups both hold 1 to 10
MAX_NAME_LENGTH = 63
MAX_DESCRIPTION_LENGTH = 200
MAX_OIDC_GROUP_LENGTH = 63
MAX_COGNITO_GROUP_LENGTH = 128
_NAME = regex.compile(r"[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}")
_GROUP = regex.compile(r"[\p{L}\p{M}\p{S}\p{N}\p{P}]+")


def create_team(svc: Services, caller: Caller, name: str, groups: Sequence[str], description: str) -> Workteam:
    check_name(name)
    cognito = _cognito_ids(svc, caller, None)
    groups = check_groups(groups, cognito=cognito is not None)
    return workforce.create_workteam(
        svc,
        caller,
        name,
        member_definitions=_definitions(groups, cognito),
        description=check_description(description),
    )


def update_team(svc: Services, caller: Caller, name: str, groups: Sequence[str], description: str) -> Workteam:
    """Replace the team's groups and description (its other settings stay)."""
    team = workforce.describe_workteam(svc, caller, name)
    cognito = _cognito_ids(svc, caller, team)
    groups = check_groups(groups, cognito=cognito is not None)
    return workforce.update_workteam(
        svc,
        caller,
        name,
        member_definitions=_definitions(groups, cognito),
        description=check_description(description),
    )


def delete_team(svc: Services, caller: Caller, name: str) -> None:
    workforce.delete_workteam(svc, caller, name)


def list_teams(svc: Services, caller: Caller) -> list[Workteam]:
    """Every work team of the caller, by name (an account has at most workforce.MAX_WORKTEAMS)."""
    teams: list[Workteam] = []
    token: str | None = None
    while True:
        page = workforce.list_workteams(svc, caller, max_results=100, next_token=token, sort_by="Name")
        teams += page.items
        token = page.next_token
        if token is None:
            return teams


def workforce_name(svc: Services, caller: Caller) -> str:
    """The name of the workforce new teams join ("" when there is none yet: the first team creates it)."""
    page = workforce.list_workforces(svc, caller, max_results=1)
    return page.items[0].name if page.items else ""


def check_name(name: str) -> str:
    if not 1 <= len(name) <= MAX_NAME_LENGTH or not _NAME.fullmatch(name):
        raise InvalidInput(
            "A team name is 1 to 63 letters, digits and hyphens, starting and ending with a letter or digit.",
            "name",
        )
    return name


def check_description(description: str) -> str:
    description = description.strip()
    if not 1 <= len(description) <= MAX_DESCRIPTION_LENGTH or "\n" in description or "\0" in description:
        raise InvalidInput(f"A description is one line of 1 to {MAX_DESCRIPTION_LENGTH} characters.", "description")
    return description


def check_groups(groups: Sequence[str], *, cognito: bool = False) -> list[str]:
    """The distinct group names, in order; 1 to 10 of them, each as the API's member definitions take it."""
    names = list(dict.fromkeys(group.strip() for group in groups if group.strip()))
    if not 1 <= len(names) <= MAX_GROUPS:
        raise InvalidInput(f"A team selects 1 to {MAX_GROUPS} groups.", "groups")
    longest = MAX_COGNITO_GROUP_LENGTH if cognito else MAX_OIDC_GROUP_LENGTH
    for name in names:
        if len(name) > longest or not _GROUP.fullmatch(name):
            raise InvalidInput(
                f"Group '{name[:80]}' is not a group name a team can select: 1 to {longest} letters, digits, "
                "punctuation or symbols, no spaces.",
                "groups",
            )
    return names


def _cognito_ids(svc: Services, caller: Caller, team: Workteam | None) -> tuple[str, str] | None:
    """(UserPool, ClientId) when the members must be Cognito definitions, else None."""
    if team is not None:
        for definition in team.member_definitions:
            member = definition.get("CognitoMemberDefinition")
            if member is not None:
                return str(member["UserPool"]), str(member["ClientId"])
        return None
    page = workforce.list_workforces(svc, caller, max_results=1)
    config = page.items[0].config.get("CognitoConfig") if page.items else None
    return None if config is None else (str(config["UserPool"]), str(config["ClientId"]))


def _definitions(groups: list[str], cognito: tuple[str, str] | None) -> list[dict[str, Any]]:
    if cognito is None:
        return [{"OidcMemberDefinition": {"Groups": groups}}]
    pool, client = cognito
    return [{"CognitoMemberDefinition": {"UserPool": pool, "UserGroup": g, "ClientId": client}} for g in groups]
