"""The AWS-compatible API as one raw ASGI callable: SageMaker (awsJson1_1), A2I runtime (restJson1), S3, STS.

Per request: (auth = off: refuse what a web page sent, crowdloop.aws.unsigned) -> read body
(<= 40 MiB for the JSON APIs, 1 MiB for STS, 4 MiB for S3's XML documents; S3 uploads are streamed to a
file after the signature check, crowdloop.aws.s3body) -> verify SigV4 -> route -> validate against the botocore
model -> run the handler (`_run`; RenderUiTemplate always in a RenderThreads thread) -> serialise. Handlers
are plain functions `(Services, Caller, params) -> dict` from crowdloop.aws.sagemaker / crowdloop.aws.a2i_runtime.

Which API a request is for is decided once, by crowdloop.dispatch (the rules are listed there): the root
app keeps the decision in the ASGI scope and AwsApi reads it (or decides, when it is run on its own).
"""

from __future__ import annotations

import asyncio
import importlib
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, NamedTuple, TypeVar
from urllib.parse import unquote

from crowdloop import blocking, dispatch
from crowdloop.aws import s3, s3body, sts, unsigned, validation, wire
from crowdloop.aws.errors import A2I_JSON, SAGEMAKER_JSON, WireError, a2i_error, sagemaker_error
from crowdloop.aws.sigv4 import Authenticator, KeyCache
from crowdloop.clock import Clock
from crowdloop.dispatch import A2I, S3, SAGEMAKER, SIGNING_NAME, STS
from crowdloop.liquid.threads import RenderThreads
from crowdloop.runtime import Caller, Services

Handler = Callable[[Services, Caller, dict[str, Any]], dict[str, Any]]

# awsJson1_1 selects the operation by this header, so the signature must cover it (the A2I runtime routes by
# method and path, S3 by path and query, STS by the body: all signed anyway).
ROUTED_BY = ("x-amz-target",)

T = TypeVar("T")

RENDERING_OPERATIONS = frozenset({"RenderUiTemplate"})  # CPU-bound: run in RenderThreads, on every database
HEAVY_OPERATIONS = frozenset(  # pages of up to 100 resources: the heavy lane, on every database (crowdloop.blocking)
    {
        "ListHumanLoops",
        "ListFlowDefinitions",
        "ListHumanTaskUis",
        "ListWorkteams",
        "ListWorkforces",
        "ListTags",
        "ListLabelingJobs",
        "ListLabelingJobsForWorkteam",
    }
)


class AwsApi:
    """ASGI app for every AWS-compatible endpoint. One instance per process."""

    def __init__(
        self,
        services: Services,
        sagemaker_ops: dict[str, Handler] | None = None,
        a2i_ops: dict[str, Handler] | None = None,
        *,
        signature_clock: Clock | None = None,
        max_workers: int = 32,
        render_threads: RenderThreads | None = None,
        heavy_lane: blocking.HeavyLane | None = None,
    ) -> None:
        """`signature_clock` checks X-Amz-Date (default: the system clock, not services.clock, so tests
        with a ManualClock can still sign with real time)."""
        self.services = services
        self.sagemaker_ops = sagemaker_ops if sagemaker_ops is not None else _registry("sagemaker")
        self.a2i_ops = a2i_ops if a2i_ops is not None else _registry("a2i_runtime")
        self.keys = KeyCache(services)
        self._auth = Authenticator(services.settings, self.keys, signature_clock)
        self._unsigned = None if self._auth.enabled else unsigned.HostGuard(services.settings)
        self._s3 = s3.S3Api(services.settings)
        self._routes: _Router | None = None
        self._executor = ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="crowdloop-aws")
        self._inline = blocking.store_calls_on_event_loop(services.store)  # else handlers run in the pool
        self._render_threads = render_threads or RenderThreads()
        self._heavy_lane = heavy_lane or blocking.HeavyLane()

    def warm(self) -> None:
        """Load the service models and compile every registered operation's validator (optional)."""
        for op in self.sagemaker_ops:
            validation.validator(SAGEMAKER).prepare(op)
        for op in self.a2i_ops:
            validation.validator(A2I).prepare(op)
        self._router()

    def close(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)

    async def _run(self, fn: Callable[[], T]) -> T:
        if self._inline:
            return fn()
        return await asyncio.get_running_loop().run_in_executor(self._executor, fn)

    async def _in_thread(self, fn: Callable[[], T]) -> T:
        """File-system work (the S3 API): always in the pool, whatever the store."""
        return await asyncio.get_running_loop().run_in_executor(self._executor, fn)

    async def _run_operation(self, operation: str, fn: Callable[[], T]) -> T:
        """Run an operation's handler where it belongs; its time is observed when metrics are on."""
        started = time.perf_counter()
        try:
            if operation in RENDERING_OPERATIONS:
                return await self._render_threads.run(fn)
            if operation in HEAVY_OPERATIONS:
                return await self._heavy_lane.run(fn)
            return await self._run(fn)
        finally:
            if self.services.metrics is not None:
                self.services.metrics.observe_operation(operation, time.perf_counter() - started)

    async def __call__(self, scope: wire.Scope, receive: wire.Receive, send: wire.Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        kind = scope.get(dispatch.DESTINATION) or dispatch.destination(scope)
        request = wire.Request(scope)
        request_id = str(uuid.uuid4()).encode()
        if kind == SAGEMAKER:
            response = await self._sagemaker(scope, receive, request, request_id)
        elif kind == A2I:
            response = await self._a2i(scope, receive, request, request_id)
        elif kind == S3:
            response = await self._s3_request(scope, receive, request, request_id)
        elif kind == STS:
            response = await self._sts_request(scope, receive, request, request_id)
        else:
            status, headers, body = sagemaker_error(
                WireError("UnknownOperationException", 404, "No AWS API at this address."), request_id
            )
            response = wire.Response(status, headers, body)
        await wire.send_response(send, response, head=request.method == "HEAD")

    def _refuse_web_pages(self, request: wire.Request) -> None:
        """auth = off: no request a web page could have sent (crowdloop.aws.unsigned)."""
        if self._unsigned is not None:
            self._unsigned.check(request)

    # --- SageMaker: awsJson1_1 -------------------------------------------------------------------------

    async def _sagemaker(
        self, scope: wire.Scope, receive: wire.Receive, request: wire.Request, request_id: bytes
    ) -> wire.Response:
        try:
            self._refuse_web_pages(request)
            request.body = await _body(scope, receive)
            caller = await self._auth.authenticate(request, SIGNING_NAME, self._run, routed_by=ROUTED_BY)
            prefix, _, operation = request.header("x-amz-target").partition(".")
            handler = self.sagemaker_ops.get(operation) if prefix == "SageMaker" else None
            if handler is None or request.method != "POST":
                raise WireError(
                    "UnknownOperationException", 400, f"Operation {request.header('x-amz-target')!r} is not supported."
                )
            scope[dispatch.OPERATION] = operation  # a known operation: the metrics' route label
            params = validation.validate(SAGEMAKER, operation, _json_object(request.body))
            result = await self._run_operation(operation, lambda: handler(self.services, caller, params))
            body = wire.sagemaker_json(result)
        except Exception as exc:
            status, headers, error_body = sagemaker_error(exc, request_id)
            return wire.Response(status, headers, error_body)
        headers = [(b"content-type", SAGEMAKER_JSON), (b"x-amzn-requestid", request_id)]
        return wire.Response(200, headers, body)

    # --- A2I runtime: restJson1 ------------------------------------------------------------------------

    async def _a2i(
        self, scope: wire.Scope, receive: wire.Receive, request: wire.Request, request_id: bytes
    ) -> wire.Response:
        try:
            self._refuse_web_pages(request)
            request.body = await _body(scope, receive)
            caller = await self._auth.authenticate(request, SIGNING_NAME, self._run)
            matched = self._router().match(request.method, request.raw_path)
            handler = self.a2i_ops.get(matched[0].operation) if matched else None
            if matched is None or handler is None:
                raise WireError("UnknownOperationException", 404, f"No operation for {request.method} {request.path}.")
            route, labels = matched
            scope[dispatch.OPERATION] = route.operation
            params = _json_object(request.body) if route.method == "POST" else {}
            params.update(labels)
            route.add_query(request.query_pairs(), params)
            params = validation.validate(A2I, route.operation, params)
            result = await self._run_operation(route.operation, lambda: handler(self.services, caller, params))
            body = wire.a2i_json(result)
        except Exception as exc:
            status, headers, error_body = a2i_error(exc, request_id)
            return wire.Response(status, headers, error_body)
        return wire.Response(200, [(b"content-type", A2I_JSON), (b"x-amzn-requestid", request_id)], body)

    def _router(self) -> _Router:
        if self._routes is None:
            self._routes = _Router.from_model(A2I)
        return self._routes

    # --- S3 and STS (XML) ------------------------------------------------------------------------------

    async def _s3_request(
        self, scope: wire.Scope, receive: wire.Receive, request: wire.Request, request_id: bytes
    ) -> wire.Response:
        received: s3body.Received | None = None
        upload = self._s3.streams_body(request)
        body = wire.TrackedReceive(receive)
        try:
            self._refuse_web_pages(request)
            if not upload:
                request.body = await _body(scope, body, s3.MAX_XML_BODY_BYTES)
            # S3 signs the payload's hash as a header, so an upload is authenticated before its body is read
            caller = await self._auth.authenticate(request, S3, self._run, s3_resource=self._s3.resource_path(request))
            if upload:
                await self._in_thread(lambda: self._s3.check_upload(request))
                tmp = await self._in_thread(self._s3.store.temp_path)
                limit = self._s3.max_object_bytes
                received = await s3body.receive(body, request, tmp, limit, self._in_thread)
            return await self._in_thread(lambda: self._s3.handle(request, caller, request_id, received))
        except Exception as exc:
            response = s3.error_response(exc, request, request_id)
            await wire.settle_body(body, response.headers, request.header("expect"), s3.DRAIN_BYTES)
            return response
        finally:
            if received is not None:
                await self._in_thread(received.discard)  # still there when the request failed

    async def _sts_request(
        self, scope: wire.Scope, receive: wire.Receive, request: wire.Request, request_id: bytes
    ) -> wire.Response:
        try:
            self._refuse_web_pages(request)
            request.body = await _body(scope, receive, wire.MAX_XML_API_BODY_BYTES)
            caller = await self._auth.authenticate(request, STS, self._run)
            return sts.handle(request, caller, request_id)
        except Exception as exc:
            return sts.error_response(exc, request_id)

    async def _lifespan(self, receive: wire.Receive, send: wire.Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                self.close()
                await send({"type": "lifespan.shutdown.complete"})
                return


async def _body(scope: wire.Scope, receive: wire.Receive, limit: int = wire.MAX_BODY_BYTES) -> bytes:
    try:
        return await wire.read_body(scope, receive, limit)
    except wire.BodyTooLarge:
        raise WireError("ValidationException", 413, f"Request body exceeds the limit of {limit} bytes.") from None
    except wire.ClientGone:  # the answer reaches nobody; what matters is that no handler runs on half a body
        raise WireError("IncompleteBody", 400, "The client disconnected before sending the whole body.") from None


def _json_object(body: bytes) -> dict[str, Any]:
    if not body.strip():
        return {}
    try:
        value = wire.loads(body)
    except ValueError:
        raise WireError("SerializationException", 400, "The request body is not valid JSON.") from None
    if not isinstance(value, dict):
        raise WireError("SerializationException", 400, "The request body must be a JSON object.")
    return value


def _registry(module: str) -> dict[str, Handler]:
    operations: dict[str, Handler] = importlib.import_module(f"crowdloop.aws.{module}").OPERATIONS
    return operations


# --- restJson1 routing from the model ----------------------------------------------------------------


class _Route(NamedTuple):
    operation: str
    method: str
    segments: tuple[str | None, ...]  # literal segment, or None for a {label}
    labels: tuple[str, ...]  # member names of the labels, in order
    query: dict[str, tuple[str, str]]  # wire name -> (member name, shape type)

    def add_query(self, pairs: list[tuple[str, str]], params: dict[str, Any]) -> None:
        for name, value in pairs:
            found = self.query.get(name)
            if found is None:
                continue
            member, kind = found
            if kind == "list":
                params.setdefault(member, []).append(value)
            elif kind in ("integer", "long"):
                try:
                    params[member] = int(value)
                except ValueError:
                    params[member] = value
            elif kind == "boolean":
                params[member] = {"true": True, "false": False}.get(value, value)
            else:
                params[member] = value


class _Router:
    def __init__(self, routes: list[_Route]) -> None:
        # Routes with more literal segments win (POST /human-loops/stop before POST /human-loops/{x}).
        self.routes = sorted(routes, key=lambda r: -sum(s is not None for s in r.segments))

    @classmethod
    def from_model(cls, service: str) -> _Router:
        model = validation.service_model(service)
        routes = []
        for name in model.operation_names:
            op = model.operation_model(name)
            uri = op.http["requestUri"].partition("?")[0]
            segments: list[str | None] = []
            labels: list[str] = []
            for part in uri.strip("/").split("/"):
                if part.startswith("{") and part.endswith("}"):
                    segments.append(None)
                    labels.append(part[1:-1].rstrip("+"))
                else:
                    segments.append(part)
            query: dict[str, tuple[str, str]] = {}
            shape = op.input_shape
            members = shape.members if shape is not None else {}
            by_wire_name = {}
            for member_name, member in members.items():
                location = member.serialization.get("location")
                wire_name = member.serialization.get("name", member_name)
                if location == "querystring":
                    query[wire_name] = (member_name, member.type_name)
                elif location == "uri":
                    by_wire_name[wire_name] = member_name
            labels = [by_wire_name.get(label, label) for label in labels]
            routes.append(_Route(name, op.http["method"], tuple(segments), tuple(labels), query))
        return cls(routes)

    def match(self, method: str, raw_path: str) -> tuple[_Route, dict[str, str]] | None:
        parts = raw_path.strip("/").split("/")
        for route in self.routes:
            if route.method != method or len(route.segments) != len(parts):
                continue
            values = []
            for expected, part in zip(route.segments, parts, strict=True):
                if expected is None:
                    if not part:
                        break
                    values.append(unquote(part))
                elif expected != part:
                    break
            else:
                return route, dict(zip(route.labels, values, strict=True))
        return None
