"""The server's HTTP protocol (crowdloop.http_protocol) sends each response with one socket write and closes
connections whose request does not arrive completely within request_timeout_seconds."""

from __future__ import annotations

import asyncio
import select
import socket
import time
from collections.abc import Callable, Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import pytest

from crowdloop.http_protocol import CoalescingTransport
from tests.conftest import RunningServer, start_server, stop_server

T = TypeVar("T")


def run_on_own_loop(scenario: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """asyncio.run on a fresh thread: other tests (Playwright's sync API) may leave this thread's loop running."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(lambda: asyncio.run(scenario())).result()


class RecordingTransport(asyncio.Transport):
    def __init__(self) -> None:
        super().__init__()
        self.events: list[Any] = []
        self.closing = False

    def write(self, data: Any) -> None:
        self.events.append(bytes(data))

    def close(self) -> None:
        self.events.append("close")
        self.closing = True

    def abort(self) -> None:
        self.events.append("abort")
        self.closing = True

    def is_closing(self) -> bool:
        return self.closing

    def get_write_buffer_size(self) -> int:
        return 0

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return {"peername": ("127.0.0.1", 1)}.get(name, default)


def test_writes_of_one_loop_turn_leave_together() -> None:
    async def scenario() -> list[Any]:
        inner = RecordingTransport()
        transport = CoalescingTransport(inner, asyncio.get_running_loop())
        transport.write(b"HTTP/1.1 200 OK\r\n\r\n")
        transport.write(b"")
        transport.write(memoryview(b"body"))
        assert inner.events == []  # nothing is sent within the turn
        assert transport.get_write_buffer_size() == len(b"HTTP/1.1 200 OK\r\n\r\nbody")
        await asyncio.sleep(0)
        transport.write(b"second")
        await asyncio.sleep(0)
        assert transport.get_extra_info("peername") == ("127.0.0.1", 1)
        return inner.events

    assert run_on_own_loop(scenario) == [b"HTTP/1.1 200 OK\r\n\r\nbody", b"second"]


def test_close_sends_what_is_buffered_first_and_abort_drops_it() -> None:
    async def scenario() -> tuple[list[Any], list[Any]]:
        loop = asyncio.get_running_loop()
        closed, aborted = RecordingTransport(), RecordingTransport()
        first, second = CoalescingTransport(closed, loop), CoalescingTransport(aborted, loop)
        first.write(b"last words")
        first.close()
        second.write(b"never sent")
        second.abort()
        await asyncio.sleep(0)
        assert first.is_closing()
        return closed.events, aborted.events

    assert run_on_own_loop(scenario) == ([b"last words", "close"], ["abort"])


def test_a_response_arrives_in_one_segment(server: RunningServer) -> None:
    """Over the real server: the status line, headers and body of a response come in one recv()."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        for _ in range(5):
            sock.sendall(b"GET /_crowdloop/health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            data = sock.recv(65536)
            assert data.startswith(b"HTTP/1.1 200 OK\r\n") and data.endswith(b"\r\n\r\nok"), data


# --- the request deadline (request_timeout_seconds) ----------------------------------------------------

TIMEOUT = 3.0
HEALTH = b"GET /_crowdloop/health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"


@pytest.fixture(scope="module")
def strict_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    data_dir = tmp_path_factory.mktemp("request-timeout")
    server = start_server(
        data_dir,
        f"sqlite:///{data_dir / 'crowdloop.db'}",
        extra_env={"CROWDLOOP_REQUEST_TIMEOUT_SECONDS": str(TIMEOUT)},
    )
    yield server
    stop_server(server)


def _closed_by_server(sock: socket.socket, wait: float) -> bool:
    """True when the server closed the connection (EOF or reset) within `wait` seconds."""
    readable, _, _ = select.select([sock], [], [], wait)
    if not readable:
        return False
    try:
        return sock.recv(65536) == b""
    except ConnectionResetError:
        return True


def _answer(sock: socket.socket) -> bytes:
    data = b""
    while not data.endswith(b"\r\n\r\nok"):
        chunk = sock.recv(65536)
        assert chunk, f"connection closed after {data!r}"
        data += chunk
    return data


def test_idle_connection_is_closed_after_the_timeout(strict_server: RunningServer) -> None:
    with socket.create_connection(("127.0.0.1", strict_server.port), timeout=10) as sock:
        started = time.monotonic()
        assert _closed_by_server(sock, TIMEOUT * 5)
        assert TIMEOUT * 0.9 <= time.monotonic() - started <= TIMEOUT * 5


@pytest.mark.parametrize("trickled", ["headers", "body"])
def test_trickling_client_is_cut_off(strict_server: RunningServer, trickled: str) -> None:
    """One byte per second of the headers, or of a body whose headers came at once: closed at the deadline."""
    body = b'{"HumanLoopName": "slow"}'
    head = (
        b"POST /human-loops/stop HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n"
    )
    with socket.create_connection(("127.0.0.1", strict_server.port), timeout=10) as sock:
        started = time.monotonic()
        if trickled == "body":
            sock.sendall(head)
        remaining = head + body if trickled == "headers" else body
        for index in range(len(remaining)):
            if _closed_by_server(sock, 1.0):
                break
            sock.sendall(remaining[index : index + 1])
        else:
            pytest.fail("the whole request was accepted one byte per second")
        elapsed = time.monotonic() - started
    assert TIMEOUT * 0.9 <= elapsed <= TIMEOUT * 5, elapsed
    assert index < len(remaining) - 1


def test_slow_but_complete_request_is_answered(strict_server: RunningServer) -> None:
    with socket.create_connection(("127.0.0.1", strict_server.port), timeout=10) as sock:
        for start in range(0, len(HEALTH), 12):
            sock.sendall(HEALTH[start : start + 12])
            time.sleep(TIMEOUT / 20)
        assert _answer(sock).startswith(b"HTTP/1.1 200 OK\r\n")


def test_kept_alive_connection_gets_a_new_deadline_after_each_response(strict_server: RunningServer) -> None:
    with socket.create_connection(("127.0.0.1", strict_server.port), timeout=10) as sock:
        started = time.monotonic()
        for _ in range(3):  # 3 x 0.6 timeouts: longer than one timeout in all
            time.sleep(TIMEOUT * 0.6)
            sock.sendall(HEALTH)
            assert _answer(sock).startswith(b"HTTP/1.1 200 OK\r\n")
        assert time.monotonic() - started > TIMEOUT
        idle_since = time.monotonic()
        assert _closed_by_server(sock, TIMEOUT * 5)
        assert TIMEOUT * 0.9 <= time.monotonic() - idle_since <= TIMEOUT * 5
