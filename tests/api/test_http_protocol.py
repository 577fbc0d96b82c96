"""The server's HTTP protocol sends each response with one socket write (crowdloop.http_protocol)."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from crowdloop.http_protocol import CoalescingTransport
from tests.conftest import RunningServer

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
