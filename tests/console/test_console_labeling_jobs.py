"""The labeling jobs pages against a running `crowdloop serve` (SQLite and PostgreSQL): jobs created with boto3,
a worker answering through the queue, the console read over HTTP as a browser would; the internal flow a job
runs its tasks through is not shown as a flow definition."""

from __future__ import annotations

import html
import re
import time
import uuid
from collections.abc import Iterator
from typing import Any

import httpx2 as httpx
import pytest

from crowdloop import queue, urls, workers
from crowdloop.labeling import jobs
from crowdloop.runtime import Caller, Services
from tests.api.labeling_helpers import job_request, put_inputs, wait_status
from tests.api.sagemaker_helpers import make_workteam, unique
from tests.conftest import RunningServer
from tests.console.kit import ConsoleBrowser

JOBS = urls.CONSOLE_LABELING_JOBS
DOG = {"crowd-image-classifier": {"label": "dog"}}


class ServerConsole(ConsoleBrowser):
    """A browser on the running server (its own origin), signed in with the server's access key pair."""

    def __init__(self, server: RunningServer) -> None:
        self.client = httpx.Client(base_url=server.endpoint_url, follow_redirects=False)
        self.csrf = ""
        self.origin = server.endpoint_url

    def post(
        self, url: str, data: dict[str, str] | None = None, *, csrf: str | None = None, origin: str | None = None
    ) -> Any:
        return super().post(url, data, csrf=csrf, origin=origin or self.origin)


@pytest.fixture
def browser(server: RunningServer) -> Iterator[ServerConsole]:
    opened = ServerConsole(server)
    yield opened
    opened.close()


@pytest.fixture
def console(server: RunningServer, browser: ServerConsole) -> ServerConsole:
    browser.get("/console/signin")
    form = {"access_key_id": server.access_key_id, "secret_access_key": server.secret_access_key}
    assert browser.post("/console/signin", form).status_code == 303
    return browser


@pytest.fixture
def group() -> str:
    return unique("labelers")


def _job(sm: Any, s3: Any, group: str, objects: int, **extra: Any) -> str:
    lines = [{"source-ref": f"s3://pictures/{n}.jpg", "id": str(n)} for n in range(objects)]
    uris = put_inputs(s3, lines)
    name = unique("Pets")
    team = make_workteam(sm, groups=(group,))
    sm.create_labeling_job(**job_request(sm, name, uris, workteam_arn=team, **extra))
    wait_status(sm, name, "InProgress")
    return name


def _caller(server: RunningServer) -> Caller:
    return Caller(server.settings.account_id, server.region)


def _released(svc: Services, server: RunningServer, name: str, count: int) -> int:
    """The job's flow definition id once `count` objects are out with workers."""
    deadline = time.monotonic() + 20
    while True:
        job, _ = jobs.describe_labeling_job(svc, _caller(server), name)
        if job.flow_definition_id is not None and job.released >= count:
            return job.flow_definition_id
        assert time.monotonic() < deadline, job
        time.sleep(0.1)


def _answer(svc: Services, group: str, flow_id: int, count: int) -> None:
    worker = workers.add_worker(svc, f"{uuid.uuid4().hex[:10]}@example.org", groups=[group])
    for _ in range(count):
        lease = queue.claim(svc, worker.id, flow_id)
        assert lease is not None
        queue.submit(svc, lease.assignment_id, worker.id, DOG, time_spent_seconds=2.0)


def _text(markup: str) -> str:
    """Visible text: tags dropped, spaces collapsed."""
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", markup)))


def test_the_list_and_the_job_page_show_counters_objects_and_labels(
    server: RunningServer, server_services: Services, console: ServerConsole, sm: Any, s3: Any, group: str
) -> None:
    name = _job(sm, s3, group, 3)
    listed = console.get(JOBS)
    assert listed.status_code == 200
    row = listed.text.split(f">{name}</a>", 1)[1].split("</tr>", 1)[0]
    assert "InProgress" in row and "ImageMultiClass" in row
    assert "0 labeled · 0 failed · 3 unlabeled of 3" in _text(row)
    assert listed.headers["content-security-policy"].startswith("default-src 'none'")
    assert listed.headers["cache-control"] == "no-store"

    flow_id = _released(server_services, server, name, 3)
    _answer(server_services, group, flow_id, 3)
    described = wait_status(sm, name, "Completed")
    assert described["LabelCounters"]["TotalLabeled"] == 3

    page = console.get(urls.fill(urls.CONSOLE_LABELING_JOB, job=name))
    assert page.status_code == 200
    text = _text(page.text)
    assert "Completed" in text and "3 of 3" in text
    assert described["LabelingJobOutput"]["OutputDatasetS3Uri"] in text  # the output manifest, once ended
    for fact in ("Cats and dogs", "label", "in.manifest", "cat", "dog"):
        assert fact in text
    rows = page.text.split("<tbody>", 1)[1].split("</tbody>", 1)[0].split("<tr>")[1:]
    assert len(rows) == 3
    for number, cell in enumerate(rows):
        assert f'<td class="num">{number}</td>' in cell and "state-labeled" in cell
        assert f"s3://pictures/{number}.jpg" in cell
        assert ">1<" in cell and ">dog<" in cell  # the class index and its class-name from the metadata

    # the job's internal flow ("~<job id>") is no flow definition of the console
    internal = f"~{jobs.describe_labeling_job(server_services, _caller(server), name)[0].id}"
    overview = console.get(urls.CONSOLE)
    assert overview.status_code == 200 and internal not in overview.text
    assert internal not in {flow["name"] for flow in console.get(urls.CONSOLE_OVERVIEW_API).json()["flows"]}
    assert console.get(urls.fill(urls.CONSOLE_FLOW, flow=internal)).status_code == 404
    assert internal not in console.get(urls.CONSOLE_TEMPLATES).text
    assert f'href="{JOBS}"' in overview.text  # the overview and the navigation link to the jobs


def test_stop_needs_a_session_and_the_csrf_token(
    server: RunningServer, browser: ServerConsole, sm: Any, s3: Any, group: str
) -> None:
    name = _job(sm, s3, group, 2)
    page_url = urls.fill(urls.CONSOLE_LABELING_JOB, job=name)
    stop_url = urls.fill(urls.CONSOLE_LABELING_JOB_STOP, job=name)
    for url in (JOBS, page_url, stop_url):
        refused = browser.get(url)
        assert refused.status_code == 303 and refused.headers["location"].startswith(urls.CONSOLE_SIGNIN)
    assert browser.post(stop_url, csrf="x").status_code == 401
    assert sm.describe_labeling_job(LabelingJobName=name)["LabelingJobStatus"] == "InProgress"

    browser.get("/console/signin")
    form = {"access_key_id": server.access_key_id, "secret_access_key": server.secret_access_key}
    assert browser.post("/console/signin", form).status_code == 303
    job_page = browser.get(page_url)
    assert f'href="{stop_url}"' in job_page.text
    confirm = browser.get(stop_url)
    assert confirm.status_code == 200 and "Stop labeling job" in confirm.text and 'name="csrf_token"' in confirm.text
    assert browser.post(stop_url, csrf="not-the-token").status_code == 403
    assert browser.post(stop_url, origin="http://evil.test").status_code == 403
    assert sm.describe_labeling_job(LabelingJobName=name)["LabelingJobStatus"] == "InProgress"

    stopped = browser.post(stop_url)
    assert stopped.status_code == 303 and stopped.headers["location"] == page_url + "?done=stopped"
    assert sm.describe_labeling_job(LabelingJobName=name)["LabelingJobStatus"] in ("Stopping", "Stopped")
    after = browser.get(stopped.headers["location"])
    assert "The labeling job is stopping." in after.text and f'href="{stop_url}"' not in after.text


def test_objects_pages_filter_and_limits(
    server: RunningServer, server_services: Services, console: ServerConsole, sm: Any, s3: Any, group: str
) -> None:
    name = _job(sm, s3, group, 5)
    here = urls.fill(urls.CONSOLE_LABELING_JOB, job=name)
    flow_id = _released(server_services, server, name, 5)
    _answer(server_services, group, flow_id, 1)  # object 0 is labeled once consolidated
    deadline = time.monotonic() + 20
    while "state-labeled" not in (labeled := console.get(here + "?state=labeled")).text:
        assert time.monotonic() < deadline
        time.sleep(0.2)
    assert _indexes(labeled) == [0]

    seen, url, pages = [], here + "?limit=2", 0
    while url:
        page = console.get(html.unescape(url))
        assert page.status_code == 200
        seen += _indexes(page)
        pages += 1
        found = re.search(r'href="([^"]+)" rel="next"', page.text)
        url = found.group(1) if found else ""
        if found:
            assert "after=" in url and "limit=2" in url
    assert seen == [0, 1, 2, 3, 4] and pages == 3
    released = console.get(here + "?state=released&limit=2")
    assert _indexes(released) == [1, 2] and "state=released" in released.text.split('rel="next"')[0]

    for query in ("state=bogus", "limit=0", "limit=101", "after=abc", "after=12345678901"):
        assert console.get(f"{here}?{query}").status_code == 400, query
    assert console.get(JOBS + "?cursor=forged").status_code == 400
    assert console.get(JOBS + "?cursor=" + "x" * 600).status_code == 400
    missing = console.get(urls.fill(urls.CONSOLE_LABELING_JOB, job="no-such-job"))
    assert missing.status_code == 404 and "no-such-job" in missing.text
    assert console.get(urls.fill(urls.CONSOLE_LABELING_JOB, job="j" * 64)).status_code == 400
    sm.stop_labeling_job(LabelingJobName=name)


def _indexes(page: Any) -> list[int]:
    body = page.text.split("<tbody>", 1)[1].split("</tbody>", 1)[0] if "<tbody>" in page.text else ""
    return [int(n) for n in re.findall(r'<tr>\s*<td class="num">(\d+)</td>', body)]
