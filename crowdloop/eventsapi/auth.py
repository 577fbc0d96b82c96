"""Who may call the events API: a SigV4 signature or a signed-in console session, checked on every request.

* `Authorization: AWS4-HMAC-SHA256 ...` for the service name "crowdloop" (any region): verified by the AWS
  API's own Authenticator (crowdloop.aws.sigv4: the key must exist in the served account, the signature
  cover `host`, the date lie within the window). `curl --aws-sigv4 "aws:amz:us-east-1:crowdloop"` signs so.
* Otherwise the console's session cookie (crowdloop.consoleauth): a browser on the console reads the API
  (the live stream's EventSource cannot send headers). A request that could change something (any method
  but GET and HEAD) must also repeat the session's CSRF token in `X-CSRF-Token` and name our own origin in
  `Origin`, as the console's own forms do: a page of another site cannot read the token, and says where
  it comes from.
* Neither: MissingAuthentication (401). A bad signature or an unknown key: the AWS API's 403 errors.

With auth = off the API does what the AWS API does in that mode (crowdloop.aws.unsigned): no signature is
checked, but a request naming another Host, or sent by a web page of another origin, is refused.
"""

from __future__ import annotations

from dataclasses import dataclass

from starlette.requests import Request

from crowdloop.aws import unsigned, wire
from crowdloop.aws.sigv4 import Authenticator, KeyCache, RunSync
from crowdloop.console.web import SESSION_COOKIE
from crowdloop.consoleauth import load_session
from crowdloop.errors import MissingAuthentication
from crowdloop.eventsapi.errors import ApiError
from crowdloop.portal import csrf
from crowdloop.portal.web import request_origin
from crowdloop.runtime import Caller, Services

SIGNING_NAME = "crowdloop"  # the service name of the credential scope
SAFE_METHODS = frozenset({"GET", "HEAD"})


@dataclass(frozen=True)
class Principal:
    """An authenticated caller and how it proved who it is ("sigv4", "console" or "off")."""

    caller: Caller
    via: str

    @property
    def name(self) -> str:
        """Who created a subscription, as listings show it."""
        if self.via == "console":
            return f"console:{self.caller.access_key_id}"
        return self.caller.access_key_id or "anonymous (auth = off)"


class Gate:
    """Authenticates each request (see the module docstring). One per process."""

    def __init__(self, services: Services) -> None:
        self._svc = services
        self._sigv4 = Authenticator(services.settings, KeyCache(services))
        self._unsigned = None if self._sigv4.enabled else unsigned.HostGuard(services.settings)

    async def check(self, request: Request, body: bytes, run: RunSync) -> Principal:
        """The caller of `request` (whose whole body is `body`), or an error the renderer answers."""
        signed = wire.Request(request.scope)
        signed.body = body
        if self._unsigned is not None:
            self._unsigned.check(signed)  # WireError 421 / 403
            caller = await self._sigv4.authenticate(signed, SIGNING_NAME, run)
            return Principal(caller, "off")
        if signed.header("authorization"):  # any scheme: sigv4 names what is wrong with another one
            return Principal(await self._sigv4.authenticate(signed, SIGNING_NAME, run), "sigv4")
        token = request.cookies.get(SESSION_COOKIE)
        if not token:
            raise MissingAuthentication(
                "Sign the request with AWS Signature Version 4 (service name 'crowdloop') or sign in to the console."
            )
        session = await run(lambda: load_session(self._svc, token))
        if session is None:
            raise MissingAuthentication("The console session has ended. Sign in again.")
        if request.method not in SAFE_METHODS and not _csrf_ok(request, session.csrf_token):
            raise ApiError(
                403,
                "AccessDeniedException",
                "With a console session, requests that change something need the session's X-CSRF-Token header "
                "and an Origin header naming this server.",
            )
        return Principal(session.caller(self._svc.settings.region), "console")


def _csrf_ok(request: Request, expected: str) -> bool:
    origin = request.headers.get("origin")
    same_origin = bool(origin) and csrf.same_origin(origin, None, request_origin(request))
    return same_origin and csrf.tokens_match(expected, request.headers.get(csrf.HEADER))
