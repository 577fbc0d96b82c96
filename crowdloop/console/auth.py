"""Signing in to the console and out: the sign-in form (an access key pair), one-time links, sign-out.

A one-time link (`GET /console/link?token=`) shows a page with one button; the POST redeems the link. A
link preview or a prefetch (a GET) therefore never uses the link up, and the session cookie is set by a
same-site POST (the cookie is SameSite=Strict)."""

from __future__ import annotations

from starlette.responses import Response
from starlette.routing import Route

from crowdloop import consoleauth, urls
from crowdloop.console.web import (
    SESSION_COOKIE,
    ConsoleError,
    ConsoleVisit,
    anonymous,
    console_action,
    next_path,
)
from crowdloop.consoleauth import SESSION_MAX, Outcome
from crowdloop.i18n import N_

_SESSION_SECONDS = int(SESSION_MAX.total_seconds())


def signin_form(visit: ConsoleVisit) -> Response:
    target = _next(visit)
    if visit.session is not None:
        return visit.redirect(target)
    return visit.page("signin.html", title=visit._("Sign in"), next=target, error=None, access_key_id="")


def signin(visit: ConsoleVisit) -> Response:
    target = _next(visit)
    key_id, secret = _field(visit, "access_key_id"), _field(visit, "secret_access_key")
    address = visit.request.client.host if visit.request.client else "unknown"
    result = consoleauth.sign_in(visit.svc, key_id, secret, address)
    if result.outcome is Outcome.SIGNED_IN:
        return _signed_in(visit, result.token, target)
    if result.outcome is Outcome.LIMITED:
        minutes = max(1, (result.retry_after_seconds + 59) // 60)
        wait = visit.language.duration(minutes * 60)
        error, status = visit._("Too many failed attempts. Try again in {wait}.", wait=wait), 429
    else:
        error, status = visit._("That access key id and secret access key do not match."), 401
    response = visit.page(
        "signin.html", status=status, title=visit._("Sign in"), next=target, error=error, access_key_id=key_id
    )
    if result.outcome is Outcome.LIMITED:
        response.headers["Retry-After"] = str(result.retry_after_seconds)
    return response


def link_page(visit: ConsoleVisit) -> Response:
    token = visit.request.query_params.get("token", "")
    if not token or len(token) > consoleauth.MAX_TOKEN_CHARS:
        raise consoleauth.LinkRefused("unknown")
    return visit.page("link.html", title=visit._("Sign in"), token=token)


def redeem_link(visit: ConsoleVisit) -> Response:
    token, _ = consoleauth.redeem_link(visit.svc, _field(visit, "token"))
    return _signed_in(visit, token, urls.CONSOLE)


@console_action
def signout(visit: ConsoleVisit) -> Response:
    token = visit.request.cookies.get(SESSION_COOKIE)
    if token:
        consoleauth.end_session(visit.svc, token)
    visit.cookies.append((SESSION_COOKIE, "", 0))
    return visit.redirect(urls.CONSOLE_SIGNIN)


def _signed_in(visit: ConsoleVisit, token: str, target: str) -> Response:
    old = visit.request.cookies.get(SESSION_COOKIE)
    if old:  # signing in again replaces the session this browser had
        consoleauth.end_session(visit.svc, old)
    visit.cookies.append((SESSION_COOKIE, token, _SESSION_SECONDS))
    return visit.redirect(target)


def _next(visit: ConsoleVisit) -> str:
    target = next_path(visit.request.query_params.get("next"))
    if target is None:
        raise ConsoleError(400, N_("Not a console page"), N_("The `next` parameter must be a path of this console."))
    return target


def _field(visit: ConsoleVisit, name: str) -> str:
    value = visit.data.get(name, "")
    return value if isinstance(value, str) else ""


ROUTES = [
    Route(urls.CONSOLE_SIGNIN, anonymous(signin_form), methods=["GET"]),
    Route(urls.CONSOLE_SIGNIN, anonymous(signin), methods=["POST"]),
    Route(urls.CONSOLE_LINK, anonymous(link_page), methods=["GET"]),
    Route(urls.CONSOLE_LINK, anonymous(redeem_link), methods=["POST"]),
    Route(urls.CONSOLE_SIGNOUT, signout, methods=["POST"]),
]
