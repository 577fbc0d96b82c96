"""The portal's static files, held in memory and served under /static/<name>?v=<content hash>.

A versioned URL never changes meaning, so browsers may cache it for a year; an unversioned or stale
one is still answered (with the current bytes) but not cached.

Two families of files stand in for what task templates load from the internet (the task frame's
templates are rewritten to these routes by crowdloop.portal.taskui):

* /static/aws/<path>: https://assets.crowd.aws/<path> (crowdloop.portal.assets.aws_asset: the crowd
  HTML elements bundle, empty stylesheets, a placeholder for AWS's illustrations).
* /static/cdn/<host>/<path>: a third-party library from crowdloop.cdnlibs (fetched with `npm pack` the
  first time, in a worker thread; kept in memory). When it cannot be fetched the answer is a 503 naming
  the reason, and the reason is logged.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import anyio.to_thread
from starlette.requests import Request
from starlette.responses import Response

from crowdloop import cdnlibs, urls
from crowdloop.caches import Cache, CacheSpec
from crowdloop.portal.assets import aws_asset, crowd_elements_script
from crowdloop.runtime import Services

log = logging.getLogger(__name__)

CROWD_SCRIPT = "crowd-html-elements.js"
CROWD_CSS = "crowd-html-elements.css"
_TYPES = {".css": "text/css; charset=utf-8", ".js": "text/javascript; charset=utf-8"}
_OWN_FILES = ("portal.css", "portal.js")
_AWS_PREFIX = urls.AWS_ASSETS_PREFIX.removeprefix(urls.STATIC_PREFIX)  # names under /static/
_CDN_PREFIX = urls.CDN_PREFIX.removeprefix(urls.STATIC_PREFIX)
_JS = "text/javascript; charset=utf-8"
_HEADERS = {"X-Content-Type-Options": "nosniff", "Cross-Origin-Resource-Policy": "cross-origin"}


@dataclass(frozen=True)
class Asset:
    body: bytes
    content_type: str
    version: str


class Assets:
    def __init__(self, files: dict[str, bytes], cdn_cache: Path, libraries: Cache[str, bytes]) -> None:
        self._files = {
            name: Asset(body, _TYPES[name[name.rindex(".") :]], hashlib.sha256(body).hexdigest()[:16])
            for name, body in files.items()
        }
        self._cdn_cache = cdn_cache
        self._libraries = libraries  # cdnlibs URL -> script (CDN_LIBRARIES)

    def url(self, name: str) -> str:
        return urls.static(name, self._files[name].version)

    async def response(self, request: Request) -> Response:
        name: str = request.path_params["name"]
        if name.startswith(_AWS_PREFIX):
            return self._aws_asset(name.removeprefix(_AWS_PREFIX))
        if name.startswith(_CDN_PREFIX):
            return await self._library(cdnlibs.url_from_route_name(name.removeprefix(_CDN_PREFIX)))
        asset = self._files.get(name)
        if asset is None:
            return _not_found("Not found.")
        cache = "public, max-age=31536000, immutable" if request.query_params.get("v") == asset.version else "no-cache"
        return Response(asset.body, media_type=asset.content_type, headers={"Cache-Control": cache, **_HEADERS})

    @staticmethod
    def _aws_asset(path: str) -> Response:
        found = aws_asset("https://assets.crowd.aws/" + path)
        if found is None:
            return _not_found(f"crowdloop has no stand-in for https://assets.crowd.aws/{path}.")
        body, content_type = found
        return Response(body, media_type=content_type, headers={"Cache-Control": "public, max-age=86400", **_HEADERS})

    async def _library(self, url: str) -> Response:
        if not cdnlibs.known(url):
            return _not_found(f"{url} is not a library crowdloop serves (crowdloop.cdnlibs).")
        script = self._libraries.get(url)
        if script is None:
            try:
                script = await anyio.to_thread.run_sync(cdnlibs.script_for, url, self._cdn_cache) or b""
            except cdnlibs.LibraryUnavailable as exc:
                log.error("cannot serve %s to a task page: %s", url, exc)
                return Response(
                    f"crowdloop could not fetch {url}: {exc}",
                    status_code=503,
                    media_type="text/plain",
                    headers={"Cache-Control": "no-store", **_HEADERS},
                )
            self._libraries.put(url, script)
        # The library URLs name exact versions, so the answer never changes.
        return Response(
            script, media_type=_JS, headers={"Cache-Control": "public, max-age=31536000, immutable", **_HEADERS}
        )


def _not_found(message: str) -> Response:
    return Response(message, status_code=404, media_type="text/plain", headers=dict(_HEADERS))


CDN_LIBRARIES: CacheSpec[str, bytes] = CacheSpec(
    "CDN library scripts",
    "keyed by what cannot change: every library URL crowdloop.cdnlibs knows names an exact version",
    max_entries=64,
)


def load_assets(services: Services) -> Assets:
    """The portal's own files plus the crowd HTML elements bundle (crowdloop.portal.assets)."""
    folder = resources.files("crowdloop.portal") / "static"
    files = {name: folder.joinpath(name).read_bytes() for name in _OWN_FILES}
    files[CROWD_SCRIPT] = crowd_elements_script()
    # The elements style themselves; templates that link AWS's stylesheets get an empty one.
    files[CROWD_CSS] = b"/* crowd HTML elements style themselves; nothing to load. */\n"
    return Assets(files, services.settings.cdn_cache_path, services.caches[CDN_LIBRARIES])
