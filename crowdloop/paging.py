"""Opaque, tamper-evident pagination tokens.

A token is `<payload>.<mac>`: the payload is the base64url JSON list of the sort key after the last item
returned, the mac an HMAC-SHA256 (truncated to 128 bits) over the payload and a fingerprint of the
query (every filter and sort option) under the server's paging key (Services.paging_key). A token
that does not parse, was altered, or belongs to another query or another server is InvalidInput
"Invalid NextToken"; nobody can page from a position the server did not hand out.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from crowdloop.errors import InvalidInput

DEFAULT_PAGE_SIZE = 10
_MAC_BYTES = 16


def invalid_token() -> InvalidInput:
    return InvalidInput("Invalid NextToken: it was not issued by this server for this request.", "nextToken")


@dataclass(frozen=True)
class PageRequest:
    """What a list call asked for. `query` is every filter and sort option, used for the fingerprint;
    `key` is the server's paging key that signs and verifies tokens."""

    query: dict[str, Any]
    max_results: int | None = None
    next_token: str | None = None
    key: bytes = field(kw_only=True, repr=False)

    @property
    def limit(self) -> int:
        return self.max_results or DEFAULT_PAGE_SIZE

    def position(self) -> list[Any] | None:
        """The sort key of the last item of the previous page, or None for the first page."""
        if not self.next_token:
            return None
        payload, dot, mac = self.next_token.partition(".")
        if not dot or not hmac.compare_digest(mac.encode("utf-8", "replace"), self._mac(payload).encode()):
            raise invalid_token()
        try:
            data = json.loads(_unb64(payload))
        except (ValueError, binascii.Error) as exc:
            raise invalid_token() from exc
        if not isinstance(data, list):
            raise invalid_token()
        return data

    def token_after(self, position: Sequence[Any]) -> str:
        payload = _b64(json.dumps(list(position), separators=(",", ":")).encode())
        return f"{payload}.{self._mac(payload)}"

    def _mac(self, payload: str) -> str:
        message = _fingerprint(self.query).encode() + b"\n" + payload.encode("utf-8", "replace")
        return _b64(hmac.new(self.key, message, hashlib.sha256).digest()[:_MAC_BYTES])


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _fingerprint(query: dict[str, Any]) -> str:
    canonical = json.dumps(query, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()
