"""The root ASGI application: one port serving the AWS APIs (SageMaker, A2I runtime, S3, STS), a few
crowdloop endpoints under /_crowdloop/, and (later) the worker portal. It also runs the reaper."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from crowdloop import output, queue
from crowdloop.aws.app import AwsApi, is_aws_request
from crowdloop.blobs import blob_store_for
from crowdloop.clock import Clock, SystemClock
from crowdloop.config import Settings
from crowdloop.runtime import Services
from crowdloop.store import Store, open_store

log = logging.getLogger("crowdloop")

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]


def build_services(settings: Settings, clock: Clock | None = None, store: Store | None = None) -> Services:
    return Services(settings=settings, store=store or open_store(settings.resolved_database_url),
                    clock=clock or SystemClock(), blobs=blob_store_for(settings))


class CrowdloopApp:
    def __init__(self, services: Services) -> None:
        self.services = services
        self.aws = AwsApi(services)
        self._reaper: asyncio.Task[None] | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        path: str = scope["path"]
        if path.startswith("/_crowdloop/"):
            await self._internal(path, scope, receive, send)
        elif is_aws_request(scope):
            await self.aws(scope, receive, send)
        else:
            await _reply(send, 404, b"<!doctype html><title>crowdloop</title><h1>crowdloop</h1>"
                         b"<p>Not found.</p>", b"text/html; charset=utf-8")

    async def _internal(self, path: str, scope: Scope, receive: Receive, send: Send) -> None:
        if path == "/_crowdloop/health":
            await _reply(send, 200, b"ok", b"text/plain")
        elif path == "/_crowdloop/noop":
            # The benchmark's ceiling: the same server stack answering without doing any work.
            await _drain_body(receive)
            await _reply(send, 200, b"{}", b"application/x-amz-json-1.1")
        else:
            await _reply(send, 404, b'{"message": "not found"}', b"application/json")

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                self._reaper = asyncio.create_task(self._reap_forever())
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                if self._reaper:
                    self._reaper.cancel()
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def _reap_forever(self) -> None:
        interval = self.services.settings.reaper_interval_seconds
        while True:
            try:
                await asyncio.to_thread(sweep, self.services)
            except Exception:
                log.exception("reaper sweep failed; retrying in %.1fs", interval)
            await asyncio.sleep(interval)


def sweep(services: Services) -> None:
    """Return expired leases, end expired loops, and write any output that a crash left unwritten."""
    queue.reap(services)
    output.write_pending_outputs(services)


def create_app(settings: Settings, clock: Clock | None = None) -> CrowdloopApp:
    services = build_services(settings, clock)
    output.write_pending_outputs(services)
    return CrowdloopApp(services)


async def _drain_body(receive: Receive) -> bytes:
    chunks = []
    while True:
        message = await receive()
        chunks.append(message.get("body", b""))
        if not message.get("more_body"):
            return b"".join(chunks)


async def _reply(send: Send, status: int, body: bytes, content_type: bytes) -> None:
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", content_type), (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})
