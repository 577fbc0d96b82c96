"""A download from the flow page in Chromium against a running crowdloop server (SQLite and PostgreSQL): the
button starts the export, a progress bar follows it, and the browser receives the file when it is ready."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from playwright.sync_api import Browser, ConsoleMessage, Page, expect

from crowdloop import queue, urls, workers
from crowdloop.runtime import Services
from tests.browser.portal_site import DESKTOP, PHONE, Site, seed_template, site  # noqa: F401
from tests.conftest import RunningServer

LOOPS = 40


def completed_flow(site: Site) -> str:  # noqa: F811
    """A ranking flow (the seed notebook's template) with LOOPS loops, each answered by one worker."""
    flow, group = site.job(seed_template(), task_count=1)
    svc: Services = site.svc
    worker = workers.add_worker(svc, f"w-{uuid.uuid4().hex[:10]}@example.org", groups=[group])
    for number in range(LOOPS):
        site.start_loop(flow, {"taskObject": {"prompt": f"Question {number}?", "responses": ["yes", "no", "maybe"]}})
    for number in range(LOOPS):
        lease = queue.claim(svc, worker.id, flow.id)
        assert lease is not None
        answer = {"response_1_ranking": "1", "response_2_ranking": "3", "response_3_ranking": "2"}
        queue.submit(svc, lease.assignment_id, worker.id, answer, 2.0 + number % 3)
    return flow.name


@contextmanager
def signed_in(browser: Browser, server: RunningServer, viewport: dict[str, int]) -> Iterator[tuple[Page, list[str]]]:
    """A fresh context signed in to the console with the key `serve` printed; problems collected."""
    context = browser.new_context(viewport=viewport, accept_downloads=True)  # type: ignore[arg-type]
    page = context.new_page()
    page.set_default_timeout(15_000)
    problems: list[str] = []

    def console(message: ConsoleMessage) -> None:
        if message.type == "error":
            problems.append(f"console error: {message.text}")

    page.on("console", console)
    page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
    try:
        page.goto(server.endpoint_url + urls.CONSOLE_SIGNIN)
        page.get_by_label("Access key ID").fill(server.exports["AWS_ACCESS_KEY_ID"])
        page.get_by_label("Secret access key").fill(server.exports["AWS_SECRET_ACCESS_KEY"])
        page.get_by_role("button", name="Sign in").click()
        expect(page.get_by_role("heading", name="Overview")).to_be_visible()
        yield page, problems
    finally:
        context.close()


def _download(page: Page, label: str) -> tuple[str, bytes]:
    section = page.locator("section.downloads")
    with page.expect_download() as started:
        section.get_by_role("button", name=label).click()
        row = section.locator(".download-row").first
        expect(row.locator("progress")).to_be_visible()  # the progress bar of this download
    download = started.value
    expect(row).to_have_attribute("data-state", "ready")
    expect(row.locator("progress")).to_have_js_property("value", LOOPS)  # every completed loop read
    expect(row.locator(".download-message")).to_contain_text(f"Ready: {download.suggested_filename}")
    path = download.path()
    assert path is not None
    return download.suggested_filename, path.read_bytes()


def test_a_download_from_the_flow_page_shows_its_progress(
    site: Site,  # noqa: F811
    server: RunningServer,
    browser: Browser,
) -> None:
    flow = completed_flow(site)
    for viewport in (DESKTOP, PHONE):
        with signed_in(browser, server, viewport) as (page, problems):
            page.goto(server.endpoint_url + urls.fill(urls.CONSOLE_FLOW, flow=flow))
            expect(page.get_by_role("heading", name="Downloads")).to_be_visible()
            name, body = _download(page, "Preferences (JSONL)")
            assert name == f"{flow}-preferences.jsonl"
            rows = [json.loads(line) for line in body.decode().splitlines()]
            assert len(rows) == LOOPS * 3  # three pairs per item, one annotator
            assert all(row["chosen"] != row["rejected"] for row in rows)
            name, body = _download(page, "Agreement report (HTML)")
            assert name == f"{flow}-report.html" and b"<h1>Agreement report</h1>" in body
            assert not problems, problems
