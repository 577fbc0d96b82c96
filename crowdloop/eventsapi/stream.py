"""GET /events/stream: the event log as Server-Sent Events, live.

    retry: 2000                                   first: how long a browser waits before reconnecting
    id: <seq>  event: <detail-type>  data: <the event's JSON, one line>      one message per event
    : keep-alive                                  a comment after KEEPALIVE_SECONDS without a message

Where it starts: after the `Last-Event-ID` header (a reconnecting EventSource sends it), else after `?after=`,
else at the newest event (only what is logged from now on). `?pattern=` filters by an EventBridge pattern.
The log is read through an eventstream.Follower: a message's id is the Follower's watermark when that is
lower than the event's seq (an event handed out above a hole: commits raced), so a client resuming from the
last id misses nothing; when filtered events move the watermark, an id-only message (no event) moves the
client's last id along.

When to read: at once when this process logs events (a listener on svc.events, eventlog.Listeners, sets the
stream's asyncio.Event through call_soon_threadsafe) and every POLL_SECONDS anyway (other processes' events).
The reads follow crowdloop.blocking (on the event loop on SQLite, in a thread on PostgreSQL); an outage skips
a read. At most MAX_STREAMS streams per process (then 503).

When it ends: the client disconnects (receive() says http.disconnect), or the server stops. uvicorn waits
for open responses before its lifespan shutdown (and `serve` sets no graceful timeout), so a stream would
hold the shutdown forever: `Streams.stop()` ends every stream, called from the exit signals uvicorn handles
(SIGINT, SIGTERM: `stop_on_exit_signals` chains a handler in front of uvicorn's) and at lifespan shutdown.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import threading
import time
from collections.abc import Callable
from types import FrameType
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from crowdloop import eventlog, eventpattern, eventstream
from crowdloop.errors import InvalidInput, Unavailable
from crowdloop.eventsapi.calls import MAX_ID, Context, Runner
from crowdloop.eventsapi.errors import RESPONSE_HEADERS, ApiError, render_error
from crowdloop.runtime import Services

log = logging.getLogger("crowdloop.eventsapi")

MAX_STREAMS = 100
POLL_SECONDS = 1.0
KEEPALIVE_SECONDS = 15.0
RETRY_MILLISECONDS = 2000
READ_LIMIT = 500
MAX_PATTERN_CHARS = 4096


class Streams:
    """The open streams of this process: the limit, and how they are all ended at once."""

    def __init__(self, limit: int = MAX_STREAMS) -> None:
        self.limit = limit
        self.stopping = False
        self._wakes: dict[int, Callable[[], None]] = {}
        self._next = 0
        self._lock = threading.Lock()  # stop() may come from a signal handler or another thread

    @property
    def open(self) -> int:
        return len(self._wakes)

    def enter(self, wake: Callable[[], None]) -> int:
        """Count a new stream in (its `wake` is called when the server stops); ApiError 503 past the limit."""
        with self._lock:
            if self.stopping:
                raise ApiError(503, "ServiceUnavailable", "The server is stopping.")
            if len(self._wakes) >= self.limit:
                raise ApiError(
                    503,
                    "ServiceUnavailable",
                    f"This server has {self.limit} event streams open already; try again later or use a webhook.",
                )
            self._next += 1
            self._wakes[self._next] = wake
            return self._next

    def leave(self, ticket: int) -> None:
        with self._lock:
            self._wakes.pop(ticket, None)

    def stop(self) -> None:
        """End every stream (and refuse new ones): the server is stopping."""
        with self._lock:
            self.stopping = True
            wakes = list(self._wakes.values())
        for wake in wakes:
            wake()


def stop_on_exit_signals(streams: Streams) -> None:
    """Have SIGINT and SIGTERM end the streams before uvicorn's own handler runs (see the module docstring).
    Only where uvicorn handles them: the main thread, with a Python handler installed (uvicorn restores the
    handlers it replaced when it exits, which removes this one too)."""
    if threading.current_thread() is not threading.main_thread():
        return
    for signum in (signal.SIGINT, signal.SIGTERM):
        previous = signal.getsignal(signum)
        if callable(previous):
            signal.signal(signum, _chained(streams, previous))


def _chained(streams: Streams, previous: Callable[[int, FrameType | None], Any]) -> Callable[..., None]:
    def handler(signum: int, frame: FrameType | None) -> None:
        streams.stop()
        previous(signum, frame)

    return handler


async def event_stream(request: Request) -> Response:
    """The endpoint: check the caller and the parameters, then answer with the stream."""
    context: Context = request.app.state.events
    streams: Streams = request.app.state.streams
    try:
        await context.gate.check(request, b"", context.run)
        pattern = _pattern(request.query_params.get("pattern"))
        after = _after(request)
        follower = await context.run(lambda: eventstream.Follower(context.svc, after=after, pattern=pattern))
        return EventStreamResponse(context.svc, context.run, streams, follower)
    except Exception as exc:
        return render_error(exc)


def _pattern(text: str | None) -> eventpattern.EventPattern | None:
    if text is None:
        return None
    if len(text) > MAX_PATTERN_CHARS:
        raise InvalidInput(f"The pattern is {len(text)} characters long; the limit is {MAX_PATTERN_CHARS}.", "pattern")
    return eventpattern.parse_pattern(text)


def _after(request: Request) -> int | None:
    """Last-Event-ID (a reconnect) wins over ?after= (still in the URL the EventSource was opened with)."""
    given = (("Last-Event-ID", request.headers.get("last-event-id")), ("after", request.query_params.get("after")))
    for field, value in given:
        if value is None or value.strip() == "":
            continue
        value = value.strip()
        if not value.isdigit() or int(value) > MAX_ID:
            raise InvalidInput(f"'{field}' must be an event's id (a whole number), not '{value[:40]}'.", field)
        return int(value)
    return None


class EventStreamResponse(Response):
    """The stream itself: a long-lived ASGI response (see the module docstring)."""

    def __init__(self, svc: Services, run: Runner, streams: Streams, follower: eventstream.Follower) -> None:
        super().__init__(status_code=200)
        headers = {**RESPONSE_HEADERS, "Content-Type": "text/event-stream; charset=utf-8", "X-Accel-Buffering": "no"}
        self.raw_headers = [(name.lower().encode(), value.encode()) for name, value in headers.items()]  # no length
        self._svc, self._run, self._streams, self._follower = svc, run, streams, follower
        self._gone = False
        self._sent_id = follower.position

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        loop = asyncio.get_running_loop()
        wake = asyncio.Event()

        def listener() -> None:  # from whichever thread logged the events
            loop.call_soon_threadsafe(wake.set)

        try:
            ticket = self._streams.enter(listener)
        except ApiError as refused:
            await render_error(refused)(scope, receive, send)
            return
        listeners = self._svc.events if isinstance(self._svc.events, eventlog.Listeners) else None
        if listeners is not None:
            listeners.add(listener)
        watcher = asyncio.create_task(self._watch(receive, wake))
        try:
            await send({"type": "http.response.start", "status": 200, "headers": self.raw_headers})
            await self._write(send, f"retry: {RETRY_MILLISECONDS}\n\n")
            await self._follow(send, wake)
        finally:
            if listeners is not None:
                listeners.remove(listener)
            self._streams.leave(ticket)
            watcher.cancel()
            await asyncio.gather(watcher, return_exceptions=True)
        if not self._gone:
            await send({"type": "http.response.body", "body": b"", "more_body": False})

    async def _watch(self, receive: Receive, wake: asyncio.Event) -> None:
        """Wait for the client to leave (a GET sends no body worth reading)."""
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                self._gone = True
                wake.set()
                return

    async def _follow(self, send: Send, wake: asyncio.Event) -> None:
        last_write = time.monotonic()
        while not self._gone and not self._streams.stopping:
            wake.clear()  # before reading: events logged during the read wake the next wait
            batch = await self._read()
            if batch or self._follower.position > self._sent_id:
                await self._write(send, self._messages(batch))
                last_write = time.monotonic()
            if len(batch) >= READ_LIMIT:
                continue  # more waiting: read on at once
            idle = time.monotonic() - last_write
            if idle >= KEEPALIVE_SECONDS:
                await self._write(send, ": keep-alive\n\n")
                last_write, idle = time.monotonic(), 0.0
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(wake.wait(), min(POLL_SECONDS, KEEPALIVE_SECONDS - idle))

    async def _read(self) -> list[eventlog.LoggedEvent]:
        try:
            return await self._run(lambda: self._follower.poll(READ_LIMIT))
        except Unavailable as exc:  # an outage: the next poll tries again, the client keeps its place
            log.warning("event stream read skipped: %s", exc.message)
            return []

    def _messages(self, batch: list[eventlog.LoggedEvent]) -> str:
        position = self._follower.position
        parts = []
        for event in batch:
            event_id = min(event.seq, position)
            parts.append(f"id: {event_id}\nevent: {event.detail_type}\ndata: {event.body.decode()}\n\n")
            self._sent_id = max(self._sent_id, event_id)
        if position > self._sent_id:  # filtered events moved the watermark: move the client's last id too
            parts.append(f"id: {position}\n\n")
            self._sent_id = position
        return "".join(parts)

    async def _write(self, send: Send, text: str) -> None:
        if not self._gone:
            await send({"type": "http.response.body", "body": text.encode(), "more_body": True})
