"""The webhook HTTP client against real receivers on 127.0.0.1 (tests/events/receivers.py)."""

from __future__ import annotations

import socket
import ssl
import struct
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import pytest
from standardwebhooks import Webhook

from crowdloop.webhook_http import Attempt, WebhookClient
from crowdloop.webhook_signing import generate_secret
from tests.events.receivers import OK_RESPONSE, HttpReceiver, RawReceiver, Reply

SECRET = generate_secret().reveal()
BODY = b'{"version":"0","id":"a1","detail-type":"crowdloop Answer Submitted","detail":{"n":1}}'


@pytest.fixture
def client() -> Iterator[WebhookClient]:
    client = WebhookClient(timeout_seconds=0.5, allow_private=True)
    yield client
    client.close()


def post(client: WebhookClient, url: str, message_id: str = "msg_1") -> Attempt:
    return client.post(url, message_id=message_id, body=BODY, secrets=[SECRET], timestamp=datetime.now(UTC))


def resolver(name: str, address: str) -> Any:
    """A stand-in for socket.getaddrinfo that knows one name."""

    def resolve(host: str, port: int, **_kwargs: Any) -> list[tuple[Any, ...]]:
        if host != name:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port))]

    return resolve


def test_a_2xx_is_delivered_with_the_exact_body_and_standard_webhooks_headers(client: WebhookClient) -> None:
    with HttpReceiver(lambda _r: Reply(200, b'{"thanks":true}')) as receiver:
        attempt = post(client, receiver.url("/hook?team=ops"), "msg_42")
    assert (attempt.ok, attempt.status, attempt.error, attempt.retry_after_seconds) == (True, 200, "", None)
    assert 0 < attempt.duration_ms < 500
    [request] = receiver.requests
    assert (request.path, request.body) == ("/hook?team=ops", BODY)
    assert request.headers["Content-Type"] == "application/json"
    assert request.headers["User-Agent"] == "crowdloop-webhooks"
    assert request.headers["webhook-id"] == "msg_42"
    Webhook(SECRET).verify(request.body, request.headers)  # raises when a header or the body is off


def test_an_error_status_gives_the_start_of_the_body(client: WebhookClient) -> None:
    body = b"database\n  is down " + b"x" * 500
    with HttpReceiver(lambda _r: Reply(500, body)) as receiver:
        attempt = post(client, receiver.url())
    assert (attempt.ok, attempt.status) == (False, 500)
    assert attempt.error == "HTTP 500: database is down " + "x" * (200 - len("database is down "))


def test_a_redirect_is_not_followed(client: WebhookClient) -> None:
    with HttpReceiver(
        lambda r: Reply(301, headers={"Location": "/elsewhere"}) if r.path == "/hook" else Reply()
    ) as rcv:
        attempt = post(client, rcv.url())
    assert (attempt.ok, attempt.status, attempt.error) == (False, 301, "HTTP 301: redirects are not followed")
    assert [r.path for r in rcv.requests] == ["/hook"]


@pytest.mark.parametrize(
    ("status", "header", "expected"),
    [(429, "7", 7.0), (503, "HTTP_DATE", 90.0), (503, "soon", None), (500, "7", None)],
)
def test_retry_after_is_read_on_429_and_503(
    client: WebhookClient, status: int, header: str, expected: float | None
) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    value = format_datetime(now + timedelta(seconds=90), usegmt=True) if header == "HTTP_DATE" else header
    with HttpReceiver(lambda _r: Reply(status, b"busy", {"Retry-After": value})) as receiver:
        attempt = client.post(receiver.url(), message_id="m", body=BODY, secrets=[SECRET], timestamp=now)
    assert (attempt.status, attempt.retry_after_seconds) == (status, expected)


def test_posts_to_one_origin_reuse_one_connection(client: WebhookClient) -> None:
    with HttpReceiver() as receiver:
        attempts = [post(client, receiver.url(f"/hook/{n}")) for n in range(5)]
    assert all(a.ok for a in attempts)
    assert [r.connection for r in receiver.requests] == [1, 1, 1, 1, 1]


def test_a_connection_the_receiver_closed_while_idle_is_replaced(client: WebhookClient) -> None:
    with HttpReceiver(idle_timeout=0.1) as receiver:
        first = post(client, receiver.url())
        time.sleep(0.4)  # the receiver closes the idle connection
        second = post(client, receiver.url())
    assert (first.ok, second.ok) == (True, True)
    assert [r.connection for r in receiver.requests] == [1, 2]


def test_a_request_lost_on_a_reused_connection_is_sent_once_more() -> None:
    """The receiver drops the kept-alive connection as the second request arrives, before answering: the
    client cannot tell this from an idle close it missed, and sends the request again on a new connection."""

    def answer_one_then_drop(conn: socket.socket, number: int, stop: threading.Event) -> None:
        receiver.read_request(conn)
        conn.sendall(OK_RESPONSE)
        receiver.read_request(conn)  # then close without a byte of response

    client = WebhookClient(timeout_seconds=2, allow_private=True)
    with RawReceiver(answer_one_then_drop) as receiver:
        attempts = [post(client, receiver.url()), post(client, receiver.url())]
        client.close()
    assert [a.ok for a in attempts] == [True, True]
    assert (receiver.connections, receiver.requests) == (2, 3)


def test_a_request_on_a_new_connection_is_never_sent_twice(client: WebhookClient) -> None:
    def drop(conn: socket.socket, number: int, stop: threading.Event) -> None:
        receiver.read_request(conn)

    with RawReceiver(drop) as receiver:
        attempt = post(client, receiver.url())
    assert (attempt.ok, attempt.status) == (False, None)
    assert attempt.error == "the receiver closed the connection without a response"
    assert (receiver.connections, receiver.requests) == (1, 1)


def test_a_request_whose_response_had_started_is_never_sent_again() -> None:
    def answer_then_half_answer(conn: socket.socket, number: int, stop: threading.Event) -> None:
        receiver.read_request(conn)
        conn.sendall(OK_RESPONSE)
        receiver.read_request(conn)
        conn.sendall(b"HTTP/1.1 200 OK\r\n")
        stop.wait(0.1)
        conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))  # close with a reset

    client = WebhookClient(timeout_seconds=2, allow_private=True)
    with RawReceiver(answer_then_half_answer) as receiver:
        first, second = post(client, receiver.url()), post(client, receiver.url())
        client.close()
    assert (first.ok, second.ok) == (True, False)
    assert (second.status, second.error) == (None, "the receiver reset the connection")
    assert (receiver.connections, receiver.requests) == (1, 2)


def test_a_receiver_that_never_answers_times_out(client: WebhookClient) -> None:
    def hang(conn: socket.socket, number: int, stop: threading.Event) -> None:
        receiver.read_request(conn)
        stop.wait(10)

    with RawReceiver(hang) as receiver:
        attempt = post(client, receiver.url())
    assert (attempt.ok, attempt.status, attempt.error) == (False, None, "timed out after 0.5 s")
    assert 450 < attempt.duration_ms < 1500


def test_a_receiver_that_trickles_its_answer_is_cut_off_at_the_timeout(client: WebhookClient) -> None:
    """Each byte arrives well within the timeout; the whole answer would take 4 s."""

    def trickle(conn: socket.socket, number: int, stop: threading.Event) -> None:
        receiver.read_request(conn)
        for byte in b"HTTP/1.1 200 OK\r\nX-Padding: " + b"x" * 40:
            if stop.wait(0.1):
                return
            conn.sendall(bytes([byte]))

    with RawReceiver(trickle) as receiver:
        attempt = post(client, receiver.url())
    assert (attempt.ok, attempt.error) == (False, "timed out after 0.5 s")
    assert attempt.duration_ms < 1500


def test_a_long_answer_is_read_to_64_kib_and_its_connection_not_reused(client: WebhookClient) -> None:
    with HttpReceiver(lambda _r: Reply(200, b"x" * (1 << 20))) as receiver:
        attempts = [post(client, receiver.url()), post(client, receiver.url())]
    assert [a.ok for a in attempts] == [True, True]
    assert [r.connection for r in receiver.requests] == [1, 2]


def test_a_closed_port_is_connection_refused(client: WebhookClient) -> None:
    with socket.create_server(("127.0.0.1", 0)) as probe:
        port = probe.getsockname()[1]
    attempt = post(client, f"http://127.0.0.1:{port}/hook")
    assert (attempt.ok, attempt.status, attempt.error) == (False, None, "connection refused")


def test_loopback_is_refused_unless_private_targets_are_allowed() -> None:
    client = WebhookClient(timeout_seconds=0.5, allow_private=False)
    with HttpReceiver() as receiver:
        attempt = post(client, receiver.url())
    client.close()
    assert (attempt.ok, attempt.status) == (False, None)
    assert attempt.error.startswith("The url's host address 127.0.0.1 is a loopback address")
    assert receiver.connections == 0


def test_a_name_resolving_to_a_private_address_is_refused() -> None:
    client = WebhookClient(timeout_seconds=0.5, allow_private=False, resolve=resolver("hooks.example", "10.1.2.3"))
    attempt = post(client, "https://hooks.example/hook")
    client.close()
    assert not attempt.ok
    assert attempt.error.startswith("The url's host 'hooks.example' resolves to 10.1.2.3, which is a private address")


def test_the_socket_connects_to_the_checked_address_not_the_name() -> None:
    """`receiver.test` exists only in the stand-in resolver: a second lookup by name would fail."""
    client = WebhookClient(timeout_seconds=0.5, allow_private=True, resolve=resolver("receiver.test", "127.0.0.1"))
    with HttpReceiver() as receiver:
        attempt = post(client, receiver.url(host="receiver.test"))
    client.close()
    assert attempt.ok
    assert receiver.requests[0].headers["Host"] == f"receiver.test:{receiver.port}"


def test_an_unresolvable_name_fails_cleanly(client: WebhookClient) -> None:
    attempt = post(client, "http://no-such-host.invalid/hook")
    assert (attempt.ok, attempt.status) == (False, None)
    assert attempt.error.startswith("the host cannot be resolved")


def test_https_with_a_self_signed_certificate_fails_on_the_certificate(client: WebhookClient, tmp_path: Path) -> None:
    receiver = HttpReceiver()
    receiver.use_tls(tmp_path)
    with receiver:
        attempt = post(client, receiver.url(scheme="https"))
    assert (attempt.ok, attempt.status) == (False, None)
    assert attempt.error.startswith("TLS certificate verification failed")
    assert "certificate" in attempt.error.split(":", 1)[1]
    assert receiver.requests == []


def test_a_url_that_is_not_http_fails_without_a_connection(client: WebhookClient) -> None:
    attempt = post(client, "ftp://example.com/hook")
    assert (attempt.ok, attempt.error) == (False, "The url must be http(s)://host[:port]/path.")


def test_https_to_a_trusted_receiver_keeps_its_connection(tmp_path: Path) -> None:
    receiver = HttpReceiver()
    trusted = ssl.create_default_context(cafile=receiver.use_tls(tmp_path))
    client = WebhookClient(timeout_seconds=2, allow_private=True, tls=trusted)
    with receiver:
        attempts = [post(client, receiver.url(scheme="https")) for _ in range(3)]
        client.close()
    assert [(a.ok, a.error) for a in attempts] == [(True, "")] * 3
    assert [r.connection for r in receiver.requests] == [1, 1, 1]
    assert receiver.requests[0].headers["Host"] == f"127.0.0.1:{receiver.port}"


def test_https_verifies_the_certificate_against_the_name_not_the_address(tmp_path: Path) -> None:
    """The socket goes to the checked address, TLS still checks (and SNI names) the URL's host."""
    receiver = HttpReceiver()
    trusted = ssl.create_default_context(cafile=receiver.use_tls(tmp_path))
    names = {"receiver.test": "127.0.0.1", "other.test": "127.0.0.1"}

    def resolve(host: str, port: int, **_kwargs: Any) -> list[tuple[Any, ...]]:
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (names[host], port))]

    client = WebhookClient(timeout_seconds=2, allow_private=True, tls=trusted, resolve=resolve)
    with receiver:
        named = post(client, receiver.url(scheme="https", host="receiver.test"))
        other = post(client, receiver.url(scheme="https", host="other.test"))
        client.close()
    assert (named.ok, named.error) == (True, "")
    assert not other.ok
    assert other.error.startswith("TLS certificate verification failed: Hostname mismatch")
    assert len(receiver.requests) == 1
