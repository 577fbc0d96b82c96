"""The labeling jobs pages in Chromium against a running server (SQLite and PostgreSQL): a job created with boto3,
some objects labeled by a worker, the list and the job page opened from the navigation, clean for axe-core at
1280 and 390 px with nothing wider than the screen, the state filter used; Stop through its confirmation.

With CROWDLOOP_SCREENSHOTS=<folder> (scripts/console-screenshots) the pages are saved there as
labeling-jobs.png, labeling-job.png and labeling-job-stop.png (SQLite only; docs/console.md shows them)."""

from __future__ import annotations

import os
import time
import uuid
from pathlib import Path
from typing import Any

from playwright.sync_api import Browser, Page, expect

from crowdloop import queue, workers
from crowdloop.labeling import jobs
from crowdloop.runtime import Caller, Services
from tests.api.labeling_helpers import job_request, put_inputs, wait_status
from tests.api.sagemaker_helpers import make_workteam, unique
from tests.browser.axe import assert_accessible
from tests.browser.conftest import DESKTOP, PHONE
from tests.browser.test_console_overview import console_link, console_page
from tests.conftest import RunningServer

SHOTS = os.environ.get("CROWDLOOP_SCREENSHOTS", "")
PICTURES = ["tabby-on-sofa", "beagle-in-park", "kitten-asleep", "collie-running", "two-cats", "puppy-with-ball"]
LABELED = 4  # objects answered by all three workers (the queue hands out the oldest loops first)


def _label(input_content: str, worker: int) -> str:
    """What worker `worker` says the picture shows (the third one mistakes the collie for a cat)."""
    if any(word in input_content for word in ("tabby", "kitten", "two-cats")):
        return "cat"
    return "cat" if worker == 2 and "collie" in input_content else "dog"


def _labeled_job(svc: Services, server: RunningServer, sm: Any, s3: Any) -> str:
    """A job of six pictures, three workers per object; three workers answer the first LABELED objects."""
    group = unique("labelers")
    lines = [{"source-ref": f"s3://pets-photos/2026/{name}.jpg"} for name in PICTURES]
    uris = put_inputs(s3, lines, labels=("cat", "dog", "rabbit"))
    name = "pets-" + uuid.uuid4().hex[:6]
    team = make_workteam(sm, unique("pet-labelers"), groups=(group,))
    sm.create_labeling_job(**job_request(sm, name, uris, workteam_arn=team, attribute="animal", workers=3))
    wait_status(sm, name, "InProgress")
    caller = Caller(server.settings.account_id, server.region)
    deadline = time.monotonic() + 20
    while (job := jobs.describe_labeling_job(svc, caller, name)[0]).released < len(PICTURES):
        assert time.monotonic() < deadline, job
        time.sleep(0.1)
    assert job.flow_definition_id is not None
    for number in range(3):
        worker = workers.add_worker(svc, f"{uuid.uuid4().hex[:8]}@example.org", groups=[group])
        for _ in range(LABELED):
            lease = queue.claim(svc, worker.id, job.flow_definition_id)
            assert lease is not None
            answer = {"crowd-image-classifier": {"label": _label(lease.input_content, number)}}
            queue.submit(svc, lease.assignment_id, worker.id, answer, 4.0)
    while jobs.describe_labeling_job(svc, caller, name)[0].counters.total_labeled < LABELED:
        assert time.monotonic() < deadline + 20
        time.sleep(0.1)
    return name


def _look(page: Page, name: str, problems: list[str], shot: str | None) -> None:
    assert not problems, problems
    for viewport in (DESKTOP, PHONE):
        page.set_viewport_size(viewport)  # type: ignore[arg-type]
        assert_accessible(page, context=f"console {name} at {viewport['width']} px ({page.url})")
        wide = page.evaluate("() => document.documentElement.scrollWidth")
        assert wide <= viewport["width"], f"{name} is {wide} px wide at {viewport['width']} px"
    page.set_viewport_size(DESKTOP)  # type: ignore[arg-type]
    if SHOTS and shot:
        tall = page.evaluate("() => document.documentElement.scrollHeight")
        page.set_viewport_size({"width": DESKTOP["width"], "height": tall})
        page.screenshot(path=str(Path(SHOTS) / shot))
        page.set_viewport_size(DESKTOP)  # type: ignore[arg-type]


def test_the_labeling_job_pages(
    server: RunningServer, server_services: Services, browser: Browser, sm: Any, s3: Any
) -> None:
    name = _labeled_job(server_services, server, sm, s3)
    keep = server.backend == "sqlite"  # the screenshots come from one database (SQLite), as the tour's
    with console_page(browser) as (page, problems):
        page.goto(console_link(server))
        page.get_by_role("button", name="Continue to the console").click()
        expect(page.get_by_role("heading", name="Overview")).to_be_visible()
        page.get_by_role("navigation", name="Console").get_by_role("link", name="Labeling jobs").click()
        expect(page.get_by_role("heading", name="Labeling jobs")).to_be_visible()
        row = page.locator("tr").filter(has=page.get_by_role("link", name=name))
        expect(row).to_contain_text("4 labeled · 0 failed · 2 unlabeled of 6")
        _look(page, "labeling jobs", problems, "labeling-jobs.png" if keep else None)

        row.get_by_role("link", name=name).click()
        expect(page.get_by_role("heading", name=name)).to_be_visible()
        expect(page.locator(".objects-table tbody tr")).to_have_count(6)
        first = page.locator(".objects-table tbody tr").first
        expect(first).to_contain_text("labeled")
        expect(first).to_contain_text("cat")
        expect(page.locator(".label-list li")).to_have_text(["cat", "dog", "rabbit"])
        _look(page, "labeling job", problems, "labeling-job.png" if keep else None)

        page.get_by_label("State").select_option("released")
        page.get_by_role("button", name="Filter").click()
        expect(page.locator(".objects-table tbody tr")).to_have_count(2)
        assert "state=released" in page.url

        page.get_by_role("link", name="Stop…").click()
        expect(page.get_by_role("heading", name="Stop this labeling job?")).to_be_visible()
        _look(page, "labeling job stop", problems, "labeling-job-stop.png" if keep else None)
        page.get_by_role("button", name="Stop labeling job").click()
        expect(page.get_by_role("status")).to_have_text("The labeling job is stopping.")
        assert sm.describe_labeling_job(LabelingJobName=name)["LabelingJobStatus"] in ("Stopping", "Stopped")
        assert not problems, problems
