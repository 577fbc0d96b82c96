"""EventsApi: the Starlette app of the events API and the live stream, one per process (crowdloop.app
hands it every request crowdloop.dispatch sends to EVENTS)."""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from crowdloop import urls
from crowdloop.eventsapi import handlers, labeling, stream
from crowdloop.eventsapi.auth import Gate
from crowdloop.eventsapi.calls import Context, Runner
from crowdloop.eventsapi.errors import render_error
from crowdloop.runtime import Services


class EventsApi:
    """The ASGI app; `start()` and `close()` belong to the root app's lifespan."""

    def __init__(self, services: Services, *, max_streams: int | None = None) -> None:
        self.streams = stream.Streams(stream.MAX_STREAMS if max_streams is None else max_streams)
        routes = [
            *handlers.ROUTES,
            *labeling.ROUTES,
            Route(urls.EVENT_STREAM, stream.event_stream, methods=["GET"]),
            Route(urls.CONSOLE_EVENT_STREAM, stream.event_stream, methods=["GET"]),
        ]
        self.app = Starlette(routes=routes, exception_handlers={HTTPException: _http_error})
        self.app.state.events = Context(services, Gate(services), Runner(services))
        self.app.state.streams = self.streams

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.app(scope, receive, send)

    def start(self) -> None:
        """At startup (in the event loop's thread): let the exit signals end the streams."""
        stream.stop_on_exit_signals(self.streams)

    def close(self) -> None:
        """At shutdown: end the streams still open."""
        self.streams.stop()


async def _http_error(request: Request, exc: Exception) -> Response:
    """No such route (404) or method (405): the one error renderer answers these too."""
    return render_error(exc)
