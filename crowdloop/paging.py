"""Opaque pagination tokens. A token records the position after the last item returned and a fingerprint
of the query it belongs to; a token that does not parse or belongs to another query is InvalidInput."""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from crowdloop.errors import InvalidInput

DEFAULT_PAGE_SIZE = 10


@dataclass(frozen=True)
class PageRequest:
    """What a list call asked for. `query` is every filter and sort option, used for the fingerprint."""

    query: dict[str, Any]
    max_results: int | None = None
    next_token: str | None = None

    @property
    def limit(self) -> int:
        return self.max_results or DEFAULT_PAGE_SIZE

    def position(self) -> list[Any] | None:
        """The sort key of the last item of the previous page, or None for the first page."""
        if not self.next_token:
            return None
        try:
            padded = self.next_token + "=" * (-len(self.next_token) % 4)
            data = json.loads(base64.urlsafe_b64decode(padded.encode()))
            if data["q"] != _fingerprint(self.query) or not isinstance(data["p"], list):
                raise ValueError("token of another query")
            return list(data["p"])
        except (ValueError, KeyError, TypeError) as exc:
            raise InvalidInput("The NextToken is not valid for this request.", "nextToken") from exc

    def token_after(self, position: Sequence[Any]) -> str:
        raw = json.dumps({"q": _fingerprint(self.query), "p": list(position)}, separators=(",", ":"))
        return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _fingerprint(query: dict[str, Any]) -> str:
    canonical = json.dumps(query, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]
