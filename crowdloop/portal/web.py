"""Request/response plumbing shared by the portal's pages.

A view is a plain function `view(visit) -> Response` that runs in a worker thread (it calls the
store). `signed_in(view)` and `anonymous(view)` turn it into a Starlette endpoint that reads the body
(form or JSON, at most ANONYMOUS_BODY_BYTES), then, in one thread hop: loads the session, refuses
cross-origin POSTs and POSTs without the right CSRF token, and calls the view. A signed-in route whose
body is larger looks the session up first and reads on (to MAX_BODY_BYTES) only for a live one, so a
client without a session never makes the server hold more than ANONYMOUS_BODY_BYTES. Every response
carries the portal's security headers.

Views do not answer errors, they raise them (crowdloop.portal.errors says what each one means), and no
exception leaves an endpoint (answer_failures): `render_error`, the one error renderer, answers it with
the portal's security headers: the message page, JSON `{"error": ...}` when the request is JSON, or a
bare page on the task frame's route. An unexpected exception is logged and answered 500 (its traceback is
never shown); Starlette's own 404/405 (no route) are answered by render_error too. (An exception escaping
to Starlette would be answered as plain text and then re-raised to the server, which drops the client's
keep-alive connection.)
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

from crowdloop import i18n, urls
from crowdloop import multipart as formdata
from crowdloop.bodylimit import BodyTooLarge
from crowdloop.i18n import N_
from crowdloop.portal import csrf, errors
from crowdloop.portal.access import JobCache
from crowdloop.portal.errors import BodyOverLimit, OutsideNetwork, UnreadableBody
from crowdloop.portal.handoff import LeaseHandoff
from crowdloop.portal.languages import language_of, template_i18n
from crowdloop.portal.sourceip import SourceIpRules
from crowdloop.portal.static import Assets
from crowdloop.portal.taskui import TaskUi
from crowdloop.portal.tokens import TokenSigner
from crowdloop.runtime import Services
from crowdloop.sessions import SESSION_MAX, Session, load_session

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
    """One request as a view sees it (the guard fills in data, session and token before the view runs)."""

    portal: Portal
    request: Request
    data: dict[str, Any] = field(default_factory=dict)
    session: Session | None = None
    csrf_token: str = ""
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

    def check_network(self, flow_definition_id: int) -> None:
        """OutsideNetwork unless this request's address may work on the job (may_work_on)."""
        if not self.may_work_on(flow_definition_id):
            raise OutsideNetwork(self.client_address)

    @property
    def worker_pk(self) -> int:
        assert self.session is not None
        return self.session.worker_pk

    @property
    def language(self) -> i18n.Language:
        """The request's language: the switcher's cookie, else Accept-Language (crowdloop.i18n.choose)."""
        return language_of(self.request)

    def _(self, message: str, **params: Any) -> str:
        """`message` (an English msgid) in the request's language, its {name} fields filled from params."""
        return self.language.gettext(message, **params)

    def page(self, template: str, status: int = 200, **context: Any) -> Response:
        language = self.language
        html = self.portal.jinja.get_template(template).render(
            session=self.session,
            csrf_token=self.csrf_token,
            asset=self.portal.assets.url,
            **template_i18n(language, self.request),
            **context,
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


Guard = Callable[[Visit, View, "_Loaded | None"], Response]


def _endpoint(guard: Guard, view: View, *, slow: bool = False, remote: bool = False) -> Endpoint:
    async def endpoint(request: Request) -> Response:
        visit = Visit(request.app.state.portal, request)
        return await answer_failures(visit, _read_and_run(visit, guard, view, slow, remote))

    return endpoint


async def _read_and_run(visit: Visit, guard: Guard, view: View, slow: bool, remote: bool) -> Response:
    portal, request = visit.portal, visit.request
    loaded: _Loaded | None = None
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
    visit.data = data
    return await portal.run(guard, visit, view, loaded, slow=slow, remote=remote)


async def answer_failures(visit: Visit, respond: Awaitable[Response], *, frame: bool = False) -> Response:
    """The endpoint's response, or render_error's answer for the exception it raised. frame: the route is
    the task frame's."""
    try:
        return await respond
    except Exception as exc:
        return render_error(visit, exc, frame=frame)


def render_error(visit: Visit, exc: BaseException, *, frame: bool = False) -> Response:
    """The portal's one error renderer (see the module docstring and crowdloop.portal.errors)."""
    request = visit.request
    answer = errors.describe(exc, request.path_params, visit.language)
    if answer.logged:
        log.error("internal error in %s %s", request.method, request.url.path, exc_info=exc)
    if wants_json(request):
        response = visit.json(answer.json, answer.json_status)
    elif frame:
        response = visit.finish(
            HTMLResponse(
                _BARE_PAGE.format(
                    lang=visit.language.code, title=escape(answer.frame_title), message=escape(answer.frame_message)
                ),
                status_code=answer.status,
                headers={"Content-Security-Policy": FRAME_ERROR_POLICY, "Referrer-Policy": "no-referrer"},
            )
        )
    else:
        response = visit.page("message.html", status=answer.status, title=answer.title, message=answer.message)
    response.headers.update(answer.headers)
    return response


FRAME_ERROR_POLICY = "default-src 'none'; style-src 'unsafe-inline'; sandbox"  # a frame's error page
_BARE_PAGE = """<!doctype html><html lang="{lang}"><head><meta charset="utf-8"><title>{title}</title></head>
<body style="font:16px system-ui,sans-serif;margin:16px"><p>{message}</p></body></html>"""


def _session_of(portal: Portal, request: Request) -> Session | None:
    return load_session(portal.svc, request.cookies.get(SESSION_COOKIE))


def _signed_in(visit: Visit, view: View, loaded: _Loaded | None) -> Response:
    request = visit.request
    session = loaded.session if loaded else _session_of(visit.portal, request)
    visit.session, visit.csrf_token = session, session.csrf_token if session else ""
    if session is None:
        if request.cookies.get(SESSION_COOKIE):
            visit.cookies.append((SESSION_COOKIE, "", 0))
        if request.method == "GET":
            return visit.redirect(urls.signin(next_path=request.url.path))
        if wants_json(request):
            raise errors.session_ended()
        return visit.redirect(urls.signin())
    if request.method == "POST" and not _post_allowed(visit, session.csrf_token):
        raise errors.form_expired()
    return view(visit)


def _anonymous(visit: Visit, view: View, loaded: _Loaded | None) -> Response:
    request = visit.request
    visit.session = _session_of(visit.portal, request)
    token = request.cookies.get(csrf.ANONYMOUS_COOKIE) or ""
    visit.csrf_token = token
    if request.method == "POST" and not _post_allowed(visit, token):
        raise errors.form_expired()
    if not token:
        visit.csrf_token = csrf.new_token()
        visit.cookies.append((csrf.ANONYMOUS_COOKIE, visit.csrf_token, int(SESSION_MAX.total_seconds())))
    return view(visit)


def _post_allowed(visit: Visit, expected: str) -> bool:
    request = visit.request
    given = visit.data.get(csrf.FIELD) or request.headers.get(csrf.HEADER)
    origin_ok = csrf.same_origin(request.headers.get("origin"), request.headers.get("referer"), visit.origin)
    return origin_ok and csrf.tokens_match(expected, given)


async def read_data(
    request: Request, limit: int, so_far: list[bytes] | None = None, *, multipart: bool = False
) -> dict[str, Any]:
    """The POST body as a dict (url-encoded form or a JSON object; with `multipart`, also a multipart/form-data
    form, files as text: crowdloop.multipart); {} for GET. BodyOverLimit when it is larger than `limit` (a
    Content-Length over it before anything is read), UnreadableBody 400 when it is malformed. `so_far`: what
    an earlier call with a smaller limit read already."""
    if request.method != "POST":
        return {}
    try:
        declared = int(request.headers.get("content-length", "0"))
    except ValueError:
        raise UnreadableBody(400, N_("The Content-Length header is not a number.")) from None
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
        raise UnreadableBody(400, N_("The client went away before sending the whole body.")) from None
    body = b"".join(chunks)
    try:
        if wants_json(request):
            value = orjson.loads(body) if body else {}
            if not isinstance(value, dict):
                raise ValueError("not a JSON object")
            return value
        content_type = request.headers.get("content-type", "")
        if multipart and formdata.is_multipart(content_type):
            return dict(formdata.parse(body, content_type))
        return dict(parse_qsl(body.decode(), keep_blank_values=True, max_num_fields=100))
    except ValueError as exc:  # includes orjson.JSONDecodeError and UnicodeDecodeError
        raise UnreadableBody(400, N_("The request body is malformed: {error}"), error=str(exc)) from None


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
