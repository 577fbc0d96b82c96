"""The console's overview in Chromium against a running crowdloop server (SQLite and PostgreSQL): signing
in through a one-time link (`crowdloop console-link`, the line `serve` prints), the flow definition's
card, and the numbers updating in place when a worker's answer arrives over HTTP."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager

from playwright.sync_api import Browser, ConsoleMessage, Page, expect

from tests.browser.portal_site import DESKTOP, PASSWORD, PHONE, Site, site  # noqa: F401
from tests.conftest import RunningServer
from tests.portal.kit import HttpBrowser

TEMPLATE = """<script src="https://assets.crowd.aws/crowd-html-elements.js"></script>
<crowd-form><p>{{ task.input.text }}</p><crowd-input name="label" label="Label" required></crowd-input></crowd-form>"""


def console_link(server: RunningServer) -> str:
    """A one-time link from `crowdloop console-link` on the server's store (what `serve` prints at start)."""
    result = subprocess.run(
        [sys.executable, "-m", "crowdloop", "console-link", "--data-dir", str(server.data_dir)],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "CROWDLOOP_DATABASE_URL": server.database_url},
    )
    link = result.stdout.strip()
    assert link.startswith(server.endpoint_url + "/console/link?token="), result
    return link


@contextmanager
def console_page(browser: Browser, viewport: dict[str, int] = DESKTOP) -> Iterator[tuple[Page, list[str]]]:
    """A fresh context; console errors, page errors and CSP violations are collected."""
    context = browser.new_context(viewport=viewport)  # type: ignore[arg-type]
    page = context.new_page()
    page.set_default_timeout(10_000)
    problems: list[str] = []

    def console(message: ConsoleMessage) -> None:
        if message.type == "error":
            problems.append(f"console error: {message.text}")

    page.on("console", console)
    page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
    try:
        yield page, problems
    finally:
        context.close()


def test_the_overview_updates_when_an_answer_arrives(site: Site, server: RunningServer, browser: Browser) -> None:  # noqa: F811
    flow, group = site.job(TEMPLATE, task_count=2, title="Label for the console")
    site.start_loop(flow, {"text": "one"})
    email = site.worker(group)
    with console_page(browser) as (page, problems):
        page.goto(console_link(server))
        page.get_by_role("button", name="Continue to the console").click()
        expect(page.get_by_role("heading", name="Overview")).to_be_visible()
        card = page.locator("li.flow").filter(has=page.get_by_role("heading", name=flow.name))
        expect(card.locator('[data-field="progress_text"]')).to_have_text("0 of 2 answers (0%)")
        expect(card.locator('[data-loops="InProgress"]')).to_have_text("1")
        expect(card.locator(".chart canvas")).to_have_count(1)  # uPlot drew the chart
        page.evaluate("window.stillTheSamePage = true")

        worker = HttpBrowser(server.endpoint_url)
        try:
            assert worker.sign_in(email, PASSWORD).status_code == 303
            assignment = worker.open_task(flow.id)
            assert worker.submit(assignment, {"label": "from a worker"}, 7).status_code == 200
        finally:
            worker.close()

        expect(card.locator('[data-field="progress_text"]')).to_have_text(
            "1 of 2 answers (50%)", timeout=15_000
        )  # polls every 5 s
        expect(card.locator('[data-field="answers_last_hour"]')).to_have_text("1")
        expect(card.locator('[data-field="chart_summary"]')).to_contain_text("1 answer in the last 24 hours")
        assert page.evaluate("window.stillTheSamePage") is True  # updated in place, not reloaded
        card.get_by_role("button", name="7 days").click()
        expect(card.get_by_role("button", name="7 days")).to_have_attribute("aria-pressed", "true")
        expect(card.locator('[data-field="chart_summary"]')).to_contain_text("in the last 7 days")
        assert not problems, problems

        page.goto(server.endpoint_url + "/console/link?token=" + "x" * 43)  # a used or unknown link: a clear page
        page.get_by_role("button", name="Continue to the console").click()
        expect(page.get_by_role("heading", name="Sign-in link not valid")).to_be_visible()


def test_the_overview_fits_a_phone(site: Site, server: RunningServer, browser: Browser) -> None:  # noqa: F811
    site.job(TEMPLATE, title="Phone check")
    with console_page(browser, PHONE) as (page, problems):
        page.goto(console_link(server))
        page.get_by_role("button", name="Continue to the console").click()
        expect(page.get_by_role("heading", name="Overview")).to_be_visible()
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= PHONE["width"], f"the page scrolls sideways: {width}px"
        assert not problems, problems


def test_sign_in_with_the_key_pair_and_sign_out(server: RunningServer, browser: Browser) -> None:
    with console_page(browser) as (page, problems):
        page.goto(server.endpoint_url + "/console")
        page.get_by_label("Access key id").fill(server.access_key_id)
        page.get_by_label("Secret access key").fill("not the secret")
        page.get_by_role("button", name="Sign in").click()
        expect(page.get_by_role("alert")).to_have_text("That access key id and secret access key do not match.")
        page.get_by_label("Secret access key").fill(server.secret_access_key)
        page.get_by_role("button", name="Sign in").click()
        expect(page.get_by_role("heading", name="Overview")).to_be_visible()
        assert server.secret_access_key not in page.content()
        page.get_by_role("button", name="Sign out").click()
        expect(page.get_by_role("heading", name="Sign in to the console")).to_be_visible()
        page.goto(server.endpoint_url + "/console")
        expect(page.get_by_role("heading", name="Sign in to the console")).to_be_visible()
        assert [p for p in problems if "401" not in p] == []  # the failed sign-in's 401 is logged by Chromium
