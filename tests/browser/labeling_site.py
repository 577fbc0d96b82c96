"""Ground Truth labeling jobs labeled in a real browser: one `crowdloop serve` (SQLite, module-scoped like the
corpus portal's) with three signed-in workers, jobs created with boto3 from files in the server's built-in
S3, and the steps a worker takes in the portal (open the job, answer inside the task frame, Submit).

Helpers here only drive and read; the assertions on output manifests are in test_labeling_types.py.
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
from playwright.sync_api import Browser, ConsoleMessage, Frame, Page, expect
from playwright.sync_api import Response as PlaywrightResponse

from crowdloop import workers
from crowdloop.blobs import LocalBlobStore
from crowdloop.clock import SystemClock
from crowdloop.passwords import CHEAPEST, PasswordHasher
from crowdloop.runtime import Services
from crowdloop.store import open_store
from tests.api.labeling_helpers import ROLE, lambda_arn, wait_status
from tests.browser.portal_site import DESKTOP, PASSWORD
from tests.conftest import RunningServer, start_server, stop_server

GROUP = "gt-browser"
WORKER_EMAILS = ("ada@example.org", "bo@example.org", "cy@example.org")
FRAME_URL = re.compile(r"/tasks/\d+/frame\?")
TASK_URL = re.compile(r"/tasks/(\d+)$")
DATE = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}")
NER_UI = "arn:aws:sagemaker:us-east-1:394669845002:human-task-ui/NamedEntityRecognition"


@dataclass
class LabelingSite:
    server: RunningServer
    sm: Any
    s3: Any
    team_arn: str
    states: list[dict[str, Any]]  # each worker's signed-in storage state (cookies)


@pytest.fixture(scope="module")
def labeling_site(browser: Browser, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabelingSite]:
    data_dir = tmp_path_factory.mktemp("gt-browser")
    server = start_server(data_dir, f"sqlite:///{data_dir / 'crowdloop.db'}")
    try:
        store = open_store(server.database_url, migrate=False)
        svc = Services(
            settings=server.settings,
            store=store,
            clock=SystemClock(),
            blobs=LocalBlobStore(server.settings.output_path),
            passwords=PasswordHasher(CHEAPEST),
        )
        try:
            for email in WORKER_EMAILS:
                workers.add_worker(svc, email, password_hash=svc.passwords.hash(PASSWORD), groups=[GROUP])
        finally:
            store.dispose()
        sm, s3 = server.client("sagemaker"), server.client("s3")
        team_arn = sm.create_workteam(
            WorkteamName="gt-browser",
            Description="labelers in the browser",
            MemberDefinitions=[{"OidcMemberDefinition": {"Groups": [GROUP]}}],
        )["WorkteamArn"]
        yield LabelingSite(server, sm, s3, team_arn, [_sign_in(browser, server.endpoint_url, e) for e in WORKER_EMAILS])
    finally:
        stop_server(server)


def _sign_in(browser: Browser, url: str, email: str) -> dict[str, Any]:
    context = browser.new_context(viewport=DESKTOP)  # type: ignore[arg-type]
    try:
        page = context.new_page()
        page.goto(url + "/signin")
        page.get_by_label("Email").fill(email)
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        expect(page.get_by_role("heading", name="Jobs", exact=True)).to_be_visible()
        return dict(context.storage_state())
    finally:
        context.close()


# ---- the job ----


@dataclass
class Job:
    name: str
    title: str
    bucket: str
    attribute: str
    lines: list[dict[str, Any]]

    def output_lines(self, s3: Any) -> list[str]:
        key = f"output/{self.name}/manifests/output/output.manifest"
        body: bytes = s3.get_object(Bucket=self.bucket, Key=key)["Body"].read()
        return body.decode().splitlines()


def create_job(
    site: LabelingSite,
    task_type: str | None,
    lines: list[dict[str, Any]],
    *,
    labels: list[dict[str, Any]] | None,
    template: str | None = None,
    ui_arn: str | None = None,
    instructions: dict[str, str] | None = None,
    files: dict[str, tuple[bytes, str]] | None = None,
    workers_per_object: int = 1,
    attribute: str = "label",
) -> Job:
    """A new bucket with the manifest (`{bucket}` in a string value of `lines` becomes the bucket's name), the
    label file, the template and `files` (key -> (body, content type)), then CreateLabelingJob shaped as
    the notebooks send it; returns once the job is InProgress."""
    n = uuid.uuid4().hex[:8]
    bucket, name = f"gt-{n}", f"{(task_type or 'custom').lower()}-{n}"
    lines = [{k: v.replace("{bucket}", bucket) if isinstance(v, str) else v for k, v in line.items()} for line in lines]
    s3 = site.s3
    s3.create_bucket(Bucket=bucket)
    for key, (body, content_type) in (files or {}).items():
        s3.put_object(Bucket=bucket, Key=key, Body=body, ContentType=content_type)
    manifest = "".join(json.dumps(line) + "\n" for line in lines)
    s3.put_object(Bucket=bucket, Key="input/in.manifest", Body=manifest.encode())
    title = f"Label {name}"
    human: dict[str, Any] = {
        "WorkteamArn": site.team_arn,
        "TaskTitle": title,
        "TaskDescription": f"Browser test {name}",
        "NumberOfHumanWorkersPerDataObject": workers_per_object,
        "TaskTimeLimitInSeconds": 300,
    }
    if template is not None:
        s3.put_object(Bucket=bucket, Key="input/template.liquid", Body=template.encode())
        human["UiConfig"] = {"UiTemplateS3Uri": f"s3://{bucket}/input/template.liquid"}
    else:
        human["UiConfig"] = {"HumanTaskUiArn": ui_arn}
    if task_type is not None:
        human["PreHumanTaskLambdaArn"] = lambda_arn("PRE", task_type)
        human["AnnotationConsolidationConfig"] = {"AnnotationConsolidationLambdaArn": lambda_arn("ACS", task_type)}
    request: dict[str, Any] = {
        "LabelingJobName": name,
        "LabelAttributeName": attribute,
        "InputConfig": {"DataSource": {"S3DataSource": {"ManifestS3Uri": f"s3://{bucket}/input/in.manifest"}}},
        "OutputConfig": {"S3OutputPath": f"s3://{bucket}/output/"},
        "RoleArn": ROLE,
        "HumanTaskConfig": human,
    }
    if labels is not None:
        document: dict[str, Any] = {"document-version": "2018-11-28", "labels": labels}
        if instructions is not None:
            document["instructions"] = instructions
        s3.put_object(Bucket=bucket, Key="input/labels.json", Body=json.dumps(document).encode())
        request["LabelCategoryConfigS3Uri"] = f"s3://{bucket}/input/labels.json"
    site.sm.create_labeling_job(**request)
    wait_status(site.sm, name, "InProgress")
    return Job(name, title, bucket, attribute, lines)


def finish(site: LabelingSite, job: Job) -> list[dict[str, Any]]:
    """Wait for Completed; the output manifest's lines, parsed (key order kept)."""
    wait_status(site.sm, job.name, "Completed")
    return [json.loads(text) for text in job.output_lines(site.s3)]


# ---- the worker ----


@dataclass
class LabelingWorker:
    """One worker's tab; console errors, page errors and failed responses are collected."""

    url: str
    page: Page
    problems: list[str] = field(default_factory=list)

    def open_job(self, title: str) -> Frame:
        """Jobs -> Start working on the job titled `title`; the task frame once its elements are ready.
        The job's first tasks reach the portal a moment after InProgress: the list is reloaded until then."""
        page = self.page
        card = page.locator("li.job").filter(has=page.get_by_role("heading", name=title, exact=True))
        deadline = time.monotonic() + 20
        while True:
            page.goto(self.url + "/")
            if card.count() or time.monotonic() > deadline:
                break
            page.wait_for_timeout(200)
        card.get_by_role("button", name="Start working").click()
        return self.task_frame()

    def task_frame(self) -> Frame:
        page = self.page
        page.wait_for_url(TASK_URL)
        page.wait_for_selector("[data-task][data-ready]", state="attached")
        frame = page.frame(url=FRAME_URL)
        assert frame is not None, "no task frame"
        return frame

    def task_id(self) -> int:
        match = TASK_URL.search(self.page.url)
        assert match, self.page.url
        return int(match.group(1))

    def submitted(self, before: int) -> bool:
        """After Submit: wait until the portal moved on from task `before`; True when it opened another
        task of the job, False on "No tasks left"."""
        page = self.page
        page.wait_for_url(
            lambda url: url.endswith("/empty") or bool((m := TASK_URL.search(url)) and int(m.group(1)) != before),
            timeout=15_000,
        )
        if page.url.endswith("/empty"):
            expect(page.get_by_role("heading", name="No tasks left")).to_be_visible()
            return False
        return True

    def frame_offset(self, frame: Frame) -> tuple[float, float]:
        """Where the frame's viewport starts on the page (mouse coordinates are the page's)."""
        x, y = frame.frame_element().evaluate(
            "e => { const r = e.getBoundingClientRect(), s = getComputedStyle(e); return ["
            " r.left + e.clientLeft + parseFloat(s.paddingLeft), r.top + e.clientTop + parseFloat(s.paddingTop)]; }"
        )
        return float(x), float(y)

    def drag(self, start: tuple[float, float], end: tuple[float, float]) -> None:
        mouse = self.page.mouse
        mouse.move(*start)
        mouse.down()
        mouse.move((start[0] + end[0]) / 2, (start[1] + end[1]) / 2, steps=4)
        mouse.move(*end, steps=4)
        mouse.up()

    def check(self) -> None:
        assert not self.problems, "\n".join(self.problems)


@contextmanager
def open_worker(browser: Browser, site: LabelingSite, number: int) -> Iterator[LabelingWorker]:
    """Worker `number` (0-2), signed in, in a fresh browser context."""
    context = browser.new_context(viewport=DESKTOP, storage_state=site.states[number])  # type: ignore[arg-type]
    page = context.new_page()
    page.set_default_timeout(10_000)
    worker = LabelingWorker(site.server.endpoint_url, page)

    def console(message: ConsoleMessage) -> None:
        if message.type == "error":
            worker.problems.append(f"console error: {message.text}")

    def response(reply: PlaywrightResponse) -> None:
        if reply.status >= 400:
            worker.problems.append(f"HTTP {reply.status}: {reply.url}")

    page.on("console", console)
    page.on("pageerror", lambda exc: worker.problems.append(f"page error: {exc}"))
    page.on("response", response)
    try:
        yield worker
    finally:
        context.close()


def label_job(browser: Browser, site: LabelingSite, number: int, title: str, answer: Any) -> int:
    """Worker `number` takes every task of the job it is given: `answer(worker, frame)` labels the task in
    the frame and presses Submit. Returns how many tasks the worker labeled."""
    with open_worker(browser, site, number) as worker:
        frame = worker.open_job(title)
        done = 0
        while True:
            before = worker.task_id()
            answer(worker, frame)
            done += 1
            if not worker.submitted(before):
                break
            frame = worker.task_frame()
        worker.check()
        return done
