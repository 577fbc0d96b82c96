"""Wire plumbing shared by every AWS protocol: the request as received, responses, JSON and timestamps.

Nothing here knows about operations or errors; app.py, s3.py and sts.py build on it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator, MutableMapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import unquote
from xml.sax.saxutils import escape

import orjson
import regex

from crowdloop.bodylimit import BodyTooLarge as BodyTooLarge  # raised by read_body and the root app's limit

MAX_BODY_BYTES = 40 * 1024 * 1024
"""Largest request body accepted. Every valid request fits: InputContent may hold 3,145,728 characters,
and boto3 escapes each non-ASCII one as \\uXXXX (6 bytes, 12 for a character outside the BMP), so a valid
StartHumanLoop can be 37.8 MB on the wire. S3 and STS requests carry no payload worth the name: they get
MAX_XML_API_BODY_BYTES."""
MAX_XML_API_BODY_BYTES = 1024 * 1024

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class Request:
    """One HTTP request as the signature sees it: raw path, raw query string, lower-cased headers."""

    __slots__ = ("body", "headers", "method", "path", "query_string", "raw_path")

    def __init__(self, scope: Scope) -> None:
        self.method: str = scope["method"]
        self.path: str = scope["path"]
        raw = scope.get("raw_path")
        self.raw_path: str = raw.decode("latin-1").partition("?")[0] if raw else self.path
        self.query_string: str = scope.get("query_string", b"").decode("latin-1")
        headers: dict[str, str] = {}
        for name, value in scope["headers"]:
            key = name.decode("latin-1").lower()
            text = value.decode("latin-1")
            headers[key] = f"{headers[key]},{text}" if key in headers else text
        self.headers = headers
        self.body = b""

    def header(self, name: str) -> str:
        return self.headers.get(name, "")

    def query_pairs(self) -> list[tuple[str, str]]:
        """Decoded (name, value) pairs in order; '+' is kept literally (AWS SDKs encode spaces as %20)."""
        return parse_query(self.query_string)


def parse_query(query: str) -> list[tuple[str, str]]:
    pairs = []
    for part in query.split("&"):
        if part:
            name, _, value = part.partition("=")
            pairs.append((unquote(name), unquote(value)))
    return pairs


class ClientGone(Exception):
    """The client disconnected before sending the whole body: nothing may act on the part that arrived."""


async def read_body(scope: Scope, receive: Receive, limit: int = MAX_BODY_BYTES) -> bytes:
    """The whole request body; BodyTooLarge once it exceeds `limit` (Content-Length is checked first),
    ClientGone when the client disconnects first."""
    for name, value in scope["headers"]:
        if name.lower() == b"content-length":
            try:
                if int(value) > limit:
                    raise BodyTooLarge()
            except ValueError:
                pass
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientGone()
        chunk = message.get("body", b"")
        if chunk:
            size += len(chunk)
            if size > limit:
                raise BodyTooLarge()
            chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return chunks[0] if len(chunks) == 1 else b"".join(chunks)


class TrackedReceive:
    """An ASGI `receive` that remembers whether the body was started and read to its end, so a route that
    answers early knows whether the rest of the body is still on the connection (see `settle_body`)."""

    def __init__(self, receive: Receive) -> None:
        self._receive = receive
        self.started = False
        self.finished = False

    async def __call__(self) -> Message:
        self.started = True
        message = await self._receive()
        if message["type"] == "http.disconnect" or not message.get("more_body", False):
            self.finished = True
        return message


async def settle_body(receive: TrackedReceive, headers: list[tuple[bytes, bytes]], expect: str, limit: int) -> None:
    """Before answering a request whose body was not read to its end: read and drop up to `limit` more
    bytes, so the client (which sends its whole body before reading the answer) gets the answer and the
    connection stays usable; when there is more, or the client waits for "100 Continue" before sending
    it, add `Connection: close` (uvicorn then closes the connection after the answer)."""
    if receive.finished:
        return
    if not receive.started and expect.lower() == "100-continue":
        headers.append((b"connection", b"close"))
        return
    drained = 0
    try:
        while not receive.finished:
            drained += len((await receive()).get("body", b""))
            if drained > limit:
                break
    except (BodyTooLarge, ClientGone):
        pass
    if not receive.finished:
        headers.append((b"connection", b"close"))


class Response:
    """A response to send: either `body` bytes or a `stream` of chunks (with Content-Length set by caller)."""

    __slots__ = ("body", "headers", "status", "stream")

    def __init__(
        self, status: int, headers: list[tuple[bytes, bytes]], body: bytes = b"", stream: Iterator[bytes] | None = None
    ) -> None:
        self.status = status
        self.headers = headers
        self.body = body
        self.stream = stream


async def send_response(send: Send, response: Response, *, head: bool = False) -> None:
    headers = response.headers
    if response.stream is None and not any(name == b"content-length" for name, _ in headers):
        headers = [*headers, (b"content-length", str(len(response.body)).encode())]
    await send({"type": "http.response.start", "status": response.status, "headers": headers})
    if head or response.stream is None:
        await send({"type": "http.response.body", "body": b"" if head else response.body})
        return
    try:
        for chunk in response.stream:
            await send({"type": "http.response.body", "body": chunk, "more_body": True})
    finally:
        close = getattr(response.stream, "close", None)
        if close is not None:
            close()
    await send({"type": "http.response.body", "body": b""})


# --- XML ------------------------------------------------------------------------------------------


_NOT_XML = regex.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def xml_text(value: str) -> str:
    """`value` escaped for XML character data; characters XML 1.0 cannot hold at all (NUL and other
    C0 controls, unpaired surrogates, U+FFFE/U+FFFF) become U+FFFD."""
    return escape(_NOT_XML.sub("\ufffd", value))


# --- JSON -----------------------------------------------------------------------------------------


def loads(body: bytes) -> Any:
    return orjson.loads(body)


def sagemaker_json(value: Any) -> bytes:
    """awsJson1_1 output: timestamps as epoch seconds (JSON numbers), None members dropped."""
    return orjson.dumps(_clean(value, epoch_seconds))


def a2i_json(value: Any) -> bytes:
    """restJson1 output: timestamps as YYYY-MM-DDTHH:MM:SS.mmmZ strings, None members dropped."""
    return orjson.dumps(_clean(value, iso_ms))


def _clean(value: Any, stamp: Callable[[datetime], Any]) -> Any:
    if isinstance(value, dict):
        return {k: _clean(v, stamp) for k, v in value.items() if v is not None}
    if isinstance(value, list | tuple):
        return [_clean(v, stamp) for v in value if v is not None]
    if isinstance(value, datetime):
        return stamp(value)
    return value


# --- timestamps -------------------------------------------------------------------------------------


def _aware(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


def epoch_seconds(value: datetime) -> int | float:
    """Epoch seconds with millisecond precision (an int when there is no fraction)."""
    delta = _aware(value) - _EPOCH
    millis = (delta.days * 86400 + delta.seconds) * 1000 + delta.microseconds // 1000
    return millis // 1000 if millis % 1000 == 0 else millis / 1000


def iso_ms(value: datetime) -> str:
    value = _aware(value).astimezone(UTC)
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


def parse_timestamp(value: Any) -> datetime:
    """An aware UTC datetime from epoch seconds (int/float or a numeric string) or an ISO-8601 string.

    Raises ValueError for anything else."""
    if isinstance(value, bool):
        raise ValueError("not a timestamp")
    if isinstance(value, int | float):
        return datetime.fromtimestamp(value, UTC)
    if isinstance(value, str):
        text = value.strip()
        try:
            return datetime.fromtimestamp(float(text), UTC)
        except (ValueError, OverflowError):
            pass
        if text.endswith(("z", "Z")):
            text = text[:-1] + "+00:00"
        return _aware(datetime.fromisoformat(text)).astimezone(UTC)
    raise ValueError("not a timestamp")
