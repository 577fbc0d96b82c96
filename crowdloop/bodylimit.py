"""The request body limit every route gets from the root app (crowdloop.app), below any route's own.

`limited(scope, receive, limit)` is the ASGI `receive` the routes see: its first call raises BodyTooLarge
when Content-Length says more than `limit` (nothing is read), and any call raises it once more than `limit`
bytes have arrived (chunked bodies). The routes turn BodyTooLarge into a 413 in their own format (AWS JSON
or XML error, portal page); the root app answers a plain 413 for any that does not.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]


class BodyTooLarge(Exception):
    """The request body is larger than the route accepts."""


def declared_length(scope: Scope) -> int | None:
    """The Content-Length header as a number, None when absent or not a number."""
    for name, value in scope["headers"]:
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


def limited(scope: Scope, receive: Receive, limit: int) -> Receive:
    declared = declared_length(scope)
    received = 0

    async def receive_within_limit() -> Message:
        nonlocal received
        if declared is not None and declared > limit:
            raise BodyTooLarge()
        message = await receive()
        received += len(message.get("body", b""))
        if received > limit:
            raise BodyTooLarge()
        return message

    return receive_within_limit
