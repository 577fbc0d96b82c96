"""A gallery of worker templates: each one rendered with its sample input and screenshotted.

`build_gallery(out_dir, corpus_dir)` renders every template of a corpus folder (the layout of
tests/data/corpus: `index.json` + `inputs/<path>.json`, or just template files) through
`crowdloop.liquid.render_task` — the renderer of RenderUiTemplate and the worker portal — opens it in
headless Chromium with crowdloop's crowd HTML elements, takes a 1280x800 screenshot (JPEG) and writes
`index.html` with thumbnails, the template paths, the elements each uses and any problems seen
(render errors, page errors, blocked requests).

Nothing is loaded from the network: AWS's asset URLs get crowdloop's bundle, `s3://` URIs (through
`grant_read_access`) and hard-coded media get generated placeholders (a 640x480 picture, a second of
silence, a placeholder page), third-party CDN libraries come from `crowdloop.cdnlibs`, and every
other request is blocked and listed. The same helpers (`render_offline`, `OfflineRouter`,
`placeholder_media`) serve the browser tests.

Needs Playwright (`pip install playwright`, a test dependency) and a Chromium: the `chromium` setting
(`--chromium`, `CROWDLOOP_CHROMIUM`), else Debian's `/usr/bin/chromium` when present, else Playwright's own.
"""

from __future__ import annotations

import hashlib
import html
import io
import json
import re
import struct
import threading
import zlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from fnmatch import fnmatch
from functools import cache
from pathlib import Path
from typing import Any

import click

from crowdloop import cdnlibs
from crowdloop.config import SETTINGS_BY_NAME, Settings, load_settings
from crowdloop.liquid import render_task
from crowdloop.portal.assets import aws_asset

TASK_ORIGIN = "https://task.crowdloop.test"
MEDIA_ORIGIN = "https://media.crowdloop.test"
VIEWPORT = {"width": 1280, "height": 800}
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

# Records the crowd elements' protocol messages of a page opened without a parent frame.
MESSAGE_RECORDER = """
window.__crowdMessages = [];
window.addEventListener('message', function (e) {
  if (e.data && e.data.crowdloop === 1) window.__crowdMessages.push(e.data);
});
"""

_URL = re.compile(r"""https?://[^\s"'<>()`\\]+""")
_IMAGE_EXT = (".png", ".jpg", ".jpeg", ".gif", ".webp", ".bmp", ".tif", ".tiff")
_AUDIO_EXT = (".mp3", ".wav", ".ogg", ".oga", ".flac", ".m4a", ".aac")
_VIDEO_EXT = (".mp4", ".webm", ".mov", ".m4v", ".ogv")


# ---------------------------------------------------------------------------------------------------
# placeholder media


def _png(width: int, height: int, rows: Iterable[bytes]) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body) & 0xFFFFFFFF)

    raw = b"".join(b"\x00" + row for row in rows)
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw, 6)) + chunk(b"IEND", b"")


@cache
def sample_png(width: int = 640, height: int = 480, variant: int = 0) -> bytes:
    """A recognisable test picture: sky, ground, a sun and three coloured blocks; `variant` (0-5)
    shifts the colours so neighbouring images differ."""
    tints = [(0, 0, 0), (30, -20, 10), (-25, 15, 30), (20, 25, -30), (-15, -25, -10), (35, 5, -20)]
    tr, tg, tb = tints[variant % len(tints)]

    def clamp(v: int) -> int:
        return max(0, min(255, v))

    horizon = int(height * 0.62)
    blocks = [  # (x0, y0, x1, y1, colour) as fractions of the size
        (0.08, 0.40, 0.30, 0.80, (200, 60, 50)),
        (0.42, 0.30, 0.58, 0.78, (240, 180, 40)),
        (0.68, 0.48, 0.92, 0.86, (60, 110, 200)),
    ]
    sun = (int(width * 0.80), int(height * 0.18), max(4, int(min(width, height) * 0.08)))
    rows = []
    for y in range(height):
        if y < horizon:
            f = y / max(1, horizon)
            base = (clamp(120 + int(60 * f) + tr), clamp(170 + int(40 * f) + tg), clamp(235 + tb))
        else:
            f = (y - horizon) / max(1, height - horizon)
            base = (clamp(90 - int(30 * f) + tr), clamp(150 - int(40 * f) + tg), clamp(80 + tb))
        row = bytearray(bytes(base) * width)
        dy = y - sun[1]
        if abs(dy) < sun[2]:
            half = int((sun[2] ** 2 - dy * dy) ** 0.5)
            x0, x1 = max(0, sun[0] - half), min(width, sun[0] + half)
            row[x0 * 3 : x1 * 3] = bytes((255, 225, 90)) * (x1 - x0)
        for bx0, by0, bx1, by1, colour in blocks:
            if by0 * height <= y < by1 * height:
                x0, x1 = int(bx0 * width), int(bx1 * width)
                shade = (clamp(colour[0] + tr), clamp(colour[1] + tg), clamp(colour[2] + tb))
                row[x0 * 3 : x1 * 3] = bytes(shade) * (x1 - x0)
        rows.append(bytes(row))
    return _png(width, height, rows)


@cache
def silent_wav(seconds: float = 1.0, rate: int = 8000) -> bytes:
    """Mono 8-bit PCM silence."""
    frames = int(seconds * rate)
    data = b"\x80" * frames
    fmt = struct.pack("<HHIIHH", 1, 1, rate, rate, 1, 8)
    return (
        b"RIFF"
        + struct.pack("<I", 36 + len(data))
        + b"WAVE"
        + b"fmt "
        + struct.pack("<I", len(fmt))
        + fmt
        + b"data"
        + struct.pack("<I", len(data))
        + data
    )


def sample_pdf(text: str) -> bytes:
    """A one-page PDF (US letter) showing `text` (ASCII, one line), with a correct cross-reference table."""
    line = text.encode("ascii", "replace").replace(b"\\", b"\\\\").replace(b"(", b"\\(").replace(b")", b"\\)")
    stream = b"BT /F1 14 Tf 72 720 Td (" + line[:200] + b") Tj ET"
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


def placeholder_media(url: str) -> tuple[bytes, str]:
    """A stand-in for the media at `url`, chosen by its extension: (body, content type)."""
    path = url.split("#", 1)[0].split("?", 1)[0].lower()
    name = path.rsplit("/", 1)[-1]
    if path.endswith(_IMAGE_EXT):
        variant = int(hashlib.sha256(url.encode()).hexdigest(), 16) % 6
        return sample_png(640, 480, variant), "image/png"
    if path.endswith(_AUDIO_EXT):
        return silent_wav(), "audio/wav"
    if path.endswith(_VIDEO_EXT):
        return b"", "video/mp4"  # an empty video: the player shows its frame, no picture
    if path.endswith((".txt", ".csv")):
        return f"placeholder for {name}\n".encode(), "text/plain; charset=utf-8"
    if path.endswith(".json"):
        return b"{}", "application/json"
    if path.endswith(".pdf"):
        return sample_pdf(f"Placeholder for {name}"), "application/pdf"
    label = html.escape(url)
    page = (
        f'<!doctype html><meta charset=utf-8><body style="font:15px system-ui,sans-serif;color:#545b64;'
        f'background:#f6f8fa;margin:0;padding:16px"><p>Placeholder for <code>{label}</code></p>'
    )
    return page.encode(), "text/html; charset=utf-8"


def media_url(uri: str) -> str:
    """The placeholder URL granted for an S3 URI (s3://bucket/key -> MEDIA_ORIGIN/bucket/key)."""
    rest = uri.split("://", 1)[-1] if "://" in uri else uri.lstrip("/")
    return f"{MEDIA_ORIGIN}/{rest}"


# ---------------------------------------------------------------------------------------------------
# rendering a template for an offline browser


@dataclass
class OfflinePage:
    """A rendered template and every file its page may ask for (url -> (body, content type))."""

    url: str
    html: str
    errors: list[tuple[str, str]]
    files: dict[str, tuple[bytes, str]] = field(default_factory=dict)


def render_offline(
    template: str, task_input: Any, url: str = f"{TASK_ORIGIN}/task.html", grant: Callable[[str], str] = media_url
) -> OfflinePage:
    """Render like the portal (crowdloop.liquid.render_task, autoescaped, grant_read_access, the result
    wrapped in a standards-mode document) and list placeholders for the granted media and for the media
    URLs in the input and the page."""
    files: dict[str, tuple[bytes, str]] = {}

    def granting(uri: str) -> str:
        target = grant(uri)
        files.setdefault(target, placeholder_media(target))
        return target

    result = render_task(template, task_input, grant_read_access=granting)
    page = portal_document(result.html)
    for found in urls_in(task_input) + _URL.findall(page):
        found = found.rstrip(".,;")
        if found.startswith("https://assets.crowd.aws/") or cdnlibs.known(found) or found in files:
            continue
        files[found] = placeholder_media(found)
    files[url] = (page.encode(), "text/html; charset=utf-8")
    return OfflinePage(url=url, html=page, errors=[(e.code, e.message) for e in result.errors], files=files)


def portal_document(rendered: str) -> str:
    """Wrap a rendered template like the portal's task frame does: a standards-mode document (doctype,
    UTF-8, viewport, system font) whose body holds the template's output."""
    return (
        '<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1"><title>Task</title>'
        '<style>body{margin:16px;font:16px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;'
        "color:#1b1f24}</style></head><body>\n" + rendered + "\n</body></html>\n"
    )


def urls_in(value: Any) -> list[str]:
    """Every http(s) URL among the strings of a JSON value (URLs a task input hands over directly)."""
    if isinstance(value, str):
        return [value] if value.startswith(("http://", "https://")) else []
    if isinstance(value, dict):
        return [u for v in value.values() for u in urls_in(v)]
    if isinstance(value, list):
        return [u for v in value for u in urls_in(v)]
    return []


class OfflineRouter:
    """A Playwright route handler: answers the page's files, AWS's crowd assets and known CDN libraries;
    blocks everything else and remembers it in `blocked`."""

    def __init__(
        self, cdn_cache: Path, files: dict[str, tuple[bytes, str]] | None = None, stub_stylesheets: Iterable[str] = ()
    ) -> None:
        self.cdn_cache = cdn_cache  # Settings.cdn_cache_path
        self.files: dict[str, tuple[bytes, str]] = dict(files or {})
        self.stub_stylesheets = set(stub_stylesheets)
        self.blocked: list[str] = []

    def add(self, files: dict[str, tuple[bytes, str]]) -> None:
        self.files.update(files)

    def __call__(self, route: Any) -> None:
        url = route.request.url.split("#", 1)[0]
        answer = self.files.get(url) or aws_asset(url)
        if answer is None and url in self.stub_stylesheets:
            answer = (b"", "text/css")
        if answer is None and cdnlibs.known(url):
            try:
                script = cdnlibs.script_for(url, self.cdn_cache)
            except cdnlibs.LibraryUnavailable as exc:
                self.blocked.append(f"{url} ({exc})")
                route.abort("blockedbyclient")
                return
            answer = (script or b"", "text/javascript; charset=utf-8")
        if answer is None:
            self.blocked.append(url)
            route.abort("blockedbyclient")
            return
        body, content_type = answer
        route.fulfill(status=200, body=body, content_type=content_type)


# ---------------------------------------------------------------------------------------------------
# corpus


@dataclass
class Entry:
    path: str  # relative to the corpus folder
    template: str
    task_input: Any
    elements: list[str]
    notes: list[str] = field(default_factory=list)


_TAG = re.compile(r"<\s*(crowd-[a-z0-9-]+)", re.I)


def corpus_entries(corpus_dir: Path, only: Sequence[str] = ()) -> list[Entry]:
    """The templates of `corpus_dir`: from index.json when present (with `sample_input`), else every
    *.html / *.liquid file with inputs/<path>.json (or {}). `only`: glob patterns on the path."""
    corpus_dir = Path(corpus_dir)
    index = corpus_dir / "index.json"
    records: list[dict[str, Any]]
    if index.is_file():
        records = json.loads(index.read_text())
    else:
        files = sorted(
            p
            for p in corpus_dir.rglob("*")
            if p.is_file() and p.suffix in (".html", ".liquid") and "inputs" not in p.relative_to(corpus_dir).parts
        )
        records = [{"path": str(p.relative_to(corpus_dir))} for p in files]
    out = []
    for record in records:
        path = str(record["path"])
        if only and not any(fnmatch(path, pattern) for pattern in only):
            continue
        template = (corpus_dir / path).read_text(encoding="utf-8", errors="replace")
        sample = record.get("sample_input") or f"inputs/{path}.json"
        sample_path = corpus_dir / sample
        task_input = json.loads(sample_path.read_text()) if sample_path.is_file() else {}
        elements = record.get("crowd_elements_used")
        if elements is None:
            elements = sorted({m.lower() for m in _TAG.findall(template)})
        out.append(Entry(path=path, template=template, task_input=task_input, elements=list(elements)))
    return out


# ---------------------------------------------------------------------------------------------------
# gallery


@dataclass
class Shot:
    entry: Entry
    image: str  # file name under img/
    same_as: str | None  # path of an earlier template that rendered identically


def _slug(path: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", path.replace("/", "__")).strip("-")[:150]


def build_gallery(
    out_dir: Path,
    corpus_dir: Path,
    progress: bool = True,
    *,
    only: Sequence[str] = (),
    quality: int = 70,
    settings: Settings | None = None,
) -> int:
    """Screenshot every template of `corpus_dir` into `out_dir/img/*.jpg` and write `out_dir/index.html`.
    Templates that render byte-identically share one screenshot. Returns the number of templates.
    Runs the browser in its own thread, so callers may already be using Playwright's sync API.
    `settings` gives chromium and cdn_cache (default: from the environment, load_settings())."""
    settings = settings or load_settings()
    outcome: list[int] = []
    failure: list[BaseException] = []

    def run() -> None:
        try:
            outcome.append(_build_gallery(settings, Path(out_dir), Path(corpus_dir), progress, only, quality))
        except BaseException as exc:
            failure.append(exc)

    thread = threading.Thread(target=run, name="crowdloop-gallery")
    thread.start()
    thread.join()
    if failure:
        raise failure[0]
    return outcome[0]


def _build_gallery(
    settings: Settings, out_dir: Path, corpus_dir: Path, progress: bool, only: Sequence[str], quality: int
) -> int:
    from playwright.sync_api import Error as PlaywrightError
    from playwright.sync_api import sync_playwright

    images = out_dir / "img"
    images.mkdir(parents=True, exist_ok=True)
    entries = corpus_entries(Path(corpus_dir), only)
    shots: list[Shot] = []
    seen: dict[str, Shot] = {}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=settings.chromium_path, args=CHROMIUM_ARGS)
        try:
            bar = click.progressbar(
                entries,
                label="Rendering templates",
                show_pos=True,
                item_show_func=lambda e: e.path[-60:] if e else "",
                file=None if progress else io.StringIO(),
            )
            with bar:
                for entry in bar:
                    name = _slug(entry.path) + ".jpg"
                    page_url = f"{TASK_ORIGIN}/{_slug(entry.path)}.html"
                    try:
                        offline = render_offline(entry.template, entry.task_input, page_url)
                    except Exception as exc:  # a broken template must not stop the gallery
                        entry.notes.append(f"render failed: {exc}")
                        shots.append(Shot(entry, "", None))
                        continue
                    entry.notes += [f"render error {code}: {message}" for code, message in offline.errors]
                    digest = hashlib.sha256(offline.html.encode()).hexdigest()
                    if digest in seen:
                        first = seen[digest]
                        entry.notes = list(first.entry.notes)
                        shots.append(Shot(entry, first.image, first.entry.path))
                        continue
                    try:
                        entry.notes += _screenshot(browser, offline, images / name, quality, settings.cdn_cache_path)
                    except PlaywrightError as exc:
                        entry.notes.append(f"screenshot failed: {exc.message.splitlines()[0]}")
                        name = ""
                    shot = Shot(entry, name, None)
                    seen[digest] = shot
                    shots.append(shot)
        finally:
            browser.close()
    (out_dir / "index.html").write_text(_index_html(shots, Path(corpus_dir)), encoding="utf-8")
    return len(shots)


def _screenshot(browser: Any, offline: OfflinePage, target: Path, quality: int, cdn_cache: Path) -> list[str]:
    notes: list[str] = []
    context = browser.new_context(viewport=VIEWPORT)
    try:
        router = OfflineRouter(cdn_cache, offline.files, stub_stylesheets=())
        context.route("**/*", router)
        context.add_init_script(MESSAGE_RECORDER)
        page = context.new_page()
        page.set_default_timeout(8000)
        page.on("pageerror", lambda exc: notes.append(f"page error: {exc}"))
        page.on("dialog", lambda dialog: dialog.dismiss())
        page.goto(offline.url, wait_until="load")
        try:
            page.wait_for_function("window.__crowdMessages.some(m => m.type === 'ready')", timeout=5000)
        except Exception:
            notes.append("the crowd elements never reported ready")
        page.wait_for_timeout(250)
        page.screenshot(path=str(target), type="jpeg", quality=quality)
        notes += [f"blocked request: {url}" for url in router.blocked]
    finally:
        context.close()
    return notes


_INDEX_CSS = """
body{font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:24px;color:#1b1f24;background:#fff}
h1{font-size:1.4rem;margin:0 0 4px}
.lead{color:#545b64;margin:0 0 20px}
.grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(300px,1fr));gap:18px}
figure{margin:0;border:1px solid #d5dbdb;border-radius:8px;overflow:hidden;background:#fff}
figure img{display:block;width:100%;height:auto;aspect-ratio:1280/800;background:#f2f3f3;
 border-bottom:1px solid #d5dbdb}
figcaption{padding:8px 10px;font-size:.85rem}
.path{font-family:ui-monospace,SFMono-Regular,Menlo,monospace;overflow-wrap:anywhere;font-size:.8rem}
.els{display:flex;flex-wrap:wrap;gap:4px;margin-top:6px;padding:0;list-style:none}
.els li{background:#e8f1fb;color:#084c97;border-radius:10px;padding:0 8px;font-size:.75rem}
.same{color:#545b64;font-size:.75rem;margin-top:4px}
details{margin-top:6px;color:#b42318;font-size:.75rem}
a:focus-visible{outline:3px solid #0b63c5;outline-offset:2px}
"""


def _index_html(shots: list[Shot], corpus_dir: Path) -> str:
    cards = []
    for shot in shots:
        e = shot.entry
        path = html.escape(e.path)
        if shot.image:
            picture = (
                f'<a href="img/{html.escape(shot.image)}"><img loading="lazy" width="1280" height="800" '
                f'src="img/{html.escape(shot.image)}" alt="Screenshot of {path}"></a>'
            )
        else:
            picture = '<div style="aspect-ratio:1280/800;background:#f2f3f3"></div>'
        elements = "".join(f"<li>{html.escape(x)}</li>" for x in e.elements)
        same = f'<div class="same">renders like {html.escape(shot.same_as)}</div>' if shot.same_as else ""
        notes = ""
        if e.notes:
            items = "".join(f"<li>{html.escape(n)}</li>" for n in e.notes)
            notes = f"<details><summary>{len(e.notes)} note(s)</summary><ul>{items}</ul></details>"
        cards.append(
            f'<figure>{picture}<figcaption><div class="path">{path}</div>'
            f'<ul class="els" aria-label="elements">{elements}</ul>{same}{notes}</figcaption></figure>'
        )
    distinct = len({s.image for s in shots if s.image})
    return (
        f'<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
        f'<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>Worker template gallery</title><style>{_INDEX_CSS}</style></head><body>"
        f'<h1>Worker template gallery</h1><p class="lead">{len(shots)} templates from '
        f"<code>{html.escape(corpus_dir.name)}</code> ({distinct} distinct screenshots), rendered by crowdloop "
        f"with their sample inputs at 1280&times;800. Media are generated placeholders.</p>"
        f'<div class="grid">{"".join(cards)}</div></body></html>\n'
    )


@click.command("gallery")
@click.option(
    "--corpus",
    "corpus_dir",
    required=True,
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="Folder of templates (index.json + inputs/<path>.json, or plain template files).",
)
@click.option(
    "--out",
    "out_dir",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder to write index.html and img/*.jpg into.",
)
@click.option("--only", multiple=True, metavar="GLOB", help="Only templates whose path matches (repeatable).")
@click.option("--quality", default=70, show_default=True, type=click.IntRange(20, 100), help="JPEG quality.")
@click.option(
    "--chromium", default=None, help=f"{SETTINGS_BY_NAME['chromium'].help} [env {SETTINGS_BY_NAME['chromium'].env}]"
)
@click.option(
    "--cdn-cache", default=None, help=f"{SETTINGS_BY_NAME['cdn_cache'].help} [env {SETTINGS_BY_NAME['cdn_cache'].env}]"
)
def gallery(
    corpus_dir: Path, out_dir: Path, only: tuple[str, ...], quality: int, chromium: str | None, cdn_cache: str | None
) -> None:
    """Render every template of a corpus with its sample input and write a screenshot gallery."""
    try:
        import playwright  # noqa: F401
    except ImportError:
        raise click.ClickException("the gallery needs Playwright: pip install playwright") from None
    try:
        settings = load_settings({"chromium": chromium, "cdn_cache": cdn_cache})
    except ValueError as exc:
        raise click.UsageError(str(exc)) from exc
    count = build_gallery(out_dir, corpus_dir, progress=True, only=only, quality=quality, settings=settings)
    click.echo(f"{count} templates -> {out_dir / 'index.html'}")
