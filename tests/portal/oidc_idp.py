"""A small OpenID Connect provider for the portal's tests: a Starlette app served by uvicorn on 127.0.0.1 in
a thread (a test double of an external system, not of crowdloop code).

    GET  /authorize   auto-approves `user`: 302 to redirect_uri?code=&state= (records the request)
    POST /token       checks client credentials (basic or post, as `auth_method` says), the code (once), the
                      redirect_uri and the PKCE verifier; returns access_token + an HS256 id_token
    GET  /userinfo    checks the bearer token; returns the user's claims

Knobs: `user` (the claims of the signed-in user), `claims_in` (which answers carry them), `id_token_overrides`
(e.g. a wrong iss/aud/nonce), `token_error` (the token endpoint refuses), `sign_with` (the HS256 key),
`unsigned` (alg none), `now` (the clock of iat/exp).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, unquote, urlencode

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def make_jwt(claims: dict[str, Any], key: str | None, alg: str = "HS256") -> str:
    """A compact JWS: HS256 with `key`, or unsigned (alg none) when key is None."""
    header = {"alg": alg if key is not None else "none", "typ": "JWT"}
    signing_input = f"{b64url(json.dumps(header).encode())}.{b64url(json.dumps(claims).encode())}"
    signature = hmac.new(key.encode(), signing_input.encode(), hashlib.sha256).digest() if key is not None else b""
    return f"{signing_input}.{b64url(signature)}"


@dataclass
class TestIdp:
    client_id: str = "crowdloop-portal"
    client_secret: str = "s3cret/+:value"
    auth_method: str = "basic"  # the client authentication the token endpoint accepts: basic | post
    user: dict[str, Any] = field(
        default_factory=lambda: {
            "sub": "idp-user-1",
            "sagemaker:sub": "worker-7f3a",
            "sagemaker:groups": ["raters"],
            "sagemaker:name": "Jane Doe",
            "email": "jane@corp.example",
        }
    )
    claims_in: str = "both"  # id_token | userinfo | both
    id_token_overrides: dict[str, Any] = field(default_factory=dict)
    token_error: str | None = None
    sign_with: str | None = None  # HS256 key; None: the client secret
    unsigned: bool = False
    now: Callable[[], float] = time.time  # the id_token's iat/exp; tests pass the portal's ManualClock
    authorize_requests: list[dict[str, str]] = field(default_factory=list)
    token_requests: list[dict[str, str]] = field(default_factory=list)
    port: int = 0
    _codes: dict[str, dict[str, str]] = field(default_factory=dict)
    _access_tokens: dict[str, dict[str, Any]] = field(default_factory=dict)
    _server: uvicorn.Server | None = None
    _thread: threading.Thread | None = None

    __test__ = False  # not a test class

    @property
    def issuer(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def oidc_config(self, **changes: Any) -> dict[str, Any]:
        base = self.issuer
        config: dict[str, Any] = {
            "ClientId": self.client_id,
            "ClientSecret": self.client_secret,
            "Issuer": base,
            "AuthorizationEndpoint": f"{base}/authorize",
            "TokenEndpoint": f"{base}/token",
            "UserInfoEndpoint": f"{base}/userinfo",
            "LogoutEndpoint": f"{base}/logout",
            "JwksUri": f"{base}/jwks",
        }
        config.update(changes)
        return config

    # --- running ----------------------------------------------------------------------------------------

    def start(self) -> TestIdp:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", self.port))
        self.port = sock.getsockname()[1]
        config = uvicorn.Config(self.app(), log_level="warning", lifespan="off")
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, kwargs={"sockets": [sock]}, daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("the test identity provider did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        if self._server is not None and self._thread is not None:
            self._server.should_exit = True
            self._thread.join(10)
            self._server = None

    # --- the provider -----------------------------------------------------------------------------------

    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/authorize", self._authorize, methods=["GET"]),
                Route("/token", self._token, methods=["POST"]),
                Route("/userinfo", self._userinfo, methods=["GET"]),
            ]
        )

    async def _authorize(self, request: Request) -> Response:
        params = dict(request.query_params)
        self.authorize_requests.append(params)
        if params.get("client_id") != self.client_id or params.get("response_type") != "code":
            return JSONResponse({"error": "unauthorized_client"}, 400)
        code = secrets.token_urlsafe(16)
        self._codes[code] = params
        return RedirectResponse(
            f"{params['redirect_uri']}?{urlencode({'code': code, 'state': params['state']})}", status_code=302
        )

    async def _token(self, request: Request) -> Response:
        form = dict(parse_qsl((await request.body()).decode()))
        self.token_requests.append(form)
        if not self._client_authenticated(request, form):
            return JSONResponse({"error": "invalid_client"}, 401)
        if self.token_error:
            return JSONResponse({"error": self.token_error, "error_description": "refused by the test IdP"}, 400)
        pending = self._codes.pop(form.get("code", ""), None)
        if pending is None or form.get("grant_type") != "authorization_code":
            return JSONResponse({"error": "invalid_grant", "error_description": "unknown or used code"}, 400)
        if form.get("redirect_uri") != pending["redirect_uri"]:
            return JSONResponse({"error": "invalid_grant", "error_description": "redirect_uri differs"}, 400)
        challenge = b64url(hashlib.sha256(form.get("code_verifier", "").encode()).digest())
        if pending.get("code_challenge_method") != "S256" or challenge != pending.get("code_challenge"):
            return JSONResponse({"error": "invalid_grant", "error_description": "PKCE verification failed"}, 400)
        access_token = secrets.token_urlsafe(24)
        self._access_tokens[access_token] = dict(self.user)
        body: dict[str, Any] = {"access_token": access_token, "token_type": "Bearer", "expires_in": 300}
        if self.claims_in in ("id_token", "both"):
            claims = {
                "sub": self.user.get("sub", "idp-user"),
                **self.user,
                "iss": self.issuer,
                "aud": self.client_id,
                "exp": int(self.now()) + 300,
                "iat": int(self.now()),
                "nonce": pending.get("nonce"),
            }
            claims.update(self.id_token_overrides)
            claims = {k: v for k, v in claims.items() if v is not None}
            body["id_token"] = make_jwt(claims, None if self.unsigned else (self.sign_with or self.client_secret))
        return JSONResponse(body)

    def _client_authenticated(self, request: Request, form: dict[str, str]) -> bool:
        if self.auth_method == "post":
            return form.get("client_id") == self.client_id and form.get("client_secret") == self.client_secret
        header = request.headers.get("authorization", "")
        if not header.startswith("Basic "):
            return False
        user, _, password = base64.b64decode(header[6:]).decode().partition(":")
        return unquote(user) == self.client_id and unquote(password) == self.client_secret

    async def _userinfo(self, request: Request) -> Response:
        header = request.headers.get("authorization", "")
        user = self._access_tokens.get(header.removeprefix("Bearer ")) if header.startswith("Bearer ") else None
        if user is None:
            return JSONResponse({"error": "invalid_token"}, 401)
        if self.claims_in == "id_token":
            return JSONResponse({"sub": user.get("sub", "idp-user")})
        return JSONResponse({"sub": user.get("sub", "idp-user"), **user})
