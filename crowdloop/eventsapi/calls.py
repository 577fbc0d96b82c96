"""How an events API endpoint runs: read the body, authenticate, run the (blocking) domain call where
crowdloop.blocking says, answer JSON; any failure goes to the one error renderer.

    @api_call                              # a blocking function of the call: store reads on the event loop
    def get_subscription(call: Call) -> Response:   # on SQLite, in a worker thread on PostgreSQL
        ...
    @api_call(slow=True)                   # always in a worker thread (it calls out: DNS, a TCP probe)
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar, overload

import anyio
import anyio.to_thread
import orjson
from starlette.requests import Request
from starlette.responses import Response

from crowdloop import blocking
from crowdloop.aws import wire
from crowdloop.errors import InvalidInput, NotFound
from crowdloop.eventsapi.auth import Gate, Principal
from crowdloop.eventsapi.errors import MAX_BODY_BYTES, render_error
from crowdloop.runtime import Services

T = TypeVar("T")
WORKER_THREADS = 8
MAX_ID = 2**63 - 1  # ids are BIGINT: a larger one names nothing (and would overflow the driver)


class Runner:
    """Runs blocking work where crowdloop.blocking's policy puts it (one per process)."""

    def __init__(self, services: Services) -> None:
        self.inline = blocking.store_calls_on_event_loop(services.store)
        self._limiter = anyio.CapacityLimiter(WORKER_THREADS)

    async def __call__(self, fn: Callable[[], T], /) -> T:
        """A store call: on the event loop on SQLite, in a worker thread on PostgreSQL."""
        if self.inline:
            return fn()
        return await self.thread(fn)

    async def thread(self, fn: Callable[[], T], /) -> T:
        """Work that waits on something outside the process: always in a worker thread."""
        return await anyio.to_thread.run_sync(fn, limiter=self._limiter)


@dataclass(frozen=True)
class Context:
    """What every call shares, kept in the Starlette app's state (EventsApi builds it)."""

    svc: Services
    gate: Gate
    run: Runner


@dataclass
class Call:
    """One authenticated request as an endpoint sees it."""

    svc: Services
    request: Request
    principal: Principal
    body: bytes

    def path_id(self, name: str) -> int:
        """A path parameter that is an id (the route's int convertor checked the digits)."""
        value = int(self.request.path_params[name])
        if value > MAX_ID:
            raise NotFound(name, str(value), f"There is no {name} {value}.")
        return value

    def json(self) -> dict[str, Any]:
        """The body as a JSON object (InvalidInput otherwise)."""
        try:
            value = orjson.loads(self.body) if self.body.strip() else {}
        except orjson.JSONDecodeError:
            raise InvalidInput("The request body is not valid JSON.", "body") from None
        if not isinstance(value, dict):
            raise InvalidInput("The request body must be a JSON object.", "body")
        return value

    def query(self, name: str) -> str | None:
        return self.request.query_params.get(name)


View = Callable[[Call], Response]
Endpoint = Callable[[Request], Awaitable[Response]]


@overload
def api_call(view: View, *, slow: bool = False) -> Endpoint: ...
@overload
def api_call(*, slow: bool = False) -> Callable[[View], Endpoint]: ...
def api_call(view: View | None = None, *, slow: bool = False) -> Endpoint | Callable[[View], Endpoint]:
    """An authenticated endpoint running `view` (see the module docstring)."""
    if view is None:
        return functools.partial(_endpoint, slow=slow)
    return _endpoint(view, slow=slow)


def _endpoint(view: View, *, slow: bool = False) -> Endpoint:
    @functools.wraps(view)
    async def endpoint(request: Request) -> Response:
        context: Context = request.app.state.events
        try:
            body = await wire.read_body(request.scope, request.receive, MAX_BODY_BYTES)
            principal = await context.gate.check(request, body, context.run)
            call = Call(context.svc, request, principal, body)
            if slow:
                return await context.run.thread(lambda: view(call))
            return await context.run(lambda: view(call))
        except wire.ClientGone:
            return Response(status_code=400)  # nobody reads it: the client left mid-body
        except Exception as exc:
            return render_error(exc)

    return endpoint
