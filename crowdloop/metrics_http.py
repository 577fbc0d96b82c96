"""The HTTP side of the metrics (crowdloop.metrics): the request counter and the /metrics endpoint, both
plain ASGI callables the root app (crowdloop.app) runs when metrics_token is set.

`CountRequests` wraps the root app's dispatch and counts each response by (destination, route, method,
status). The route label is never the raw path, so the number of label values stays bounded whatever
clients request: the matched route *template* for the portal (Starlette keeps the matched route in
scope["route"]), the operation for the AWS APIs (scope[dispatch.OPERATION], set once an operation is
found), a template of urls.py for the /_crowdloop/ endpoints, and "unmatched" for anything else (404s,
unknown operations, S3 and STS). Methods outside the standard ones count as "other".

`MetricsEndpoint` answers GET /metrics with every metric in the Prometheus text format, only to
`Authorization: Bearer <metrics_token>` (compared in constant time); anything else is answered 401 with
`WWW-Authenticate: Bearer`.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from crowdloop import blocking, dispatch, urls
from crowdloop.errors import Unavailable
from crowdloop.metrics import CONTENT_TYPE, Metrics
from crowdloop.runtime import Services

log = logging.getLogger("crowdloop")

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
App = Callable[[Scope, Receive, Send], Awaitable[None]]

UNMATCHED = "unmatched"
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"})
_INTERNAL_ROUTES = (  # (prefix or whole path, template): the /_crowdloop/ endpoints of crowdloop.app
    (urls.HEALTH, urls.HEALTH),
    (urls.READY, urls.READY),
    (urls.NOOP, urls.NOOP),
    (urls.TEMPLATES_PREFIX, urls.TEMPLATE),
    (urls.BLOBS_PREFIX, urls.BLOB),
)


def route_label(scope: Scope) -> str:
    """The route template (or AWS operation) that answered the request, from what the parts left in the
    scope; UNMATCHED when none did. Never the raw path."""
    destination = scope.get(dispatch.DESTINATION)
    if destination in dispatch.AWS_APIS:
        return str(scope.get(dispatch.OPERATION) or UNMATCHED)
    if destination == dispatch.METRICS:
        return urls.METRICS
    if destination == dispatch.INTERNAL:
        path: str = scope["path"]
        for start, template in _INTERNAL_ROUTES:
            if path == start or (start.endswith("/") and path.startswith(start)):
                return template
        return UNMATCHED
    route = getattr(scope.get("route"), "path", None)  # a Starlette Route (portal, console): its template
    return route if isinstance(route, str) else UNMATCHED


class CountRequests:
    """Pure-ASGI middleware counting each HTTP response in Metrics.http_requests. Its cost per request:
    a wrapped `send` and one counter increment."""

    def __init__(self, app: App, metrics: Metrics) -> None:
        self._app = app
        self._requests = metrics.http_requests

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        status = 500  # what the server answers for an exception that escapes before a response started

        async def send_and_note(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self._app(scope, receive, send_and_note)
        finally:
            method = scope["method"] if scope["method"] in METHODS else "other"
            destination = str(scope.get(dispatch.DESTINATION, UNMATCHED))
            self._requests.labels(destination, route_label(scope), method, str(status)).inc()


class MetricsEndpoint:
    """GET /metrics for a scraper holding the token."""

    def __init__(self, svc: Services, metrics: Metrics) -> None:
        self._metrics = metrics
        self._expected = f"Bearer {svc.settings.metrics_token.reveal()}".encode()
        self._inline = blocking.store_calls_on_event_loop(svc.store)

    def authorized(self, scope: Scope) -> bool:
        given = b""
        for name, value in scope["headers"]:
            if name == b"authorization":
                given = bytes(value)
        return hmac.compare_digest(given, self._expected)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not self.authorized(scope):
            await _reply(
                send,
                401,
                b"This endpoint needs Authorization: Bearer <metrics_token>.\n",
                [(b"www-authenticate", b'Bearer realm="crowdloop metrics"')],
            )
            return
        if scope["method"] != "GET":
            await _reply(send, 405, b"Use GET.\n", [(b"allow", b"GET")])
            return
        try:  # the store's counters: on the event loop on SQLite, in a thread otherwise (crowdloop.blocking)
            body = self._metrics.render() if self._inline else await asyncio.to_thread(self._metrics.render)
        except Unavailable as exc:
            await _reply(send, 503, exc.message.encode(), [(b"retry-after", str(exc.retry_after_seconds).encode())])
            return
        await _reply(send, 200, body, content_type=CONTENT_TYPE.encode())


async def _reply(
    send: Send,
    status: int,
    body: bytes,
    extra_headers: list[tuple[bytes, bytes]] | None = None,
    content_type: bytes = b"text/plain; charset=utf-8",
) -> None:
    headers = [
        (b"content-type", content_type),
        (b"content-length", str(len(body)).encode()),
        (b"cache-control", b"no-store"),
        (b"x-content-type-options", b"nosniff"),
        *(extra_headers or []),
    ]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
