"""Request plumbing for the requester console: guards, the visit a view sees, CSRF, headers, errors.

How to write a console view (every part does it this way)::

    from starlette.routing import Route
    from crowdloop import urls
    from crowdloop.console.web import ConsoleVisit, console_action, console_page

    @console_page                            # GET: a signed-in page (or JSON endpoint)
    def flow_page(visit: ConsoleVisit) -> Response:
        name = visit.request.path_params["name"]
        flow = flows.describe_flow_definition(visit.svc, visit.caller, name)   # raise, don't answer errors
        return visit.page("flow.html", title=flow.name, flow=flow)

    @console_action                          # POST: session + CSRF token + same Origin checked first
    def stop_loop(visit: ConsoleVisit) -> Response:
        loops.stop_human_loop(visit.svc, visit.caller, visit.data["name"])
        return visit.redirect(urls.fill(urls.CONSOLE_LOOP, ...))

    ROUTES = [Route(urls.CONSOLE_FLOW, flow_page, methods=["GET"]), Route(..., stop_loop, methods=["POST"])]

* A view is a plain (blocking) function `view(visit) -> Response`; it may call the store. It runs on the
  event loop on SQLite and in a worker thread on PostgreSQL (crowdloop.blocking's policy);
  `@console_page(slow=True)` / `@console_action(slow=True)` always run it in a worker thread (long
  work: a large download's first chunk, a template render).
* `console_page` (GET): without a live session an HTML request is redirected to the sign-in page with
  `?next=<this path and query>`; a JSON request (path under /console/api/, or Accept: application/json)
  gets 401 `{"error": ...}`.
* `console_action` (POST): needs a live session, the session's CSRF token (form field `csrf_token` or
  header `X-CSRF-Token`) and, when the browser names one, our own Origin (else Referer). Refused: 403.
  The body (a url-encoded or multipart form, files as text, or a JSON object, at most MAX_BODY_BYTES;
  ANONYMOUS_BODY_BYTES until the session is known) is in `visit.data` as a dict of strings (form) or JSON
  values.
* `ConsoleVisit`: `svc` (Services), `caller` (Caller: the key's account, settings.region), `csrf` (the
  token every form repeats: `<input type="hidden" name="csrf_token" value="{{ csrf }}">`; console.js sends
  it as X-CSRF-Token on fetch POSTs, from `<meta name="csrf-token">` in base.html), `request`, `data`,
  `session`; `page(template, status=200, **context)` renders a template of console/templates (context
  also has `csrf`, `session`, `urls`, `asset(name)` for /console/static URLs, `request`);
  `json(body, status=200)`; `redirect(url)` (303); `finish(response)` adds the headers to any other
  response (a StreamingResponse).
* Errors: raise them. crowdloop.errors classes (NotFound 404, InvalidInput 400, Conflict/InUse/AlreadyExists
  409, LimitExceeded 429, Unavailable 503), `ConsoleError(status, title, message)` for anything else;
  `render_error`, the one error renderer, answers them as the message page or as JSON (see above). An
  unexpected exception is logged and answered 500 without its traceback.
* Every response has the console's headers: a Content-Security-Policy with no inline script and nothing
  from another origin (`POLICY`), frame-ancestors 'none', X-Content-Type-Options: nosniff,
  Referrer-Policy: same-origin, Cache-Control: no-store (static files aside).
* Templates extend base.html (`{% block main %}`, `{% block scripts %}` for a page's own static JS);
  CSS classes live in static/console.css.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar, overload

import anyio
import anyio.to_thread
import jinja2
import orjson
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from crowdloop import i18n, urls
from crowdloop.blocking import HeavyLane
from crowdloop.consoleauth import SESSION_MAX, ConsoleSession, LinkRefused, load_session
from crowdloop.errors import (
    AlreadyExists,
    Conflict,
    InUse,
    InvalidInput,
    LimitExceeded,
    NotFound,
    Unavailable,
)
from crowdloop.i18n import N_
from crowdloop.portal import csrf
from crowdloop.portal.errors import BodyOverLimit, UnreadableBody
from crowdloop.portal.languages import language_of, template_i18n
from crowdloop.portal.web import next_path as site_path
from crowdloop.portal.web import read_data, request_origin
from crowdloop.runtime import Caller, Services

log = logging.getLogger("crowdloop.console")

T = TypeVar("T")
SESSION_COOKIE = "crowdloop_console"
CSRF_COOKIE = "crowdloop_console_csrf"  # the double-submit token of the anonymous forms (sign-in, link)
MAX_BODY_BYTES = 1024 * 1024  # signed-in POSTs; read on only once the session is known
ANONYMOUS_BODY_BYTES = 16 * 1024  # what a client without a session can make the server hold
WORKER_THREADS = 8
API_PREFIX = urls.CONSOLE + "/api/"


def page_policy(frame_origin: str = "") -> str:
    """The console's Content-Security-Policy (frame_origin: where task frames come from, if not here)."""
    frames = f"'self' {frame_origin}" if frame_origin else "'self'"
    return (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        f"frame-src {frames}; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; "
        "base-uri 'none'"
    )


class ConsoleError(Exception):
    """An answer the console gives on purpose: title and message are English msgids (marked with N_), shown
    in the request's language with their {name} fields from `params`."""

    def __init__(self, status: int, title: str, message: str, **params: Any) -> None:
        super().__init__(message.format(**params) if params else message)
        self.status, self.title, self.message, self.params = status, title, message, params


@dataclass
class Console:
    """What every view shares, built once by crowdloop.console.app.create_console."""

    svc: Services
    jinja: jinja2.Environment
    asset: Callable[[str], str]  # static file name -> its versioned URL
    policy: str
    limiter: anyio.CapacityLimiter
    heavy_lane: HeavyLane = field(default_factory=HeavyLane)

    async def run(self, function: Callable[..., T], *args: Any, slow: bool = False) -> T:
        """Run a view's blocking part: in the heavy lane (a console page may read a flow of a million loops:
        crowdloop.blocking), or, `slow` (password hashing), in a worker thread of the console's own."""
        if slow:
            return await anyio.to_thread.run_sync(function, *args, limiter=self.limiter)
        return await self.heavy_lane.run(function, *args)


@dataclass
class ConsoleVisit:
    """One request as a console view sees it (the guard fills in data, session and csrf first)."""

    console: Console
    request: Request
    data: dict[str, Any] = field(default_factory=dict)
    session: ConsoleSession | None = None
    csrf: str = ""
    cookies: list[tuple[str, str, int]] = field(default_factory=list)  # (name, value, max_age) to set

    @property
    def svc(self) -> Services:
        return self.console.svc

    @property
    def caller(self) -> Caller:
        assert self.session is not None, "only signed-in views have a caller"
        return self.session.caller(self.svc.settings.region)

    @property
    def language(self) -> i18n.Language:
        """The request's language: the switcher's cookie, else Accept-Language (crowdloop.i18n.choose)."""
        return language_of(self.request)

    def _(self, message: str, **params: Any) -> str:
        """`message` (an English msgid) in the request's language, its {name} fields filled from params."""
        return self.language.gettext(message, **params)

    def page(self, template: str, status: int = 200, **context: Any) -> Response:
        html = self.console.jinja.get_template(template).render(
            session=self.session,
            csrf=self.csrf,
            asset=self.console.asset,
            request=self.request,
            **template_i18n(self.language, self.request),
            console_messages=i18n.js_messages_script(self.language.code, prefix="console."),
            **context,
        )
        return self.finish(HTMLResponse(html, status_code=status))

    def json(self, body: Any, status: int = 200) -> Response:
        return self.finish(Response(orjson.dumps(body), status_code=status, media_type="application/json"))

    def redirect(self, url: str) -> Response:
        return self.finish(Response(status_code=303, headers={"Location": url}))

    def finish(self, response: Response) -> Response:
        headers = response.headers
        headers.setdefault("Content-Security-Policy", self.console.policy)
        headers.setdefault("X-Content-Type-Options", "nosniff")
        headers.setdefault("Referrer-Policy", "same-origin")
        headers.setdefault("Cache-Control", "no-store")
        secure = self.request.url.scheme == "https"
        for name, value, max_age in self.cookies:
            response.set_cookie(
                name,
                value,
                max_age=max_age if value else 0,
                path=urls.CONSOLE,
                secure=secure,
                httponly=True,
                samesite="strict",
            )
        return response


View = Callable[[ConsoleVisit], Response]
Endpoint = Callable[[Request], Awaitable[Response]]


@overload
def console_page(view: View, *, slow: bool = False) -> Endpoint: ...
@overload
def console_page(*, slow: bool = False) -> Callable[[View], Endpoint]: ...
def console_page(view: View | None = None, *, slow: bool = False) -> Endpoint | Callable[[View], Endpoint]:
    """A signed-in GET view (see the module docstring)."""
    if view is None:
        return functools.partial(_endpoint, _signed_in, slow=slow)
    return _endpoint(_signed_in, view, slow=slow)


@overload
def console_action(view: View, *, slow: bool = False) -> Endpoint: ...
@overload
def console_action(*, slow: bool = False) -> Callable[[View], Endpoint]: ...
def console_action(view: View | None = None, *, slow: bool = False) -> Endpoint | Callable[[View], Endpoint]:
    """A signed-in POST view with the CSRF checks (see the module docstring)."""
    if view is None:
        return functools.partial(_endpoint, _signed_in, slow=slow)
    return _endpoint(_signed_in, view, slow=slow)


def anonymous(view: View) -> Endpoint:
    """Sign-in pages (core only): anyone; POSTs need the double-submit token and our own Origin."""
    return _endpoint(_anonymous, view)


Guard = Callable[[ConsoleVisit, View], Response]


def _endpoint(guard: Guard, view: View, *, slow: bool = False) -> Endpoint:
    @functools.wraps(view)
    async def endpoint(request: Request) -> Response:
        visit = ConsoleVisit(request.app.state.console, request)
        try:
            return await _read_and_run(visit, guard, view, slow)
        except Exception as exc:
            return render_error(visit, exc)

    return endpoint


async def _read_and_run(visit: ConsoleVisit, guard: Guard, view: View, slow: bool) -> Response:
    console, request = visit.console, visit.request
    try:
        visit.data = await read_data(request, ANONYMOUS_BODY_BYTES, multipart=True)
    except BodyOverLimit as over:
        if guard is not _signed_in:
            raise
        if not over.so_far and _declared_length(request) <= ANONYMOUS_BODY_BYTES:
            # nothing read and nothing declared: the root app's own limit (MAX_BODY_BYTES) refused the body
            raise BodyOverLimit(MAX_BODY_BYTES, []) from None
        # more than an anonymous client may send (declared, or chunked): read on only for a live session
        visit.session = await console.run(_session_of, console, request)
        if visit.session is None:
            raise ConsoleError(401, N_("Signed out"), N_("Your session has ended. Sign in again.")) from None
        visit.data = await read_data(request, MAX_BODY_BYTES, over.so_far, multipart=True)
    return await console.run(guard, visit, view, slow=slow)


def _declared_length(request: Request) -> int:
    try:
        return int(request.headers.get("content-length", "0"))
    except ValueError:
        raise UnreadableBody(400, N_("The Content-Length header is not a number.")) from None


def _session_of(console: Console, request: Request) -> ConsoleSession | None:
    return load_session(console.svc, request.cookies.get(SESSION_COOKIE))


def _signed_in(visit: ConsoleVisit, view: View) -> Response:
    request = visit.request
    session = visit.session or _session_of(visit.console, request)
    if session is None:
        if request.cookies.get(SESSION_COOKIE):
            visit.cookies.append((SESSION_COOKIE, "", 0))
        if request.method == "GET" and not wants_json(request):
            here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            return visit.redirect(urls.console_signin(next_path=here))
        raise ConsoleError(401, N_("Signed out"), N_("Your session has ended. Sign in again."))
    visit.session, visit.csrf = session, session.csrf_token
    if request.method == "POST" and not _post_allowed(visit, session.csrf_token):
        raise _form_expired()
    return view(visit)


def _anonymous(visit: ConsoleVisit, view: View) -> Response:
    request = visit.request
    visit.session = _session_of(visit.console, request)
    token = request.cookies.get(CSRF_COOKIE) or ""
    if request.method == "POST" and not _post_allowed(visit, token):
        raise _form_expired()
    if not token:
        token = csrf.new_token()
        visit.cookies.append((CSRF_COOKIE, token, int(SESSION_MAX.total_seconds())))
    visit.csrf = token
    return view(visit)


def _post_allowed(visit: ConsoleVisit, expected: str) -> bool:
    request = visit.request
    given = visit.data.get(csrf.FIELD) or request.headers.get(csrf.HEADER)
    origin_ok = csrf.same_origin(request.headers.get("origin"), request.headers.get("referer"), request_origin(request))
    return origin_ok and csrf.tokens_match(expected, given)


def _form_expired() -> ConsoleError:
    return ConsoleError(
        403,
        N_("Form expired"),
        N_("This form has expired or did not come from this console. Go back, reload and try again."),
    )


def next_path(target: str | None) -> str | None:
    """Where to go after signing in: the overview when no `next` was given, `target` when it is a console
    path on this site, None when it is not (the caller answers 400)."""
    if not target:
        return urls.CONSOLE
    path = site_path(target)
    return path if path is not None and urls.is_console(path.split("?", 1)[0]) else None


def wants_json(request: Request) -> bool:
    return (
        request.url.path.startswith(API_PREFIX)
        or request.headers.get("content-type", "").split(";")[0].strip() == "application/json"
        or request.headers.get("accept", "").split(",")[0].strip() == "application/json"
    )


def render_error(visit: ConsoleVisit, exc: BaseException) -> Response:
    """The console's one error renderer: the message page, or `{"error": message}` for JSON requests, in the
    request's language (the domain's own messages, which name resources and rules, stay as they are)."""
    request = visit.request
    status, title, message = _describe(exc, visit.language)
    if status == 500:
        log.error("internal error in %s %s", request.method, request.url.path, exc_info=exc)
    if wants_json(request):
        response = visit.json({"error": message}, status)
    else:
        response = visit.page("message.html", status=status, title=title, message=message)
    if isinstance(exc, Unavailable):
        response.headers["Retry-After"] = str(exc.retry_after_seconds)
    return response


def _describe(exc: BaseException, lang: i18n.Language) -> tuple[int, str, str]:
    status, title, message = _status_title_message(exc)
    params = exc.params if isinstance(exc, ConsoleError | UnreadableBody) else {}
    # our own messages are msgids; so are the console's fixed InvalidInput / NotFound messages (marked N_ where
    # raised); anything else (the domain's messages naming resources) is not in the catalog and stays as it is
    return status, lang.gettext(title), lang.gettext(message, **params)


def _status_title_message(exc: BaseException) -> tuple[int, str, str]:
    """(status, title msgid, message: a msgid for our own errors, the domain's message for its errors)."""
    if isinstance(exc, ConsoleError):
        return exc.status, exc.title, exc.message
    if isinstance(exc, UnreadableBody):
        return exc.status, exc.title, exc.message
    if isinstance(exc, LinkRefused):
        return 410, N_("Sign-in link not valid"), str(exc)
    if isinstance(exc, NotFound):
        return 404, N_("Not found"), str(exc)
    if isinstance(exc, InvalidInput):
        return 400, N_("Not valid"), str(exc)
    if isinstance(exc, Conflict | InUse | AlreadyExists):
        return 409, N_("Not possible now"), str(exc)
    if isinstance(exc, LimitExceeded):
        return 429, N_("Too many"), str(exc)
    if isinstance(exc, Unavailable):
        return 503, N_("Unavailable"), str(exc)
    if isinstance(exc, HTTPException):
        if exc.status_code == 405:
            return 405, N_("Method not allowed"), N_("This address does not take that method.")
        return exc.status_code, N_("Not found"), N_("There is no console page at this address.")
    return 500, N_("Something went wrong"), N_("An internal error occurred. Try again.")
