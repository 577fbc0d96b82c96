"""A corpus template as a worker meets it in the real portal: a running `crowdloop serve` (SQLite, one per
test process), a job made of the template, a human loop with the sample input, and a signed-in worker's
browser that starts working, answers inside the task frame and submits.

What is real: every page, frame, script, stylesheet and picture the portal serves (the crowd elements,
/static/aws/..., /static/cdn/... libraries from their npm packages, granted blob URLs). The objects the
sample inputs name as `s3://bucket/key` are put into the server's blob store (generated placeholder media,
crowdloop.gallery.placeholder_media), so `grant_read_access` URLs load real objects. Only requests that
leave 127.0.0.1 (the template's own hard-coded example pictures; there is no internet here) are answered by
Playwright routing with the same placeholders. The answer is read back from the loop's output.json.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from playwright.sync_api import Browser, ConsoleMessage, Frame, Page, Request, Route, expect
from playwright.sync_api import Response as PlaywrightResponse

from crowdloop.blobs import LocalBlobStore
from crowdloop.clock import SystemClock
from crowdloop.gallery import placeholder_media
from crowdloop.liquid import render_task
from crowdloop.passwords import CHEAPEST, PasswordHasher
from crowdloop.runtime import Services
from crowdloop.store import open_store
from tests.browser.harness import CORPUS
from tests.browser.portal_site import DESKTOP, PASSWORD, Site
from tests.conftest import RunningServer, free_port, start_server, stop_server

FRAME_URL = re.compile(r"/tasks/\d+/frame\?")


@dataclass
class CorpusPortal:
    """One server and one signed-in worker (cookies kept as Playwright storage state) per test process."""

    server: RunningServer
    site: Site
    team: tuple[str, str]  # (work team ARN, group) of every corpus job
    signed_in: dict[str, Any]


# Origins that sample inputs hand to templates as plain URLs (not through grant_read_access): the operator
# allows them with the task_frame_sources setting, as a team using these templates would.
INPUT_ORIGINS = ("https://www.youtube.com", "https://example-bucket.s3.amazonaws.com")


_REFUSED_STYLE = re.compile(r"Refused to apply style from '([^']+)'")


def frame_origin(port: int) -> str:
    return f"http://localhost:{port}"


@pytest.fixture(scope="session")
def corpus_portal(browser: Browser, tmp_path_factory: pytest.TempPathFactory) -> Iterator[CorpusPortal]:
    data_dir = tmp_path_factory.mktemp("corpus-portal")
    port = free_port()
    # Task frames come from another origin of the same server (task_frame_origin): not sandboxed, so the
    # PDF viewer works in them (Chromium shows no PDF inside a sandboxed frame).
    server = start_server(
        data_dir,
        f"sqlite:///{data_dir / 'crowdloop.db'}",
        port=port,
        extra_env={
            "CROWDLOOP_TASK_FRAME_SOURCES": " ".join(INPUT_ORIGINS),
            "CROWDLOOP_TASK_FRAME_ORIGIN": frame_origin(port),
        },
    )
    settings = server.settings
    store = open_store(server.database_url, migrate=False)
    blobs = LocalBlobStore(settings.output_path)
    svc = Services(settings=settings, store=store, clock=SystemClock(), blobs=blobs, passwords=PasswordHasher(CHEAPEST))
    site = Site(url=server.endpoint_url, svc=svc, backend="sqlite")
    try:
        team = site.team()
        email = site.worker(team[1])
        context = browser.new_context(viewport=DESKTOP)  # type: ignore[arg-type]
        try:
            page = context.new_page()
            page.goto(site.url + "/signin")
            page.get_by_label("Email").fill(email)
            page.get_by_label("Password").fill(PASSWORD)
            page.get_by_role("button", name="Sign in").click()
            expect(page.get_by_role("heading", name="Jobs", exact=True)).to_be_visible()
            state = context.storage_state()
        finally:
            context.close()
        yield CorpusPortal(server, site, team, dict(state))
    finally:
        store.dispose()
        stop_server(server)


def granted_uris(template: str, task_input: Any) -> list[str]:
    """The URIs the template passes to grant_read_access for this input (rendered once to find out)."""
    uris: list[str] = []

    def grant(uri: str) -> str:
        uris.append(uri)
        return "https://granted.invalid/"

    render_task(template, task_input, grant_read_access=grant)
    return uris


@dataclass
class PortalTask:
    """One template's job, loop and worker tab; every problem the browser reports is collected."""

    portal: CorpusPortal
    page: Page
    title: str
    loop_name: str
    problems: list[str] = field(default_factory=list)
    alerts: list[str] = field(default_factory=list)
    expected_missing: set[str] = field(default_factory=set)  # portal URLs the template names that do not exist
    missing_seen: set[str] = field(default_factory=set)

    def install(self) -> None:
        page = self.page
        local = (self.portal.site.url + "/", frame_origin(self.portal.server.port) + "/")
        # only the network: the browser's own pages (its PDF viewer is a chrome-extension:// page) load as they are
        page.context.route(
            lambda url: url.startswith(("http:", "https:")) and not url.startswith(local), self._external
        )
        page.on("console", self._console)
        page.on("pageerror", lambda exc: self.problems.append(f"page error: {exc}"))
        page.on("requestfailed", self._failed)
        page.on("response", self._response)
        page.on("dialog", self._dialog)

    def _external(self, route: Route) -> None:
        """Requests leaving 127.0.0.1 (only URLs the template names get past the frame's policy)."""
        url = route.request.url.split("#", 1)[0]
        if url.split("?", 1)[0].lower().endswith(".css"):
            route.fulfill(status=200, body=b"", content_type="text/css")
            return
        body, content_type = placeholder_media(url)
        route.fulfill(status=200, body=body, content_type=content_type)

    def _console(self, message: ConsoleMessage) -> None:
        if message.type != "error":
            return
        where = message.location.get("url", "") if message.location else ""
        if message.text.startswith("Failed to load resource") and where in self.expected_missing:
            return  # reported by _response
        refused = _REFUSED_STYLE.match(message.text)
        if refused and refused.group(1) in self.expected_missing:
            return  # the 404 page is text/plain, which the browser will not apply as a stylesheet
        self.problems.append(f"console error: {message.text}" + (f" ({where})" if where else ""))

    def _failed(self, request: Request) -> None:
        # A 404 for a stylesheet is also a failed request (and in a sandboxed frame, whose origin is opaque,
        # only that); missing_statuses() checks what the portal really answered.
        if request.url in self.expected_missing:
            self.missing_seen.add(request.url)
            return
        if not request.url.startswith(("http:", "https:")):
            return  # the browser's own pages (the PDF viewer's stream is aborted when the next task opens)
        self.problems.append(f"request failed: {request.url} ({request.failure})")

    def _response(self, response: PlaywrightResponse) -> None:
        if response.status < 400:
            return
        if response.url in self.expected_missing:
            self.missing_seen.add(response.url)
            return
        self.problems.append(f"HTTP {response.status}: {response.url}")

    def missing_statuses(self) -> dict[str, int]:
        """What the portal answers for the expected-missing URLs (asked outside the browser)."""
        return {url: self.page.request.get(url).status for url in sorted(self.expected_missing)}

    def _dialog(self, dialog: Any) -> None:
        self.alerts.append(f"{dialog.type}: {dialog.message}")
        dialog.accept()

    # ---- the worker's steps ----

    def open_task(self) -> Frame:
        """Jobs -> Start working on this template's job -> the task page; returns the task frame once the
        crowd elements reported ready."""
        page = self.page
        page.goto(self.portal.site.url + "/")
        card = page.locator("li.job").filter(has=page.get_by_role("heading", name=self.title, exact=True))
        card.get_by_role("button", name="Start working").click()
        page.wait_for_url(re.compile(r"/tasks/\d+$"))
        page.wait_for_selector("[data-task][data-ready]", state="attached")
        frame = page.frame(url=FRAME_URL)
        assert frame is not None, "no task frame"
        return frame

    def wait_until_stored(self, timeout_ms: float = 15000) -> str:
        """After Submit: the portal opens the next task of the job ("No tasks left"); returns the page's
        status line when that does not happen."""
        try:
            self.page.wait_for_url(re.compile(r"/jobs/\d+/empty$"), timeout=timeout_ms)
        except Exception:
            status = self.page.locator("[data-status]")
            return status.inner_text() if status.count() else f"still at {self.page.url}"
        return ""

    def stored_answer(self) -> dict[str, Any]:
        """answerContent of the loop's output.json."""
        answers = self.portal.site.output(self.loop_name)["humanAnswers"]
        assert len(answers) == 1, answers
        content = answers[0]["answerContent"]
        assert isinstance(content, dict)
        return content


def prepare(portal: CorpusPortal, index: int, template: str, task_input: Any) -> tuple[str, str]:
    """The job (for the shared work team) and one loop; the granted objects in the blob
    store. Returns (job title, loop name)."""
    site = portal.site
    for uri in granted_uris(template, task_input):
        if uri.startswith("s3://") and not site.svc.blobs.exists(uri):
            body, content_type = placeholder_media(uri)
            site.svc.blobs.put(uri, body, content_type)
    title = f"Corpus template #{index:03d}"
    flow, _ = site.job(template, title=title, description=title, team=portal.team)
    return title, site.start_loop(flow, task_input)


def corpus_input(record: dict[str, Any]) -> Any:
    return json.loads((CORPUS / record["sample_input"]).read_text())
