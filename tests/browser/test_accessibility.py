"""axe-core finds no serious or critical violation on any page crowdloop serves (tests/browser/axe.py):
every worker portal page here, at 1280 px and at 390 px wide, on both databases.

To add a page: open it in a browser context (open_worker, or the console's sign-in helper) and call
`assert_accessible(page)` once it has settled."""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser, Page, expect

from crowdloop import invites, workforce
from tests.browser.axe import assert_accessible
from tests.browser.console_tab import open_console
from tests.browser.portal_site import CALLER, DESKTOP, PHONE, Site, open_worker, site  # noqa: F401
from tests.conftest import RunningServer

TEMPLATE = """<script src="https://assets.crowd.aws/crowd-html-elements.js"></script>
<crowd-form>
  <p class="prompt">{{ task.input.text }}</p>
  <crowd-input name="label" label="Your label" required></crowd-input>
</crowd-form>"""
VIEWPORTS = (DESKTOP, PHONE)


def _check(page: Page, name: str, viewport: dict[str, int]) -> None:
    assert_accessible(page, context=f"{name} at {viewport['width']} px ({page.url})")


def test_the_check_finds_violations_under_the_portal_csp(site: Site, browser: Browser) -> None:  # noqa: F811
    """The harness can fail: axe runs inside a page whose CSP forbids inline scripts and reports a
    critical violation (an image without a text alternative) and a serious one (an unlabelled field)."""
    with open_worker(browser, site) as worker:
        page = worker.page
        page.goto(site.url + "/signin")
        assert "script-src 'self'" in _csp(page)
        page.evaluate(
            """() => {
                const img = document.createElement('img');
                img.src = 'data:image/gif;base64,R0lGODlhAQABAAAAACw=';
                document.querySelector('main').append(img);
                const field = document.createElement('input');
                document.querySelector('main').append(field);
            }"""
        )
        with pytest.raises(AssertionError) as failure:
            assert_accessible(page)
        text = str(failure.value)
        assert "image-alt (critical)" in text and "label (critical)" in text, text
        assert "    img: Fix any" in text and "> input: Fix any" in text, text


def _csp(page: Page) -> str:
    reply = page.request.get(page.url)
    return reply.headers.get("content-security-policy", "")


def test_signed_out_pages(site: Site, browser: Browser) -> None:  # noqa: F811
    """Sign-in (blank and with a wrong password), the invitation page, a used link, an unknown page."""
    invitation = invites.invite_worker(site.svc, f"a11y-{site.backend}-{id(browser)}@example.org")
    for viewport in VIEWPORTS:
        with open_worker(browser, site, viewport) as worker:
            page = worker.page
            page.goto(site.url + "/signin")
            expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
            _check(page, "sign-in", viewport)
            page.get_by_label("Email").fill("nobody@example.org")
            page.get_by_label("Password").fill("not the password")
            page.get_by_role("button", name="Sign in").click()
            expect(page.get_by_role("alert")).to_be_visible()
            _check(page, "sign-in with an error", viewport)
            page.goto(invitation.url)
            expect(page.get_by_role("heading", name="Choose your password")).to_be_visible()
            _check(page, "invitation", viewport)
            page.goto(site.url + "/invite/no-such-token")
            expect(page.get_by_text("This invitation link is not valid")).to_be_visible()
            _check(page, "used invitation link", viewport)
            page.goto(site.url + "/no/such/page")
            _check(page, "404 signed out", viewport)
            worker.check("HTTP 401", "HTTP 404", "HTTP 403", "status of 4")


def test_worker_pages(site: Site, browser: Browser) -> None:  # noqa: F811
    """Empty job list, job list, task page, "No tasks left", the task-gone page and a 404, signed in."""
    team = site.team()
    for viewport in VIEWPORTS:
        email = site.worker(team[1])
        title = f"Accessible job {viewport['width']}"
        flow, _ = site.job(TEMPLATE, title=title, team=team)
        with open_worker(browser, site, viewport) as worker:
            page = worker.page
            worker.sign_in(site.worker("nobody-group"))
            expect(page.get_by_role("heading", name="No tasks for you right now")).to_be_visible()
            _check(page, "empty job list", viewport)
        site.start_loop(flow, {"text": "one thing to label"})
        with open_worker(browser, site, viewport) as worker:
            page = worker.page
            worker.sign_in(email)
            _check(page, "job list", viewport)
            worker.start(title)
            worker.wait_for_task()
            _check(page, "task page", viewport)
            task_url = page.url
            worker.frame.get_by_label("Your label").fill("done")
            worker.frame.get_by_role("button", name="Submit").click()
            expect(page.get_by_role("heading", name="No tasks left")).to_be_visible()
            _check(page, "no tasks left", viewport)
            page.goto(task_url)
            expect(page.get_by_role("heading")).not_to_have_count(0)
            _check(page, "a task no longer available", viewport)
            page.goto(site.url + "/no/such/page")
            _check(page, "404 signed in", viewport)
            worker.check("HTTP 404", "HTTP 410", "status of 4")


def test_console_workers_and_teams_pages(site: Site, browser: Browser, server: RunningServer) -> None:  # noqa: F811
    """Workers (with an invitation link and a refused field), teams (with a refused field), a team's page."""
    name = f"a11y-{site.backend}"
    workforce.create_workteam(
        site.svc, CALLER, name, member_definitions=[{"OidcMemberDefinition": {"Groups": ["a11y"]}}], description="a11y"
    )
    try:
        for viewport in VIEWPORTS:
            with open_console(browser, site, server, viewport) as tab:
                page = tab.page
                page.goto(site.url + "/console/workers")
                _check(page, "console workers", viewport)
                invite = page.get_by_role("region", name="Invite a worker")
                invite.get_by_label("Email").fill(f"a11y-{viewport['width']}-{site.backend}@example.org")
                invite.get_by_role("button", name="Create invitation link").click()
                expect(page.get_by_role("button", name="Copy link")).to_be_visible()
                _check(page, "console workers with an invitation", viewport)
                invite = page.get_by_role("region", name="Invite a worker")
                invite.get_by_label("Email").fill("not an address")
                invite.get_by_role("button", name="Create invitation link").click()
                expect(page.locator("#invite-email-error")).to_be_visible()
                _check(page, "console workers with a refused field", viewport)
                page.goto(site.url + "/console/teams")
                _check(page, "console teams", viewport)
                page.get_by_role("button", name="Create team").click()
                expect(page.locator("#name-error")).to_be_visible()
                _check(page, "console teams with refused fields", viewport)
                page.goto(site.url + f"/console/teams/{name}")
                page.get_by_text(f"Delete team {name}…").click()
                _check(page, "console team", viewport)
                tab.check("status of 400", "HTTP 400")
    finally:
        workforce.delete_workteam(site.svc, CALLER, name)
