"""One worker's keep-alive HTTP/1.1 connection to a running portal (http.client, no reconnects), with
its cookies and CSRF token: to check what the portal answers and that the connection survives it."""

from __future__ import annotations

import http.client
import json
import re
import socket
import ssl
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
_JOB = re.compile(r'action="/jobs/(\d+)/start"')
_LEASE = re.compile(r'data-lease="([^"]+)"')


@dataclass
class Reply:
    status: int
    headers: dict[str, str]  # lower-cased names
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode()

    def json(self) -> Any:
        assert self.headers.get("content-type", "").startswith("application/json"), (self.headers, self.body)
        return json.loads(self.body)


class PortalConnection:
    def __init__(self, port: int, tls: ssl.SSLContext | None = None) -> None:
        """To 127.0.0.1:port over HTTP, or HTTPS trusting what `tls` trusts."""
        self.origin = f"{'https' if tls else 'http'}://127.0.0.1:{port}"
        self.conn = (
            http.client.HTTPSConnection("127.0.0.1", port, timeout=30, context=tls)
            if tls
            else http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        )
        self.conn.auto_open = 0  # a dropped connection raises instead of quietly reconnecting
        self.conn.connect()
        self.socket: socket.socket | None = self.conn.sock
        self.cookies: dict[str, str] = {}
        self.csrf = ""

    def close(self) -> None:
        self.conn.close()

    @property
    def same_connection(self) -> bool:
        """Still on the socket opened at the start (the server never closed it)."""
        return self.conn.sock is not None and self.conn.sock is self.socket

    def request(self, method: str, path: str, body: bytes = b"", headers: dict[str, str] | None = None) -> Reply:
        sent = {"Host": self.origin.split("://", 1)[1], "Origin": self.origin, **(headers or {})}
        if self.cookies:
            sent["Cookie"] = "; ".join(f"{name}={value}" for name, value in self.cookies.items())
        self.conn.request(method, path, body=body or None, headers=sent)
        response = self.conn.getresponse()
        data = response.read()
        for name, value in response.getheaders():
            if name.lower() == "set-cookie":
                cookie_name, _, rest = value.partition("=")
                self.cookies[cookie_name] = rest.split(";", 1)[0].strip('"')
        reply = Reply(response.status, {k.lower(): v for k, v in response.getheaders()}, data)
        found = _CSRF.search(reply.text) if "text/html" in reply.headers.get("content-type", "") else None
        if found:
            self.csrf = found.group(1)
        return reply

    def get(self, path: str) -> Reply:
        return self.request("GET", path)

    def post_form(self, path: str, fields: dict[str, str] | None = None) -> Reply:
        body = urlencode({"csrf_token": self.csrf, **(fields or {})}).encode()
        return self.request("POST", path, body, {"Content-Type": "application/x-www-form-urlencoded"})

    def post_json(self, path: str, value: dict[str, Any]) -> Reply:
        return self.request(
            "POST", path, json.dumps(value).encode(), {"Content-Type": "application/json", "X-CSRF-Token": self.csrf}
        )

    def sign_in(self, email: str, password: str) -> None:
        self.get("/signin")
        reply = self.post_form("/signin", {"email": email, "password": password})
        assert reply.status == 303, reply.text
        assert self.get("/").status == 200

    def job_ids(self) -> list[int]:
        return [int(found) for found in _JOB.findall(self.get("/").text)]

    def open_task(self, job_id: int) -> tuple[int, str]:
        """Start working on the job: (assignment id, lease token of its task page)."""
        reply = self.post_form(f"/jobs/{job_id}/start")
        assert reply.status == 303 and reply.headers["location"].startswith("/tasks/"), (reply.status, reply.text)
        path = reply.headers["location"]
        page = self.get(path)
        assert page.status == 200, page.text
        lease = _LEASE.search(page.text)
        assert lease, page.text
        return int(path.rsplit("/", 1)[1]), lease.group(1)

    def submit(self, assignment_id: int, lease: str, answer: dict[str, Any]) -> Reply:
        return self.post_json(
            f"/tasks/{assignment_id}/submit", {"answer": answer, "timeSpentInSeconds": 1.0, "lease": lease}
        )
