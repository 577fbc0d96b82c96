"""GET /metrics (crowdloop.metrics, crowdloop.metrics_http), on SQLite and PostgreSQL.

Access: no route at all without metrics_token (404), 401 + WWW-Authenticate without the right bearer
token, never on the task frame's host. Values: a real `crowdloop serve` with a token, real boto3
StartHumanLoop calls and the demo worker answering through the portal over HTTP; the scrape parsed with
prometheus_client's parser must show the loops, answers, queue depth, histograms and request counts.
Labels: route templates and operations, never raw paths (1,000 distinct loop URLs add no label value).
"""

from __future__ import annotations

import dataclasses
import json
import re
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from crowdloop import urls
from crowdloop.app import CrowdloopApp
from crowdloop.clock import ManualClock
from crowdloop.runtime import Services
from crowdloop.secret import Secret
from tests.api.metrics_helpers import BEARER, TOKEN, Scrape, total
from tests.conftest import BACKENDS, RunningServer, start_server, stop_server
from tests.e2e.portal_connection import PortalConnection
from tests.pg import PostgresServer

ORIGIN = "http://127.0.0.1:8080"


def _app(services: Services, **settings: Any) -> CrowdloopApp:
    """The root app in-process (no lifespan: nothing runs in the background)."""
    changed = dataclasses.replace(services.settings, port=8080, **settings)
    return CrowdloopApp(dataclasses.replace(services, settings=changed))


@pytest.fixture
def metrics_client(services: Services) -> Iterator[TestClient]:
    app = _app(services, metrics_token=Secret(TOKEN), auth="off")
    client = TestClient(app, base_url=ORIGIN, follow_redirects=False)
    yield client
    client.close()
    app.close()


# --- access ---------------------------------------------------------------------------------------------


def test_no_metrics_route_without_a_token(services: Services) -> None:
    app = _app(services)
    assert app.services.metrics is None  # nothing is measured either
    with TestClient(app, base_url=ORIGIN) as client:
        for headers in ({}, BEARER, {"Authorization": "Bearer "}):
            reply = client.get(urls.METRICS, headers=headers)
            assert reply.status_code == 404, reply.text
            assert "crowdloop_" not in reply.text
    app.close()


@pytest.mark.parametrize(
    "authorization",
    [
        None,
        "",
        "Bearer",
        "Bearer ",
        "Bearer wrong-token",
        f"Bearer {TOKEN}x",
        f"Bearer {TOKEN[:-1]}",
        f"bearer{TOKEN}",
        f"Basic {TOKEN}",
        TOKEN,
    ],
)
def test_metrics_refused_without_the_bearer_token(metrics_client: TestClient, authorization: str | None) -> None:
    headers = {} if authorization is None else {"Authorization": authorization}
    reply = metrics_client.get(urls.METRICS, headers=headers)
    assert reply.status_code == 401, reply.text
    assert reply.headers["www-authenticate"].startswith("Bearer")
    assert "crowdloop_" not in reply.text and TOKEN not in reply.text


def test_metrics_with_the_token(metrics_client: TestClient) -> None:
    reply = metrics_client.get(urls.METRICS, headers=BEARER)
    assert reply.status_code == 200, reply.text
    assert reply.headers["content-type"].startswith("text/plain; version=")
    assert reply.headers["cache-control"] == "no-store"
    scrape = Scrape(reply.text)
    for family in ("crowdloop_loops", "crowdloop_answers", "crowdloop_tasks_waiting", "crowdloop_http_requests"):
        assert family in scrape.families, sorted(scrape.families)
    assert scrape.value("crowdloop_outbox_pending", kind="output") == 0
    assert scrape.value("crowdloop_outbox_lag_seconds", kind="output") == 0
    assert "process_cpu_seconds" in scrape.families  # prometheus_client's process metrics


def test_metrics_show_each_subscriptions_deliveries(metrics_client: TestClient, services: Services) -> None:
    from crowdloop import deliveries, subscriptions
    from tests.domain.loopsetup import make_flow, start

    subscription = subscriptions.create(
        services,
        kind="webhook",
        target="http://93.184.216.34/hook",  # public; never called (no dispatcher runs here)
        pattern='{"version": ["0"]}',
        created_by="test",
        probe=lambda url, timeout: None,
    )
    flow = make_flow(services)
    start(services, flow)
    start(services, flow)
    assert isinstance(services.clock, ManualClock)
    services.clock.advance(30)
    [oldest] = deliveries.claim(services, subscription.id, "lane", 1)
    deliveries.settle(services, "lane", [(oldest, _Failed())])
    scrape = Scrape(metrics_client.get(urls.METRICS, headers=BEARER).text)
    label = {"subscription": str(subscription.id)}
    assert scrape.value("crowdloop_deliveries_pending", **label) == 2
    assert scrape.value("crowdloop_deliveries_failed", **label) == 0
    assert scrape.value("crowdloop_delivery_lag_seconds", **label) == 30  # the one not yet tried


@dataclasses.dataclass(frozen=True)
class _Failed:
    ok: bool = False
    status: int | None = 500
    error: str = "HTTP 500"
    retry_after_seconds: float | None = None


def test_metrics_answers_only_get_and_reads_no_body(metrics_client: TestClient) -> None:
    reply = metrics_client.post(urls.METRICS, headers=BEARER, content=b"x")
    assert (reply.status_code, reply.headers["allow"]) == (405, "GET")
    assert metrics_client.post(urls.METRICS, content=b"x").status_code == 401  # the token is checked first
    big = metrics_client.post(urls.METRICS, headers=BEARER, content=b"x" * (1024 * 1024))
    assert big.status_code == 413


def test_metrics_not_on_the_task_frame_host(services: Services) -> None:
    app = _app(services, metrics_token=Secret(TOKEN), task_frame_origin="http://frames.test:8080")
    with TestClient(app, base_url=ORIGIN) as client:
        assert client.get(urls.METRICS, headers=BEARER).status_code == 200
        on_frames = client.get(urls.METRICS, headers={**BEARER, "Host": "frames.test:8080"})
        assert on_frames.status_code == 404 and "crowdloop_" not in on_frames.text
    app.close()


def test_each_app_has_its_own_registry(services: Services) -> None:
    apps = [_app(services, metrics_token=Secret(TOKEN)) for _ in range(2)]  # no "duplicated timeseries"
    clients = [TestClient(app, base_url=ORIGIN) for app in apps]
    try:
        for _ in range(3):
            clients[0].get(urls.SIGNIN)
        counts = [
            Scrape(client.get(urls.METRICS, headers=BEARER).text).value(
                "crowdloop_http_requests_total", destination="portal", route=urls.SIGNIN, method="GET", status="200"
            )
            for client in clients
        ]
        assert counts == [3, None]
    finally:
        for client, app in zip(clients, apps, strict=True):
            client.close()
            app.close()


def test_secret_masks_the_token(services: Services) -> None:
    settings = dataclasses.replace(services.settings, metrics_token=Secret(TOKEN))
    assert TOKEN not in repr(settings) and TOKEN not in str(settings.masked())


# --- bounded labels ----------------------------------------------------------------------------------------


def _visit(client: TestClient, n: int) -> None:
    """Requests naming loop n: its portal task page and frame, an A2I DescribeHumanLoop, a stray path."""
    name = f"loop-{n}-{uuid.uuid4().hex[:8]}"
    assert client.get(urls.task(n)).status_code == 303  # not signed in: to the sign-in page
    assert client.get(f"/tasks/{n}/frame?token=x").status_code in (403, 404)
    assert client.get(f"/human-loops/{name}").status_code == 404  # ResourceNotFound
    assert client.get(f"/loops/{name}").status_code == 404
    assert client.get(f"/_crowdloop/templates/{n:064d}").status_code == 404


def test_route_labels_do_not_grow_with_distinct_urls(metrics_client: TestClient) -> None:
    for n in range(1, 6):
        _visit(metrics_client, n)
    before = Scrape(metrics_client.get(urls.METRICS, headers=BEARER).text)
    for n in range(1000, 2000):
        _visit(metrics_client, n)
    after = Scrape(metrics_client.get(urls.METRICS, headers=BEARER).text)
    name = "crowdloop_http_requests_total"
    assert after.label_sets(name) - before.label_sets(name) == {
        (("destination", "metrics"), ("method", "GET"), ("route", urls.METRICS), ("status", "200"))
    }  # the first scrape itself: counted once it was answered
    routes = {dict(labels)["route"] for labels in after.label_sets(name)}
    assert routes == {
        urls.TASK,
        urls.TASK_FRAME,
        "DescribeHumanLoop",
        "unmatched",
        urls.TEMPLATE,
        urls.METRICS,
    }, routes
    values = {value for labels in after.label_sets(name) for key, value in labels if key != "status"}
    assert not [value for value in values if re.search(r"/\d|\d{4}|loop-", value)], values
    tasks = after.value(name, destination="portal", route=urls.TASK, method="GET", status="303")
    assert tasks == 1005


# --- values from a real server -----------------------------------------------------------------------------


@pytest.fixture(scope="module", params=BACKENDS)
def metrics_server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    data_dir = tmp_path_factory.mktemp(f"metrics-{request.param}")
    if request.param == "sqlite":
        url = f"sqlite:///{data_dir / 'crowdloop.db'}"
    else:
        postgres: PostgresServer = request.getfixturevalue("postgres")
        url = postgres.create_database()
    server = start_server(data_dir, url, request.param, extra_env={"CROWDLOOP_METRICS_TOKEN": TOKEN})
    yield server
    stop_server(server)


def _scrape(server: RunningServer) -> Scrape:
    call = urllib.request.Request(server.endpoint_url + urls.METRICS, headers=BEARER)
    with urllib.request.urlopen(call, timeout=30) as reply:
        assert reply.status == 200
        return Scrape(reply.read().decode())


def _flow(server: RunningServer, name: str) -> str:
    """A flow definition for the demo worker's group (one answer per loop); its ARN."""
    sm = server.client("sagemaker")
    team = sm.create_workteam(
        WorkteamName=f"{name}-team",
        Description="metrics",
        MemberDefinitions=[{"OidcMemberDefinition": {"Groups": ["demo"]}}],
    )
    ui = sm.create_human_task_ui(
        HumanTaskUiName=f"{name}-ui", UiTemplate={"Content": "<crowd-form><p>{{ task.input.n }}</p></crowd-form>"}
    )
    arn: str = sm.create_flow_definition(
        FlowDefinitionName=name,
        RoleArn="arn:aws:iam::123456789012:role/metrics",
        HumanLoopConfig={
            "WorkteamArn": team["WorkteamArn"],
            "HumanTaskUiArn": ui["HumanTaskUiArn"],
            "TaskCount": 1,
            "TaskTitle": f"metrics {name}",
            "TaskDescription": "metrics",
        },
        OutputConfig={"S3OutputPath": f"s3://metrics/{name}"},
    )["FlowDefinitionArn"]
    sm.describe_flow_definition(FlowDefinitionName=name)  # Initializing -> Active
    return arn


def _demo_worker(server: RunningServer) -> tuple[str, str]:
    email, _, password = (server.data_dir / "demo-worker.txt").read_text().strip().partition(" ")
    return email, password


def test_metrics_follow_loops_and_answers(metrics_server: RunningServer) -> None:
    server = metrics_server
    flow = "metrics-" + uuid.uuid4().hex[:8]
    arn = _flow(server, flow)
    a2i = server.client("sagemaker-a2i-runtime")
    loop_names = [f"loop-{uuid.uuid4().hex[:12]}" for _ in range(3)]
    for n, name in enumerate(loop_names):
        a2i.start_human_loop(
            HumanLoopName=name, FlowDefinitionArn=arn, HumanLoopInput={"InputContent": json.dumps({"n": n})}
        )
    first = _scrape(server)
    assert first.value("crowdloop_loops", flow=flow, status="InProgress") == 3
    assert first.value("crowdloop_loops", flow=flow, status="Completed") == 0
    assert first.value("crowdloop_answers_total", flow=flow) == 0
    assert first.value("crowdloop_tasks_waiting", flow=flow) == 3
    assert first.value("crowdloop_api_request_seconds_count", operation="StartHumanLoop") == 3
    assert first.value("crowdloop_api_request_seconds_count", operation="CreateFlowDefinition") == 1

    portal = PortalConnection(server.port)
    try:
        portal.sign_in(*_demo_worker(server))
        job = _job_id(portal, f"metrics {flow}")
        assignment, lease = portal.open_task(job)
        answered = portal.submit(assignment, lease, {"choice": "a"})
        assert answered.status == 200, answered.text
        following = answered.json()["next"]
        assignment, lease = int(following.rsplit("/", 1)[1]), _lease(portal, following)
        assert portal.submit(assignment, lease, {"choice": "b"}).status == 200
    finally:
        portal.close()

    scrape = _scrape(server)
    assert scrape.value("crowdloop_loops", flow=flow, status="Completed") == 2
    assert scrape.value("crowdloop_loops", flow=flow, status="InProgress") == 1
    assert scrape.value("crowdloop_answers_total", flow=flow) == 2
    assert scrape.value("crowdloop_tasks_waiting", flow=flow) == 0  # the third is leased to the worker now
    assert scrape.value("crowdloop_submit_seconds_count") == 2
    assert scrape.value("crowdloop_claim_seconds_count") == 3  # the job's start and one after each submit
    assert (scrape.value("crowdloop_submit_seconds_sum") or 0) > 0
    submits = scrape.value(
        "crowdloop_http_requests_total", destination="portal", route=urls.TASK_SUBMIT, method="POST", status="200"
    )
    assert submits == 2
    starts = scrape.matching("crowdloop_http_requests_total", destination="sagemaker-a2i-runtime")
    assert total(s for s in starts if ("route", "StartHumanLoop") in s.labels) == 3
    assert scrape.value("crowdloop_outbox_pending", kind="output") is not None
    assert (scrape.value("crowdloop_outbox_lag_seconds", kind="output") or 0) >= 0
    labels = scrape.label_values()
    assert not any(name in value for name in loop_names for value in labels)
    assert not any(re.fullmatch(r"/(tasks|jobs)/\d+.*", value) for value in labels), labels


def _job_id(portal: PortalConnection, title: str) -> int:
    page = portal.get("/").text
    found = re.search(rf'id="job-(\d+)-title">{re.escape(title)}<', page)
    assert found, page
    return int(found.group(1))


def _lease(portal: PortalConnection, task_path: str) -> str:
    page = portal.get(task_path)
    assert page.status == 200, page.text
    found = re.search(r'data-lease="([^"]+)"', page.text)
    assert found, page.text
    return found.group(1)


def test_docs_name_every_metric(metrics_client: TestClient) -> None:
    scrape = Scrape(metrics_client.get(urls.METRICS, headers=BEARER).text)
    documented = (Path(__file__).parents[2] / "docs" / "metrics.md").read_text()
    ours = {name.removesuffix("_created") for name in scrape.families if name.startswith("crowdloop_")}
    assert ours and all(f"`{name}" in documented for name in ours), ours
