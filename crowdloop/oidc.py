"""Signing workers in through the workforce's OpenID Connect provider (authorization-code flow).

    providers(svc)                       -> [Provider]  live workforces of the server's account with OidcConfig
    provider(svc, workforce_id)          -> Provider | None
    new_request()                        -> AuthRequest  fresh state, nonce and PKCE verifier
    authorization_url(p, redirect, req)  -> str          where to send the browser
    identify(svc, p, code, redirect, req)-> Identity     code -> tokens -> claims, every check applied

identify exchanges the code at the TokenEndpoint (client_secret_basic, then client_secret_post when the
provider refuses the first with invalid_client), reads the claims of the id_token (received directly from
the TokenEndpoint over TLS, so per OIDC Core 3.1.3.7 its signature need not be checked, except that an
HS256/384/512 token is checked against the ClientSecret; iss, aud, azp, exp and nonce always are) and of
the UserInfoEndpoint (its values win), then reads the SageMaker claims:

    sagemaker:sub / sagemaker-sub              required: the worker's stable id (output.json identityData.sub)
    sagemaker:groups / sagemaker-groups        a string or a list of strings: the worker's groups (none: [])
    sagemaker:client_id / sagemaker-client_id  must equal ClientId when present
    sagemaker:email / sagemaker-email / email  optional
    sagemaker:name / sagemaker-name / name     optional

Every failure raises SignInFailed (an AuthFailure) whose message says what went wrong, with kind
"unreachable" (no usable answer from the provider) or "refused" (the provider said no, or its answer
failed a check).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import secrets
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

import orjson

from crowdloop.errors import AuthFailure
from crowdloop.jsoncheck import is_unicode
from crowdloop.runtime import Services
from crowdloop.workforce import live_workforces

log = logging.getLogger(__name__)

DEFAULT_SCOPE = "openid email profile"
HTTP_TIMEOUT_SECONDS = 10.0
MAX_RESPONSE_BYTES = 1024 * 1024
CLOCK_SKEW_SECONDS = 120
MAX_SUB_LENGTH = 255
MAX_GROUP_LENGTH = 63  # OidcMemberDefinition.Groups members are 1-63 characters
_HMAC_ALGORITHMS = {"HS256": hashlib.sha256, "HS384": hashlib.sha384, "HS512": hashlib.sha512}
# Parameters of the authentication request that AuthenticationRequestExtraParams cannot replace.
_OWN_PARAMETERS = (
    "response_type",
    "client_id",
    "redirect_uri",
    "scope",
    "state",
    "nonce",
    "code_challenge",
    "code_challenge_method",
)


class SignInFailed(AuthFailure):
    """kind: 'unreachable' (no usable answer from the identity provider) or 'refused'."""

    def __init__(self, message: str, kind: str = "refused") -> None:
        super().__init__(message)
        self.kind = kind


@dataclass(frozen=True)
class Provider:
    """The OidcConfig of one live workforce."""

    workforce_id: int
    workforce_name: str
    config: Mapping[str, Any]

    @property
    def issuer(self) -> str:
        return str(self.config["Issuer"])

    @property
    def client_id(self) -> str:
        return str(self.config["ClientId"])

    @property
    def host(self) -> str:
        """The issuer's host, as the sign-in button names it."""
        return urlsplit(self.issuer).hostname or self.issuer

    @property
    def scope(self) -> str:
        return str(self.config.get("Scope") or DEFAULT_SCOPE)

    @property
    def logout_url(self) -> str | None:
        endpoint = self.config.get("LogoutEndpoint")
        if not endpoint:
            return None
        return _with_query(str(endpoint), {"client_id": self.client_id})


@dataclass(frozen=True)
class AuthRequest:
    """What the browser's round trip through the provider must bring back (kept in a signed cookie)."""

    state: str
    nonce: str
    verifier: str  # PKCE code_verifier; the provider gets its S256 challenge

    @property
    def challenge(self) -> str:
        return _b64url(hashlib.sha256(self.verifier.encode()).digest())


@dataclass(frozen=True)
class Identity:
    issuer: str
    sub: str
    groups: tuple[str, ...]
    email: str | None = None
    name: str | None = None


def providers(svc: Services) -> list[Provider]:
    """The OIDC providers of the live workforces of the server's account (one workforce per region)."""
    return [
        Provider(w.id, w.name, w.config["OidcConfig"])
        for w in live_workforces(svc, svc.settings.account_id)
        if _usable(w.config.get("OidcConfig"))
    ]


def provider(svc: Services, workforce_id: int) -> Provider | None:
    return next((p for p in providers(svc) if p.workforce_id == workforce_id), None)


def new_request() -> AuthRequest:
    return AuthRequest(
        state=secrets.token_urlsafe(24), nonce=secrets.token_urlsafe(24), verifier=secrets.token_urlsafe(48)
    )


def authorization_url(p: Provider, redirect_uri: str, request: AuthRequest) -> str:
    params: dict[str, str] = {
        str(k): str(v)
        for k, v in (p.config.get("AuthenticationRequestExtraParams") or {}).items()
        if k not in _OWN_PARAMETERS
    }
    params.update(
        response_type="code",
        client_id=p.client_id,
        redirect_uri=redirect_uri,
        scope=p.scope,
        state=request.state,
        nonce=request.nonce,
        code_challenge=request.challenge,
        code_challenge_method="S256",
    )
    return _with_query(str(p.config["AuthorizationEndpoint"]), params)


def identify(svc: Services, p: Provider, code: str, redirect_uri: str, request: AuthRequest) -> Identity:
    """The identity the authorization code stands for, after every check."""
    tokens = _exchange_code(p, code, redirect_uri, request.verifier)
    claims: dict[str, Any] = {}
    id_token = tokens.get("id_token")
    if id_token is not None:
        claims.update(_id_token_claims(svc, p, id_token, request.nonce))
    access_token = tokens.get("access_token")
    if isinstance(access_token, str) and access_token and p.config.get("UserInfoEndpoint"):
        userinfo = _userinfo(p, access_token)
        if "sub" in claims and "sub" in userinfo and userinfo["sub"] != claims["sub"]:
            raise SignInFailed(
                "The identity provider's UserInfoEndpoint describes another user (its sub differs from the ID token's)."
            )
        claims.update(userinfo)
    if not claims:
        raise SignInFailed(
            "The identity provider sent neither an ID token nor an access token for its "
            "UserInfoEndpoint, so there is no claim to sign in with."
        )
    return identity_from_claims(p, claims)


def identity_from_claims(p: Provider, claims: Mapping[str, Any]) -> Identity:
    sub = _claim(claims, "sub")
    if not isinstance(sub, str) or not sub.strip():
        raise SignInFailed(
            "The identity provider did not send the sagemaker:sub claim (the worker's stable id). "
            "Configure it to include sagemaker:sub (or sagemaker-sub) in the ID token or the "
            "UserInfo answer."
        )
    if len(sub) > MAX_SUB_LENGTH:
        raise SignInFailed(f"The sagemaker:sub claim is longer than {MAX_SUB_LENGTH} characters.")
    if not _storable(sub):
        raise SignInFailed("The sagemaker:sub claim holds a NUL character or an unpaired surrogate.")
    client_id = _claim(claims, "client_id")
    if client_id is not None and client_id != p.client_id:
        raise SignInFailed(
            f"The sagemaker:client_id claim ({str(client_id)[:100]}) is not the workforce's ClientId ({p.client_id})."
        )
    groups = _groups(_claim(claims, "groups"))
    email = _claim(claims, "email")
    if email is None:
        email = claims.get("email")
    name = _claim(claims, "name")
    if name is None:
        name = claims.get("name")
    return Identity(
        issuer=p.issuer,
        sub=sub,
        groups=groups,
        email=email if isinstance(email, str) and _storable(email) else None,
        name=name if isinstance(name, str) and _storable(name) else None,
    )


def _storable(text: str) -> bool:
    """Text a database can hold: no NUL (PostgreSQL refuses it), no unpaired surrogate (not UTF-8)."""
    return "\0" not in text and is_unicode(text)


# --- talking to the provider -----------------------------------------------------------------------------


def _exchange_code(p: Provider, code: str, redirect_uri: str, verifier: str) -> dict[str, Any]:
    endpoint = str(p.config["TokenEndpoint"])
    form = {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri, "code_verifier": verifier}
    secret = str(p.config.get("ClientSecret") or "")
    basic = base64.b64encode(f"{quote(p.client_id, safe='')}:{quote(secret, safe='')}".encode()).decode()
    status, _type, body = _http("POST", endpoint, urlencode(form).encode(), {"Authorization": f"Basic {basic}"})
    if status in (400, 401) and _oauth_error(body)[0] == "invalid_client":
        # The client is registered for client_secret_post: the code was not used, try once more.
        form.update(client_id=p.client_id, client_secret=secret)
        status, _type, body = _http("POST", endpoint, urlencode(form).encode(), {})
    if status != 200:
        error, description = _oauth_error(body)
        raise SignInFailed(
            f"The identity provider's TokenEndpoint refused the authorization code (HTTP {status}"
            f"{': ' + error if error else ''}{' - ' + description if description else ''})."
        )
    tokens = _json_object(body, "TokenEndpoint")
    return tokens


def _userinfo(p: Provider, access_token: str) -> dict[str, Any]:
    status, content_type, body = _http(
        "GET", str(p.config["UserInfoEndpoint"]), None, {"Authorization": f"Bearer {access_token}"}
    )
    if status != 200:
        raise SignInFailed(f"The identity provider's UserInfoEndpoint refused the access token (HTTP {status}).")
    if content_type == "application/jwt":  # a signed UserInfo answer, received directly over TLS
        return _jwt_parts(body.decode("ascii", "replace").strip(), "UserInfo answer")[1]
    return _json_object(body, "UserInfoEndpoint")


def _http(method: str, url: str, data: bytes | None, headers: dict[str, str]) -> tuple[int, str, bytes]:
    """(status, content type, body) of one request; SignInFailed('unreachable') when there is no answer."""
    request = urllib.request.Request(
        url,
        data=data,
        method=method,
        headers={
            "Accept": "application/json",
            "User-Agent": "crowdloop",
            **headers,
            **({"Content-Type": "application/x-www-form-urlencoded"} if data is not None else {}),
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=HTTP_TIMEOUT_SECONDS) as response:
            return response.status, _media_type(response.headers), response.read(MAX_RESPONSE_BYTES)
    except urllib.error.HTTPError as exc:
        with exc:
            return exc.code, _media_type(exc.headers), exc.read(MAX_RESPONSE_BYTES)
    except (urllib.error.URLError, OSError, ValueError) as exc:  # refused, DNS, TLS, timeout, bad URL
        reason = getattr(exc, "reason", None) or exc
        raise SignInFailed(f"Could not reach the identity provider at {url}: {reason}.", "unreachable") from None


def _media_type(headers: Any) -> str:
    return str(headers.get("Content-Type") or "").split(";")[0].strip().lower() if headers is not None else ""


def _oauth_error(body: bytes) -> tuple[str, str]:
    try:
        value = orjson.loads(body)
    except orjson.JSONDecodeError:
        return "", ""
    if not isinstance(value, dict):
        return "", ""
    return str(value.get("error") or "")[:100], str(value.get("error_description") or "")[:300]


def _json_object(body: bytes, source: str) -> dict[str, Any]:
    try:
        value = orjson.loads(body)
    except orjson.JSONDecodeError:
        value = None
    if not isinstance(value, dict):
        raise SignInFailed(f"The identity provider's {source} did not answer with a JSON object.", "unreachable")
    return value


# --- the ID token ---------------------------------------------------------------------------------------


def _id_token_claims(svc: Services, p: Provider, token: object, nonce: str) -> dict[str, Any]:
    if not isinstance(token, str):
        raise SignInFailed("The identity provider's id_token is not a JWT.")
    header, claims, signing_input, signature = _jwt_parts(token, "ID token")
    digest = _HMAC_ALGORITHMS.get(str(header.get("alg")))
    if digest is not None:
        expected = hmac.new(str(p.config.get("ClientSecret") or "").encode(), signing_input, digest).digest()
        if not hmac.compare_digest(expected, signature):
            raise SignInFailed("The ID token's signature does not match the workforce's ClientSecret.")
    if str(claims.get("iss", "")).rstrip("/") != p.issuer.rstrip("/"):
        raise SignInFailed(
            f"The ID token was issued by {str(claims.get('iss'))[:200]!r}, not by the workforce's Issuer {p.issuer!r}."
        )
    audience = claims.get("aud")
    audiences = audience if isinstance(audience, list) else [audience]
    if p.client_id not in audiences:
        raise SignInFailed(f"The ID token is not meant for this workforce's ClientId ({p.client_id}).")
    if "azp" in claims and claims["azp"] != p.client_id:
        raise SignInFailed(f"The ID token was issued to another client ({str(claims['azp'])[:100]}).")
    expires = claims.get("exp")
    if not isinstance(expires, int | float) or isinstance(expires, bool):
        raise SignInFailed("The ID token has no expiry time (exp).")
    if expires + CLOCK_SKEW_SECONDS < svc.clock.now().timestamp():
        raise SignInFailed(
            "The ID token has expired; check that the clocks of this server and the identity provider are right."
        )
    given_nonce = claims.get("nonce")
    if not isinstance(given_nonce, str) or not hmac.compare_digest(given_nonce.encode(), nonce.encode()):
        raise SignInFailed("The ID token's nonce is not the one of this sign-in.")
    return claims


def _jwt_parts(token: str, what: str) -> tuple[dict[str, Any], dict[str, Any], bytes, bytes]:
    """(header, claims, signing input, signature) of a compact JWS."""
    parts = token.split(".")
    if len(parts) != 3:
        raise SignInFailed(f"The {what} is not a JWT.")
    try:
        header = orjson.loads(_b64decode(parts[0]))
        claims = orjson.loads(_b64decode(parts[1]))
        signature = _b64decode(parts[2])
    except (ValueError, orjson.JSONDecodeError):
        raise SignInFailed(f"The {what} is not a well-formed JWT.") from None
    if not isinstance(header, dict) or not isinstance(claims, dict):
        raise SignInFailed(f"The {what} is not a well-formed JWT.")
    return header, claims, f"{parts[0]}.{parts[1]}".encode(), signature


def _b64decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


# --- claims -----------------------------------------------------------------------------------------------


def _claim(claims: Mapping[str, Any], name: str) -> Any:
    """sagemaker:<name>, else sagemaker-<name>, else None."""
    value = claims.get(f"sagemaker:{name}")
    return claims.get(f"sagemaker-{name}") if value is None else value


def _groups(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    names = [value] if isinstance(value, str) else value
    if not isinstance(names, list) or not all(isinstance(name, str) for name in names):
        raise SignInFailed("The sagemaker:groups claim must be a string or a list of strings.")
    kept = [name for name in dict.fromkeys(names) if 0 < len(name) <= MAX_GROUP_LENGTH and _storable(name)]
    if len(kept) < len(names):
        log.warning(
            "OIDC sign-in: ignored group names that are empty, repeated, longer than %d characters or "
            "hold a NUL character or an unpaired surrogate",
            MAX_GROUP_LENGTH,
        )
    return tuple(kept)


def _usable(config: Any) -> bool:
    return isinstance(config, dict) and all(
        config.get(key) for key in ("ClientId", "Issuer", "AuthorizationEndpoint", "TokenEndpoint")
    )


def _with_query(url: str, params: Mapping[str, str]) -> str:
    return url + ("&" if urlsplit(url).query else "?") + urlencode(params)
