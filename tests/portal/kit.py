"""What the portal tests share: a browser-like client over the real portal app, and setting up jobs."""

from __future__ import annotations

import itertools
import json
import re
from typing import Any

import httpx2 as httpx
from starlette.testclient import TestClient

from crowdloop import flows, loops, workers, workforce
from crowdloop.model import Worker
from crowdloop.runtime import Caller, Services

PASSWORD = "correct horse battery"
CALLER = Caller(account="123456789012", region="us-east-1")
ORIGIN = "http://portal.test"
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
_FRAME = re.compile(r'<iframe[^>]* src="([^"]+)"')
_LEASE = re.compile(r'data-assignment="(\d+)"[^>]* data-lease="([^"]+)"', re.S)


def add_worker(svc: Services, email: str, groups: tuple[str, ...] = ("raters",), password: str = PASSWORD) -> Worker:
    return workers.add_worker(svc, email, password_hash=svc.passwords.hash(password), groups=groups)


class Browser:
    """One worker's browser: its own cookie jar, CSRF tokens taken from the pages it loads."""

    def __init__(self, app: Any, address: str = "testclient") -> None:
        self.client: httpx.Client = TestClient(app, base_url=ORIGIN, follow_redirects=False, client=(address, 50000))
        self.origin = ORIGIN
        self.csrf = ""
        self.leases: dict[int, str] = {}  # assignment id -> lease token of its task page

    def close(self) -> None:
        self.client.close()

    def get(self, url: str) -> httpx.Response:
        response = self.client.get(url)
        match = _CSRF.search(response.text)
        if match:
            self.csrf = match.group(1)
        lease = _LEASE.search(response.text)
        if lease:
            self.leases[int(lease.group(1))] = lease.group(2)
        return response

    def post(self, url: str, data: dict[str, str] | None = None, *, csrf: str | None = None) -> httpx.Response:
        form = {"csrf_token": self.csrf if csrf is None else csrf, **(data or {})}
        return self.client.post(url, data=form, headers={"Origin": self.origin})

    def sign_in(self, email: str, password: str = PASSWORD) -> httpx.Response:
        self.get("/signin")
        response = self.post("/signin", {"email": email, "password": password})
        if response.status_code == 303:
            self.get("/")
        return response

    def start(self, job_id: int) -> httpx.Response:
        """POST Start working; the task page's path is the Location of a 303."""
        return self.post(f"/jobs/{job_id}/start")

    def open_task(self, job_id: int) -> int:
        response = self.start(job_id)
        assert response.status_code == 303, response.text
        location = response.headers["location"]
        assert location.startswith("/tasks/"), location
        page = self.get(location)
        assert page.status_code == 200, page.text
        return int(location.rsplit("/", 1)[1])

    def submit(
        self,
        assignment_id: int,
        answer: Any,
        time_spent: Any = 1.0,
        csrf: str | None = None,
        lease: str | None = None,
        task_path: str | None = None,
    ) -> httpx.Response:
        """POST the answer as portal.js does, with the lease token of the task page (if it was loaded).
        task_path: the task page's path when it is not /tasks/<id> (a gold item's: /tasks/check/<id>)."""
        body = {
            "answer": answer,
            "timeSpentInSeconds": time_spent,
            "lease": self.leases.get(assignment_id) if lease is None else lease,
        }
        return self.client.post(
            f"{task_path or f'/tasks/{assignment_id}'}/submit",
            json=body,
            headers={"X-CSRF-Token": self.csrf if csrf is None else csrf, "Origin": self.origin},
        )

    def frame_url(self, assignment_id: int) -> str:
        return self.frame_url_at(f"/tasks/{assignment_id}")

    def frame_url_at(self, task_path: str) -> str:
        """The frame URL of the task page at task_path (a loop's task or a gold item's)."""
        page = self.get(task_path)
        match = _FRAME.search(page.text)
        assert match, page.text
        return match.group(1).replace("&amp;", "&")


class HttpBrowser(Browser):
    """A Browser over real HTTP, against a running `crowdloop serve` at base_url."""

    def __init__(self, base_url: str) -> None:
        self.client = httpx.Client(base_url=base_url, follow_redirects=False, timeout=30)
        self.origin = base_url
        self.csrf = ""
        self.leases = {}


_names = itertools.count(1)
TEMPLATE = """<script src="https://assets.crowd.aws/crowd-html-elements.js"></script>
<crowd-form><p class="prompt">{{ task.input.text }}</p>
<crowd-input name="label" label="Label" required></crowd-input></crowd-form>"""


def make_job(
    svc: Services,
    *,
    template: str = TEMPLATE,
    task_count: int = 1,
    time_limit: int = 600,
    groups: tuple[str, ...] = ("raters",),
    title: str | None = None,
    keywords: tuple[str, ...] = ("rank", "text"),
) -> flows.FlowDefinition:
    """A work team selecting `groups`, a task UI with `template` and an Active flow definition."""
    n = next(_names)
    team = workforce.create_workteam(
        svc,
        CALLER,
        f"team-{n}",
        description="team",
        member_definitions=[{"OidcMemberDefinition": {"Groups": list(groups)}}],
    )
    ui = flows.create_human_task_ui(svc, CALLER, f"ui-{n}", template)
    config = {
        "WorkteamArn": team.arn,
        "HumanTaskUiArn": ui.arn,
        "TaskCount": task_count,
        "TaskTitle": title or f"Job {n}",
        "TaskDescription": f"Describe job {n} carefully.",
        "TaskTimeLimitInSeconds": time_limit,
        "TaskAvailabilityLifetimeInSeconds": 86400,
        "TaskKeywords": list(keywords),
    }
    flow = flows.create_flow_definition(
        svc,
        CALLER,
        f"fd-{n}",
        role_arn="arn:aws:iam::123456789012:role/a2i",
        output_config={"S3OutputPath": "s3://bucket/out"},
        human_loop_config=config,
    )
    flows.describe_flow_definition(svc, CALLER, flow.name)
    return flow


def start_loop(
    svc: Services, flow: flows.FlowDefinition, content: dict[str, Any] | None = None, name: str | None = None
) -> str:
    name = name or f"loop-{next(_names)}"
    loops.start_human_loop(svc, CALLER, name, flow.arn, json.dumps(content or {"text": name}))
    return name


def output_of(svc: Services, loop_name: str) -> dict[str, Any]:
    loop = loops.describe_human_loop(svc, CALLER, loop_name)
    return dict(json.loads(svc.blobs.get(loop.output_uri)))
