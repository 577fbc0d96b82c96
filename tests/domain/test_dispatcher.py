"""The delivery dispatcher against real receivers on 127.0.0.1: signed requests, a hanging receiver that does
not slow the others, retries held back behind a failure, and a clean stop."""

from __future__ import annotations

import dataclasses
import http.server
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import orjson
import pytest
from standardwebhooks import Webhook

from crowdloop import deliveries, eventlog, subscriptions
from crowdloop.clock import SystemClock
from crowdloop.dispatcher import Dispatcher
from crowdloop.runtime import Services
from tests.domain.loopsetup import make_flow, start


class Receiver:
    """A threaded HTTP server recording each request; `behaviour` picks the answer ("ok", "500", "hang")."""

    def __init__(self, behaviour: str = "ok") -> None:
        self.behaviour = behaviour
        self.requests: list[tuple[dict[str, str], bytes]] = []
        self.lock = threading.Lock()
        self.release = threading.Event()
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                with receiver.lock:
                    receiver.requests.append((dict(self.headers.items()), body))
                if receiver.behaviour == "hang":
                    receiver.release.wait(5)
                status = 500 if receiver.behaviour == "500" else 204
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def count(self) -> int:
        with self.lock:
            return len(self.requests)

    def close(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receivers() -> Iterator[Callable[[str], Receiver]]:
    made: list[Receiver] = []

    def make(behaviour: str = "ok") -> Receiver:
        made.append(Receiver(behaviour))
        return made[-1]

    yield make
    for receiver in made:
        receiver.close()


@pytest.fixture
def svc(services: Services) -> Iterator[Services]:
    settings = dataclasses.replace(
        services.settings, webhook_allow_private_targets=True, webhook_timeout_seconds=0.5, webhook_concurrency=2
    )
    listeners = eventlog.Listeners()
    base = dataclasses.replace(services, settings=settings, clock=SystemClock(), events=listeners)
    dispatcher = Dispatcher(base, poll_seconds=0.2)
    listeners.add(dispatcher.logged)
    dispatcher.start()
    yield base
    dispatcher.close()


def _wait(condition: Callable[[], bool], seconds: float = 10.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def _subscribe(svc: Services, url: str) -> subscriptions.Subscription:
    return subscriptions.create(svc, kind="webhook", target=url, pattern='{"version": ["0"]}', created_by="test")


def test_deliveries_are_signed_and_a_hanging_receiver_slows_nobody_else(
    svc: Services, receivers: Callable[[str], Receiver]
) -> None:
    healthy, hanging, failing = receivers("ok"), receivers("hang"), receivers("500")
    subs = {name: _subscribe(svc, r.url) for name, r in (("ok", healthy), ("hang", hanging), ("500", failing))}
    flow = make_flow(svc)
    started = time.monotonic()
    names = [start(svc, flow) for _ in range(40)]
    _wait(lambda: healthy.count() >= 40)
    assert time.monotonic() - started < 5  # the hanging receiver held only its own lanes
    secret = subs["ok"].secret
    assert secret is not None
    received = [Webhook(secret.reveal()).verify(body, headers) for headers, body in healthy.requests]
    assert sorted(event["detail"]["humanLoopName"] for event in received) == sorted(names)
    ids = [headers["webhook-id"] for headers, _ in healthy.requests]
    assert ids == [orjson.loads(body)["id"] for _, body in healthy.requests] and len(set(ids)) == 40
    _wait(lambda: failing.count() >= 1 and hanging.count() >= 1)
    _wait(lambda: deliveries.summary(svc, subs["500"].id)["pending"] == 40)
    failed_first = [d for d in deliveries.listing(svc, subs["500"].id) if d.attempts]
    assert failed_first and failed_first[0].last_status == 500
    time.sleep(1.0)  # the rest of the failing subscription's batch waits for the retry: no hammering
    assert failing.count() <= 2
    assert all(d.state == "delivered" for d in deliveries.listing(svc, subs["ok"].id))


def test_a_receiver_that_comes_back_gets_everything_on_redelivery(
    svc: Services, receivers: Callable[[str], Receiver]
) -> None:
    receiver = receivers("500")
    sub = _subscribe(svc, receiver.url)
    flow = make_flow(svc)
    for _ in range(5):
        start(svc, flow)
    _wait(lambda: receiver.count() >= 1)
    receiver.behaviour = "ok"
    pending = deliveries.listing(svc, sub.id, state="pending")
    for delivery in pending:
        deliveries.redeliver(svc, delivery.id)
    _wait(lambda: deliveries.summary(svc, sub.id)["pending"] == 0)
    ids = [headers["webhook-id"] for headers, _ in receiver.requests]
    assert len(set(ids)) == 5  # the first, failed attempt repeated its id: a receiver can dedupe
    assert len(ids) == 5 + 1
