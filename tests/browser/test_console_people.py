"""The workers and teams pages in Chromium against a running server (SQLite and PostgreSQL): add a worker,
invite one and copy the link, disable and enable, create a team that boto3's list_workteams then shows."""

from __future__ import annotations

import re
import uuid

from playwright.sync_api import Browser, expect

from crowdloop import workers
from crowdloop.model import WorkerStatus
from tests.browser.console_tab import open_console
from tests.browser.portal_site import Site, open_worker, site  # noqa: F401
from tests.conftest import RunningServer


def test_add_disable_and_enable_a_worker(site: Site, browser: Browser, server: RunningServer) -> None:  # noqa: F811
    email = f"added-{uuid.uuid4().hex[:8]}@example.org"
    with open_console(browser, site, server) as tab:
        page = tab.page
        page.get_by_role("link", name="Workers").click()
        expect(page.get_by_role("heading", name="Workers", exact=True)).to_be_visible()
        add = page.get_by_role("region", name="Add a worker with a password")
        add.get_by_label("Email").fill(email)
        add.get_by_label("Password").fill("short")
        add.get_by_label("Groups").fill("raters, reviewers")
        add.get_by_role("button", name="Add worker").click()
        expect(page.locator("#add-password-error")).to_contain_text("8 to 1024 characters")
        expect(page.get_by_label("Password", exact=True)).to_have_attribute("aria-invalid", "true")
        add = page.get_by_role("region", name="Add a worker with a password")
        add.get_by_label("Password").fill("a long enough password")
        add.get_by_role("button", name="Add worker").click()
        expect(page.get_by_role("status").filter(has_text=f"Worker {email} was added")).to_be_visible()
        row = page.locator(f'tr[data-worker="{email}"]')
        expect(row.get_by_text("active", exact=True)).to_be_visible()
        expect(row.get_by_role("textbox", name=f"Groups of {email}")).to_have_value("raters, reviewers")

        row.get_by_role("button", name=f"Disable {email}").click()
        expect(page.get_by_text(f"{email} is disabled")).to_be_visible()
        row = page.locator(f'tr[data-worker="{email}"]')
        expect(row.get_by_text("disabled", exact=True)).to_be_visible()
        assert workers.get_worker(site.svc, email).status == WorkerStatus.DISABLED
        row.get_by_role("button", name=f"Enable {email}").click()
        expect(page.get_by_text(f"{email} is active again")).to_be_visible()
        assert workers.get_worker(site.svc, email).status == WorkerStatus.ACTIVE

        row = page.locator(f'tr[data-worker="{email}"]')
        row.get_by_role("textbox", name=f"Groups of {email}").fill("reviewers")
        row.get_by_role("button", name=f"Save groups of {email}").click()
        expect(page.get_by_text(f"The groups of {email} were saved")).to_be_visible()
        assert workers.get_worker(site.svc, email).groups == ("reviewers",)
        tab.check("HTTP 400: " + site.url + "/console/workers/add", "status of 400")  # the refused password


def test_invite_and_copy_the_link(site: Site, browser: Browser, server: RunningServer) -> None:  # noqa: F811
    email = f"invited-{uuid.uuid4().hex[:8]}@example.org"
    with open_console(browser, site, server) as tab:
        page = tab.page
        page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=site.url)
        page.goto(site.url + "/console/workers")
        invite = page.get_by_role("region", name="Invite a worker")
        invite.get_by_label("Email").fill(email)
        invite.get_by_label("Groups").fill("raters")
        invite.get_by_role("button", name="Create invitation link").click()
        expect(page.get_by_role("heading", name=f"Invitation link for {email}")).to_be_visible()
        link = page.get_by_role("textbox", name="Invitation link").input_value()
        assert re.fullmatch(re.escape(site.url) + r"/invite/[\w-]+", link), link
        page.get_by_role("button", name="Copy link").click()
        expect(page.get_by_text("Link copied.")).to_be_visible()
        assert page.evaluate("() => navigator.clipboard.readText()") == link
        expect(page.locator(f'tr[data-worker="{email}"]').get_by_text("invited", exact=True)).to_be_visible()
        tab.check()
    with open_worker(browser, site) as worker:  # the copied link is the invitation: it works
        worker.page.goto(link)
        expect(worker.page.get_by_role("heading", name="Choose your password")).to_be_visible()
        expect(worker.page.get_by_text(email)).to_be_visible()


def test_create_a_team_boto3_lists(site: Site, browser: Browser, server: RunningServer) -> None:  # noqa: F811
    name = f"team-{uuid.uuid4().hex[:8]}"
    with open_console(browser, site, server) as tab:
        page = tab.page
        page.get_by_role("link", name="Teams").click()
        expect(page.get_by_role("heading", name="Teams", exact=True)).to_be_visible()
        create = page.get_by_role("region", name="Create a team")
        create.get_by_label("Name").fill("bad_name")
        create.get_by_label("Description").fill("Raters of the browser tests")
        create.get_by_label("Groups").fill("raters")
        create.get_by_role("button", name="Create team").click()
        expect(page.locator("#name-error")).to_contain_text("letters, digits and hyphens")
        create = page.get_by_role("region", name="Create a team")
        expect(create.get_by_label("Description")).to_have_value("Raters of the browser tests")
        create.get_by_label("Name").fill(name)
        create.get_by_role("button", name="Create team").click()
        expect(page.get_by_role("heading", name=f"Team {name}")).to_be_visible()
        expect(page.get_by_text("The team was created.")).to_be_visible()

        listed = server.client("sagemaker").list_workteams(NameContains=name)["Workteams"]
        assert [(t["WorkteamName"], t["Description"]) for t in listed] == [(name, "Raters of the browser tests")]
        assert listed[0]["MemberDefinitions"] == [{"OidcMemberDefinition": {"Groups": ["raters"]}}]

        page.get_by_label("Groups").fill("raters, reviewers")
        page.get_by_role("button", name="Save team").click()
        expect(page.get_by_text("The team was saved.")).to_be_visible()
        described = server.client("sagemaker").describe_workteam(WorkteamName=name)["Workteam"]
        assert described["MemberDefinitions"] == [{"OidcMemberDefinition": {"Groups": ["raters", "reviewers"]}}]

        page.get_by_text(f"Delete team {name}…").click()
        page.get_by_label("Type the team's name to confirm").fill(name)
        page.get_by_role("button", name="Delete team").click()
        expect(page.get_by_text("The team was deleted.")).to_be_visible()
        assert server.client("sagemaker").list_workteams(NameContains=name)["Workteams"] == []
        tab.check("HTTP 400: " + site.url + "/console/teams/create", "status of 400")  # the refused name
