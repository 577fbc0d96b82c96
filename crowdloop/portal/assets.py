"""The crowd HTML elements bundle that replaces https://assets.crowd.aws/crowd-html-elements.js.

`crowd_elements_script()` is every `static/crowd/*.js` file concatenated in file-name order (read
once, then cached). Serve it for every script name in `SCRIPT_NAMES` (V1, V2 and the aliases AWS
templates use); the elements style themselves in shadow roots, so AWS's stylesheets
(`css/crowd-html-elements-v2.css`, `css/gen-ai-components.css`) can be answered with an empty file.
The message protocol between the task frame and the portal page is documented at the top of
`static/crowd/00-core.js` and in docs/crowd-elements.md.
"""

from __future__ import annotations

from functools import cache
from importlib import resources

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
    parts = (f"/* ---- {f.name} ---- */\n".encode() + f.read_bytes().rstrip(b"\n") + b"\n" for f in files)
    return b"\n".join(parts)
