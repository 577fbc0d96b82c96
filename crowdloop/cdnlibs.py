"""Local copies of the third-party JavaScript libraries that public worker templates load from CDNs.

Some AWS sample templates load jQuery, d3, node-uuid or Shopify Draggable from a public CDN. A worker's
browser normally fetches them from there; machines without internet access (tests, the gallery, an
offline preview) answer those URLs with the same file taken from the library's npm package, fetched once
with `npm pack` (the npm registry is the only place this needs) and cached in the folder the
`cdn_cache` setting names (`CROWDLOOP_CDN_CACHE`, default `~/.cache/crowdloop/cdn`: Settings.cdn_cache_path).

The worker portal rewrites these URLs in task templates to its own route (`/static/cdn/<route_name>`,
crowdloop.portal.taskui) and answers them with `script_for`, so the task frame's Content-Security-Policy
need not allow the CDNs.

`PLACEHOLDERS` are scripts that only decorate a page (Twitter's embed script turns a blockquote into
an embedded tweet); they are answered with an empty script, which is what the page shows when the
service is unreachable anyway.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tarfile
import tempfile
from pathlib import Path

# CDN URL -> (npm package@version, file inside the package)
LIBRARIES: dict[str, tuple[str, str]] = {
    "https://cdnjs.cloudflare.com/ajax/libs/node-uuid/1.4.8/uuid.min.js": ("node-uuid@1.4.8", "uuid.js"),
    "https://cdnjs.cloudflare.com/ajax/libs/draggable/1.0.0-beta.8/draggable.bundle.js": (
        "@shopify/draggable@1.0.0-beta.8",
        "lib/draggable.bundle.js",
    ),
    "https://code.jquery.com/jquery-3.6.0.min.js": ("jquery@3.6.0", "dist/jquery.min.js"),
    "https://ajax.googleapis.com/ajax/libs/jquery/3.3.1/jquery.min.js": ("jquery@3.3.1", "dist/jquery.min.js"),
    "https://d3js.org/d3.v6.min.js": ("d3@6.7.0", "dist/d3.min.js"),
}

# CDN URL -> why an empty script is an honest stand-in
PLACEHOLDERS: dict[str, str] = {
    "https://platform.twitter.com/widgets.js": (
        "turns <blockquote class=twitter-tweet> into an embedded tweet; without it the quote stays as it is"
    ),
}


class LibraryUnavailable(RuntimeError):
    """The npm package could not be fetched (no npm, no registry access)."""


def known(url: str) -> bool:
    return _key(url) in LIBRARIES or _key(url) in PLACEHOLDERS


def urls() -> list[str]:
    """Every CDN URL crowdloop can answer (https://host/path)."""
    return [*LIBRARIES, *PLACEHOLDERS]


def route_name(url: str) -> str:
    """host/path of a known URL: the name the portal serves it under (`url_from_route_name` reverses it)."""
    return _key(url).removeprefix("https://")


def url_from_route_name(name: str) -> str:
    return "https://" + name


def script_for(url: str, cache_dir: Path) -> bytes | None:
    """The JavaScript to answer `url` with, or None when the URL is not a known CDN library; packages are
    kept in `cache_dir` (Settings.cdn_cache_path). Raises LibraryUnavailable when one cannot be fetched."""
    key = _key(url)
    if key in PLACEHOLDERS:
        return f"/* crowdloop: {key} is not loaded offline; it {PLACEHOLDERS[key]}. */\n".encode()
    if key not in LIBRARIES:
        return None
    spec, member = LIBRARIES[key]
    target = cache_dir / spec.replace("/", "__") / member
    if not target.is_file():
        _fetch(spec, member, target)
    return target.read_bytes()


def _key(url: str) -> str:
    url = url.split("#", 1)[0].split("?", 1)[0]
    return "https:" + url if url.startswith("//") else url.replace("http://", "https://", 1)


def _fetch(spec: str, member: str, target: Path) -> None:
    npm = shutil.which("npm")
    if npm is None:
        raise LibraryUnavailable(f"npm is not installed, so {spec} cannot be fetched")
    with tempfile.TemporaryDirectory() as tmp:
        try:
            done = subprocess.run(
                [npm, "pack", spec, "--silent", "--pack-destination", tmp],
                capture_output=True,
                text=True,
                timeout=120,
                check=False,
            )
        except subprocess.TimeoutExpired:
            raise LibraryUnavailable(f"npm pack {spec} timed out") from None
        tarballs = list(Path(tmp).glob("*.tgz"))
        if done.returncode != 0 or not tarballs:
            raise LibraryUnavailable(f"npm pack {spec} failed: {done.stderr.strip()[-500:]}")
        with tarfile.open(tarballs[0]) as tar:
            extracted = tar.extractfile(f"package/{member}")
            if extracted is None:
                raise LibraryUnavailable(f"{spec} has no {member}")
            data = extracted.read()
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f".{target.name}.{os.getpid()}")
    partial.write_bytes(data)
    os.replace(partial, target)  # atomic: parallel test workers may fetch the same file
