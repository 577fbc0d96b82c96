"""The HTTP protocol `crowdloop serve` runs uvicorn with: httptools, one socket write per response, and a
deadline for receiving each request.

uvicorn writes a response's status line and headers, then its body, as two `transport.write` calls; the
event loop sends each at once, so every response costs two send() system calls and wakes the client
twice. On virtual machines, where a wake-up of another process is expensive, those sends were over a
third of the server's CPU time per portal request. `CoalescingTransport` gathers every write made in
one turn of the event loop and sends them together at the end of the turn (a response written without
awaiting in between, which is what Starlette and our AWS handlers do, leaves as one send).

uvicorn bounds only the idle time between two requests (timeout_keep_alive), and only until the first byte
arrives: a client that connects and sends nothing, or sends a header byte per second, holds its
connection (and its buffers) forever. `CoalescingHttpToolsProtocol` gives every request
`request_timeout_seconds` to arrive completely (request line, headers and body), counted from the
connection's opening and, on a kept-alive connection, from the end of the previous response. When it
expires the connection is closed without an answer (the client may not even have started a request; one
that was half sent gets no response, like a dropped connection). Time spent handling a fully received
request does not count.
"""

from __future__ import annotations

import asyncio
from asyncio import TimerHandle
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol


class CoalescingTransport(asyncio.Transport):
    """Wraps a transport: writes are buffered until the end of the current event-loop turn."""

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        super().__init__()
        self._transport = transport
        self._loop = loop
        self._pending: list[bytes] = []

    def write(self, data: bytes | bytearray | memoryview) -> None:
        if not data:
            return
        if not self._pending:
            self._loop.call_soon(self.flush)
        self._pending.append(bytes(data))

    def writelines(self, list_of_data: Any) -> None:
        for data in list_of_data:
            self.write(data)

    def flush(self) -> None:
        if not self._pending:
            return
        data = self._pending[0] if len(self._pending) == 1 else b"".join(self._pending)
        self._pending.clear()
        if not self._transport.is_closing():
            self._transport.write(data)

    def close(self) -> None:
        self.flush()  # the real transport sends what it holds before closing
        self._transport.close()

    def abort(self) -> None:
        self._pending.clear()
        self._transport.abort()

    def write_eof(self) -> None:
        self.flush()
        self._transport.write_eof()

    def can_write_eof(self) -> bool:
        return self._transport.can_write_eof()

    def get_write_buffer_size(self) -> int:
        return self._transport.get_write_buffer_size() + sum(len(d) for d in self._pending)

    def get_write_buffer_limits(self) -> tuple[int, int]:
        return self._transport.get_write_buffer_limits()

    def set_write_buffer_limits(self, high: int | None = None, low: int | None = None) -> None:
        self._transport.set_write_buffer_limits(high, low)

    def is_closing(self) -> bool:
        return self._transport.is_closing()

    def is_reading(self) -> bool:
        return self._transport.is_reading()

    def pause_reading(self) -> None:
        self._transport.pause_reading()

    def resume_reading(self) -> None:
        self._transport.resume_reading()

    def set_protocol(self, protocol: asyncio.BaseProtocol) -> None:
        self._transport.set_protocol(protocol)

    def get_protocol(self) -> asyncio.BaseProtocol:
        return self._transport.get_protocol()

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return self._transport.get_extra_info(name, default)


class CoalescingHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol writing through a CoalescingTransport, closing connections whose
    request does not arrive completely within `request_timeout_seconds` (see the module docstring)."""

    request_timeout_seconds: float = 30.0
    _request_deadline: TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(CoalescingTransport(transport, self.loop))
        self._start_request_deadline()

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_request_deadline()
        super().connection_lost(exc)

    def on_message_complete(self) -> None:
        super().on_message_complete()
        if self.cycle.response_complete:  # answered before its body had arrived: the next request's turn
            self._start_request_deadline()
        else:
            self._cancel_request_deadline()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        waiting = self.cycle.response_complete or self.cycle.more_body  # for a new or a pipelined request
        if waiting and not self.transport.is_closing():
            self._start_request_deadline()

    def _start_request_deadline(self) -> None:
        self._cancel_request_deadline()
        self._request_deadline = self.loop.call_later(self.request_timeout_seconds, self._request_timed_out)

    def _cancel_request_deadline(self) -> None:
        if self._request_deadline is not None:
            self._request_deadline.cancel()
            self._request_deadline = None

    def _request_timed_out(self) -> None:
        self._request_deadline = None
        if not self.transport.is_closing():
            self.transport.close()


def http_protocol(*, request_timeout_seconds: float) -> type[CoalescingHttpToolsProtocol]:
    """The protocol class for uvicorn.Config(http=...), with this server's request deadline."""

    class ConfiguredHttpProtocol(CoalescingHttpToolsProtocol):
        pass

    ConfiguredHttpProtocol.request_timeout_seconds = request_timeout_seconds
    return ConfiguredHttpProtocol
