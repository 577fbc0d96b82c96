"""CSRF protection.

* Signed-in forms and the answer submission carry the session's own token (a hidden `csrf_token` field,
  or the `X-CSRF-Token` header for the JSON submission); it lives server-side with the session.
* The anonymous forms (sign-in, invitation) use a double-submit token: a random value in an HttpOnly
  SameSite=Lax cookie that the form must repeat.
* Every POST must also come from the portal's own origin when the browser says where it comes from
  (`Origin`, else `Referer`).
"""

from __future__ import annotations

import hmac
import secrets
from urllib.parse import urlsplit

FIELD = "csrf_token"
HEADER = "x-csrf-token"
ANONYMOUS_COOKIE = "crowdloop_csrf"


def new_token() -> str:
    return secrets.token_urlsafe(32)


def tokens_match(expected: str | None, given: object) -> bool:
    if not expected or not isinstance(given, str) or not given:
        return False
    return hmac.compare_digest(expected.encode(), given.encode())


def same_origin(origin_header: str | None, referer_header: str | None, own_origin: str) -> bool:
    """False only when the browser names another origin as the request's source."""
    if origin_header:
        return origin_header == own_origin
    if referer_header:
        parts = urlsplit(referer_header)
        return f"{parts.scheme}://{parts.netloc}" == own_origin
    return True
