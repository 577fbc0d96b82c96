"""The worker portal in a real browser: a running crowdloop server, the jobs and workers on it, and the
steps a worker takes (sign in, start working, answer inside the task frame).

`site` is a real `crowdloop serve` (tests/conftest.py `server`, SQLite and PostgreSQL) with Services on
its database (`server_services`) to set up jobs and workers and to read outputs.
"""

from __future__ import annotations

import json
import re
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, ConsoleMessage, Page, expect
from playwright.sync_api import Response as PlaywrightResponse

from crowdloop import flows, loops, workers, workforce
from crowdloop.errors import NotFound
from crowdloop.runtime import Caller, Services
from tests import shared
from tests.conftest import RunningServer
from tests.shared import SEED_EN as SEED

CALLER = Caller(account="123456789012", region="us-east-1")
PASSWORD = "browser test password"
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}


def seed_template() -> str:
    """The ranking template of the seed notebook, verbatim (between `template = r\"\"\"` and `\"\"\"`)."""
    return shared.seed_template(SEED)


@dataclass
class Site:
    url: str
    svc: Services
    backend: str
    teams: list[str] = field(default_factory=list)  # made by team(): deleted after the test (see `site`)

    def team(self) -> tuple[str, str]:
        """A work team with a fresh group: (team ARN, group)."""
        n = uuid.uuid4().hex[:10]
        group = f"g-{n}"
        team = workforce.create_workteam(
            self.svc,
            CALLER,
            f"team-{n}",
            description="browser tests",
            member_definitions=[{"OidcMemberDefinition": {"Groups": [group]}}],
        )
        self.teams.append(team.name)
        return team.arn, group

    def job(
        self,
        template: str,
        *,
        task_count: int = 1,
        time_limit: int = 600,
        title: str | None = None,
        description: str | None = None,
        team: tuple[str, str] | None = None,
    ) -> tuple[flows.FlowDefinition, str]:
        """A task UI and an Active flow definition for a new work team (or `team`, from team()): (flow, group).
        (An account has at most 25 work teams: tests that make many jobs share one.)"""
        n = uuid.uuid4().hex[:10]
        team_arn, group = team or self.team()
        ui = flows.create_human_task_ui(self.svc, CALLER, f"ui-{n}", template)
        title = title or f"Browser job {n}"
        config = {
            "WorkteamArn": team_arn,
            "HumanTaskUiArn": ui.arn,
            "TaskCount": task_count,
            "TaskTitle": title,
            "TaskDescription": description or title,
            "TaskTimeLimitInSeconds": time_limit,
            "TaskAvailabilityLifetimeInSeconds": 86400,
        }
        flow = flows.create_flow_definition(
            self.svc,
            CALLER,
            f"fd-{n}",
            role_arn="arn:aws:iam::123456789012:role/a2i",
            output_config={"S3OutputPath": "s3://browser-bucket/out"},
            human_loop_config=config,
        )
        flows.describe_flow_definition(self.svc, CALLER, flow.name)
        return flow, group

    def worker(self, group: str) -> str:
        email = f"w-{uuid.uuid4().hex[:10]}@example.org"
        workers.add_worker(self.svc, email, password_hash=self.svc.passwords.hash(PASSWORD), groups=[group])
        return email

    def start_loop(self, flow: flows.FlowDefinition, content: Any) -> str:
        name = f"loop-{uuid.uuid4().hex[:12]}"
        loops.start_human_loop(self.svc, CALLER, name, flow.arn, json.dumps(content))
        return name

    def output(self, loop_name: str, timeout_s: float = 5.0) -> dict[str, Any]:
        """The loop's output.json; the server writes it in a background thread right after the answer is
        stored, so it is waited for (at most timeout_s)."""
        loop = loops.describe_human_loop(self.svc, CALLER, loop_name)
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                return dict(json.loads(self.svc.blobs.get(loop.output_uri)))
            except NotFound:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    def status(self, loop_name: str, *, settle_s: float = 0.0) -> str:
        """The loop's status once its output is recorded as written (the file is written a moment before its
        outbox row is settled, and Completed is reported only then): waits at most settle_s for a change."""
        deadline = time.monotonic() + settle_s
        while True:
            status = loops.describe_human_loop(self.svc, CALLER, loop_name).status.value
            if status != "InProgress" or time.monotonic() > deadline:
                return status
            time.sleep(0.05)


@pytest.fixture
def site(server: RunningServer, server_services: Services) -> Iterator[Site]:
    """The shared server of this xdist worker as the browser tests use it. The work teams a test made are
    deleted after it: an account has at most 25 per region, and every test of the worker shares the server."""
    made = Site(url=server.endpoint_url, svc=server_services, backend=server.backend)
    yield made
    for name in made.teams:
        workforce.delete_workteam(server_services, CALLER, name)


@dataclass
class Worker:
    """One worker's browser tab; console errors, page errors and CSP reports are collected."""

    site: Site
    page: Page
    problems: list[str] = field(default_factory=list)

    def sign_in(self, email: str, password: str = PASSWORD) -> None:
        page = self.page
        page.goto(self.site.url + "/")
        page.get_by_label("Email").fill(email)
        page.get_by_label("Password").fill(password)
        page.get_by_role("button", name="Sign in").click()
        expect(page.get_by_role("heading", name="Jobs", exact=True)).to_be_visible()

    def start(self, title: str) -> None:
        """Press Start working on the job with this title."""
        card = self.page.get_by_role("listitem").filter(has=self.page.get_by_role("heading", name=title))
        card.get_by_role("button", name="Start working").click()

    def wait_for_task(self) -> None:
        expect(self.page.locator("iframe")).to_have_count(1)
        self.page.wait_for_selector("[data-task][data-ready]", state="attached")

    @property
    def frame(self) -> Any:
        return self.page.frame_locator("iframe")

    def assignment_id(self) -> int:
        match = re.search(r"/tasks/(\d+)$", self.page.url)
        assert match, self.page.url
        return int(match.group(1))

    def check(self, *expected: str) -> None:
        """No console error, page error or CSP violation happened, except those containing `expected`."""
        unexpected = [p for p in self.problems if not any(e in p for e in expected)]
        assert not unexpected, "\n".join(unexpected)


@contextmanager
def open_worker(
    browser: Browser, site: Site, viewport: dict[str, int] = DESKTOP, locale: str | None = None
) -> Iterator[Worker]:
    """A fresh browser context (own cookies) on the site; locale: the browser's language (Accept-Language)."""
    context: BrowserContext = browser.new_context(viewport=viewport, locale=locale)  # type: ignore[arg-type]
    page = context.new_page()
    page.set_default_timeout(10_000)
    worker = Worker(site, page)

    def console(message: ConsoleMessage) -> None:
        if message.type == "error":
            worker.problems.append(f"console error: {message.text}")

    page.on("console", console)
    page.on("pageerror", lambda exc: worker.problems.append(f"page error: {exc}"))

    def response(reply: PlaywrightResponse) -> None:
        if reply.status >= 400:
            worker.problems.append(f"HTTP {reply.status}: {reply.url}")

    page.on("response", response)
    try:
        yield worker
    finally:
        context.close()
