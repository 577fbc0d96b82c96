"""`crowdloop webhooks ...` and `crowdloop events tail` through click's runner (and one real `crowdloop` process
for the live tail), against a real store on both databases and real receivers on 127.0.0.1."""

from __future__ import annotations

import base64
import dataclasses
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from crowdloop import deliveries, eventlog, subscriptions, webhook_signing
from crowdloop.cli import main
from crowdloop.config import SETTINGS
from crowdloop.dispatcher import WebhookSender
from crowdloop.runtime import Services
from tests.domain.loopsetup import make_flow, start
from tests.events.receivers import HttpReceiver, Reply

ALLOW_PRIVATE = "CROWDLOOP_WEBHOOK_ALLOW_PRIVATE_TARGETS"


@pytest.fixture(autouse=True)
def _no_crowdloop_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for setting in SETTINGS:  # the settings' variables only (not the tests' own, e.g. a PostgreSQL URL)
        monkeypatch.delenv(setting.env, raising=False)


@pytest.fixture
def store_flags(services: Services, tmp_path: Path) -> list[str]:
    return ["--data-dir", str(tmp_path), "--database-url", services.settings.resolved_database_url]


@pytest.fixture
def receiver() -> Iterator[HttpReceiver]:
    with HttpReceiver(lambda _request: Reply(500)) as running:
        yield running


def _cli(flags: list[str], *args: str) -> Result:
    return CliRunner().invoke(main, [*args, *flags])


def _ok(result: Result) -> list[str]:
    assert result.exit_code == 0, result.output
    return result.stdout.splitlines()


def _error(result: Result) -> str:
    lines = result.output.strip().splitlines()
    assert result.exit_code == 1, result.output
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.output
    return lines[0]


def _add(flags: list[str], url: str, *args: str) -> int:
    """Subscribe url (private targets allowed); the new subscription's id."""
    lines = _ok(_cli(flags, "webhooks", "add", url, *args, "--webhook-allow-private-targets", "true"))
    return int(lines[0].split()[2])


def test_add_list_delete(
    services: Services, store_flags: list[str], receiver: HttpReceiver, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(ALLOW_PRIVATE, "true")
    added = _cli(store_flags, "webhooks", "add", receiver.url(), "--all", "--description", "everything")
    first = subscriptions.list_all(services)[0]
    assert _ok(added)[0] == f"created subscription {first.id} (webhook -> {receiver.url()})"
    assert first.secret is not None and _ok(added)[1] == f"signing secret: {first.secret.reveal()}"
    webhook_signing.parse_secret(first.secret.reveal(), "secret")
    assert "store it now: it is not shown again" in added.stderr
    assert (first.pattern, first.description, first.created_by) == ('{"version": ["0"]}', "everything", "cli")

    long_pattern = {"detail-type": ["SageMaker A2I HumanLoop Status Change"], "detail": {"humanLoopStatus": ["Failed"]}}
    (tmp_path / "pattern.json").write_text(json.dumps(long_pattern, indent=2))
    given = "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()
    second = _add(store_flags, receiver.url("/two"), "--pattern", f"@{tmp_path / 'pattern.json'}", "--secret", given)
    assert json.loads(subscriptions.get(services, second).pattern) == long_pattern

    rows = [line.split("\t") for line in _ok(_cli(store_flags, "webhooks", "list"))]
    assert [row[:5] for row in rows] == [
        [str(first.id), "webhook", receiver.url(), '{"version":["0"]}', "pending=0 failed=0"],
        [
            str(second),
            "webhook",
            receiver.url("/two"),
            '{"detail-type":["SageMaker A2I HumanLoop Stat...',
            "pending=0 failed=0",
        ],
    ]
    listed = _cli(store_flags, "webhooks", "list", "--json")
    documents = [json.loads(line) for line in _ok(listed)]
    assert [(d["id"], d["target"], d["pending"], d["failed"]) for d in documents] == [
        (first.id, receiver.url(), 0, 0),
        (second, receiver.url("/two"), 0, 0),
    ]
    assert "whsec_" not in listed.output and given not in listed.output

    assert _ok(_cli(store_flags, "webhooks", "delete", str(first.id))) == [f"deleted subscription {first.id}"]
    assert [s.id for s in subscriptions.list_all(services)] == [second]
    assert _error(_cli(store_flags, "webhooks", "delete", str(first.id))) == (
        f"Error: Subscription {first.id} does not exist."
    )


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.mark.parametrize(
    ("target", "args", "allow", "message"),
    [
        ("RECEIVER", ["--pattern", '{"detail": "Failed"}'], "true", "detail"),
        ("RECEIVER", ["--pattern", "{not json"], "true", "pattern"),
        ("ftp://127.0.0.1/hook", ["--all"], "true", "http"),
        ("CLOSED", ["--all"], "true", "cannot be reached"),
        ("RECEIVER", ["--all"], "false", "private"),
        ("RECEIVER", ["--pattern", "@/nonexistent/pattern.json"], "true", "Cannot read the pattern file"),
    ],
)
def test_add_refuses_with_one_line(
    services: Services,
    store_flags: list[str],
    receiver: HttpReceiver,
    target: str,
    args: list[str],
    allow: str,
    message: str,
) -> None:
    url = {"RECEIVER": receiver.url(), "CLOSED": f"http://127.0.0.1:{_closed_port()}/hook"}.get(target, target)
    result = _cli(store_flags, "webhooks", "add", url, *args, "--webhook-allow-private-targets", allow)
    assert message in _error(result)
    assert subscriptions.list_all(services) == []


def test_add_needs_one_pattern(store_flags: list[str], receiver: HttpReceiver) -> None:
    neither = _cli(store_flags, "webhooks", "add", receiver.url())
    assert neither.exit_code == 2 and "Missing --pattern (or --all" in neither.output
    both = _cli(store_flags, "webhooks", "add", receiver.url(), "--all", "--pattern", "{}")
    assert both.exit_code == 2 and "Give --pattern or --all, not both." in both.output


def _fail_pending(services: Services, subscription_id: int) -> None:
    """Try the subscription's pending deliveries once at the end of their retry window (the receiver answers
    500): the dispatcher's lane step, done here, so they fail."""
    svc = dataclasses.replace(
        services, settings=dataclasses.replace(services.settings, webhook_allow_private_targets=True)
    )
    services.clock.advance(services.settings.webhook_retry_hours * 3600 + 1)  # type: ignore[attr-defined]
    claimed = deliveries.claim(svc, subscription_id, "test-lane", 10)
    sender = WebhookSender(svc, subscriptions.get(svc, subscription_id))
    try:
        results, held_back = sender.send(claimed, stop_at=float("inf"))
    finally:
        sender.close()
    deliveries.settle(svc, "test-lane", results, held_back)


def test_deliveries_and_redeliver(services: Services, store_flags: list[str], receiver: HttpReceiver) -> None:
    subscription_id = _add(store_flags, receiver.url(), "--all")
    start(services, make_flow(services), "loop-a")  # its Started event is logged and fanned out in this thread
    (pending,) = deliveries.listing(services, subscription_id)
    row = _ok(_cli(store_flags, "webhooks", "deliveries", str(subscription_id)))[0].split("\t")
    assert row[:6] == [str(pending.id), pending.event_id, "crowdloop HumanLoop Started", "pending", "0", "-"]
    assert row[6].startswith("next 20")
    assert _ok(_cli(store_flags, "webhooks", "list"))[0].split("\t")[4] == "pending=1 failed=0"

    _fail_pending(services, subscription_id)
    failed = _cli(store_flags, "webhooks", "deliveries", str(subscription_id), "--state", "failed", "--json")
    (document,) = [json.loads(line) for line in _ok(failed)]
    assert (document["id"], document["state"], document["attempts"], document["lastStatus"]) == (
        pending.id,
        "failed",
        1,
        500,
    )
    row = _ok(_cli(store_flags, "webhooks", "deliveries", str(subscription_id)))[0].split("\t")
    assert row[3:6] == ["failed", "1", "500"] and row[6].startswith("ended 20")
    assert len(receiver.requests) == 1 and receiver.requests[0].headers["webhook-id"] == pending.event_id
    assert _cli(store_flags, "webhooks", "deliveries", str(subscription_id), "--state", "pending").stdout == ""

    again = _cli(store_flags, "webhooks", "redeliver", "--failed", str(subscription_id))
    assert _ok(again) == [f"1 failed deliveries of subscription {subscription_id} are pending again"]
    assert [d.state for d in deliveries.listing(services, subscription_id)] == ["pending"]
    _fail_pending(services, subscription_id)
    one = _cli(store_flags, "webhooks", "redeliver", str(pending.id))
    assert _ok(one) == [f"delivery {pending.id} (event {pending.event_id}) is pending again"]
    assert deliveries.summary(services, subscription_id) == {"pending": 1, "failed": 0}

    assert _error(_cli(store_flags, "webhooks", "redeliver", "999999")) == "Error: Delivery 999999 does not exist."
    assert "Subscription 999999 does not exist" in _error(_cli(store_flags, "webhooks", "deliveries", "999999"))


def test_tail_from_start(services: Services, store_flags: list[str]) -> None:
    flow = make_flow(services)
    start(services, flow, "loop-a")
    start(services, flow, "loop-b")
    lines = _ok(_cli(store_flags, "events", "tail", "--from-start", "--limit", "2"))
    assert [line.split("\t")[1:] for line in lines] == [
        ["crowdloop HumanLoop Started", "loop-a", "InProgress"],
        ["crowdloop HumanLoop Started", "loop-b", "InProgress"],
    ]
    assert lines[0].split("\t")[0] == services.clock.now().strftime("%Y-%m-%dT%H:%M:%SZ")

    with services.store.read() as conn:
        logged = eventlog.read_after(conn, 0, 10)
    documents = _ok(_cli(store_flags, "events", "tail", "--from-start", "--limit", "2", "--json"))
    assert [line.encode() for line in documents] == [event.body for event in logged]

    only_b = '{"detail": {"humanLoopName": ["loop-b"]}}'
    found = _ok(_cli(store_flags, "events", "tail", "--from-start", "--pattern", only_b, "--timeout", "0.2"))
    assert [line.split("\t")[2] for line in found] == ["loop-b"]
    after_first = _ok(_cli(store_flags, "events", "tail", "--after", str(logged[0].seq), "--timeout", "0.2"))
    assert [line.split("\t")[2] for line in after_first] == ["loop-b"]
    assert _cli(store_flags, "events", "tail", "--timeout", "0.2").stdout == ""  # from now on: nothing yet


def test_tail_refusals(store_flags: list[str]) -> None:
    both = _cli(store_flags, "events", "tail", "--from-start", "--after", "3")
    assert both.exit_code == 2 and "Give --from-start or --after, not both." in both.output
    assert "detail" in _error(_cli(store_flags, "events", "tail", "--pattern", '{"detail": 1}'))


def test_tail_follows_a_live_log_until_ctrl_c(services: Services, store_flags: list[str]) -> None:
    """A real `crowdloop events tail` prints an event logged while it runs, and Ctrl-C ends it quietly."""
    with services.store.read() as conn:
        now = eventlog.latest_seq(conn)
    environment = {k: v for k, v in os.environ.items() if not k.startswith("CROWDLOOP_")}
    command = [
        sys.executable,
        "-m",
        "crowdloop",
        "events",
        "tail",
        "--after",
        str(now),
        "--timeout",
        "30",
        *store_flags,
    ]
    with subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=environment
    ) as process:
        assert process.stdout is not None and process.stderr is not None
        start(services, make_flow(services), "live-loop")
        line = process.stdout.readline()
        assert line.split("\t")[1:] == ["crowdloop HumanLoop Started", "live-loop", "InProgress\n"]
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=10) == 0
        assert process.stdout.read() == "" and process.stderr.read() == ""


def test_add_a_topic_with_its_connection(services: Services, store_flags: list[str], receiver: HttpReceiver) -> None:
    """A bus or topic takes region, endpoint and keys (the endpoint only has to answer now); no signing secret."""
    topic = "arn:aws:sns:eu-west-1:123456789012:loops"
    endpoint = f"http://127.0.0.1:{receiver.port}"
    connection = ["--region", "eu-west-1", "--endpoint-url", endpoint, "--access-key-id", "AKIDTEST"]
    added = _cli(
        store_flags, "webhooks", "add", topic, "--kind", "sns", "--all", *connection, "--secret-access-key", "s3"
    )
    (subscription,) = subscriptions.list_all(services)
    assert _ok(added) == [f"created subscription {subscription.id} (sns -> {topic})"]
    assert subscription.secret is None and dict(subscription.config) == {
        "region": "eu-west-1",
        "endpoint_url": endpoint,
        "access_key_id": "AKIDTEST",
        "secret_access_key": "s3",
    }
    (document,) = [json.loads(line) for line in _ok(_cli(store_flags, "webhooks", "list", "--json"))]
    assert document["config"] == {"region": "eu-west-1", "endpoint_url": endpoint, "access_key_id": "AKIDTEST"}

    refused = _cli(store_flags, "webhooks", "add", receiver.url(), "--all", "--region", "eu-west-1")
    assert "A webhook subscription takes no config" in _error(refused)
