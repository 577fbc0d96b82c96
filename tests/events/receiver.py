"""A webhook receiver for the end-to-end delivery tests and the events benchmark: a threaded HTTP/1.1 server
on 127.0.0.1 that checks every request's Standard Webhooks signature (the `standardwebhooks` library, as a
subscriber would) and records what arrived and when.

It can be told to misbehave the ways real receivers do: answer 500, hang longer than the sender's timeout,
or go away (`stop`: the port refuses connections, kept-alive ones are cut) and come back on the same port
(`start` again). Every request is recorded with the monotonic times it arrived and was answered, so tests can
measure delivery lag and check that one event was never being delivered twice at the same moment.
"""

from __future__ import annotations

import contextlib
import itertools
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Literal

import orjson
from standardwebhooks import Webhook

Mode = Literal["ok", "error", "hang"]


@dataclass(frozen=True)
class Arrival:
    webhook_id: str
    body: bytes
    received_at: float  # time.monotonic() when the whole request had been read
    answered_at: float  # time.monotonic() when the answer was written (or given up: hang mode)
    status: int  # what the receiver answered (0: it hung and never answered in time)
    verified: bool  # the signature checked out

    @property
    def event(self) -> dict[str, Any]:
        parsed: dict[str, Any] = orjson.loads(self.body)
        return parsed

    @property
    def accepted(self) -> bool:
        return 200 <= self.status < 300


class WebhookReceiver:
    """Use as a context manager (started on enter, stopped on exit); `stop()` / `start()` in between take it
    down and bring it back on the same port. `on_event(arrival)` runs before a 2xx answer is sent (a test's
    check of what must be true at the moment the event arrives)."""

    def __init__(
        self,
        secret: str,
        *,
        mode: Mode = "ok",
        hang_seconds: float = 3.0,
        answer_delay_seconds: float = 0.0,
        on_event: Callable[[Arrival], None] | None = None,
    ) -> None:
        self.webhook = Webhook(secret)
        self.mode: Mode = mode
        self.hang_seconds = hang_seconds
        self.answer_delay_seconds = answer_delay_seconds
        self.on_event = on_event
        self.arrivals: list[Arrival] = []
        self.port = 0
        self._lock = threading.Lock()
        self._arrived = threading.Condition(self._lock)
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._open: set[socket.socket] = set()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    # --- lifecycle ---------------------------------------------------------------------------------------

    def start(self) -> None:
        """Listen (again): on a free port the first time, on the same port after stop()."""
        assert self._server is None, "already running"
        server = ThreadingHTTPServer(("127.0.0.1", self.port), self._handler_class())
        server.daemon_threads = True  # a hanging handler never blocks stop()
        self._server = server
        self.port = int(server.server_address[1])
        self._thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Go away: stop listening and cut every open connection (a kept-alive one would still be served)."""
        server, thread = self._server, self._thread
        if server is None or thread is None:
            return
        server.shutdown()
        server.server_close()
        thread.join()
        with self._lock:
            open_now, self._open = list(self._open), set()
        for sock in open_now:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        self._server = self._thread = None

    def __enter__(self) -> WebhookReceiver:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- what arrived ------------------------------------------------------------------------------------

    def accepted(self) -> list[Arrival]:
        with self._lock:
            return [a for a in self.arrivals if a.accepted]

    def wait_until(self, done: Callable[[list[Arrival]], bool], timeout_seconds: float) -> list[Arrival]:
        """Block until done(arrivals so far) is true or the time is up; the arrivals either way."""
        deadline = time.monotonic() + timeout_seconds
        with self._arrived:
            while not done(self.arrivals):
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self._arrived.wait(min(left, 0.2))
            return list(self.arrivals)

    def overlapping(self) -> list[tuple[Arrival, Arrival]]:
        """Pairs of requests for the same webhook-id that were in flight at the same time (a delivery sent
        concurrently twice)."""
        by_id: dict[str, list[Arrival]] = {}
        with self._lock:
            for arrival in self.arrivals:
                by_id.setdefault(arrival.webhook_id, []).append(arrival)
        pairs = []
        for same in by_id.values():
            ordered = sorted(same, key=lambda a: a.received_at)
            pairs += [(a, b) for a, b in itertools.pairwise(ordered) if b.received_at < a.answered_at]
        return pairs

    # --- serving -----------------------------------------------------------------------------------------

    def _record(self, arrival: Arrival) -> None:
        with self._arrived:
            self.arrivals.append(arrival)
            self._arrived.notify_all()

    def _verified(self, body: bytes, headers: dict[str, str]) -> bool:
        try:
            self.webhook.verify(body, headers, json_parse=False)
        except Exception:  # WebhookVerificationError, or a header the library cannot parse
            return False
        return True

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def setup(self) -> None:
                super().setup()
                with receiver._lock:
                    receiver._open.add(self.connection)

            def finish(self) -> None:
                with receiver._lock:
                    receiver._open.discard(self.connection)
                with contextlib.suppress(OSError):
                    super().finish()

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                received_at = time.monotonic()
                headers = dict(self.headers.items())
                webhook_id = headers.get("webhook-id", headers.get("Webhook-Id", ""))
                verified = receiver._verified(body, headers)
                mode = receiver.mode
                if mode == "hang":  # recorded at once, as answered when the hang will end
                    answered_at = received_at + receiver.hang_seconds
                    receiver._record(Arrival(webhook_id, body, received_at, answered_at, 0, verified))
                    time.sleep(receiver.hang_seconds)
                    self.close_connection = True
                    return
                status = 500 if mode == "error" or not verified else 204
                if status == 204:
                    if receiver.answer_delay_seconds:
                        time.sleep(receiver.answer_delay_seconds)
                    if receiver.on_event is not None:
                        receiver.on_event(Arrival(webhook_id, body, received_at, received_at, 204, True))
                reply = b"" if status == 204 else b"receiver says no"
                self.send_response(status)
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                with contextlib.suppress(OSError):
                    self.wfile.write(reply)
                    self.wfile.flush()
                receiver._record(Arrival(webhook_id, body, received_at, time.monotonic(), status, verified))

            def log_message(self, format: str, *args: Any) -> None:  # keep the test output clean
                pass

        return Handler
