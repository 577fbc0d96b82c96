"""The work teams pages: `/console/teams` (every team, a form to create one) and `/console/teams/{name}`
(edit its description and groups, delete it after a confirmation).

Changes go through crowdloop.teams: the SageMaker API's own CreateWorkteam / UpdateWorkteam /
DeleteWorkteam domain calls with the member definitions built as that API takes them, and the API's
limits; a refused change shows the form again with the message next to its field (name, description,
groups; a taken name or the 25-team limit next to the name).
"""

from __future__ import annotations

from starlette.responses import Response
from starlette.routing import Route

from crowdloop import arns, teams, urls, workforce
from crowdloop.console.web import ConsoleVisit, console_action, console_page
from crowdloop.errors import AlreadyExists, CrowdloopError, InvalidInput, LimitExceeded
from crowdloop.i18n import N_
from crowdloop.workforce import Workteam

MAX_FIELD = 4000  # characters of any one field of these forms (the domain's limits are far lower)
_FIELDS = ("name", "description", "groups")

# ?done=<code> after a change: the notice shown (msgids)
NOTICES = {
    "created": N_("The team was created."),
    "deleted": N_("The team was deleted."),
    "saved": N_("The team was saved."),
}


def _values(visit: ConsoleVisit) -> dict[str, str]:
    values = {}
    for name in _FIELDS:
        value = visit.data.get(name, "")
        if not isinstance(value, str) or len(value) > MAX_FIELD:
            raise InvalidInput(f"The field {name} must be text of at most {MAX_FIELD} characters.", name)
        values[name] = value.strip()
    return values


def _groups(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


def _workforce_name(team: Workteam) -> str:
    return arns.parse(team.workforce_arn, "workforce", "workforceArn").name


def _error_field(exc: CrowdloopError) -> str:
    field = getattr(exc, "field", None)
    return field if field in _FIELDS else "name"


def _status(exc: CrowdloopError) -> int:
    return 409 if isinstance(exc, AlreadyExists) else 429 if isinstance(exc, LimitExceeded) else 400


@console_page
def teams_page(visit: ConsoleVisit) -> Response:
    return _list(visit)


def _list(
    visit: ConsoleVisit, values: dict[str, str] | None = None, errors: dict[str, str] | None = None, status: int = 200
) -> Response:
    found = teams.list_teams(visit.svc, visit.caller)
    return visit.page(
        "teams.html",
        status=status,
        title=visit._("Teams"),
        teams=found,
        workforce=teams.workforce_name(visit.svc, visit.caller),
        workforce_of=_workforce_name,
        values=values or {},
        errors=errors or {},
        notice=visit._(NOTICES.get(visit.request.query_params.get("done", ""), "")),
        max_teams=25,
    )


@console_action
def create_team(visit: ConsoleVisit) -> Response:
    values = _values(visit)
    try:
        team = teams.create_team(
            visit.svc, visit.caller, values["name"], _groups(values["groups"]), values["description"]
        )
    except (InvalidInput, AlreadyExists, LimitExceeded) as exc:
        return _list(visit, values, {_error_field(exc): exc.message}, _status(exc))
    return visit.redirect(urls.fill(urls.CONSOLE_TEAM, name=team.name) + "?done=created")


@console_page
def team_page(visit: ConsoleVisit) -> Response:
    return _edit(visit, str(visit.request.path_params["name"]))


def _edit(
    visit: ConsoleVisit,
    name: str,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> Response:
    team = _team(visit, name)
    shown = values or {"description": team.description, "groups": ", ".join(team.groups)}
    done = visit.request.query_params.get("done", "")
    return visit.page(
        "team.html",
        status=status,
        title=visit._("Team {name}", name=team.name),
        team=team,
        workforce=_workforce_name(team),
        values=shown,
        errors=errors or {},
        notice=visit._(NOTICES.get(done, "")),
    )


def _team(visit: ConsoleVisit, name: str) -> Workteam:
    if len(name) > teams.MAX_NAME_LENGTH:
        teams.check_name(name)  # InvalidInput: the message page, 400
    return workforce.describe_workteam(visit.svc, visit.caller, name)


@console_action
def update_team(visit: ConsoleVisit) -> Response:
    name = str(visit.request.path_params["name"])
    values = _values(visit)
    try:
        teams.update_team(visit.svc, visit.caller, name, _groups(values["groups"]), values["description"])
    except InvalidInput as exc:
        return _edit(visit, name, values, {_error_field(exc): exc.message}, 400)
    return visit.redirect(urls.fill(urls.CONSOLE_TEAM, name=name) + "?done=saved")


@console_action
def delete_team(visit: ConsoleVisit) -> Response:
    name = str(visit.request.path_params["name"])
    team = _team(visit, name)
    confirm = visit.data.get("confirm", "")
    if not isinstance(confirm, str) or confirm.strip() != team.name:
        message = visit._("Type the team's name, {name}, to delete it.", name=team.name)
        return _edit(visit, name, errors={"confirm": message}, status=400)
    teams.delete_team(visit.svc, visit.caller, name)
    return visit.redirect(urls.CONSOLE_TEAMS + "?done=deleted")


ROUTES = [
    Route(urls.CONSOLE_TEAMS, teams_page, methods=["GET"]),
    Route(urls.CONSOLE_TEAMS_CREATE, create_team, methods=["POST"]),
    Route(urls.CONSOLE_TEAM, team_page, methods=["GET"]),
    Route(urls.CONSOLE_TEAM_UPDATE, update_team, methods=["POST"]),
    Route(urls.CONSOLE_TEAM_DELETE, delete_team, methods=["POST"]),
]
