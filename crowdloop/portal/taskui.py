"""The task UI document shown in the sandboxed frame: the loop's template rendered with its input.

* The template is the loop's snapshot (human_loops.template_sha256 -> templates.content), rendered by
  crowdloop.liquid.render_task with `task.input` = the loop's InputContent (autoescaped).
* References to AWS's crowd HTML elements bundle (V1, V2 and their aliases) and its CSS are rewritten to
  our own copies before rendering.
* `grant_read_access` asks the blob store for a short-lived URL; the origins of the URLs handed out are
  the only places besides our own assets the frame's Content-Security-Policy lets the page load from.
"""

from __future__ import annotations

import logging
import re
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from threading import Lock
from urllib.parse import urlsplit

from markupsafe import escape

from crowdloop import flows
from crowdloop.blobs import BLOB_ROUTE
from crowdloop.liquid import render_task
from crowdloop.queue import Lease
from crowdloop.runtime import Services

log = logging.getLogger(__name__)

_CROWD_SCRIPT = re.compile(
    r"(?:https?:)?//assets\.crowd\.aws/(?:crowd-html-elements(?:-v2s?)?|gen-ai-components)\.js", re.I)
_CROWD_CSS = re.compile(
    r"(?:https?:)?//assets\.crowd\.aws/css/(?:crowd-html-elements(?:-v2)?|gen-ai-components)\.css", re.I)
_TEMPLATE_CACHE_SIZE = 128
MAX_GRANT_SECONDS = 7 * 24 * 3600  # the longest an S3 presigned URL may live

_HEAD = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>Task</title>
<style>body{{margin:16px;font:16px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1b1f24}}
.crowdloop-render-errors{{border:2px solid #b42318;background:#fef3f2;padding:8px 12px;margin-bottom:12px}}
</style></head><body>
{errors}"""


@dataclass(frozen=True)
class TaskDocument:
    html: str
    content_security_policy: str


class TaskUi:
    """Builds task documents; keeps the rewritten templates by SHA-256 (they never change)."""

    def __init__(self, svc: Services, script_url: str, css_url: str) -> None:
        self._svc = svc
        self._script_url = script_url
        self._css_url = css_url
        self._templates: OrderedDict[str, str] = OrderedDict()
        self._lock = Lock()

    def document(self, lease: Lease, origin: str, now: datetime) -> TaskDocument:
        """The frame's HTML and Content-Security-Policy; origin is the portal's scheme://host[:port]."""
        template = self.template(lease.template_sha256)
        granted: set[str] = set()
        seconds = int((lease.expires_at - now).total_seconds()) + 60
        grant = _granter(self._svc, min(max(seconds, 60), MAX_GRANT_SECONDS), granted)
        result = render_task(template, lease.task_input, grant_read_access=grant)
        errors = ""
        if result.errors:
            log.warning("task UI of human loop %s rendered with errors: %s", lease.human_loop_name,
                        "; ".join(f"{e.code}: {e.message}" for e in result.errors))
            items = "".join(f"<li>{escape(e.code)}: {escape(e.message)}</li>" for e in result.errors)
            errors = (f'<div class="crowdloop-render-errors" role="alert"><p>This task\'s template has '
                      f"errors; tell the requester.</p><ul>{items}</ul></div>")
        html = _HEAD.format(errors=errors) + result.html + "\n</body></html>\n"
        return TaskDocument(html=html, content_security_policy=content_security_policy(origin, granted))

    def template(self, sha256: str) -> str:
        with self._lock:
            cached = self._templates.get(sha256)
            if cached is not None:
                self._templates.move_to_end(sha256)
                return cached
        content = flows.get_template(self._svc, sha256)
        if content is None:  # the loop row references the template by foreign key, so this is a bug
            raise LookupError(f"template {sha256} is missing")
        rewritten = rewrite_assets(content, self._script_url, self._css_url)
        with self._lock:
            self._templates[sha256] = rewritten
            while len(self._templates) > _TEMPLATE_CACHE_SIZE:
                self._templates.popitem(last=False)
        return rewritten


def rewrite_assets(template: str, script_url: str, css_url: str) -> str:
    """Point the template's crowd HTML elements <script>/<link> URLs at our own copies."""
    return _CROWD_CSS.sub(css_url, _CROWD_SCRIPT.sub(script_url, template))


def content_security_policy(origin: str, granted_origins: set[str]) -> str:
    """No network but our own static assets and the granted blob URLs; framed only by the portal.
    A grant on the portal's own origin (the built-in blob store) is narrowed to the blob route."""
    granted = sorted(f"{o}{BLOB_ROUTE}/" if o == origin else o for o in granted_origins)
    sources = " ".join(granted) or "'none'"
    loads = " ".join([f"{origin}/static/", *granted, "data:", "blob:"])
    directives = [
        "default-src 'none'",
        f"script-src 'unsafe-inline' {origin}/static/",
        f"style-src 'unsafe-inline' {origin}/static/",
        f"font-src {origin}/static/ data:",
        f"img-src {loads}",
        f"media-src {loads}",
        f"connect-src {sources}",
        f"frame-src {sources}",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'none'",
        f"frame-ancestors {origin}",
    ]
    return "; ".join(directives)


def _granter(svc: Services, expires_seconds: int, granted: set[str]) -> Callable[[str], str]:
    def grant(uri: str) -> str:
        url = svc.blobs.url_for(uri, expires_seconds)
        parts = urlsplit(url)
        if parts.scheme in ("http", "https") and parts.netloc:
            granted.add(f"{parts.scheme}://{parts.netloc}")
        return url

    return grant
