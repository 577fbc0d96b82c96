"""What the events API tests share: the real root app served by uvicorn on 127.0.0.1 (lifespan on: outbox
writers, dispatcher), requests signed with botocore's SigV4Auth for the service "crowdloop", and a small
Server-Sent Events reader over a raw HTTP connection."""

from __future__ import annotations

import http.client
import json
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import uvicorn
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from crowdloop import keys
from crowdloop.app import CrowdloopApp, build_services
from crowdloop.config import Settings
from crowdloop.keys import AccessKey
from crowdloop.secret import SecretUrl

API = "/_crowdloop/v1"


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class LiveServer:
    app: CrowdloopApp
    port: int
    key: AccessKey

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def signed_headers(
        self, method: str, path: str, body: bytes = b"", *, secret: str | None = None, region: str = "eu-west-1"
    ) -> dict[str, str]:
        """The headers botocore's SigV4Auth adds for the service "crowdloop" (any region works)."""
        credentials = Credentials(self.key.access_key_id, secret or self.key.secret_access_key)
        request = AWSRequest(method=method, url=self.url + path, data=body, headers={"Host": f"127.0.0.1:{self.port}"})
        SigV4Auth(credentials, "crowdloop", region).add_auth(request)
        return dict(request.headers.items())

    def call(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        sign: bool = True,
        headers: dict[str, str] | None = None,
        secret: str | None = None,
    ) -> Reply:
        """One request; `body` is sent as JSON unless it is bytes."""
        data = body if isinstance(body, bytes) else b"" if body is None else json.dumps(body).encode()
        sent = {"Content-Type": "application/json"} if data else {}
        if sign:
            sent.update(self.signed_headers(method, path, data, secret=secret))
        sent.update(headers or {})
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            connection.request(method, path, body=data, headers=sent)
            response = connection.getresponse()
            return Reply(response.status, {k.lower(): v for k, v in response.getheaders()}, response.read())
        finally:
            connection.close()


@contextmanager
def serve(data_dir: Path, database_url: str, **settings: Any) -> Iterator[LiveServer]:
    """The root app on a free port with its lifespan (background work) running, until the block ends."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = int(sock.getsockname()[1])
    config = Settings(data_dir=str(data_dir), database_url=SecretUrl(database_url), port=port, **settings)
    app = CrowdloopApp(build_services(config))
    key = keys.create_key(app.services.store, app.services.clock, config.account_id)
    server = uvicorn.Server(uvicorn.Config(app, lifespan="on", log_level="warning", ws="none", access_log=False))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.01)
    try:
        yield LiveServer(app, port, key)
    finally:
        app.events_api.close()  # no exit signal reaches a server in a thread: end any stream left open
        server.should_exit = True
        thread.join(timeout=20)
        sock.close()
        app.services.store.dispose()
        assert not thread.is_alive(), "the server did not stop"


def wait_for(predicate: Any, timeout: float = 20.0, what: str = "the condition") -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


@dataclass
class Message:
    id: str | None
    event: str | None
    data: str | None


class EventStream:
    """An open GET /events/stream: its raw lines, parsed into messages (comments kept apart)."""

    def __init__(self, port: int, path: str, headers: dict[str, str]) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        lines = [f"GET {path} HTTP/1.1", f"Host: 127.0.0.1:{port}", "Accept: text/event-stream"]
        lines += [f"{name}: {value}" for name, value in headers.items() if name.lower() != "host"]
        self.sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        self.file = self.sock.makefile("rb")
        status_line = self.file.readline().decode()
        self.status = int(status_line.split()[1])
        self.headers: dict[str, str] = {}
        while (line := self.file.readline().decode().strip()) != "":
            name, _, value = line.partition(":")
            self.headers[name.strip().lower()] = value.strip()
        self.comments: list[str] = []
        self.retry: str | None = None
        self._buffer = ""

    def _line(self) -> str:
        """One line of the (chunked) body."""
        while "\n" not in self._buffer:
            size = int(self.file.readline().strip() or b"0", 16)
            if size == 0:
                raise EOFError("the stream ended")
            self._buffer += self.file.read(size).decode()
            self.file.readline()  # the chunk's CRLF
        line, _, self._buffer = self._buffer.partition("\n")
        return line

    def next(self) -> Message:
        """The next message (an event, or an id-only message); comments and `retry:` are recorded."""
        fields: dict[str, str] = {}
        while True:
            line = self._line()
            if line == "":
                if fields:
                    return Message(fields.get("id"), fields.get("event"), fields.get("data"))
                continue
            if line.startswith(":"):
                self.comments.append(line)
                continue
            name, _, value = line.partition(": ")
            if name == "retry":
                self.retry = value
                continue
            fields[name] = value

    def next_event(self) -> Message:
        """The next message that carries an event."""
        while True:
            message = self.next()
            if message.data is not None:
                return message

    def close(self) -> None:
        self.file.close()
        self.sock.close()
