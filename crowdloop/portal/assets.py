"""The crowd HTML elements bundle that replaces https://assets.crowd.aws/crowd-html-elements.js.

`crowd_elements_script()` is every `static/crowd/*.js` file concatenated in file-name order (read
once, then cached), with the English catalog of the elements' own texts (crowdloop/locale/en/crowd.json,
`CL.EN`, what `CL.t` falls back to) right after 00-core.js. Serve it for every script name in
`SCRIPT_NAMES` (V1, V2 and the aliases AWS templates use); the elements style themselves in shadow
roots, so AWS's stylesheets (`css/crowd-html-elements-v2.css`, `css/gen-ai-components.css`) can be
answered with an empty file.
The message protocol between the task frame and the portal page is documented at the top of
`static/crowd/05-portal.js` and in docs/crowd-elements.md.
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources

from crowdloop import i18n

# Script names templates load from https://assets.crowd.aws/; all get the same bundle.
SCRIPT_NAMES = (
    "crowd-html-elements.js",
    "crowd-html-elements-v2.js",
    "crowd-html-elements-v2s.js",
    "gen-ai-components.js",
)


@cache
def crowd_elements_script() -> bytes:
    """All crowd element scripts, concatenated in file-name order (UTF-8 JavaScript)."""
    folder = resources.files("crowdloop.portal").joinpath("static", "crowd")
    files = sorted((f for f in folder.iterdir() if f.name.endswith(".js")), key=lambda f: f.name)
    parts = [f"/* ---- {f.name} ---- */\n".encode() + f.read_bytes().rstrip(b"\n") + b"\n" for f in files]
    parts.insert(1, _english_catalog())
    return b"\n".join(parts)


def _english_catalog() -> bytes:
    """CL.EN: the English texts CL.t falls back to (a second copy of the bundle leaves it alone)."""
    messages = json.dumps(i18n.js_messages(i18n.DEFAULT), ensure_ascii=False, sort_keys=True, indent=0)
    return (
        "/* ---- crowdloop/locale/en/crowd.json ---- */\n"
        f"if (window.CrowdLoop.copies === 1) window.CrowdLoop.EN = {messages};\n"
    ).encode()


# AWS hosts the illustrations of its built-in Textract/Rekognition instructions under images/; we
# do not ship AWS's pictures, so those URLs get this neutral stand-in.
IMAGE_PLACEHOLDER = (
    b'<svg xmlns="http://www.w3.org/2000/svg" width="480" height="120" viewBox="0 0 480 120">'
    b'<rect x="1" y="1" width="478" height="118" rx="8" fill="#f6f8fa" stroke="#8a949e" stroke-dasharray="6 4"/>'
    b'<text x="240" y="66" font-family="system-ui, sans-serif" font-size="16" fill="#545b64" text-anchor="middle">'
    b"Illustration not available offline</text></svg>"
)


def aws_asset(url: str) -> tuple[bytes, str] | None:
    """What to answer for a https://assets.crowd.aws/... URL: (body, content type), or None when the URL
    is not one of AWS's crowd assets. Scripts get our bundle, stylesheets an empty file (the elements
    style themselves), images/ a placeholder picture."""
    prefix = "https://assets.crowd.aws/"
    url = url.split("#", 1)[0].split("?", 1)[0]
    if url.startswith("//"):
        url = "https:" + url
    if not url.startswith(prefix):
        return None
    path = url[len(prefix) :]
    name = path.rsplit("/", 1)[-1]
    if name in SCRIPT_NAMES:
        return crowd_elements_script(), "text/javascript; charset=utf-8"
    if name.endswith(".css"):
        return b"", "text/css; charset=utf-8"
    if path.startswith("images/"):
        return IMAGE_PLACEHOLDER, "image/svg+xml"
    return None
