"""The root ASGI application: one port serving the AWS APIs (SageMaker, A2I runtime, S3, STS), a few
crowdloop endpoints under /_crowdloop/, the events API and live stream (/_crowdloop/v1/, /events/stream:
crowdloop.eventsapi), the worker portal and the requester console (/console).

Its lifespan owns the background work: nothing runs and nothing is written before startup (create_app
only builds objects). Startup starts the store's checkpointer, the outbox writers (whose first pass
writes whatever an earlier process left due) and the reaper task; shutdown stops them in reverse order,
the writers after sending what is due.

Every request body is limited here, by route (crowdloop.bodylimit): the AWS APIs wire.MAX_BODY_BYTES (S3:
s3_max_object_bytes and room for its framing, s3.request_limit),
the portal web.MAX_BODY_BYTES and the console console.web.MAX_BODY_BYTES (their anonymous routes and
signed-in ones without a live session stop at their ANONYMOUS_BODY_BYTES), the events API
eventsapi.MAX_BODY_BYTES, /_crowdloop/ and /metrics ANONYMOUS_BODY_BYTES (none of them reads a body).

With metrics_token set, /metrics answers the Prometheus metrics (crowdloop.metrics_http) and every request
passes through the request counter (CountRequests) on its way to the part dispatch chose."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import mimetypes
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any, Literal
from urllib.parse import parse_qs, unquote

from crowdloop import (
    blocking,
    bodylimit,
    dispatch,
    eventlog,
    eventsapi,
    flows,
    logs,
    outbox,
    output,
    reaper,
    served,
    urls,
)
from crowdloop.aws import s3, wire
from crowdloop.aws.app import AwsApi
from crowdloop.blobs import LocalBlobStore, blob_store_for
from crowdloop.clock import Clock, SystemClock
from crowdloop.config import Settings
from crowdloop.console import agreement as console_agreement
from crowdloop.console import exportjobs
from crowdloop.console.app import create_console
from crowdloop.console.web import MAX_BODY_BYTES as CONSOLE_MAX_BODY_BYTES
from crowdloop.deliverer import DeliveryProcess
from crowdloop.dispatcher import Dispatcher
from crowdloop.errors import CrowdloopError, StoreNotReady, Unavailable
from crowdloop.keyfiles import load_key
from crowdloop.labeling.runner import LabelingRunner
from crowdloop.liquid.threads import RenderThreads
from crowdloop.metrics import Metrics, shared_values
from crowdloop.metrics_http import CountRequests, MetricsEndpoint
from crowdloop.portal.app import create_portal
from crowdloop.portal.web import ANONYMOUS_BODY_BYTES
from crowdloop.portal.web import MAX_BODY_BYTES as PORTAL_MAX_BODY_BYTES
from crowdloop.runtime import Services
from crowdloop.store import Store, open_store

log = logging.getLogger("crowdloop")

Delivery = Literal["threads", "process", "elsewhere"]  # who delivers the events an app records

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]


def build_services(
    settings: Settings, clock: Clock | None = None, store: Store | None = None, *, background_checkpoints: bool = False
) -> Services:
    store = store or open_store(settings.resolved_database_url, background_checkpoints=background_checkpoints)
    return Services(
        settings=settings,
        store=store,
        clock=clock or SystemClock(),
        blobs=blob_store_for(settings),
        paging_key=load_key(settings.data_path, "paging.key"),
    )


class CrowdloopApp:
    def __init__(self, services: Services, *, delivery: Delivery = "threads", owns_store: bool = False) -> None:
        """delivery: who fans out and delivers the events this app records: threads of this process
        ("threads"), a child process of this one ("process": crowdloop.deliverer, what `serve` does by
        default) or another process ("elsewhere": the delivery process of `serve --workers N`'s parent).
        owns_store: `close` (and the lifespan's shutdown) disposes the store, once nothing of the app uses it
        any more."""
        self._owns_store = owns_store
        self._closed = False
        self._stopping = asyncio.Event()
        poll = services.settings.reaper_interval_seconds
        self.delivery = DeliveryProcess(services.settings) if delivery == "process" else None
        if delivery != "threads":
            self.outbox = outbox.OutboxWriters(
                services, [output.KIND], poll_seconds=poll, elsewhere=[eventlog.KIND_NAME]
            )
            self.dispatcher: Dispatcher | None = None
        else:
            self.outbox = outbox.OutboxWriters(services, [output.KIND, eventlog.FANOUT], poll_seconds=poll)
            self.dispatcher = Dispatcher(services)
        listeners = eventlog.Listeners()  # the live streams add themselves
        if self.dispatcher is not None:
            listeners.add(self.dispatcher.logged)
        metrics = Metrics(shared_values()) if services.settings.metrics_token else None  # none: nothing is measured
        self.labeling = LabelingRunner(services)
        services = dataclasses.replace(
            services, outbox=self.outbox, events=listeners, metrics=metrics, labeling=self.labeling
        )
        self.outbox.bind(services)
        self.labeling.bind(services)
        if self.dispatcher is not None:
            self.dispatcher.bind(services)
        self.services = services
        render_threads = RenderThreads()  # one limit for every render, API and portal
        heavy_lane = blocking.HeavyLane()  # one lane for the API's list pages and the console (crowdloop.blocking)
        self.aws = AwsApi(services, render_threads=render_threads, heavy_lane=heavy_lane)
        self.portal = create_portal(services, render_threads=render_threads)
        self.console = create_console(services, heavy_lane=heavy_lane)
        self.events_api = eventsapi.EventsApi(services)
        self._reaper: asyncio.Task[None] | None = None
        self._frame_host = dispatch.frame_host(services.settings.task_frame_origin)
        self._metrics: MetricsEndpoint | None = None
        self._handle: Callable[[Scope, Receive, Send], Awaitable[None]] = self._dispatch
        if metrics is not None:
            metrics.watch_store(services, [output.KIND.name, eventlog.FANOUT.name])
            self._metrics = MetricsEndpoint(services, metrics)
            self._handle = CountRequests(self._dispatch, metrics)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        scope[dispatch.DESTINATION] = dispatch.destination(scope, self._frame_host)
        request_id = logs.request_id_for(_header(scope, logs.HEADER))
        token = logs.REQUEST_ID.set(request_id)  # every log line of this request names it (crowdloop.logs)
        try:
            await self._handle(scope, receive, _answering_with_id(send, request_id.encode()))
        finally:
            logs.REQUEST_ID.reset(token)

    async def _dispatch(self, scope: Scope, receive: Receive, send: Send) -> None:
        destination = scope[dispatch.DESTINATION]
        if destination == dispatch.REFUSED:
            # the task frame's origin (task_frame_origin) serves frames and what they load, nothing else
            await _reply(send, 404, b"Not found.", b"text/plain")
            return
        metrics = self._metrics if destination == dispatch.METRICS else None
        route: Callable[[Scope, Receive, Send], Awaitable[None]]
        if destination == dispatch.INTERNAL or metrics is not None:
            route, limit = metrics or self._internal_or_error, ANONYMOUS_BODY_BYTES  # these read no body at all
            if (bodylimit.declared_length(scope) or 0) > limit:  # so refuse a large one here, up front
                await _reply(send, 413, f"The request body is larger than {limit} bytes.".encode(), b"text/plain")
                return
        elif destination == dispatch.S3:  # uploads: up to s3_max_object_bytes, streamed to disk
            route, limit = self.aws, s3.request_limit(self.services.settings)
        elif destination in dispatch.AWS_APIS:
            route, limit = self.aws, wire.MAX_BODY_BYTES
        elif destination == dispatch.EVENTS:
            route, limit = self.events_api, eventsapi.MAX_BODY_BYTES
        elif destination == dispatch.CONSOLE:
            route, limit = self.console, CONSOLE_MAX_BODY_BYTES  # anonymous routes stop at far less (web.py)
        else:  # the portal (and /metrics when metrics_token is not set: the portal's 404 page)
            route, limit = self.portal, PORTAL_MAX_BODY_BYTES  # anonymous routes stop at far less (web.py)
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            started = True
            await send(message)

        try:
            await route(scope, bodylimit.limited(scope, receive, limit), tracking_send)
        except bodylimit.BodyTooLarge:  # a route that let it through: answer for it
            if started:
                raise
            await _reply(send, 413, f"The request body is larger than {limit} bytes.".encode(), b"text/plain")

    async def _internal_or_error(self, scope: Scope, receive: Receive, send: Send) -> None:
        """_internal, with an outage answered 503 + Retry-After and any other failure a logged 500 (an
        exception escaping to the server would cost the client its keep-alive connection)."""
        try:
            await self._internal(scope, receive, send)
        except Unavailable as exc:
            await _reply(
                send,
                503,
                exc.message.encode(),
                b"text/plain; charset=utf-8",
                [(b"retry-after", str(exc.retry_after_seconds).encode())],
            )
        except Exception:
            log.exception("internal error in %s", scope["path"])
            await _reply(send, 500, b"An internal error occurred. Try again.", b"text/plain; charset=utf-8")

    async def _internal(self, scope: Scope, receive: Receive, send: Send) -> None:
        path: str = scope["path"]
        if path == urls.HEALTH:
            await _reply(send, 200, b"ok", b"text/plain")
        elif path == urls.READY:
            problem = await asyncio.to_thread(readiness_problem, self.services.store)
            if problem is None:
                await _reply(send, 200, b"ready", b"text/plain")
            else:
                await _reply(send, 503, problem.encode(), b"text/plain; charset=utf-8", [(b"retry-after", b"5")])
        elif path == urls.NOOP:
            # The benchmark's ceiling: the same server stack answering without doing any work. The body is
            # never read (uvicorn drops what arrives after the answer), so no client can make it hold any.
            await _reply(send, 200, b"{}", b"application/x-amz-json-1.1")
        elif path.startswith(urls.TEMPLATES_PREFIX):
            await self._template(path.removeprefix(urls.TEMPLATES_PREFIX), send)
        elif path.startswith(urls.BLOBS_PREFIX):
            await self._blob(path.removeprefix(urls.BLOBS_PREFIX), scope, send)
        else:
            await _reply(send, 404, b'{"message": "not found"}', b"application/json")

    async def _template(self, sha256: str, send: Send) -> None:
        """DescribeHumanTaskUi's UiTemplate.Url: the template text (an attachment, inert: crowdloop.served)."""
        content = flows.get_template(self.services, sha256) if len(sha256) == 64 else None
        if content is None:
            await _reply(send, 404, b"No such template.", b"text/plain")
            return
        await _reply_object(send, content.encode(), b"text/html; charset=utf-8")

    async def _blob(self, rest: str, scope: Scope, send: Send) -> None:
        """A short-lived signed URL from LocalBlobStore.url_for (grant_read_access in task UIs)."""
        blobs = self.services.blobs
        bucket, _, key = unquote(rest).partition("/")
        query = parse_qs(scope.get("query_string", b"").decode())
        try:
            expires = int(query["expires"][0])
            signature = query["signature"][0]
        except (KeyError, ValueError):
            await _reply(send, 403, b"Missing or malformed signature.", b"text/plain")
            return
        if not isinstance(blobs, LocalBlobStore) or not blobs.verify(bucket, key, expires, signature):
            await _reply(send, 403, b"This link has expired or is not valid.", b"text/plain")
            return
        try:
            data = blobs.get(f"s3://{bucket}/{key}")
        except CrowdloopError:
            await _reply(send, 404, b"No such object.", b"text/plain")
            return
        content_type = (mimetypes.guess_type(key)[0] or "application/octet-stream").encode()
        await _reply_object(send, data, content_type, [(b"cache-control", b"private, max-age=300")])

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await asyncio.to_thread(self.aws.warm)
                await asyncio.to_thread(self._start_background)
                self.services.store.pin_connections()  # the event loop thread runs most SQLite work inline
                self._reaper = asyncio.create_task(self._reap_forever())
                self.events_api.start()  # the exit signals end the live streams (they would hold uvicorn's stop)
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                self.events_api.close()
                self._stopping.set()
                if self._reaper:  # a sweep under way ends first (cancelling would leave its thread holding the store)
                    await asyncio.gather(self._reaper, return_exceptions=True)
                await asyncio.to_thread(self.close)
                await send({"type": "lifespan.shutdown.complete"})
                return

    def close(self) -> None:
        """Stop everything of the app that runs in the background (the lifespan's shutdown, or a caller that
        used the app without a lifespan), then dispose the store if the app owns it. Idempotent."""
        if self._closed:
            return
        self._closed = True
        self.events_api.close()
        self.aws.close()
        self._stop_background()
        if self._owns_store:
            self.services.store.dispose()

    def _start_background(self) -> None:
        services = self.services
        if isinstance(services.blobs, LocalBlobStore):
            services.blobs.discard_stale_incoming()
        services.store.start_checkpointer()
        self.outbox.start()
        self.labeling.start()
        if self.dispatcher is not None:
            self.dispatcher.start()
        if self.delivery is not None:
            self.delivery.start()

    def _stop_background(self) -> None:
        console_agreement.close(self.services)  # the console's background work (agreement, downloads)
        exportjobs.close(self.services)
        if self.dispatcher is not None:
            self.dispatcher.close()
        if self.delivery is not None:
            self.delivery.close()
        self.labeling.close()
        self.outbox.close()
        self.services.store.stop_checkpointer()
        _truncate_wal(self.services.store)

    async def _reap_forever(self) -> None:
        interval = self.services.settings.reaper_interval_seconds
        while not self._stopping.is_set():
            try:
                await asyncio.to_thread(sweep, self.services)
            except Unavailable as exc:  # an outage: nothing is lost, the next sweep does the work
                log.warning("reaper sweep skipped: %s (retrying in %.1fs)", exc.message, interval)
            except Exception:
                log.exception("reaper sweep failed; retrying in %.1fs", interval)
            with contextlib.suppress(TimeoutError):  # the interval passed without a stop
                await asyncio.wait_for(self._stopping.wait(), interval)


def _truncate_wal(store: Store) -> None:
    """A clean stop leaves an empty SQLite WAL (a failure only leaves the file for the next start)."""
    try:
        store.truncate_wal()
    except Exception:
        log.warning("truncating the WAL at shutdown failed", exc_info=True)


def sweep(services: Services) -> None:
    """Return expired leases and end expired loops (the outputs of the loops it stops are then due: the
    output writer, polling at the same interval, also retries the ones that failed)."""
    reaper.reap(services)


def create_app(settings: Settings, clock: Clock | None = None, *, delivery: Delivery = "threads") -> CrowdloopApp:
    """The app for these settings. It starts nothing: its lifespan does (see the module's docstring)."""
    return CrowdloopApp(
        build_services(settings, clock, background_checkpoints=True),
        delivery=delivery,
        owns_store=True,
    )


async def _reply_object(
    send: Send, body: bytes, content_type: bytes, extra_headers: list[tuple[bytes, bytes]] | None = None
) -> None:
    """200 with bytes a requester wrote: inert on our origin (crowdloop.served)."""
    headers = served.inert([(b"content-type", content_type), *(extra_headers or [])])
    await _reply(send, 200, body, content_type, [h for h in headers if h[0] != b"content-type"])


def _header(scope: Scope, name: bytes) -> bytes | None:
    for key, value in scope.get("headers", ()):
        if key == name:
            return bytes(value)
    return None


def _answering_with_id(send: Send, request_id: bytes) -> Send:
    """send, with the request's id in the response's X-Request-Id header."""

    async def sending(message: Message) -> None:
        if message["type"] == "http.response.start":
            message["headers"] = [*message.get("headers", ()), (logs.HEADER, request_id)]
        await send(message)

    return sending


READINESS = {  # what an unauthenticated probe learns: the kind of problem, never where the store is
    "unreachable": "not ready: the database cannot be reached",
    "missing": "not ready: the database holds no crowdloop store (run `crowdloop db upgrade`)",
    "outdated": "not ready: the store's schema is older than this version's (run `crowdloop db upgrade`)",
}


def readiness_problem(store: Store) -> str | None:
    """None when the store answers at the schema revision this version needs or a newer one, else what is
    wrong. Newer is ready: every migration after the first is additive (tests/store/test_migrations_additive.py),
    so a process keeps serving while a rolling upgrade has migrated the store ahead of it
    (docs/deployment.md "Upgrades"); only starting on such a store is refused."""
    try:
        store.check_schema()
    except StoreNotReady as exc:
        if exc.reason == "newer":
            return None
        return READINESS.get(exc.reason, "not ready")
    except Exception:  # a driver error check_schema does not translate: still not ready, and logged
        log.exception("readiness check failed")
        return READINESS["unreachable"]
    return None


async def _reply(
    send: Send, status: int, body: bytes, content_type: bytes, extra_headers: list[tuple[bytes, bytes]] | None = None
) -> None:
    headers = [(b"content-type", content_type), (b"content-length", str(len(body)).encode()), *(extra_headers or [])]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
