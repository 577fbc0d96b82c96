"""The workers page (`/console/workers`): the private workforce's accounts, paged by email; add one with a
password, invite one (the page shows the one-time link with a copy button), disable / enable, edit groups.
The work teams page is console/workteams.py; ROUTES here holds both (the people part's routes).

Every change is a POST through console_action (session, CSRF, same origin) calling the same domain functions
as `crowdloop workers ...` (workers.py, invites.py). A change that worked redirects back to the page with a
notice; one the domain refuses (InvalidInput, a taken email, an invited-only rule) shows the page again,
status 400 or 409, with the message next to the field that caused it and the values as typed. A worker that
no longer exists (a stale page) is NotFound: the message page, 404.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from starlette.responses import Response
from starlette.routing import Route

from crowdloop import invites, urls, workers
from crowdloop.console import workteams
from crowdloop.console.web import ConsoleError, ConsoleVisit, console_action, console_page
from crowdloop.errors import AlreadyExists, CrowdloopError, InUse, InvalidInput
from crowdloop.i18n import N_
from crowdloop.invites import Invitation
from crowdloop.model import WorkerStatus

PAGE_SIZE = 100
MAX_EMAIL_LENGTH = 320
MAX_GROUPS_TEXT = 4000  # the comma-separated groups field of a form
MAX_WORKER_GROUPS = 50
INVITE_HOURS = invites.DEFAULT_EXPIRES_HOURS

# ?done=<code>&who=<email> after a change: the notice shown (a fixed text, never the query's own words)
NOTICES = {
    "added": N_("Worker {who} was added; they can sign in with the password you chose."),
    "disabled": N_("{who} is disabled: they cannot sign in, and the tasks they held went back to the queue."),
    "active": N_("{who} is active again."),
    "groups": N_("The groups of {who} were saved."),
}


@dataclass
class Forms:
    """What the page's forms show again after a refused change: typed values and messages by field id."""

    values: dict[str, str] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)


@console_page
def workers_page(visit: ConsoleVisit) -> Response:
    notice = ""
    code, who = visit.request.query_params.get("done", ""), visit.request.query_params.get("who", "")
    if code in NOTICES and len(who) <= MAX_EMAIL_LENGTH:
        notice = visit._(NOTICES[code], who=who)
    return _render(visit, _after(visit.request.query_params.get("after")), Forms(), notice=notice)


@console_action(slow=True)  # a password hash takes a moment: off the event loop
def add_worker(visit: ConsoleVisit) -> Response:
    email, password = _text(visit, "email", MAX_EMAIL_LENGTH), _text(visit, "password", invites.MAX_PASSWORD_LENGTH)
    groups_text = _text(visit, "groups", MAX_GROUPS_TEXT)
    forms = Forms(values={"add-email": email, "add-groups": groups_text})
    try:
        workers.normalize_email(email)
        invites.check_password(password)
        groups = parse_groups(groups_text)
        workers.add_worker(visit.svc, email, password_hash=visit.svc.passwords.hash(password), groups=groups)
    except (InvalidInput, AlreadyExists) as exc:
        return _refused(visit, forms, "add", exc)
    return visit.redirect(_done("added", workers.normalize_email(email)))


@console_action
def invite_worker(visit: ConsoleVisit) -> Response:
    email, groups_text = _text(visit, "email", MAX_EMAIL_LENGTH), _text(visit, "groups", MAX_GROUPS_TEXT)
    forms = Forms(values={"invite-email": email, "invite-groups": groups_text})
    try:
        invitation = invites.invite_worker(
            visit.svc, email, groups=parse_groups(groups_text), expires_hours=INVITE_HOURS
        )
    except (InvalidInput, InUse) as exc:
        return _refused(visit, forms, "invite", exc)
    # shown once, in this answer: the link is a password, so it is never put in a URL we redirect to
    return _render(visit, None, Forms(), invitation=invitation)


@console_action
def set_status(visit: ConsoleVisit) -> Response:
    email, status = _text(visit, "email", MAX_EMAIL_LENGTH), _text(visit, "status", 20)
    if status not in (WorkerStatus.ACTIVE.value, WorkerStatus.DISABLED.value):
        raise InvalidInput(N_("The status must be active or disabled."), "status")
    worker = workers.set_status(visit.svc, email, WorkerStatus(status))
    return visit.redirect(_done(status, worker.email, _text(visit, "after", MAX_EMAIL_LENGTH)))


@console_action
def set_groups(visit: ConsoleVisit) -> Response:
    email, groups_text = _text(visit, "email", MAX_EMAIL_LENGTH), _text(visit, "groups", MAX_GROUPS_TEXT)
    after = _after(_text(visit, "after", MAX_EMAIL_LENGTH) or None)
    try:
        worker = workers.set_groups(visit.svc, email, parse_groups(groups_text))
    except InvalidInput as exc:
        forms = Forms(values={f"groups-{email}": groups_text}, errors={f"groups-{email}": exc.message})
        return _render(visit, after, forms, status=400)
    return visit.redirect(_done("groups", worker.email, after or ""))


def parse_groups(text: str) -> list[str]:
    """The groups of a comma-separated field: trimmed, without empties or repeats, at most 50 of 1-128
    characters (workers.py's rule for a group name)."""
    groups = list(dict.fromkeys(part.strip() for part in text.split(",") if part.strip()))
    if len(groups) > MAX_WORKER_GROUPS:
        raise InvalidInput(f"A worker can be in at most {MAX_WORKER_GROUPS} groups.", "groups")
    for group in groups:
        if len(group) > 128:
            raise InvalidInput(f"Group name '{group[:40]}…' is longer than 128 characters.", "groups")
    return groups


def _text(visit: ConsoleVisit, name: str, limit: int) -> str:
    value = visit.data.get(name, "")
    if not isinstance(value, str):
        raise InvalidInput(f"The field {name} must be text.", name)
    if len(value) > limit:
        raise InvalidInput(f"The field {name} is longer than {limit} characters.", name)
    return value.strip() if name != "password" else value


def _after(value: str | None) -> str | None:
    if value is not None and len(value) > MAX_EMAIL_LENGTH:
        raise ConsoleError(400, N_("Not valid"), N_("That page position is not an email address."))
    return value or None


def _done(code: str, who: str, after: str = "") -> str:
    query = {"done": code, "who": who, **({"after": after} if after else {})}
    return f"{urls.CONSOLE_WORKERS}?{urlencode(query)}"


_FORM_FIELDS = {"group": "groups", "groups": "groups", "password": "password"}  # anything else: the email


def _refused(visit: ConsoleVisit, forms: Forms, form: str, exc: CrowdloopError) -> Response:
    """The page again with the message next to the field of `form` ("add", "invite") that caused it."""
    field_name = _FORM_FIELDS.get(getattr(exc, "field", None) or "", "email")
    forms.errors[f"{form}-{field_name}"] = visit._(exc.message)
    return _render(visit, None, forms, status=409 if isinstance(exc, AlreadyExists | InUse) else 400)


def _render(
    visit: ConsoleVisit,
    after: str | None,
    forms: Forms,
    *,
    status: int = 200,
    notice: str = "",
    invitation: Invitation | None = None,
) -> Response:
    page, next_after = workers.page_workers(visit.svc, after=after, limit=PAGE_SIZE)
    context: dict[str, Any] = {
        "workers": page,
        "after": after or "",
        "next_url": f"{urls.CONSOLE_WORKERS}?{urlencode({'after': next_after})}" if next_after else "",
        "first_url": urls.CONSOLE_WORKERS if after else "",
        "forms": forms,
        "notice": notice,
        "invitation": invitation,
        "invite_hours": INVITE_HOURS,
        "min_password": invites.MIN_PASSWORD_LENGTH,
    }
    return visit.page("workers.html", status=status, title=visit._("Workers"), **context)


ROUTES = [
    Route(urls.CONSOLE_WORKERS, workers_page, methods=["GET"]),
    Route(urls.CONSOLE_WORKERS_ADD, add_worker, methods=["POST"]),
    Route(urls.CONSOLE_WORKERS_INVITE, invite_worker, methods=["POST"]),
    Route(urls.CONSOLE_WORKERS_STATUS, set_status, methods=["POST"]),
    Route(urls.CONSOLE_WORKERS_GROUPS, set_groups, methods=["POST"]),
    *workteams.ROUTES,
]
