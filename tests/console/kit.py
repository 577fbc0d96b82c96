"""What the console tests share: a browser-like client over the real root app (console and portal on one
origin, as `serve` runs them), signed in with an access key pair."""

from __future__ import annotations

import re
from typing import Any

import httpx2 as httpx
from starlette.testclient import TestClient

from crowdloop import keys
from crowdloop.keys import AccessKey
from crowdloop.runtime import Services

ORIGIN = "http://console.test"
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def add_key(svc: Services) -> AccessKey:
    return keys.create_key(svc.store, svc.clock, svc.settings.account_id)


class ConsoleBrowser:
    """One requester's browser: its own cookie jar, the CSRF token of the last page that had a form."""

    def __init__(self, app: Any) -> None:
        self.client: httpx.Client = TestClient(app, base_url=ORIGIN, follow_redirects=False)
        self.csrf = ""

    def close(self) -> None:
        self.client.close()

    def get(self, url: str, **kwargs: Any) -> httpx.Response:
        response = self.client.get(url, **kwargs)
        match = _CSRF.search(response.text)
        if match:
            self.csrf = match.group(1)
        return response

    def post(
        self, url: str, data: dict[str, str] | None = None, *, csrf: str | None = None, origin: str | None = ORIGIN
    ) -> httpx.Response:
        form = {"csrf_token": self.csrf if csrf is None else csrf, **(data or {})}
        headers = {"Origin": origin} if origin else {}
        return self.client.post(url, data=form, headers=headers)

    def sign_in(self, key: AccessKey, secret: str | None = None) -> httpx.Response:
        """Sign in through the form; on success the overview has been loaded (and its CSRF token kept)."""
        self.get("/console/signin")
        secret = key.secret_access_key if secret is None else secret
        response = self.post("/console/signin", {"access_key_id": key.access_key_id, "secret_access_key": secret})
        if response.status_code == 303:
            self.get(response.headers["location"])
        return response
