"""The workers and teams pages over HTTP through the real root app, on SQLite and PostgreSQL: each action,
its validation messages next to the field, CSRF and origin checks, input limits, keyset paging."""

from __future__ import annotations

import html
import re
from collections.abc import Callable

import pytest

from crowdloop import invites, sessions, workers, workforce
from crowdloop.model import WorkerStatus
from crowdloop.runtime import Caller, Services
from tests.console.kit import ConsoleBrowser
from tests.portal.kit import add_worker

Open = Callable[[], ConsoleBrowser]
CALLER = Caller("123456789012", "us-east-1")


def _field_error(page: str, field_id: str) -> str:
    """The message shown under the field `field_id` (its <p id="<field_id>-error">), unescaped."""
    match = re.search(rf'<p class="field-error" id="{re.escape(field_id)}-error">([^<]*)</p>', page)
    assert match, f"no message under {field_id}"
    assert re.search(rf'id="{re.escape(field_id)}"[^>]*aria-invalid="true"', page, re.S), "field not marked invalid"
    return html.unescape(match.group(1))


# --- workers ------------------------------------------------------------------------------------------


def test_the_pages_need_a_console_session(open_console: Open, services: Services) -> None:
    browser = open_console()
    for path in ("/console/workers", "/console/teams", "/console/teams/raters"):
        response = browser.get(path)
        assert response.status_code == 303 and response.headers["location"].startswith("/console/signin?next=")
    posts = ("/console/workers/add", "/console/workers/invite", "/console/teams/create", "/console/teams/x/delete")
    for path in posts:
        assert browser.post(path, {"email": "a@example.org"}, csrf="x").status_code in (401, 403)
    assert workers.list_workers(services) == []


def test_the_list_shows_each_worker(console: ConsoleBrowser, services: Services) -> None:
    alice = add_worker(services, "alice@example.org", groups=("raters", "reviewers"))
    invites.invite_worker(services, "bob@example.org", groups=("raters",))
    page = console.get("/console/workers")
    assert page.status_code == 200
    text = page.text
    assert "alice@example.org" in text and alice.worker_id in text and "raters, reviewers" in text
    assert text.index("alice@example.org") < text.index("bob@example.org")
    assert 'status-invited">invited' in text and 'status-active">active' in text
    assert "New link for bob@example.org" in text
    assert "Content-Security-Policy" in page.headers and "script-src 'self'" in page.headers["content-security-policy"]


def test_add_a_worker(console: ConsoleBrowser, services: Services) -> None:
    console.get("/console/workers")
    form = {"email": " New@Example.org ", "password": "a long password", "groups": "raters, reviewers,raters,"}
    response = console.post("/console/workers/add", form)
    assert response.status_code == 303
    assert response.headers["location"] == "/console/workers?done=added&who=new%40example.org"
    worker = workers.get_worker(services, "new@example.org")
    assert worker.status == WorkerStatus.ACTIVE and worker.groups == ("raters", "reviewers")
    credentials = workers.credentials_of(services, "new@example.org")
    assert credentials and services.passwords.verify(credentials.password_hash or "", "a long password")
    page = console.get(response.headers["location"])
    assert "Worker new@example.org was added" in page.text


@pytest.mark.parametrize(
    ("form", "field_id", "status", "message"),
    [
        ({"email": "not-an-address", "password": "a long password"}, "add-email", 400, "is not an email address"),
        ({"email": "a@example.org", "password": "short"}, "add-password", 400, "8 to 1024 characters"),
        ({"email": "a@example.org", "password": "a long password", "groups": "x" * 129}, "add-groups", 400, "128"),
        ({"email": "taken@example.org", "password": "a long password"}, "add-email", 409, "exists already"),
    ],
)
def test_add_refusals_are_shown_next_to_the_field(
    console: ConsoleBrowser, services: Services, form: dict[str, str], field_id: str, status: int, message: str
) -> None:
    add_worker(services, "taken@example.org")
    console.get("/console/workers")
    response = console.post("/console/workers/add", form)
    assert response.status_code == status
    assert message in _field_error(response.text, field_id)
    assert f'value="{form["email"]}"' in response.text  # what was typed is kept (the password is not)
    assert form["password"] not in response.text
    assert [w.email for w in workers.list_workers(services)] == ["taken@example.org"]


def test_invite_shows_the_link_once(console: ConsoleBrowser, services: Services) -> None:
    console.get("/console/workers")
    response = console.post("/console/workers/invite", {"email": "new@example.org", "groups": "raters"})
    assert response.status_code == 200
    link = re.search(r'id="invitation-link" type="text" readonly value="([^"]+)"', response.text)
    assert link and "/invite/" in link.group(1)
    token = link.group(1).rsplit("/", 1)[1]
    assert invites.invitation_email(services, token) == "new@example.org"  # the link shown is the live one
    assert 'data-copy="invitation-link"' in response.text
    assert workers.get_worker(services, "new@example.org").groups == ("raters",)
    assert token not in console.get("/console/workers").text  # shown only in the answer to the POST
    again = console.post("/console/workers/invite", {"email": "new@example.org"})  # "New link": a new token
    token2 = re.search(r'readonly value="[^"]+/invite/([^"]+)"', again.text)
    assert token2 and token2.group(1) != token


def test_invite_refusals(console: ConsoleBrowser, services: Services) -> None:
    add_worker(services, "active@example.org")
    console.get("/console/workers")
    refused = console.post("/console/workers/invite", {"email": "active@example.org"})
    assert refused.status_code == 409
    assert "is active" in _field_error(refused.text, "invite-email")
    bad = console.post("/console/workers/invite", {"email": "x" * 321})
    assert bad.status_code == 400


def test_disable_ends_sessions_and_enable_lets_back_in(console: ConsoleBrowser, services: Services) -> None:
    worker = add_worker(services, "w@example.org")
    token, _ = sessions.start_session(services, worker.id)
    assert sessions.load_session(services, token) is not None
    console.get("/console/workers")
    response = console.post("/console/workers/status", {"email": "w@example.org", "status": "disabled"})
    assert response.status_code == 303 and "done=disabled" in response.headers["location"]
    assert workers.get_worker(services, "w@example.org").status == WorkerStatus.DISABLED
    assert sessions.load_session(services, token) is None
    page = console.get(response.headers["location"])
    assert "w@example.org is disabled" in page.text and "Enable w@example.org" in page.text
    assert console.post("/console/workers/status", {"email": "w@example.org", "status": "active"}).status_code == 303
    assert workers.get_worker(services, "w@example.org").status == WorkerStatus.ACTIVE
    status = "/console/workers/status"
    assert console.post(status, {"email": "w@example.org", "status": "invited"}).status_code == 400
    assert console.post(status, {"email": "nobody@example.org", "status": "active"}).status_code == 404


def test_edit_groups(console: ConsoleBrowser, services: Services) -> None:
    add_worker(services, "w@example.org", groups=("a", "b"))
    console.get("/console/workers")
    response = console.post("/console/workers/groups", {"email": "w@example.org", "groups": "b, c"})
    assert response.status_code == 303
    assert workers.get_worker(services, "w@example.org").groups == ("b", "c")
    assert "The groups of w@example.org were saved" in console.get(response.headers["location"]).text
    refused = console.post("/console/workers/groups", {"email": "w@example.org", "groups": "ok, " + "y" * 129})
    assert refused.status_code == 400
    assert "longer than 128" in _field_error(refused.text, "g-1")
    fifty_one = ",".join(f"g{i}" for i in range(51))
    too_many = console.post("/console/workers/groups", {"email": "w@example.org", "groups": fifty_one})
    assert too_many.status_code == 400
    assert "at most 50 groups" in _field_error(too_many.text, "g-1")
    assert workers.get_worker(services, "w@example.org").groups == ("b", "c")
    assert console.post("/console/workers/groups", {"email": "w@example.org", "groups": ""}).status_code == 303
    assert workers.get_worker(services, "w@example.org").groups == ()


def test_every_change_needs_the_csrf_token_and_our_origin(console: ConsoleBrowser, services: Services) -> None:
    add_worker(services, "w@example.org")
    console.get("/console/workers")
    changes = [
        ("/console/workers/add", {"email": "n@example.org", "password": "a long password"}),
        ("/console/workers/invite", {"email": "i@example.org"}),
        ("/console/workers/status", {"email": "w@example.org", "status": "disabled"}),
        ("/console/workers/groups", {"email": "w@example.org", "groups": "x"}),
        ("/console/teams/create", {"name": "t", "description": "d", "groups": "g"}),
    ]
    for path, form in changes:
        assert console.post(path, form, csrf="").status_code == 403, path
        assert console.post(path, form, csrf="wrong-token").status_code == 403, path
        assert console.post(path, form, origin="http://evil.test").status_code == 403, path
    assert [w.email for w in workers.list_workers(services)] == ["w@example.org"]
    assert workers.get_worker(services, "w@example.org").status == WorkerStatus.ACTIVE
    assert workforce.list_workteams(services, CALLER).items == []
    assert console.client.get("/console/workers/add").status_code == 405  # changes are POSTs only


def test_input_limits(console: ConsoleBrowser, services: Services) -> None:
    console.get("/console/workers")
    assert console.post("/console/workers/groups", {"email": "a@example.org", "groups": "g," * 2001}).status_code == 400
    assert console.post("/console/workers/add", {"email": "a@example.org", "password": "p" * 1025}).status_code == 400
    assert console.get("/console/workers?after=" + "a" * 321).status_code == 400
    assert console.post("/console/teams/create", {"name": "n" * 4001}).status_code == 400
    big = console.client.post(
        "/console/workers/add",
        content=b"csrf_token=" + console.csrf.encode() + b"&email=" + b"a" * (1024 * 1024 + 1),
        headers={"Origin": "http://console.test", "Content-Type": "application/x-www-form-urlencoded"},
    )
    assert big.status_code == 413
    assert workers.list_workers(services) == []


def test_the_list_is_paged_by_email(console: ConsoleBrowser, services: Services) -> None:
    for i in range(205):
        workers.add_worker(services, f"w{i:03d}@example.org")
    first = console.get("/console/workers")
    emails = re.findall(r'<tr data-worker="([^"]+)"', first.text)
    assert emails == [f"w{i:03d}@example.org" for i in range(100)]
    url = html.unescape(re.search(r'href="([^"]+)" rel="next"', first.text).group(1))  # type: ignore[union-attr]
    assert url == "/console/workers?after=w099%40example.org"
    second = console.get(url)
    assert re.findall(r'<tr data-worker="([^"]+)"', second.text)[0] == "w100@example.org"
    url = html.unescape(re.search(r'href="([^"]+)" rel="next"', second.text).group(1))  # type: ignore[union-attr]
    last = console.get(url)
    assert re.findall(r'<tr data-worker="([^"]+)"', last.text) == [f"w{i:03d}@example.org" for i in range(200, 205)]
    assert 'rel="next"' not in last.text and "First page" in last.text


# --- teams --------------------------------------------------------------------------------------------


def test_create_edit_delete_a_team(console: ConsoleBrowser, services: Services) -> None:
    console.get("/console/teams")
    form = {"name": "raters", "description": "Our raters", "groups": "a, b"}
    created = console.post("/console/teams/create", form)
    assert created.status_code == 303 and created.headers["location"] == "/console/teams/raters?done=created"
    team = workforce.describe_workteam(services, CALLER, "raters")  # what DescribeWorkteam answers
    assert team.groups == ("a", "b") and team.description == "Our raters"
    assert team.member_definitions == [{"OidcMemberDefinition": {"Groups": ["a", "b"]}}]
    page = console.get(created.headers["location"])
    assert "The team was created." in page.text and team.arn in page.text
    listed = console.get("/console/teams")
    assert '<tr data-team="raters">' in listed.text and "Our raters" in listed.text

    saved = console.post("/console/teams/raters/update", {"description": "Raters, v2", "groups": "c"})
    assert saved.status_code == 303
    team = workforce.describe_workteam(services, CALLER, "raters")
    assert team.groups == ("c",) and team.description == "Raters, v2"

    unconfirmed = console.post("/console/teams/raters/delete", {"confirm": "wrong"})
    assert unconfirmed.status_code == 400
    assert "Type the team's name, raters" in _field_error(unconfirmed.text, "confirm")
    assert workforce.describe_workteam(services, CALLER, "raters")
    deleted = console.post("/console/teams/raters/delete", {"confirm": "raters"})
    assert deleted.status_code == 303 and deleted.headers["location"] == "/console/teams?done=deleted"
    assert workforce.list_workteams(services, CALLER).items == []
    assert console.get("/console/teams/raters").status_code == 404


@pytest.mark.parametrize(
    ("form", "field_id", "status", "message"),
    [
        ({"name": "bad_name", "description": "d", "groups": "g"}, "name", 400, "letters, digits and hyphens"),
        ({"name": "ok", "description": "", "groups": "g"}, "description", 400, "1 to 200 characters"),
        ({"name": "ok", "description": "d" * 201, "groups": "g"}, "description", 400, "1 to 200 characters"),
        ({"name": "ok", "description": "d", "groups": ""}, "groups", 400, "1 to 10 groups"),
        ({"name": "ok", "description": "d", "groups": ",".join("abcdefghijk")}, "groups", 400, "1 to 10 groups"),
        ({"name": "ok", "description": "d", "groups": "has space"}, "groups", 400, "no spaces"),
        ({"name": "taken", "description": "d", "groups": "g"}, "name", 409, "already exists"),
    ],
)
def test_team_refusals_are_shown_next_to_the_field(
    console: ConsoleBrowser, services: Services, form: dict[str, str], field_id: str, status: int, message: str
) -> None:
    workforce.create_workteam(
        services, CALLER, "taken", member_definitions=[{"OidcMemberDefinition": {"Groups": ["g"]}}], description="d"
    )
    console.get("/console/teams")
    response = console.post("/console/teams/create", form)
    assert response.status_code == status
    assert message in _field_error(response.text, field_id)
    assert [t.name for t in workforce.list_workteams(services, CALLER).items] == ["taken"]


def test_team_update_refusal_and_unknown_team(console: ConsoleBrowser, services: Services) -> None:
    workforce.create_workteam(
        services, CALLER, "raters", member_definitions=[{"OidcMemberDefinition": {"Groups": ["g"]}}], description="d"
    )
    console.get("/console/teams/raters")
    refused = console.post("/console/teams/raters/update", {"description": "d", "groups": ""})
    assert refused.status_code == 400 and "1 to 10 groups" in _field_error(refused.text, "groups")
    assert workforce.describe_workteam(services, CALLER, "raters").groups == ("g",)
    assert console.post("/console/teams/nobody/update", {"description": "d", "groups": "g"}).status_code == 404
    assert console.get("/console/teams/" + "n" * 64).status_code == 400
