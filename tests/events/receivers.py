"""Real webhook receivers on 127.0.0.1 for the HTTP client's tests.

- HttpReceiver: a threaded http.server speaking HTTP/1.1 keep-alive, recording every request and the
  connection it came on, answering with what the test's `answer` function returns; optionally over TLS.
- RawReceiver: a bare TCP server running a test-written behaviour on each connection, for receivers that
  misbehave (hang, trickle, close at the wrong moment) in ways http.server cannot.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import ipaddress
import socket
import ssl
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID


@dataclass
class Received:
    connection: int  # the number of the connection it came on, from 1
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Reply:
    status: int = 204
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)


class HttpReceiver:
    def __init__(self, answer: Callable[[Received], Reply] = lambda _r: Reply(), idle_timeout: float | None = None):
        self.requests: list[Received] = []
        self.connections = 0
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            timeout = idle_timeout  # the receiver closes a connection idle this long

            def setup(self) -> None:
                super().setup()
                receiver.connections += 1
                self.number = receiver.connections

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                received = Received(self.number, self.path, dict(self.headers.items()), self.rfile.read(length))
                receiver.requests.append(received)
                reply = answer(received)
                self.send_response(reply.status)
                for name, value in reply.headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(reply.body)))
                self.end_headers()
                self.wfile.write(reply.body)

            def log_message(self, format: str, *args: Any) -> None:  # keep the test output clean
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = int(self.server.server_address[1])
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def use_tls(self, folder: Path) -> Path:
        """Answer over TLS with a self-signed certificate for 127.0.0.1 and receiver.test (one no client
        trusts unless told to); the certificate's file."""
        cert, key = self_signed_certificate(folder)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert, key)
        self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
        return cert

    def url(self, path: str = "/hook", scheme: str = "http", host: str = "127.0.0.1") -> str:
        return f"{scheme}://{host}:{self.port}{path}"

    def __enter__(self) -> HttpReceiver:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join()


class RawReceiver:
    """Runs behaviour(connection socket, connection number, stop event) for each accepted connection."""

    def __init__(self, behaviour: Callable[[socket.socket, int, threading.Event], None]) -> None:
        self.behaviour = behaviour
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.listener.settimeout(0.05)
        self.port = int(self.listener.getsockname()[1])
        self.stop = threading.Event()
        self.connections = 0
        self.requests = 0
        self.threads: list[threading.Thread] = []
        self.acceptor = threading.Thread(target=self._accept, daemon=True)

    def url(self, path: str = "/hook") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def read_request(self, conn: socket.socket) -> bool:
        """Read one request (headers and Content-Length body) from the connection; False at its end."""
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = conn.recv(65536)
            if not chunk:
                return False
            data += chunk
        head, _, rest = data.partition(b"\r\n\r\n")
        length = next(
            int(line.split(b":", 1)[1]) for line in head.split(b"\r\n") if line.lower().startswith(b"content-length:")
        )
        while len(rest) < length:
            chunk = conn.recv(65536)
            if not chunk:
                return False
            rest += chunk
        self.requests += 1
        return True

    def _accept(self) -> None:
        while not self.stop.is_set():
            try:
                conn, _ = self.listener.accept()
            except TimeoutError:
                continue
            self.connections += 1
            thread = threading.Thread(target=self._serve, args=(conn, self.connections), daemon=True)
            self.threads.append(thread)
            thread.start()

    def _serve(self, conn: socket.socket, number: int) -> None:
        # OSError: the client gave up (it timed out), which is what these receivers provoke
        with conn, contextlib.suppress(OSError):
            self.behaviour(conn, number, self.stop)

    def __enter__(self) -> RawReceiver:
        self.acceptor.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.acceptor.join()
        for thread in self.threads:
            thread.join()
        self.listener.close()


OK_RESPONSE = b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"


def self_signed_certificate(folder: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 and receiver.test signed by its own key (cert.pem, key.pem in folder)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "crowdloop test receiver")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("receiver.test")]
            ),
            False,
        )
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert_path, key_path
