"""Revocation reaches held work, over HTTP against `crowdloop serve` (SQLite and PostgreSQL): a worker holds
a task, then StopHumanLoop, DeleteFlowDefinition, UpdateWorkteam, DeleteWorkteam (boto3), or the worker is
disabled or leaves the group (as the CLI does, in another process). At once the task page, its frame URL
and submit answer "no longer available"; DescribeHumanLoop tells what became of the loop."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from botocore.exceptions import ClientError

from crowdloop import flows, workers
from crowdloop.model import WorkerStatus
from crowdloop.runtime import Caller, Services
from tests.api.sagemaker_helpers import ROLE, make_task_ui, oidc_members, regional_client
from tests.conftest import RunningServer
from tests.portal.kit import HttpBrowser, add_worker

GONE_PAGE = "This task is no longer available"
GONE = "This task is no longer available."
ACCOUNT = "123456789012"  # the account of the server's access key
TEMPLATE = "<crowd-form><p>{{ task.input.text }}</p><crowd-input name='label'></crowd-input></crowd-form>"


@dataclass
class Job:
    """A work team selecting a fresh group, and a flow definition in a region of its own."""

    sm: Any
    a2i: Any
    s3: Any
    team: str
    group: str
    flow_name: str
    flow_arn: str
    flow_id: int  # the portal's job id

    def start_loop(self) -> str:
        name = f"loop-{uuid.uuid4().hex[:10]}"
        self.a2i.start_human_loop(
            HumanLoopName=name,
            FlowDefinitionArn=self.flow_arn,
            HumanLoopInput={"InputContent": json.dumps({"text": name})},
        )
        return name

    def status(self, loop: str) -> str:
        return str(self.a2i.describe_human_loop(HumanLoopName=loop)["HumanLoopStatus"])

    def settled_status(self, loop: str, timeout_s: float = 20.0) -> str:
        """The status once output.json (written in the background) is there: Stopping/InProgress are
        reported until then."""
        deadline = time.monotonic() + timeout_s
        status = self.status(loop)
        while status in ("Stopping", "InProgress") and time.monotonic() < deadline:
            time.sleep(0.1)
            status = self.status(loop)
        return status

    def output(self, loop: str) -> dict[str, Any]:
        uri = self.a2i.describe_human_loop(HumanLoopName=loop)["HumanLoopOutput"]["OutputS3Uri"]
        bucket, key = uri.removeprefix("s3://").split("/", 1)
        return dict(json.loads(self.s3.get_object(Bucket=bucket, Key=key)["Body"].read()))


@pytest.fixture
def job(server: RunningServer, server_services: Services) -> Job:
    sm = regional_client(server)
    region = sm.meta.region_name
    group = f"g-{uuid.uuid4().hex[:10]}"
    team = f"team-{uuid.uuid4().hex[:8]}"
    team_arn = sm.create_workteam(WorkteamName=team, Description="revocation", MemberDefinitions=oidc_members(group))[
        "WorkteamArn"
    ]
    flow_name = f"fd-{uuid.uuid4().hex[:8]}"
    flow_arn = sm.create_flow_definition(
        FlowDefinitionName=flow_name,
        RoleArn=ROLE,
        OutputConfig={"S3OutputPath": "s3://revoke-bucket/out"},
        HumanLoopConfig={
            "WorkteamArn": team_arn,
            "HumanTaskUiArn": make_task_ui(sm, content=TEMPLATE),
            "TaskTitle": "Label it",
            "TaskDescription": "Label it",
            "TaskCount": 2,
        },
    )["FlowDefinitionArn"]
    sm.describe_flow_definition(FlowDefinitionName=flow_name)
    flow = flows.describe_flow_definition(server_services, Caller(ACCOUNT, region), flow_name)
    return Job(
        sm=sm,
        a2i=regional_client(server, "sagemaker-a2i-runtime", region),
        s3=regional_client(server, "s3", region),
        team=team,
        group=group,
        flow_name=flow_name,
        flow_arn=flow_arn,
        flow_id=flow.id,
    )


@pytest.fixture
def open_http_browser(server: RunningServer) -> Iterator[Callable[[], HttpBrowser]]:
    opened: list[HttpBrowser] = []

    def open_browser() -> HttpBrowser:
        opened.append(HttpBrowser(server.endpoint_url))
        return opened[-1]

    yield open_browser
    for browser in opened:
        browser.close()


def _worker(
    svc: Services, job: Job, open_browser: Callable[[], HttpBrowser], groups: tuple[str, ...] | None = None
) -> tuple[str, HttpBrowser]:
    email = f"w-{uuid.uuid4().hex[:10]}@example.org"
    add_worker(svc, email, groups=groups or (job.group,))
    browser = open_browser()
    assert browser.sign_in(email).status_code == 303
    return email, browser


def _hold_task(browser: HttpBrowser, job: Job) -> tuple[int, str]:
    """Start working, load the task page and its frame (as a browser does): (assignment id, frame URL)."""
    assignment = browser.open_task(job.flow_id)
    frame_url = browser.frame_url(assignment)
    frame = browser.client.get(frame_url)
    assert frame.status_code == 200 and "crowd-form" in frame.text
    return assignment, frame_url


def _assert_no_longer_available(
    browser: HttpBrowser, assignment: int, frame_url: str, *, signed_out: bool = False
) -> None:
    frame = browser.client.get(frame_url)
    assert frame.status_code == 410, frame.text
    assert f"<p>{GONE}</p>" in frame.text
    page = browser.client.get(f"/tasks/{assignment}")
    submitted = browser.submit(assignment, {"label": "too late"})
    if signed_out:  # a disabled worker's session ends with their next request
        assert page.status_code == 303 and page.headers["location"].startswith("/signin")
        assert submitted.status_code == 401
        return
    assert page.status_code == 410, page.text
    assert GONE_PAGE in page.text
    assert submitted.status_code == 409, submitted.text
    assert submitted.json() == {"error": GONE, "reason": "gone", "next": f"/tasks/{assignment}"}


def test_stop_human_loop_withdraws_the_held_task(
    job: Job, server_services: Services, open_http_browser: Callable[[], HttpBrowser]
) -> None:
    loop = job.start_loop()
    _, first = _worker(server_services, job, open_http_browser)
    _, holder = _worker(server_services, job, open_http_browser)
    answered = first.open_task(job.flow_id)
    assert first.submit(answered, {"label": "first"}).status_code == 200
    assignment, frame_url = _hold_task(holder, job)

    job.a2i.stop_human_loop(HumanLoopName=loop)

    _assert_no_longer_available(holder, assignment, frame_url)
    assert job.settled_status(loop) == "Stopped"
    assert [a["answerContent"] for a in job.output(loop)["humanAnswers"]] == [{"label": "first"}]
    _, newcomer = _worker(server_services, job, open_http_browser)  # the withdrawn slot is not offered
    started = newcomer.start(job.flow_id)
    assert (started.status_code, started.headers["location"]) == (303, f"/jobs/{job.flow_id}/empty")


def test_delete_flow_definition_withdraws_the_held_task(
    job: Job, server_services: Services, open_http_browser: Callable[[], HttpBrowser]
) -> None:
    loop = job.start_loop()
    _, holder = _worker(server_services, job, open_http_browser)
    assignment, frame_url = _hold_task(holder, job)

    job.sm.delete_flow_definition(FlowDefinitionName=job.flow_name)

    _assert_no_longer_available(holder, assignment, frame_url)
    with pytest.raises(ClientError) as gone:  # nobody works on it any more: deleted with the flow
        job.a2i.describe_human_loop(HumanLoopName=loop)
    assert gone.value.response["Error"]["Code"] == "ResourceNotFoundException"


def _disable(svc: Services, email: str, job: Job) -> None:
    workers.set_status(svc, email, WorkerStatus.DISABLED)


def _leave(svc: Services, email: str, job: Job) -> None:
    workers.remove_from_groups(svc, email, [job.group])


def _team_changes(svc: Services, email: str, job: Job) -> None:
    job.sm.update_workteam(WorkteamName=job.team, MemberDefinitions=oidc_members(f"{job.group}-seniors"))


def _team_deleted(svc: Services, email: str, job: Job) -> None:
    job.sm.delete_workteam(WorkteamName=job.team)


@pytest.mark.parametrize("revoke", [_disable, _leave, _team_changes], ids=["disabled", "left-group", "team-changed"])
def test_revoking_the_worker_withdraws_the_task_and_returns_the_slot(
    job: Job,
    server_services: Services,
    open_http_browser: Callable[[], HttpBrowser],
    revoke: Callable[[Services, str, Job], None],
) -> None:
    loop = job.start_loop()
    email, holder = _worker(server_services, job, open_http_browser)
    assignment, frame_url = _hold_task(holder, job)
    newcomers = [
        _worker(server_services, job, open_http_browser, (job.group, f"{job.group}-seniors"))[1] for _ in range(2)
    ]

    revoke(server_services, email, job)

    _assert_no_longer_available(holder, assignment, frame_url, signed_out=revoke is _disable)
    assert job.status(loop) == "InProgress"
    for number, newcomer in enumerate(newcomers):  # the withdrawn slot is offered again: two answers
        taken = newcomer.open_task(job.flow_id)
        assert taken != assignment
        assert newcomer.submit(taken, {"label": f"newcomer {number}"}).status_code == 200
    assert job.settled_status(loop) == "Completed"
    assert sorted(a["answerContent"]["label"] for a in job.output(loop)["humanAnswers"]) == ["newcomer 0", "newcomer 1"]


def test_delete_workteam_withdraws_the_held_task(
    job: Job, server_services: Services, open_http_browser: Callable[[], HttpBrowser]
) -> None:
    loop = job.start_loop()
    _, holder = _worker(server_services, job, open_http_browser)
    assignment, frame_url = _hold_task(holder, job)

    _team_deleted(server_services, "", job)

    _assert_no_longer_available(holder, assignment, frame_url)
    assert job.status(loop) == "InProgress"  # no team works on it now; StopHumanLoop ends it
    job.a2i.stop_human_loop(HumanLoopName=loop)
    assert job.settled_status(loop) == "Stopped"
