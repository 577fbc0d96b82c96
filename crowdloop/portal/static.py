"""The portal's static files, held in memory and served under /static/<name>?v=<content hash>.

A versioned URL never changes meaning, so browsers may cache it for a year; an unversioned or stale
one is still answered (with the current bytes) but not cached.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from importlib import resources

from starlette.requests import Request
from starlette.responses import Response

STATIC_ROUTE = "/static"
CROWD_SCRIPT = "crowd-html-elements.js"
CROWD_CSS = "crowd-html-elements.css"
_TYPES = {".css": "text/css; charset=utf-8", ".js": "text/javascript; charset=utf-8"}
_OWN_FILES = ("portal.css", "portal.js")


@dataclass(frozen=True)
class Asset:
    body: bytes
    content_type: str
    version: str


class Assets:
    def __init__(self, files: dict[str, bytes]) -> None:
        self._files = {
            name: Asset(body, _TYPES[name[name.rindex("."):]], hashlib.sha256(body).hexdigest()[:16])
            for name, body in files.items()
        }

    def url(self, name: str) -> str:
        return f"{STATIC_ROUTE}/{name}?v={self._files[name].version}"

    def response(self, request: Request) -> Response:
        asset = self._files.get(request.path_params["name"])
        if asset is None:
            return Response("Not found.", status_code=404, media_type="text/plain")
        cache = ("public, max-age=31536000, immutable" if request.query_params.get("v") == asset.version
                 else "no-cache")
        return Response(asset.body, media_type=asset.content_type, headers={
            "Cache-Control": cache, "X-Content-Type-Options": "nosniff",
            "Cross-Origin-Resource-Policy": "cross-origin"})


def load_assets() -> Assets:
    """The portal's own files plus the crowd HTML elements bundle (crowdloop.portal.assets)."""
    from crowdloop.portal.assets import crowd_elements_script

    folder = resources.files("crowdloop.portal") / "static"
    files = {name: folder.joinpath(name).read_bytes() for name in _OWN_FILES}
    files[CROWD_SCRIPT] = crowd_elements_script()
    # The elements style themselves; templates that link AWS's stylesheets get an empty one.
    files[CROWD_CSS] = b"/* crowd HTML elements style themselves; nothing to load. */\n"
    return Assets(files)
