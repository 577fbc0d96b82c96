"""The HTTP client of webhook deliveries: one POST of one signed event, its outcome as an `Attempt`.

Pure I/O: no store, no Services. The dispatcher gives each lane (one thread at a time) its own
`WebhookClient`, which keeps one HTTP/1.1 connection per origin open between posts (a TLS handshake costs
more than the post itself). What the client guarantees:

* SSRF, DNS rebinding included: the host is resolved at connect time, every address it resolves to must
  pass `webhook_targets.check_address`, and the socket connects to the checked address, never to the name
  (a second lookup could answer differently). TLS still verifies the certificate against the name (SNI).
* A bound on the lane's time: connect, TLS handshake, sending and the whole response share one deadline of
  `timeout_seconds` (every socket read and write gets only the time left), so a receiver that trickles bytes
  cannot hold the lane. At most 64 KiB of the response body is read; a longer one closes the connection.
* No duplicate from the transport: a kept-alive connection the receiver closed while idle is replaced, and a
  request that failed on a reused connection before a single byte of response arrived is sent once more on
  a new one (the receiver cannot have answered it); after any byte of response, never.
* No exception for a failed delivery: every outcome is an Attempt whose `error` a person can read.
"""

from __future__ import annotations

import http.client
import ipaddress
import select
import socket
import ssl
import time
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Any, NamedTuple
from urllib.parse import urlsplit

from crowdloop.errors import InvalidInput
from crowdloop.webhook_signing import SecretText, sign
from crowdloop.webhook_targets import Resolver, check_address

if TYPE_CHECKING:
    from _typeshed import ReadableBuffer, WriteableBuffer

MAX_RESPONSE_BYTES = 64 * 1024
ERROR_EXCERPT_CHARS = 200
MAX_IDLE_CONNECTIONS = 32  # per lane: origins beyond this reconnect (least recently used closed first)
_RETRY_AFTER_STATUSES = (429, 503)
_RESET = (ConnectionResetError, ConnectionAbortedError, BrokenPipeError)  # RemoteDisconnected is a reset


@dataclass(frozen=True)
class Attempt:
    ok: bool  # 2xx received (or, on a bus, the entry accepted)
    status: int | None  # HTTP status, None when no response came
    error: str  # "" when ok; otherwise a short reason shown in the console and the CLI
    retry_after_seconds: float | None  # the receiver's Retry-After on 429/503, else None
    duration_ms: float


class _Origin(NamedTuple):
    scheme: str
    host: str
    port: int


class _Budget:
    """The deadline (time.monotonic()) of the current post and the response bytes received for it, shared by
    a connection and every socket it opens."""

    def __init__(self) -> None:
        self.deadline = 0.0
        self.received = 0

    def start(self, deadline: float) -> None:
        self.deadline = deadline
        self.received = 0

    def left(self) -> float:
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError("timed out")
        return left


class _TimedSocket(socket.socket):
    """A TCP socket whose reads and writes all end by its budget's deadline."""

    budget: _Budget

    def recv_into(self, buffer: WriteableBuffer, nbytes: int = 0, flags: int = 0) -> int:
        self.settimeout(self.budget.left())
        count = super().recv_into(buffer, nbytes, flags)
        self.budget.received += count
        return count

    def sendall(self, data: ReadableBuffer, flags: int = 0) -> None:
        self.settimeout(self.budget.left())  # since Python 3.5 the timeout bounds the whole sendall
        super().sendall(data, flags)


class _TimedTLSSocket(ssl.SSLSocket):
    """The TLS socket over a _TimedSocket: the same deadline for every record read and written."""

    budget: _Budget

    def recv_into(self, buffer: WriteableBuffer, nbytes: int | None = None, flags: int = 0) -> int:
        self.settimeout(self.budget.left())
        count = super().recv_into(buffer, nbytes, flags)
        self.budget.received += count
        return count

    def send(self, data: ReadableBuffer, flags: int = 0) -> int:  # SSLSocket.sendall loops over send
        self.settimeout(self.budget.left())
        return super().send(data, flags)


class _Connection(http.client.HTTPConnection):
    """An HTTP/1.1 connection to one origin that connects only to addresses the SSRF check allowed."""

    def __init__(self, origin: _Origin, *, tls: ssl.SSLContext | None, allow_private: bool, resolve: Resolver) -> None:
        super().__init__(origin.host, origin.port)
        if origin.scheme == "https":
            self.default_port = 443  # so the Host header leaves out a default port, as HTTPSConnection does
        self.budget = _Budget()
        self._tls = tls
        self._allow_private = allow_private
        self._resolve = resolve

    def connect(self) -> None:
        plain = self._open_checked_socket()
        if self._tls is None:
            self.sock = plain
            return
        try:
            plain.settimeout(self.budget.left())  # the handshake runs under the plain socket's timeout
            secure = self._tls.wrap_socket(plain, server_hostname=self.host)
        except BaseException:
            plain.close()
            raise
        assert isinstance(secure, _TimedTLSSocket)
        secure.budget = self.budget
        self.sock = secure

    def _open_checked_socket(self) -> _TimedSocket:
        addresses = self._checked_addresses()
        failure: OSError = OSError(f"host '{self.host}' resolves to no address")
        for family, sockaddr in addresses:
            sock = _TimedSocket(family, socket.SOCK_STREAM)
            sock.budget = self.budget
            try:
                sock.settimeout(self.budget.left())
                sock.connect(sockaddr)
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                return sock
            except OSError as exc:
                sock.close()
                failure = exc
        raise failure

    def _checked_addresses(self) -> list[tuple[int, Any]]:
        """Every address of the host, each allowed by the SSRF check (InvalidInput otherwise)."""
        host = self.host
        found: Sequence[tuple[Any, ...]]
        if _is_address(host):  # a literal: nothing to resolve, and the message names no host
            found = socket.getaddrinfo(host, self.port, type=socket.SOCK_STREAM, flags=socket.AI_NUMERICHOST)
            named = ""
        else:
            found = self._resolve(host, self.port, type=socket.SOCK_STREAM)
            named = host
        addresses: list[tuple[int, Any]] = [(info[0], info[4]) for info in found]
        for _family, sockaddr in addresses:
            check_address(str(sockaddr[0]), self._allow_private, field="url", host=named)
        return addresses


class WebhookClient:
    """Keep-alive HTTP/1.1 connections of one lane, reused across posts to the same origin."""

    def __init__(
        self,
        *,
        timeout_seconds: float,
        allow_private: bool,
        user_agent: str = "crowdloop-webhooks",
        resolve: Resolver = socket.getaddrinfo,
        tls: ssl.SSLContext | None = None,
    ) -> None:
        """`resolve` is socket.getaddrinfo (tests pass a stand-in for names they cannot register in DNS);
        `tls` the context https connections verify with (default: the system's trusted certificates; tests
        pass one trusting their own certificate authority). It is the client's from then on."""
        self._timeout = timeout_seconds
        self._allow_private = allow_private
        self._user_agent = user_agent
        self._resolve = resolve
        self._given_tls = tls
        self._tls: ssl.SSLContext | None = None  # made on the first https connection (loading the CAs costs)
        self._connections: OrderedDict[_Origin, _Connection] = OrderedDict()

    def _tls_context(self) -> ssl.SSLContext:
        if self._tls is None:
            self._tls = self._given_tls or ssl.create_default_context()
            self._tls.sslsocket_class = _TimedTLSSocket
        return self._tls

    def post(
        self, url: str, *, message_id: str, body: bytes, secrets: Sequence[SecretText], timestamp: datetime
    ) -> Attempt:
        """POST one signed event; the Attempt says how it went (no exception for a failed delivery)."""
        started = time.perf_counter()
        deadline = time.monotonic() + self._timeout
        status: int | None = None
        retry_after: float | None = None
        try:
            origin, target = _split(url)
            headers = {
                "Content-Type": "application/json",
                "User-Agent": self._user_agent,
                **sign(list(secrets), message_id, timestamp, body),
            }
            status, reason, retry_header, excerpt = self._exchange(origin, target, body, headers, deadline)
            error = _status_error(status, reason, excerpt)
            if status in _RETRY_AFTER_STATUSES and retry_header:
                retry_after = _retry_after_seconds(retry_header, timestamp)
        except InvalidInput as exc:
            error = exc.message
        except (OSError, http.client.HTTPException) as exc:
            error = _describe(exc, self._timeout)
        elapsed = (time.perf_counter() - started) * 1000
        return Attempt(not error, status, error, retry_after, elapsed)

    def close(self) -> None:
        """Close every kept-alive connection (the client stays usable: later posts reconnect)."""
        while self._connections:
            _origin, connection = self._connections.popitem()
            connection.close()

    def _exchange(
        self, origin: _Origin, target: str, body: bytes, headers: dict[str, str], deadline: float
    ) -> tuple[int, str, str | None, bytes]:
        """(status, reason, Retry-After header, body excerpt) of one POST, resent once only when a reused
        connection failed before any byte of response."""
        connection = self._connection(origin)
        try:
            for attempt in (1, 2):
                reused = connection.sock is not None
                if reused and _closed_while_idle(connection.sock):
                    connection.close()
                    reused = False
                connection.budget.start(deadline)
                try:
                    connection.request("POST", target, body=body, headers=headers)
                    response = connection.getresponse()
                except _RESET:
                    connection.close()
                    if attempt == 1 and reused and connection.budget.received == 0:
                        continue
                    raise
                return _read_response(connection, response)
            raise AssertionError("unreachable: the second try returns or raises")
        except BaseException:
            self._forget(origin)
            raise

    def _connection(self, origin: _Origin) -> _Connection:
        connection = self._connections.get(origin)
        if connection is None:
            tls = self._tls_context() if origin.scheme == "https" else None
            connection = _Connection(origin, tls=tls, allow_private=self._allow_private, resolve=self._resolve)
            self._connections[origin] = connection
            while len(self._connections) > MAX_IDLE_CONNECTIONS:
                _oldest, evicted = self._connections.popitem(last=False)
                evicted.close()
        self._connections.move_to_end(origin)
        return connection

    def _forget(self, origin: _Origin) -> None:
        connection = self._connections.pop(origin, None)
        if connection is not None:
            connection.close()


def _read_response(connection: _Connection, response: http.client.HTTPResponse) -> tuple[int, str, str | None, bytes]:
    """Read at most MAX_RESPONSE_BYTES of the body; keep the connection only when the body was read whole
    and the receiver keeps it alive."""
    try:
        excerpt = response.read(MAX_RESPONSE_BYTES)
        reusable = response.isclosed() and not response.will_close
    finally:
        response.close()
    if not reusable:
        connection.close()
    return response.status, response.reason, response.getheader("Retry-After"), excerpt


def _split(url: str) -> tuple[_Origin, str]:
    """The origin and the request target (path and query) of a webhook URL."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise InvalidInput(f"The url is not a valid URL: {exc}.", "url") from exc
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https") or not parts.hostname:
        raise InvalidInput("The url must be http(s)://host[:port]/path.", "url")
    try:
        host = parts.hostname.encode("idna").decode("ascii") if not parts.hostname.isascii() else parts.hostname
    except UnicodeError as exc:
        raise InvalidInput(f"The url's host '{parts.hostname}' is not a valid name.", "url") from exc
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return _Origin(scheme, host, port or (443 if scheme == "https" else 80)), target


def _is_address(host: str) -> bool:
    try:
        ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return False
    return True


def _closed_while_idle(sock: socket.socket) -> bool:
    """An idle kept-alive socket that is readable was closed by the receiver (or holds junk): don't reuse it."""
    try:
        if hasattr(select, "poll"):
            poller = select.poll()
            poller.register(sock, select.POLLIN)
            return bool(poller.poll(0))
        readable, _, _ = select.select([sock], [], [], 0)
        return bool(readable)
    except (OSError, ValueError):
        return True


def _status_error(status: int, reason: str, body: bytes) -> str:
    if 200 <= status < 300:
        return ""
    if 300 <= status < 400:
        return f"HTTP {status}: redirects are not followed"
    text = " ".join(body[: ERROR_EXCERPT_CHARS * 4].decode("utf-8", "replace").split())
    text = "".join(ch if ch.isprintable() else "?" for ch in text)[:ERROR_EXCERPT_CHARS]
    return f"HTTP {status}: {text or reason or 'no body'}"


def _retry_after_seconds(value: str, now: datetime) -> float | None:
    """Retry-After as seconds from `now`: delay-seconds or an HTTP date; None when it is neither."""
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        return None
    return max(0.0, (when - now).total_seconds())


def _describe(exc: OSError | http.client.HTTPException, timeout_seconds: float) -> str:
    """A short reason for the console and the CLI."""
    if isinstance(exc, TimeoutError):
        return f"timed out after {timeout_seconds:g} s"
    if isinstance(exc, ssl.SSLCertVerificationError):
        return f"TLS certificate verification failed: {exc.verify_message}"
    if isinstance(exc, ssl.SSLError):
        return f"TLS failed: {exc.reason or exc}"
    if isinstance(exc, socket.gaierror):
        return f"the host cannot be resolved: {exc.strerror or exc}"
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    if isinstance(exc, http.client.RemoteDisconnected):
        return "the receiver closed the connection without a response"
    if isinstance(exc, _RESET):
        return "the receiver reset the connection"
    if isinstance(exc, http.client.HTTPException):
        return f"the receiver's answer is not valid HTTP ({type(exc).__name__})"
    return f"connection failed: {exc.strerror or exc}"
