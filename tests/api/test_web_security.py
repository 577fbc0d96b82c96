"""The web-facing edges of a real `crowdloop serve` (SQLite and PostgreSQL), over raw HTTP: control
characters in redirects and response headers are refused with a clean 4xx, never a dropped connection."""

from __future__ import annotations

import http.client
import json
import re
import select
import socket
import uuid
from pathlib import Path
from urllib.parse import quote, urlsplit

import pytest

from tests.conftest import RunningServer

CONTROL = ["\r\nSet-Cookie: injected=1", "\n", "\r", "\x00", "\x7f", "\t"]


def raw(
    server: RunningServer, method: str, target: str, headers: dict[str, str] | None = None, body: bytes | None = None
) -> tuple[int, dict[str, str], bytes]:
    """One request on a fresh connection; the answer's status, headers (lower-case names) and body."""
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    try:
        conn.request(method, target, body=body, headers=headers or {})
        response = conn.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        conn.close()


@pytest.mark.parametrize("control", CONTROL, ids=repr)
def test_control_characters_in_next_are_a_clean_400(server: RunningServer, control: str) -> None:
    status, headers, body = raw(server, "GET", "/signin?next=" + quote(f"/jobs{control}/1", safe=""))
    assert status == 400 and b"This link is not valid" in body
    assert "location" not in headers and "injected" not in headers.get("set-cookie", "")
    status, headers, page = raw(server, "GET", "/signin")
    cookie = headers["set-cookie"].split(";")[0]
    token = re.search(rb'name="csrf_token" value="([^"]+)"', page)
    assert token
    form = f"csrf_token={token.group(1).decode()}&email=a%40example.org&password=x&next=" + quote(
        f"/{control}", safe=""
    )
    status, headers, body = raw(
        server,
        "POST",
        "/signin",
        body=form.encode(),
        headers={"Cookie": cookie, "Origin": server.endpoint_url, "Content-Type": "application/x-www-form-urlencoded"},
    )
    assert status == 400 and b"This link is not valid" in body and "location" not in headers


@pytest.mark.parametrize("control", CONTROL, ids=repr)
def test_control_characters_in_response_overrides_are_invalid_argument(server: RunningServer, control: str) -> None:
    folder = server.settings.output_path / "overrides"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "o.json").write_bytes(b"{}")
    s3 = server.client("s3")
    for param in ("ResponseContentType", "ResponseContentDisposition", "ResponseCacheControl"):
        url = urlsplit(
            s3.generate_presigned_url(
                "get_object", Params={"Bucket": "overrides", "Key": "o.json", param: f"text/plain{control}"}
            )
        )
        status, headers, body = raw(server, "GET", f"{url.path}?{url.query}")
        assert status == 400, (param, body)
        assert b"<Code>InvalidArgument</Code>" in body and b"<ArgumentName>response-" in body
        assert "injected" not in headers.get("set-cookie", "")


def test_template_urls_are_inert_attachments(server: RunningServer) -> None:
    sm = server.client("sagemaker")
    name = f"inert-{uuid.uuid4().hex[:8]}"
    sm.create_human_task_ui(
        HumanTaskUiName=name, UiTemplate={"Content": "<script>window.ran = 1</script><crowd-form></crowd-form>"}
    )
    url = urlsplit(sm.describe_human_task_ui(HumanTaskUiName=name)["UiTemplate"]["Url"])
    status, headers, body = raw(server, "GET", url.path)
    assert status == 200 and body.startswith(b"<script>")
    assert headers["content-type"] == "text/html; charset=utf-8"
    assert headers["content-disposition"] == "attachment"
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["content-security-policy"].startswith("sandbox; default-src 'none';")


# --- request bodies: bounded for everyone, small for anyone without a session ---------------------------------

HUGE = 256 * 1024 * 1024
RSS_MARGIN = 100 * 1024 * 1024  # far below HUGE: what the largest route may hold (API) plus noise
CHUNK = b"x" * (1024 * 1024)


def rss_bytes(pid: int) -> int:
    status = Path(f"/proc/{pid}/status").read_text()
    match = re.search(r"^VmRSS:\s+(\d+) kB", status, re.M)
    assert match, status
    return int(match.group(1)) * 1024


def send_huge(server: RunningServer, path: str, headers: dict[str, str], *, chunked: bool) -> tuple[int, bytes]:
    """POST HUGE bytes (Content-Length or chunked), stopping as soon as the server answers; the status and
    body of that answer (the server may answer before reading anything)."""
    framing = {"Transfer-Encoding": "chunked"} if chunked else {"Content-Length": str(HUGE)}
    head = "".join(f"{k}: {v}\r\n" for k, v in {"Host": f"127.0.0.1:{server.port}", **headers, **framing}.items())
    piece = b"%x\r\n%s\r\n" % (len(CHUNK), CHUNK) if chunked else CHUNK
    with socket.create_connection(("127.0.0.1", server.port), timeout=60) as sock:
        sock.sendall(f"POST {path} HTTP/1.1\r\n{head}\r\n".encode())
        for _ in range(HUGE // len(CHUNK)):
            if select.select([sock], [], [], 0)[0]:
                break
            try:
                sock.sendall(piece)
            except (BrokenPipeError, ConnectionResetError):
                break
        else:
            if chunked:
                sock.sendall(b"0\r\n\r\n")
        reply = http.client.HTTPResponse(sock)
        reply.begin()
        return reply.status, reply.read()


def _signin_form(server: RunningServer) -> dict[str, str]:
    _, headers, page = raw(server, "GET", "/signin")
    token = re.search(rb'name="csrf_token" value="([^"]+)"', page)
    assert token
    return {
        "Cookie": headers["set-cookie"].split(";")[0],
        "Origin": server.endpoint_url,
        "Content-Type": "application/x-www-form-urlencoded",
    }


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
def test_huge_bodies_are_refused_without_the_server_holding_them(server: RunningServer, chunked: bool) -> None:
    before = rss_bytes(server.process.pid)
    status, body = send_huge(server, "/_crowdloop/noop", {}, chunked=chunked)
    assert status == (200 if chunked else 413), body  # noop never reads a body: a declared large one is refused
    status, body = send_huge(server, "/signin", _signin_form(server), chunked=chunked)
    assert status == 413 and b"Too much data" in body
    status, body = send_huge(server, "/signin", {"Content-Type": "application/json"}, chunked=chunked)
    assert status == 413 and json.loads(body)["error"].startswith("The request body is larger than")
    status, body = send_huge(server, "/tasks/1/submit", {"Content-Type": "application/json"}, chunked=chunked)
    assert status == 401  # no session: the body is not read beyond what an anonymous client may send
    status, body = send_huge(
        server,
        "/",
        {"X-Amz-Target": "SageMaker.ListHumanTaskUis", "Content-Type": "application/x-amz-json-1.1"},
        chunked=chunked,
    )
    assert status == 413 and json.loads(body)["__type"] == "ValidationException"
    status, body = send_huge(server, "/human-loops", {"Content-Type": "application/json"}, chunked=chunked)
    assert status == 413
    grown = rss_bytes(server.process.pid) - before
    assert grown < RSS_MARGIN, f"the server grew by {grown / 2**20:.0f} MiB"
    assert raw(server, "GET", "/_crowdloop/health")[0] == 200
