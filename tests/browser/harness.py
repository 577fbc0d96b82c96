"""A task page in a real browser, with the network sealed off.

Every request goes through one route handler: the task page itself (https://task.crowdloop.test/),
AWS's crowd HTML elements URLs (crowdloop.portal.assets.aws_asset: our bundle, empty stylesheets,
placeholder illustrations), third-party CDN libraries (crowdloop.cdnlibs) and test assets registered
with `serve()`. Any other request is aborted and recorded; page errors, console errors and failed
requests are recorded too, and `TaskPage.check()` (called when the test ends) fails the test if
anything was recorded.

The page has no parent frame, so the crowd elements post their protocol messages to the page's own
window; an init script records them in `window.__crowdMessages`.
"""

from __future__ import annotations

import json
import re
import struct
import zlib
from dataclasses import dataclass, field
from typing import Any

from playwright.sync_api import BrowserContext, Page, Route

from crowdloop import cdnlibs
from crowdloop.config import load_settings
from crowdloop.gallery import urls_in
from crowdloop.portal.assets import aws_asset
from tests.shared import CORPUS

TASK_ORIGIN = "https://task.crowdloop.test"
TASK_URL = f"{TASK_ORIGIN}/task.html"
SCRIPT_TAG = '<script src="https://assets.crowd.aws/crowd-html-elements.js"></script>'

_RECORDER = """
window.__crowdMessages = [];
window.addEventListener('message', function (e) {
  if (e.data && e.data.crowdloop === 1) window.__crowdMessages.push(e.data);
});
"""


@dataclass
class TaskPage:
    context: BrowserContext
    page: Page
    problems: list[str] = field(default_factory=list)
    files: dict[str, tuple[bytes, str]] = field(default_factory=dict)
    headers: dict[str, dict[str, str]] = field(default_factory=dict)
    expected_console_errors: list[str] = field(default_factory=list)

    # ---- setup ----

    def install(self) -> None:
        self.context.route("**/*", self._route)
        self.context.add_init_script(_RECORDER)
        self.page.on("pageerror", lambda exc: self.problems.append(f"page error: {exc}"))
        self.page.on("console", self._console)
        self.page.on("requestfailed", lambda req: self.problems.append(f"request failed: {req.url} ({req.failure})"))

    def serve(
        self,
        url: str,
        body: bytes | str,
        content_type: str = "text/html; charset=utf-8",
        headers: dict[str, str] | None = None,
    ) -> None:
        self.files[url] = (body.encode() if isinstance(body, str) else body, content_type)
        self.headers[url] = headers or {}

    def _console(self, message: Any) -> None:
        if message.type != "error":
            return
        text = message.text
        if any(expected in text for expected in self.expected_console_errors):
            return
        self.problems.append(f"console error: {text}")

    def _route(self, route: Route) -> None:
        url = route.request.url.split("#", 1)[0]
        if url in self.files:
            body, content_type = self.files[url]
            route.fulfill(status=200, body=body, content_type=content_type, headers=self.headers.get(url) or None)
            return
        asset = aws_asset(url)  # our bundle, empty stylesheets, placeholder illustrations
        if asset is not None:
            route.fulfill(status=200, body=asset[0], content_type=asset[1])
            return
        if cdnlibs.known(url):  # jQuery, d3... from their npm packages (crowdloop.cdnlibs)
            try:
                script = cdnlibs.script_for(url, load_settings().cdn_cache_path) or b""
            except cdnlibs.LibraryUnavailable as exc:
                self.problems.append(f"CDN library unavailable: {url} ({exc})")
                route.abort("blockedbyclient")
                return
            route.fulfill(status=200, body=script, content_type="text/javascript; charset=utf-8")
            return
        self.problems.append(f"blocked external request: {url}")
        route.abort("blockedbyclient")

    # ---- driving ----

    def open(self, body: str, *, url: str = TASK_URL, wait_ready: bool = True) -> Page:
        """Load `body` (a rendered template) as the task page; adds the V1 script tag if missing."""
        if "assets.crowd.aws/" not in body:
            body = SCRIPT_TAG + "\n" + body
        self.serve(url, body)
        self.page.goto(url)
        if wait_ready:
            self.wait_for_message("ready")
        return self.page

    def messages(self, kind: str | None = None) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = self.page.evaluate("window.__crowdMessages")
        return [m for m in found if kind is None or m.get("type") == kind]

    def wait_for_message(self, kind: str, count: int = 1, timeout: float = 5000) -> dict[str, Any]:
        self.page.wait_for_function(
            "([kind, count]) => window.__crowdMessages.filter(m => m.type === kind).length >= count",
            arg=[kind, count],
            timeout=timeout,
        )
        return self.messages(kind)[count - 1]

    def submit(self) -> None:
        """Press the visible Submit button the way a worker would."""
        self.page.get_by_role("button", name="Submit", exact=True).click()

    def answer(self) -> dict[str, Any]:
        """The answer of the (first) submit message, waiting for it."""
        message = self.wait_for_message("submit")
        answer = message["answer"]
        assert isinstance(answer, dict)
        json.dumps(answer)  # must be plain JSON
        return answer

    def submit_and_answer(self) -> dict[str, Any]:
        self.submit()
        return self.answer()

    def submit_blocked(self) -> str:
        """Press Submit, expect an "invalid" message and no submission; returns the message."""
        before = len(self.messages("invalid"))
        self.submit()
        message = self.wait_for_message("invalid", before + 1)
        assert not self.messages("submit"), self.messages("submit")
        return str(message["message"])

    def settle(self, ms: int = 200) -> None:
        """Let timers and message delivery run (used before asserting that nothing happened)."""
        self.page.wait_for_timeout(ms)

    def check(self) -> None:
        assert not self.problems, "\n".join(self.problems)


# ---- images and corpus templates ----


MEDIA_ORIGIN = "https://media.crowdloop.test"


def png_bytes(width: int, height: int, rgb: tuple[int, int, int] = (90, 140, 200)) -> bytes:
    """A solid-colour PNG of the given size (stdlib only)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body) & 0xFFFFFFFF)

    row = b"\x00" + bytes(rgb) * width
    raw = zlib.compress(row * height, 9)
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", raw) + chunk(b"IEND", b"")


def serve_media(task: TaskPage, url: str) -> None:
    """Answer a media URL from a rendered template with a placeholder of the right kind."""
    lower = url.lower().split("?", 1)[0]
    if lower.endswith((".png", ".jpg", ".jpeg", ".gif", ".webp")):
        task.serve(url, png_bytes(64, 48), "image/png")
    elif lower.endswith((".mp4", ".webm", ".mp3", ".wav", ".ogg")):
        task.serve(url, b"", "application/octet-stream")
    else:
        task.serve(url, "<!doctype html><p>placeholder</p>")


def render_corpus(task: TaskPage, relative_path: str, task_input: Any = None) -> str:
    """Render a corpus template with its sample input (or `task_input`) through crowdloop's Liquid
    renderer; S3 URIs become media URLs served by `task`."""
    from crowdloop.liquid import render_task

    template = (CORPUS / relative_path).read_text()
    if task_input is None:
        task_input = json.loads((CORPUS / "inputs" / (relative_path + ".json")).read_text())

    def grant(uri: str) -> str:
        url = MEDIA_ORIGIN + "/" + uri.split("://", 1)[-1]
        serve_media(task, url)
        return url

    for url in urls_in(task_input):  # URLs the input hands over directly (presigned, embeds)
        serve_media(task, url)
    result = render_task(template, task_input, grant_read_access=grant)
    assert not result.errors, result.errors
    for url in re.findall(r"""https?://[^\s"'<>()`]+""", result.html):  # hard-coded media
        ours = url.startswith(("https://assets.crowd.aws/", MEDIA_ORIGIN)) or cdnlibs.known(url)
        if not ours and url not in task.files:
            serve_media(task, url)
    return result.html


def decode_png(data: bytes) -> tuple[int, int, list[list[tuple[int, int, int, int]]]]:
    """Width, height and RGBA rows of an 8-bit RGB/RGBA non-interlaced PNG (what Chromium writes)."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat = 8, b""
    width = height = color_type = 0
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind, body = data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + length]
        pos += 12 + length
        if kind == b"IHDR":
            width, height, depth, color_type, _, _, interlace = struct.unpack(">IIBBBBB", body)
            assert depth == 8 and color_type in (2, 6) and interlace == 0, (depth, color_type, interlace)
        elif kind == b"IDAT":
            idat += body
    channels = 4 if color_type == 6 else 3
    raw = zlib.decompress(idat)
    stride = width * channels
    rows: list[list[tuple[int, int, int, int]]] = []
    previous = bytearray(stride)
    for y in range(height):
        start = y * (stride + 1)
        kind, line = raw[start], bytearray(raw[start + 1 : start + 1 + stride])
        for i in range(stride):
            left = line[i - channels] if i >= channels else 0
            up = previous[i]
            corner = previous[i - channels] if i >= channels else 0
            if kind == 1:
                line[i] = (line[i] + left) & 0xFF
            elif kind == 2:
                line[i] = (line[i] + up) & 0xFF
            elif kind == 3:
                line[i] = (line[i] + (left + up) // 2) & 0xFF
            elif kind == 4:
                p = left + up - corner
                pa, pb, pc = abs(p - left), abs(p - up), abs(p - corner)
                line[i] = (line[i] + (left if pa <= pb and pa <= pc else up if pb <= pc else corner)) & 0xFF
        previous = line
        pixels = [tuple(line[x * channels : (x + 1) * channels]) for x in range(width)]
        rows.append([(p[0], p[1], p[2], p[3] if channels == 4 else 255) for p in pixels])
    return width, height, rows


def rgba_png(width: int, height: int, pixel: Any) -> bytes:
    """An RGBA PNG whose pixel (x, y) is pixel(x, y) -> (r, g, b, a)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body) & 0xFFFFFFFF)

    raw = b"".join(b"\x00" + b"".join(bytes(pixel(x, y)) for x in range(width)) for y in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")


# The points (in the document of the annotator) where a drag across characters [start, end) of its text begins
# and ends: used by tests/browser/test_entity.py and test_labeling_types.py (inside a task frame).
CHARACTER_POINTS = """([start, end]) => {
        const root = document.querySelector('crowd-entity-annotation').shadowRoot;
        const at = (i, side) => {
            for (const seg of root.querySelectorAll('.text [data-start]')) {
                const a = +seg.dataset.start, b = +seg.dataset.end;
                if (i >= a && i < b || (side === 'right' && i === b - 1)) {
                    const r = document.createRange();
                    r.setStart(seg.firstChild, i - a); r.setEnd(seg.firstChild, i - a + 1);
                    const rect = r.getBoundingClientRect();
                    return [side === 'left' ? rect.left + 1 : rect.right - 1, rect.top + rect.height / 2];
                }
            }
        };
        return [at(start, 'left'), at(end - 1, 'right')];
    }"""
