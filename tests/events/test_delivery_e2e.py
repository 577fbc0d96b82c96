"""Events reach webhook receivers reliably: real `crowdloop serve` processes, real receivers
(tests/events/receiver.py, checking every signature with the standardwebhooks library), real boto3 and the
real portal. A receiver that is down, answers 500 or hangs, a server killed with SIGKILL, two servers on one
PostgreSQL database: every event still arrives, each under one webhook-id, never sent twice at once."""

from __future__ import annotations

import json
import os
import signal
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

import pytest

from crowdloop import deliveries, subscriptions
from crowdloop.app import build_services
from crowdloop.config import Settings
from crowdloop.runtime import Services
from crowdloop.secret import SecretUrl
from crowdloop.store.tables import human_loops
from crowdloop.webhook_signing import generate_secret
from tests.conftest import BACKENDS, RunningServer, start_server, stop_server
from tests.e2e.portal_connection import PortalConnection
from tests.events.receiver import Arrival, WebhookReceiver
from tests.pg import PostgresServer

pytestmark = pytest.mark.slow

ENV = {
    "CROWDLOOP_WEBHOOK_ALLOW_PRIVATE_TARGETS": "true",
    "CROWDLOOP_WEBHOOK_TIMEOUT_SECONDS": "1",
    "CROWDLOOP_REAPER_INTERVAL_SECONDS": "0.5",
    "CROWDLOOP_LOG_LEVEL": "warning",
}
EVERYTHING = '{"version": ["0"]}'  # every event has version "0"
STARTED = "crowdloop HumanLoop Started"
ANSWERED = "crowdloop Answer Submitted"
STATUS_CHANGE = "SageMaker A2I HumanLoop Status Change"


# --- plumbing ------------------------------------------------------------------------------------------------


@dataclass
class Stack:
    """A server, the test's own Services on the server's database, and the flow definitions' ARNs."""

    server: RunningServer
    svc: Services
    flows: dict[str, str]  # name -> ARN

    def subscribe(self, receiver: WebhookReceiver, secret: str) -> int:
        subscription = subscriptions.create(
            self.svc, kind="webhook", target=receiver.url, pattern=EVERYTHING, created_by="e2e", secret=secret
        )
        return subscription.id

    def start_loops(self, count: int, flow: str = "one", server: RunningServer | None = None) -> dict[str, float]:
        """Start `count` loops; loop ARN -> time.monotonic() when its StartHumanLoop call returned."""
        a2i = (server or self.server).client("sagemaker-a2i-runtime")
        returned = {}
        for _ in range(count):
            arn = _start_loop(a2i, self.flows[flow])
            returned[arn] = time.monotonic()
        return returned


class StackFactory(Protocol):
    def __call__(self, backend: str, env: dict[str, str] | None = None) -> Stack: ...


def _database_url(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    if backend == "sqlite":
        return f"sqlite:///{tmp_path / 'crowdloop.db'}"
    postgres: PostgresServer = request.getfixturevalue("postgres")
    return postgres.create_database()


@pytest.fixture
def stack_factory(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[StackFactory]:
    made: list[Stack] = []

    def make(backend: str, env: dict[str, str] | None = None) -> Stack:
        url = _database_url(backend, tmp_path, request)
        server = start_server(tmp_path, url, backend, {**ENV, **(env or {})})
        svc = build_services(
            Settings(
                data_dir=str(tmp_path),
                database_url=SecretUrl(url),
                port=server.port,
                webhook_allow_private_targets=True,
            )
        )
        stack = Stack(server, svc, _set_up_flows(server))
        made.append(stack)
        return stack

    yield make
    for stack in made:
        stop_server(stack.server)
        stack.svc.store.dispose()


def _set_up_flows(server: RunningServer) -> dict[str, str]:
    """Two flow definitions for the demo worker's group: "one" (TaskCount 1) and "two" (TaskCount 2)."""
    sm = server.client("sagemaker")
    team = sm.create_workteam(
        WorkteamName="events-team",
        Description="events e2e",
        MemberDefinitions=[{"OidcMemberDefinition": {"Groups": ["demo"]}}],
    )
    ui = sm.create_human_task_ui(
        HumanTaskUiName="events-ui", UiTemplate={"Content": "<crowd-form><p>{{ task.input.n }}</p></crowd-form>"}
    )
    flows = {}
    for name, task_count in (("one", 1), ("two", 2)):
        flows[name] = sm.create_flow_definition(
            FlowDefinitionName=f"events-{name}",
            RoleArn="arn:aws:iam::123456789012:role/events",
            HumanLoopConfig={
                "WorkteamArn": team["WorkteamArn"],
                "HumanTaskUiArn": ui["HumanTaskUiArn"],
                "TaskCount": task_count,
                "TaskTitle": f"events {name}",
                "TaskDescription": "events e2e",
            },
            OutputConfig={"S3OutputPath": "s3://events/out"},
        )["FlowDefinitionArn"]
    return flows


def _start_loop(a2i: Any, flow_arn: str, name: str | None = None) -> str:
    name = name or "loop-" + uuid.uuid4().hex[:12]
    reply = a2i.start_human_loop(
        HumanLoopName=name, FlowDefinitionArn=flow_arn, HumanLoopInput={"InputContent": json.dumps({"n": name})}
    )
    return str(reply["HumanLoopArn"])


def _loop_of(arrival: Arrival) -> str:
    return str(arrival.event["resources"][0])


def _started_arns(arrivals: list[Arrival]) -> set[str]:
    return {_loop_of(a) for a in arrivals if a.accepted and a.event["detail-type"] == STARTED}


def _all_started(arns: set[str]) -> Callable[[list[Arrival]], bool]:
    return lambda arrivals: arns <= _started_arns(arrivals)


def _assert_signed_and_consistent(arrivals: list[Arrival]) -> None:
    """Every request verified, and its webhook-id is its event's id (the receiver's key for duplicates)."""
    assert all(a.verified for a in arrivals), [a.webhook_id for a in arrivals if not a.verified]
    assert all(a.webhook_id == a.event["id"] for a in arrivals)


def _wait_for(condition: Callable[[], bool], seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


def _status(stack: Stack, name: str) -> str:
    a2i = stack.server.client("sagemaker-a2i-runtime")
    return str(a2i.describe_human_loop(HumanLoopName=name)["HumanLoopStatus"])


def _portal(server: RunningServer) -> PortalConnection:
    email, _, password = (server.data_dir / "demo-worker.txt").read_text().strip().partition(" ")
    portal = PortalConnection(server.port)
    portal.sign_in(email, password)
    return portal


# --- 1. and 5.: every status change, on both databases --------------------------------------------------------


@pytest.mark.parametrize("backend", BACKENDS)
def test_every_status_change_is_delivered_once_completed_after_its_output(
    backend: str, stack_factory: StackFactory
) -> None:
    stack = stack_factory(backend)
    s3 = stack.server.client("s3")

    readable: dict[tuple[str, str], bool] = {}

    def output_readable(arrival: Arrival) -> None:
        """At the moment a status change arrives, can its output.json be read through S3 GetObject?"""
        detail = arrival.event["detail"]
        if arrival.event["detail-type"] != STATUS_CHANGE:
            return
        bucket, key = detail["humanLoopOutput"]["outputS3Uri"].removeprefix("s3://").split("/", 1)
        try:
            document = json.loads(s3.get_object(Bucket=bucket, Key=key)["Body"].read())
            found = document["humanLoopName"] == detail["humanLoopName"]
        except s3.exceptions.NoSuchKey:
            found = False
        readable[(detail["humanLoopName"], detail["humanLoopStatus"])] = found

    secret = generate_secret().reveal()
    with WebhookReceiver(secret, on_event=output_readable) as receiver:
        stack.subscribe(receiver, secret)
        a2i = stack.server.client("sagemaker-a2i-runtime")
        names = {"done": "done-" + uuid.uuid4().hex[:8], "stopped": "stopped-" + uuid.uuid4().hex[:8]}
        names |= {"expired": "expired-" + uuid.uuid4().hex[:8], "partial": "partial-" + uuid.uuid4().hex[:8]}
        for key, name in names.items():
            _start_loop(a2i, stack.flows["two" if key == "partial" else "one"], name)

        a2i.stop_human_loop(HumanLoopName=names["stopped"])
        # Time passes for one loop: its availability lifetime (60 s at least) ends now; the reaper fails it.
        with stack.svc.store.write() as conn:
            conn.execute(
                human_loops.update()
                .where(human_loops.c.name == names["expired"])
                .values(available_until=datetime.now(UTC) - timedelta(seconds=1))
            )
        _wait_for(lambda: _status(stack, names["expired"]) == "Failed", 15, "the loop to expire")
        _wait_for(lambda: _status(stack, names["stopped"]) == "Stopped", 15, "the loop to stop")

        portal = _portal(stack.server)
        try:
            jobs = portal.job_ids()
            assert len(jobs) == 2  # "done" (TaskCount 1) and "partial" (TaskCount 2, one answer of two)
            for job in jobs:
                assignment_id, lease = portal.open_task(job)
                assert portal.submit(assignment_id, lease, {"label": "yes"}).status == 200
        finally:
            portal.close()
        _wait_for(lambda: _status(stack, names["done"]) == "Completed", 15, "the loop to complete")
        a2i.stop_human_loop(HumanLoopName=names["partial"])

        expected = Counter(
            [(STARTED, name, "InProgress") for name in names.values()]
            + [(ANSWERED, names["done"], None), (ANSWERED, names["partial"], None)]
            + [(STATUS_CHANGE, names["done"], "Completed"), (STATUS_CHANGE, names["stopped"], "Stopped")]
            + [(STATUS_CHANGE, names["expired"], "Failed"), (STATUS_CHANGE, names["partial"], "Stopped")]
        )
        receiver.wait_until(lambda arrivals: len(arrivals) >= sum(expected.values()), 30)
        time.sleep(1.5)  # anything sent twice or unexpected arrives meanwhile
        arrivals = receiver.accepted()

    _assert_signed_and_consistent(receiver.arrivals)
    got = Counter(
        (a.event["detail-type"], a.event["detail"]["humanLoopName"], a.event["detail"].get("humanLoopStatus"))
        for a in arrivals
    )
    assert got == expected
    assert len({a.webhook_id for a in arrivals}) == len(arrivals)  # each event exactly once
    failed = next(a.event for a in arrivals if a.event["detail"].get("humanLoopStatus") == "Failed")
    assert failed["detail"]["failureCode"] == "Expired"
    assert failed["source"] == "aws.sagemaker"
    # the Completed event (and the Stopped one of a loop with an answer) came when its output.json was readable
    assert readable == {
        (names["done"], "Completed"): True,
        (names["partial"], "Stopped"): True,
        (names["stopped"], "Stopped"): False,  # no answer: no output.json
        (names["expired"], "Failed"): False,
    }
    completed = next(a.event for a in arrivals if a.event["detail"].get("humanLoopStatus") == "Completed")
    described = stack.server.client("sagemaker-a2i-runtime").describe_human_loop(HumanLoopName=names["done"])
    assert completed["detail"]["humanLoopOutput"]["outputS3Uri"] == described["HumanLoopOutput"]["OutputS3Uri"]


# --- 2. the receiver is down for a while ----------------------------------------------------------------------


def test_a_receiver_down_for_a_while_gets_every_event_once_it_is_back(stack_factory: StackFactory) -> None:
    stack = stack_factory("sqlite")
    secret = generate_secret().reveal()
    with WebhookReceiver(secret) as receiver:
        subscription_id = stack.subscribe(receiver, secret)
        receiver.stop()
        started = set(stack.start_loops(20))
        _wait_for(
            lambda: any(d.attempts >= 1 for d in deliveries.listing(stack.svc, subscription_id, limit=50)),
            15,
            "a first attempt to fail",
        )
        time.sleep(2)  # down a little longer: retries come due and fail too
        receiver.start()
        arrivals = receiver.wait_until(_all_started(started), 60)

    _assert_signed_and_consistent(arrivals)
    assert _started_arns(arrivals) == started
    accepted = [a for a in arrivals if a.accepted]
    assert len({a.webhook_id for a in accepted}) == len(accepted) == 20
    rows = deliveries.listing(stack.svc, subscription_id, limit=50)
    assert [r.state for r in rows] == ["delivered"] * 20
    assert max(r.attempts for r in rows) >= 2, "the receiver was down: some delivery needed a retry"


# --- 3. the server is killed before it delivered ---------------------------------------------------------------


def test_sigkill_before_delivery_loses_nothing_and_keeps_webhook_ids(
    stack_factory: StackFactory, tmp_path: Path
) -> None:
    stack = stack_factory("sqlite")
    secret = generate_secret().reveal()
    with WebhookReceiver(secret) as receiver:
        stack.subscribe(receiver, secret)
        receiver.stop()  # down when the server dies: nothing was delivered
        started = set(stack.start_loops(30))
        os.kill(stack.server.process.pid, signal.SIGKILL)
        stack.server.process.wait()
        assert receiver.arrivals == []

        stack.server = start_server(tmp_path, stack.server.database_url, "sqlite", ENV)
        receiver.start()
        # a delivery the killed process had claimed waits out its claim (deliveries.CLAIM_SECONDS)
        arrivals = receiver.wait_until(_all_started(started), deliveries.CLAIM_SECONDS + 30)

    _assert_signed_and_consistent(arrivals)
    assert _started_arns(arrivals) == started
    ids_per_loop: dict[str, set[str]] = {}
    for arrival in arrivals:
        ids_per_loop.setdefault(_loop_of(arrival), set()).add(arrival.webhook_id)
    assert all(len(ids) == 1 for ids in ids_per_loop.values()), "a duplicate carries the first one's webhook-id"


# --- 4. failing receivers do not slow a healthy one -----------------------------------------------------------


def test_failing_and_hanging_receivers_are_retried_while_a_healthy_one_keeps_up(
    stack_factory: StackFactory,
) -> None:
    # an attempt may take 3 s: a hanging receiver holding the healthy one's delivery thread would show as lag
    stack = stack_factory("sqlite", {"CROWDLOOP_WEBHOOK_TIMEOUT_SECONDS": "3"})
    secrets = {name: generate_secret().reveal() for name in ("error", "hang", "ok")}
    with (
        WebhookReceiver(secrets["error"], mode="error") as erring,
        WebhookReceiver(secrets["hang"], mode="hang", hang_seconds=5) as hanging,
        WebhookReceiver(secrets["ok"]) as healthy,
    ):
        erring_id = stack.subscribe(erring, secrets["error"])
        hanging_id = stack.subscribe(hanging, secrets["hang"])
        stack.subscribe(healthy, secrets["ok"])
        returned: dict[str, float] = {}
        for _ in range(30):  # ~6 s of steady load while the failing targets are being retried
            returned |= stack.start_loops(1)
            time.sleep(0.2)
        arrivals = healthy.wait_until(_all_started(set(returned)), 10)

        def retried(subscription_id: int) -> bool:
            rows = deliveries.listing(stack.svc, subscription_id, limit=50)
            return max(r.attempts for r in rows) >= 2

        _wait_for(lambda: retried(erring_id) and retried(hanging_id), 40, "second attempts")
        for subscription_id in (erring_id, hanging_id):
            rows = deliveries.listing(stack.svc, subscription_id, limit=50)
            assert len(rows) == 30 and {r.state for r in rows} == {"pending"}
        erring_tries = Counter(a.webhook_id for a in erring.arrivals)
        hanging_tries = Counter(a.webhook_id for a in hanging.arrivals)

    lags = sorted(a.received_at - returned[_loop_of(a)] for a in arrivals if a.accepted and _loop_of(a) in returned)
    assert _started_arns(arrivals) == set(returned)
    assert lags[-1] < 2.0, f"the healthy receiver fell behind: lags {lags[-5:]}"
    # the failing targets are probed by one delivery at a time, retried under the same webhook-id
    assert max(erring_tries.values()) >= 2 and max(hanging_tries.values()) >= 2
    assert all(a.status == 500 for a in erring.arrivals) and all(a.status == 0 for a in hanging.arrivals)


# --- 5. two servers on one PostgreSQL database ----------------------------------------------------------------


def test_two_servers_on_one_postgres_deliver_each_event_once_never_concurrently(
    stack_factory: StackFactory, tmp_path: Path
) -> None:
    stack = stack_factory("postgresql")
    second = start_server(tmp_path, stack.server.database_url, "postgresql", ENV)
    try:
        secret = generate_secret().reveal()
        # a receiver that takes its time widens the window in which two senders could race
        with WebhookReceiver(secret, answer_delay_seconds=0.01) as receiver:
            subscription_id = stack.subscribe(receiver, secret)
            started: set[str] = set()
            lock = threading.Lock()

            def load(server: RunningServer) -> None:
                arns = stack.start_loops(60, server=server)
                with lock:
                    started.update(arns)

            threads = [threading.Thread(target=load, args=(s,)) for s in (stack.server, second, stack.server, second)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            arrivals = receiver.wait_until(_all_started(started), 60)
            time.sleep(1.5)  # a second delivery of anything would arrive meanwhile
            arrivals = list(receiver.arrivals)
            overlapping = receiver.overlapping()
    finally:
        stop_server(second)

    _assert_signed_and_consistent(arrivals)
    assert len(started) == 240 and _started_arns(arrivals) == started
    assert overlapping == []
    assert len(arrivals) == len({a.webhook_id for a in arrivals}) == 240  # each exactly once
    rows = deliveries.listing(stack.svc, subscription_id, limit=1000)
    assert Counter((r.state, r.attempts) for r in rows) == {("delivered", 1): 240}


# --- 6. the delivery process (event_delivery=process, serve's default) ---------------------------------------------


def _children(pid: int) -> list[int]:
    """The live processes whose parent is `pid` running crowdloop.deliverer."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            parent = int(stat.read_text().rsplit(")", 1)[1].split()[1])
            command = (stat.parent / "cmdline").read_bytes()
        except (OSError, IndexError, ValueError):
            continue
        if parent == pid and b"crowdloop.deliverer" in command:
            found.append(int(stat.parent.name))
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def test_the_delivery_process_is_restarted_and_ends_with_its_server(stack_factory: StackFactory) -> None:
    stack = stack_factory("sqlite")
    server_pid = stack.server.process.pid
    _wait_for(lambda: len(_children(server_pid)) == 1, 15, "the delivery process")
    [first] = _children(server_pid)
    secret = generate_secret().reveal()
    with WebhookReceiver(secret) as receiver:
        stack.subscribe(receiver, secret)
        before = set(stack.start_loops(3))
        receiver.wait_until(_all_started(before), 15)
        os.kill(first, signal.SIGKILL)  # the server starts another, and nothing is lost meanwhile
        during = set(stack.start_loops(3))
        _wait_for(lambda: _children(server_pid) not in ([], [first]), 15, "a new delivery process")
        arrivals = receiver.wait_until(_all_started(before | during), 30)
    _assert_signed_and_consistent(arrivals)
    assert _started_arns(arrivals) == before | during
    [second] = _children(server_pid)
    os.kill(server_pid, signal.SIGKILL)  # orphaned, the delivery process ends by itself
    stack.server.process.wait()
    _wait_for(lambda: not _alive(second), 15, "the orphaned delivery process to end")


def test_stopping_the_server_stops_its_delivery_process(stack_factory: StackFactory) -> None:
    stack = stack_factory("sqlite")
    _wait_for(lambda: len(_children(stack.server.process.pid)) == 1, 15, "the delivery process")
    [child] = _children(stack.server.process.pid)
    stop_server(stack.server)
    assert not _alive(child)
