"""Sign-in through the workforce's OpenID Connect provider: the two portal steps around crowdloop.oidc.

    GET /signin/oidc/{workforce}?next=   a fresh state, nonce and PKCE verifier go into a short-lived signed
                                         cookie; 303 to the provider's AuthorizationEndpoint
    GET /signin/oidc/callback            the provider sends the browser back with code + state: the state
                                         must be the cookie's (so the sign-in was started by this browser:
                                         no login CSRF), then the code becomes an identity (crowdloop.oidc),
                                         the identity a worker (workers.link_oidc_worker), and a session starts

The cookie (`crowdloop_oidc`, HttpOnly, SameSite=Lax so the provider's top-level redirect carries it) is
`<base64url JSON>.<HMAC-SHA256>` with a server-side key, valid STATE_SECONDS and cleared by the callback.
Every failure is a page saying what went wrong (logged), never a 500: the views raise PortalError and
crowdloop.portal.web.render_error answers it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
from typing import Any

import orjson
from starlette.responses import Response

from crowdloop import oidc, urls, workers
from crowdloop.caches import CacheSpec
from crowdloop.errors import InvalidInput
from crowdloop.i18n import N_
from crowdloop.keyfiles import load_key
from crowdloop.model import WorkerStatus
from crowdloop.portal.errors import PortalError, bad_next
from crowdloop.portal.web import SESSION_COOKIE, Visit, next_path
from crowdloop.runtime import Services
from crowdloop.sessions import SESSION_MAX, end_session, start_session
from crowdloop.urls import PublicUrls

log = logging.getLogger(__name__)

STATE_COOKIE = "crowdloop_oidc"
STATE_SECONDS = 600
_MAX_COOKIE = 3000


def redirect_uri(svc: Services) -> str:
    """The redirect URI to register at the identity provider."""
    return PublicUrls.of(svc.settings).oidc_callback()


def start(visit: Visit) -> Response:
    p = oidc.provider(visit.svc, visit.request.path_params["workforce"])
    if p is None:
        raise PortalError(
            404,
            N_("Sign-in option not available"),
            N_("This workforce has no OpenID Connect provider (any more). Go back to the sign-in page and try again."),
        )
    target = next_path(visit.request.query_params.get("next"))
    if target is None:
        raise bad_next()
    request = oidc.new_request()
    sealed = _seal(
        visit.svc,
        {
            "w": p.workforce_id,
            "s": request.state,
            "n": request.nonce,
            "v": request.verifier,
            "x": target,
            "e": int(visit.svc.clock.now().timestamp()) + STATE_SECONDS,
        },
    )
    visit.cookies.append((STATE_COOKIE, sealed, STATE_SECONDS))
    return visit.redirect(oidc.authorization_url(p, redirect_uri(visit.svc), request))


def callback(visit: Visit) -> Response:
    query = visit.request.query_params
    pending = _unseal(visit.svc, visit.request.cookies.get(STATE_COOKIE))
    visit.cookies.append((STATE_COOKIE, "", 0))  # one use, whatever happens
    if query.get("error"):
        error, description = query.get("error", "")[:100], query.get("error_description", "")[:300]
        log.warning("OIDC sign-in: the identity provider answered %s (%s)", error, description)
        raise _failed(
            403,
            N_("The identity provider did not sign you in ({error})."),
            error=error + (": " + description if description else ""),
        )
    state = query.get("state", "")
    if pending is None or not hmac.compare_digest(str(pending["s"]).encode(), state.encode()):
        log.warning("OIDC sign-in: %s", "no valid state cookie" if pending is None else "state mismatch")
        raise _failed(
            400,
            N_(
                "This sign-in was not started in this browser, or it took longer than {minutes} minutes. "
                "Start again from {url}."
            ),
            minutes=STATE_SECONDS // 60,
            url=PublicUrls.of(visit.svc.settings).signin(),
        )
    p = oidc.provider(visit.svc, int(pending["w"]))
    if p is None:
        raise _failed(400, N_("The workforce's OpenID Connect configuration changed during the sign-in. Start again."))
    code = query.get("code", "")
    if not code:
        raise _failed(400, N_("The identity provider sent no authorization code."))
    request = oidc.AuthRequest(state=str(pending["s"]), nonce=str(pending["n"]), verifier=str(pending["v"]))
    try:
        identity = oidc.identify(visit.svc, p, code, redirect_uri(visit.svc), request)
        worker = workers.link_oidc_worker(
            visit.svc, identity.issuer, identity.sub, email=identity.email, groups=identity.groups
        )
    except oidc.SignInFailed as exc:
        log.warning("OIDC sign-in through %s failed: %s", p.issuer, exc.message)
        raise _failed(502 if exc.kind == "unreachable" else 403, exc.message) from exc
    except InvalidInput as exc:
        log.warning("OIDC sign-in through %s failed: %s", p.issuer, exc.message)
        raise _failed(403, exc.message) from exc
    if worker.status is not WorkerStatus.ACTIVE:
        log.info("OIDC sign-in refused: worker %s is %s", worker.worker_id, worker.status.value)
        raise _failed(403, N_("This account is disabled. Ask your administrator to enable it."))
    old = visit.request.cookies.get(SESSION_COOKIE)
    if old:
        end_session(visit.svc, old)
    token, _session = start_session(visit.svc, worker.id)
    visit.cookies.append((SESSION_COOKIE, token, int(SESSION_MAX.total_seconds())))
    log.info("OIDC sign-in: worker %s (%s) through %s", worker.worker_id, identity.sub, p.issuer)
    return visit.redirect(next_path(str(pending["x"])) or urls.HOME)  # checked by start() already


def _failed(status: int, reason: str, **params: Any) -> PortalError:
    """reason: a msgid with {name} fields from params (or the domain's message, shown as it is)."""
    return PortalError(status, N_("Sign-in failed"), reason, params)


def _seal(svc: Services, value: dict[str, Any]) -> str:
    payload = base64.urlsafe_b64encode(orjson.dumps(value)).rstrip(b"=").decode()
    return f"{payload}.{_mac(svc, payload)}"


def _unseal(svc: Services, sealed: str | None) -> dict[str, Any] | None:
    """The cookie's value when its MAC is right and it has not expired, else None."""
    if not sealed or len(sealed) > _MAX_COOKIE or "." not in sealed:
        return None
    payload, mac = sealed.rsplit(".", 1)
    if not hmac.compare_digest(_mac(svc, payload).encode(), mac.encode()):
        return None
    try:
        value = orjson.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (ValueError, orjson.JSONDecodeError):
        return None
    if not isinstance(value, dict) or not {"w", "s", "n", "v", "x", "e"} <= value.keys():
        return None
    if not isinstance(value["e"], int) or value["e"] < svc.clock.now().timestamp():
        return None
    return value


def _mac(svc: Services, payload: str) -> str:
    return hmac.new(_state_key(svc), b"oidc-state\n" + payload.encode(), hashlib.sha256).hexdigest()


OIDC_STATE_KEY: CacheSpec[str, bytes] = CacheSpec(
    "portal OIDC state key",
    "keyed by what cannot change: a key file in the data directory is written once, never rewritten",
    max_entries=1,
)


def _state_key(svc: Services) -> bytes:
    keys = svc.caches[OIDC_STATE_KEY]
    key = keys.get(_STATE_KEY_FILE)
    if key is None:
        key = load_key(svc.settings.data_path, _STATE_KEY_FILE)
        keys.put(_STATE_KEY_FILE, key)
    return key


_STATE_KEY_FILE = "portal-oidc.key"
