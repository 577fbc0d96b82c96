"""Request/response plumbing shared by the portal's pages.

A view is a plain function `view(visit) -> Response` that runs in a worker thread (it calls the
store). `signed_in(view)` and `anonymous(view)` turn it into a Starlette endpoint that reads the body
(form or JSON, at most ANONYMOUS_BODY_BYTES), then, in one thread hop: loads the session, refuses
cross-origin POSTs and POSTs without the right CSRF token, and calls the view. A signed-in route whose
body is larger looks the session up first and reads on (to MAX_BODY_BYTES) only for a live one, so a
client without a session never makes the server hold more than ANONYMOUS_BODY_BYTES. Every response
carries the portal's security headers.

No exception leaves an endpoint (answer_failures): an outage (crowdloop.errors.Unavailable) is answered
503 with Retry-After, anything else is logged and answered 500 — as a page, or as JSON `{"error": ...}`
when the request is JSON. (An exception escaping to Starlette would be answered as plain text and then
re-raised to the server, which drops the client's keep-alive connection.)
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, NamedTuple, TypeVar
from urllib.parse import parse_qsl, quote

import anyio
import anyio.to_thread
import jinja2
import orjson
from markupsafe import escape
from starlette.requests import ClientDisconnect, Request
from starlette.responses import HTMLResponse, Response

from crowdloop import urls
from crowdloop.bodylimit import BodyTooLarge
from crowdloop.errors import NotFound, Unavailable
from crowdloop.portal import csrf
from crowdloop.portal.access import JobCache
from crowdloop.portal.handoff import LeaseHandoff
from crowdloop.portal.sessions import SESSION_MAX, Session, load_session
from crowdloop.portal.sourceip import SourceIpRules
from crowdloop.portal.static import Assets
from crowdloop.portal.taskui import TaskUi
from crowdloop.portal.tokens import TokenSigner
from crowdloop.runtime import Services

log = logging.getLogger("crowdloop.portal")

T = TypeVar("T")
SESSION_COOKIE = "crowdloop_session"
MAX_BODY_BYTES = 8 * 1024 * 1024  # signed-in routes (an answer); read only once the session is known
ANONYMOUS_BODY_BYTES = 64 * 1024  # what a client without a session can make the server hold
WORKER_THREADS = 8  # views running at once; more only contend for the GIL and the store's write lock
REMOTE_THREADS = 16  # views waiting on an identity provider at once


def page_policy(frame_origin: str = "") -> str:
    """The portal pages' Content-Security-Policy (frame_origin: where task frames come from, if not here)."""
    frames = f"'self' {frame_origin}" if frame_origin else "'self'"
    return (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        f"frame-src {frames}; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; "
        "base-uri 'none'"
    )


_BASE_HEADERS = {"X-Content-Type-Options": "nosniff", "Cache-Control": "no-store"}


@dataclass
class Portal:
    """Everything the views share, built once by create_portal."""

    svc: Services
    jinja: jinja2.Environment
    assets: Assets
    tokens: TokenSigner
    taskui: TaskUi
    jobs: JobCache
    handoff: LeaseHandoff
    source_ips: SourceIpRules
    page_policy: str
    limiter: anyio.CapacityLimiter
    remote_limiter: anyio.CapacityLimiter
    # On SQLite views run on the event loop (writes are serialised and commits never fsync, so a thread
    # hop costs more than it overlaps); CPU-heavy views (password hashing) still go to a thread.
    inline: bool = False

    async def run(self, function: Callable[..., T], *args: Any, slow: bool = False, remote: bool = False) -> T:
        """Run a view's blocking part (store calls): inline when `inline` and not `slow`, else in a worker
        thread, at most WORKER_THREADS at once. `remote` views wait on another server (an identity
        provider) and get threads of their own, so a hung provider cannot hold up task pages."""
        if remote:
            return await anyio.to_thread.run_sync(function, *args, limiter=self.remote_limiter)
        if self.inline and not slow:
            return function(*args)
        return await anyio.to_thread.run_sync(function, *args, limiter=self.limiter)


@dataclass
class Visit:
    """One request as a view sees it."""

    portal: Portal
    request: Request
    data: dict[str, Any]
    session: Session | None
    csrf_token: str
    cookies: list[tuple[str, str, int]] = field(default_factory=list)  # (name, value, max_age) to set

    @property
    def svc(self) -> Services:
        return self.portal.svc

    @property
    def origin(self) -> str:
        return request_origin(self.request)

    @property
    def client_address(self) -> str | None:
        return client_address(self.request)

    def may_work_on(self, flow_definition_id: int) -> bool:
        """The job's workforce SourceIpConfig lets this request's address work on it."""
        return self.portal.source_ips.allowed(flow_definition_id, self.client_address)

    def outside_network(self) -> Response:
        message = (
            "This job can only be worked on from your organization's network, and your address "
            f"({self.client_address}) is outside it. Connect from that network and try again."
        )
        if wants_json(self.request):
            return self.json({"error": message, "reason": "source-ip"}, 403)
        return self.page("message.html", status=403, title="Not available from this network", message=message)

    @property
    def worker_pk(self) -> int:
        assert self.session is not None
        return self.session.worker_pk

    def page(self, template: str, status: int = 200, **context: Any) -> Response:
        html = self.portal.jinja.get_template(template).render(
            session=self.session, csrf_token=self.csrf_token, asset=self.portal.assets.url, **context
        )
        headers = {"Content-Security-Policy": self.portal.page_policy}
        return self.finish(HTMLResponse(html, status_code=status, headers=headers))

    def json(self, body: dict[str, Any], status: int = 200) -> Response:
        return self.finish(Response(orjson.dumps(body), status_code=status, media_type="application/json"))

    def redirect(self, url: str) -> Response:
        return self.finish(Response(status_code=303, headers={"Location": url}))

    def finish(self, response: Response) -> Response:
        for name, value in _BASE_HEADERS.items():
            response.headers.setdefault(name, value)
        response.headers.setdefault("Referrer-Policy", "same-origin")
        secure = self.request.url.scheme == "https"
        for name, value, max_age in self.cookies:
            response.set_cookie(
                name, value, max_age=max_age if value else 0, path="/", secure=secure, httponly=True, samesite="lax"
            )
        return response

    def not_found(self) -> Response:
        return self.page(
            "message.html", status=404, title="Not found", message="There is nothing here, or it is not yours to see."
        )


View = Callable[[Visit], Response]
Endpoint = Callable[[Request], Awaitable[Response]]


def signed_in(view: View) -> Endpoint:
    """The view runs only with a live session; GETs without one go to the sign-in page."""
    return _endpoint(_signed_in, view)


def anonymous(view: View, *, slow: bool = False, remote: bool = False) -> Endpoint:
    """The view runs for anyone (session loaded if there is one); POSTs need the double-submit token.
    slow: the view burns CPU (password hashing) and always runs in a worker thread; remote: it waits on
    another server and runs in a thread of the separate remote pool."""
    return _endpoint(_anonymous, view, slow=slow, remote=remote)


class _Loaded(NamedTuple):
    """A session already looked up (before reading a large body), or None: look it up in the guard."""

    session: Session | None


Guard = Callable[[Portal, Request, dict[str, Any], View, "_Loaded | None"], Response]


def _endpoint(guard: Guard, view: View, *, slow: bool = False, remote: bool = False) -> Endpoint:
    async def endpoint(request: Request) -> Response:
        portal: Portal = request.app.state.portal
        return await answer_failures(portal, request, _read_and_run(portal, request, guard, view, slow, remote))

    return endpoint


async def _read_and_run(
    portal: Portal, request: Request, guard: Guard, view: View, slow: bool, remote: bool
) -> Response:
    loaded: _Loaded | None = None
    try:
        try:
            data = await read_data(request, ANONYMOUS_BODY_BYTES)
        except BodyOverLimit as over:
            if guard is not _signed_in:
                raise
            # more than an anonymous client may send: the rest is read only for a live session
            loaded = _Loaded(await portal.run(_session_of, portal, request))
            data = {}
            if loaded.session is not None:
                data = await read_data(request, MAX_BODY_BYTES, over.so_far)
    except UnreadableBody as exc:
        return _unreadable(portal, request, exc)
    return await portal.run(guard, portal, request, data, view, loaded, slow=slow, remote=remote)


_UNAVAILABLE_TITLE = "Temporarily unavailable"
_UNAVAILABLE_MESSAGE = "The service is temporarily unavailable. Try again in a few seconds."
_FAILED_TITLE = "Something went wrong"
_FAILED_MESSAGE = "Something went wrong on our side. Try again; if it keeps happening, tell the requester."


async def answer_failures(
    portal: Portal, request: Request, respond: Awaitable[Response], *, frame: bool = False
) -> Response:
    """The endpoint's response, or the answer for the exception it raised (see the module docstring).
    frame: the request is for a task frame document, which gets a bare page it can show."""
    try:
        return await respond
    except Unavailable as exc:  # logged where it was detected (the store, the blob store)
        headers = {"Retry-After": str(exc.retry_after_seconds)}
        return _failure(portal, request, 503, _UNAVAILABLE_TITLE, _UNAVAILABLE_MESSAGE, headers, frame=frame)
    except Exception:
        log.exception("internal error in %s %s", request.method, request.url.path)
        return _failure(portal, request, 500, _FAILED_TITLE, _FAILED_MESSAGE, {}, frame=frame)


def _failure(
    portal: Portal, request: Request, status: int, title: str, message: str, headers: dict[str, str], *, frame: bool
) -> Response:
    if wants_json(request):
        response = _json_error(message, status)
    elif frame:
        response = HTMLResponse(
            _BARE_PAGE.format(title=escape(title), message=escape(message)),
            status_code=status,
            headers={
                "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'",
                "Referrer-Policy": "no-referrer",
            },
        )
    else:
        response = error_page(portal, status, title, message)
    response.headers.update(headers)
    return response


def error_page(portal: Portal, status: int, title: str, message: str) -> Response:
    """The portal's message page for a request no view answered (no session, no CSRF token)."""
    html = portal.jinja.get_template("message.html").render(
        title=title, message=message, session=None, csrf_token="", asset=portal.assets.url
    )
    response = HTMLResponse(html, status_code=status, headers={"Content-Security-Policy": portal.page_policy})
    for name, value in _BASE_HEADERS.items():
        response.headers.setdefault(name, value)
    return response


def _json_error(message: str, status: int) -> Response:
    response = Response(orjson.dumps({"error": message}), status_code=status, media_type="application/json")
    for name, value in _BASE_HEADERS.items():
        response.headers.setdefault(name, value)
    return response


_BARE_PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{title}</title></head>
<body style="font:16px system-ui,sans-serif;margin:16px"><p>{message}</p></body></html>"""


def _session_of(portal: Portal, request: Request) -> Session | None:
    return load_session(portal.svc, request.cookies.get(SESSION_COOKIE))


def _signed_in(portal: Portal, request: Request, data: dict[str, Any], view: View, loaded: _Loaded | None) -> Response:
    session = loaded.session if loaded else _session_of(portal, request)
    visit = Visit(portal, request, data, session, session.csrf_token if session else "")
    if session is None:
        if request.cookies.get(SESSION_COOKIE):
            visit.cookies.append((SESSION_COOKIE, "", 0))
        if request.method == "GET":
            return visit.redirect(urls.signin(next_path=request.url.path))
        if wants_json(request):
            return visit.json({"error": "Your session has ended; sign in again.", "next": urls.SIGNIN}, 401)
        return visit.redirect(urls.signin())
    if request.method == "POST" and not _post_allowed(visit, session.csrf_token):
        return _forbidden(visit)
    return _run(view, visit)


def _anonymous(portal: Portal, request: Request, data: dict[str, Any], view: View, loaded: _Loaded | None) -> Response:
    session = _session_of(portal, request)
    token = request.cookies.get(csrf.ANONYMOUS_COOKIE) or ""
    visit = Visit(portal, request, data, session, token)
    if request.method == "POST" and not _post_allowed(visit, token):
        return _forbidden(visit)
    if not token:
        visit.csrf_token = csrf.new_token()
        visit.cookies.append((csrf.ANONYMOUS_COOKIE, visit.csrf_token, int(SESSION_MAX.total_seconds())))
    return _run(view, visit)


def _run(view: View, visit: Visit) -> Response:
    try:
        return view(visit)
    except NotFound:
        return visit.not_found()


def _post_allowed(visit: Visit, expected: str) -> bool:
    request = visit.request
    given = visit.data.get(csrf.FIELD) or request.headers.get(csrf.HEADER)
    origin_ok = csrf.same_origin(request.headers.get("origin"), request.headers.get("referer"), visit.origin)
    return origin_ok and csrf.tokens_match(expected, given)


def _forbidden(visit: Visit) -> Response:
    message = "This form has expired or did not come from this site. Go back, reload the page and try again."
    if wants_json(visit.request):
        return visit.json({"error": message}, 403)
    return visit.page("message.html", status=403, title="Please try again", message=message)


class UnreadableBody(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class BodyOverLimit(UnreadableBody):
    """413: the body is larger than `limit`; `so_far` holds what was read (to go on with a larger limit)."""

    def __init__(self, limit: int, so_far: list[bytes]) -> None:
        super().__init__(413, f"The request body is larger than {limit} bytes.")
        self.so_far = so_far


async def read_data(request: Request, limit: int, so_far: list[bytes] | None = None) -> dict[str, Any]:
    """The POST body as a dict (url-encoded form or a JSON object); {} for GET. BodyOverLimit when it is
    larger than `limit` (a Content-Length over it before anything is read), UnreadableBody 400 when it is
    malformed. `so_far`: what an earlier call with a smaller limit read already."""
    if request.method != "POST":
        return {}
    try:
        declared = int(request.headers.get("content-length", "0"))
    except ValueError:
        raise UnreadableBody(400, "The Content-Length header is not a number.") from None
    chunks = list(so_far or [])
    size = sum(map(len, chunks))
    if declared > limit:
        raise BodyOverLimit(limit, chunks)
    try:
        async for chunk in request.stream():
            size += len(chunk)
            chunks.append(chunk)
            if size > limit:
                raise BodyOverLimit(limit, chunks)
    except BodyTooLarge:  # the root app's own limit (crowdloop.app)
        raise BodyOverLimit(limit, []) from None
    except ClientDisconnect:  # nobody is left to read the answer; a partial body must not reach a view
        raise UnreadableBody(400, "The client went away before sending the whole body.") from None
    body = b"".join(chunks)
    try:
        if wants_json(request):
            value = orjson.loads(body) if body else {}
            if not isinstance(value, dict):
                raise ValueError("not a JSON object")
            return value
        return dict(parse_qsl(body.decode(), keep_blank_values=True, max_num_fields=100))
    except ValueError as exc:  # includes orjson.JSONDecodeError and UnicodeDecodeError
        raise UnreadableBody(400, f"The request body is malformed: {exc}") from None


def _unreadable(portal: Portal, request: Request, exc: UnreadableBody) -> Response:
    """413/400 as the portal answers errors: JSON for JSON requests, else the message page."""
    visit = Visit(portal, request, {}, None, "")
    if wants_json(request):
        return visit.json({"error": exc.message}, exc.status)
    title = "Too much data" if exc.status == 413 else "Unreadable request"
    return visit.page("message.html", status=exc.status, title=title, message=exc.message)


def wants_json(request: Request) -> bool:
    return request.headers.get("content-type", "").split(";")[0].strip() == "application/json"


def client_address(request: Request) -> str | None:
    return request.client.host if request.client else None


def request_origin(request: Request) -> str:
    return f"{request.url.scheme}://{request.headers.get('host', '')}"


MAX_NEXT_BYTES = 1024  # once non-ASCII is percent-encoded; the OIDC state cookie carries it
_PRINTABLE_ASCII = "".join(chr(c) for c in range(0x21, 0x7F))


def next_path(target: str | None) -> str | None:
    """Where to go after signing in: "/" when no `next` was given, `target` when it is a path on this
    site, None when it is not (the caller answers 400; see docs/portal.md).

    A path on this site is "/" alone or "/" followed by a character other than "/" and "\\", with no
    backslash, whitespace or control character anywhere (browsers drop TAB/CR/LF inside URLs, so
    "/<TAB>/host" would become "//host", another site) and at most MAX_NEXT_BYTES long once
    non-ASCII characters are percent-encoded (they are, in the path returned)."""
    if not target:
        return "/"
    if not target.startswith("/") or target[1:2] in ("/", "\\"):
        return None
    if any(ch == "\\" or ch.isspace() or not ch.isprintable() for ch in target):
        return None
    target = quote(target, safe=_PRINTABLE_ASCII)  # a Location header holds ASCII only
    return target if len(target) <= MAX_NEXT_BYTES else None


def bad_next(visit: Visit) -> Response:
    return visit.page(
        "message.html",
        status=400,
        title="This link is not valid",
        message="The address this link would take you to after signing in is not a page of "
        "this site. Sign in from the sign-in page instead.",
    )
