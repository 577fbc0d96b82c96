"""The console's static files (static/ and static/vendor/), held in memory and served under
/console/static/<name>?v=<content hash>. A versioned URL never changes meaning, so browsers may cache it
for a year; an unversioned or stale one is answered with the current bytes, not cached."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from importlib import resources
from importlib.resources.abc import Traversable

from starlette.requests import Request
from starlette.responses import Response

from crowdloop import urls

_TYPES = {
    ".css": "text/css; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".svg": "image/svg+xml",
    ".png": "image/png",
}
_HEADERS = {"X-Content-Type-Options": "nosniff", "Cross-Origin-Resource-Policy": "same-origin"}


@dataclass(frozen=True)
class Asset:
    body: bytes
    content_type: str
    version: str


class ConsoleAssets:
    def __init__(self, files: dict[str, bytes]) -> None:
        self._files = {
            name: Asset(body, _TYPES[name[name.rindex(".") :]], hashlib.sha256(body).hexdigest()[:16])
            for name, body in files.items()
        }

    @classmethod
    def load(cls) -> ConsoleAssets:
        """Every .css/.js/.svg/.png file of the package's console/static folder and its subfolders."""
        files: dict[str, bytes] = {}
        _collect(resources.files("crowdloop.console").joinpath("static"), "", files)
        return cls(files)

    def url(self, name: str) -> str:
        return urls.console_static(name, self._files[name].version)

    def response(self, request: Request) -> Response:
        name = str(request.path_params["name"])
        asset = self._files.get(name)
        if asset is None:
            return Response(b"Not found.", status_code=404, media_type="text/plain", headers=_HEADERS)
        versioned = request.query_params.get("v") == asset.version
        cache = "public, max-age=31536000, immutable" if versioned else "no-cache"
        return Response(asset.body, media_type=asset.content_type, headers={**_HEADERS, "Cache-Control": cache})


def _collect(folder: Traversable, prefix: str, files: dict[str, bytes]) -> None:
    for entry in folder.iterdir():
        if entry.is_dir():
            _collect(entry, f"{prefix}{entry.name}/", files)
        elif "." in entry.name and entry.name[entry.name.rindex(".") :] in _TYPES:
            files[prefix + entry.name] = entry.read_bytes()
