"""The task UI document shown in the sandboxed frame: the loop's template rendered with its input.

* The template is the loop's snapshot (human_loops.template_sha256 -> templates.content), rendered by
  crowdloop.liquid.render_task with `task.input` = the loop's InputContent (autoescaped).
* Before rendering, once per template (cached by SHA-256): every https://assets.crowd.aws/ URL is pointed
  at the portal (the crowd HTML elements bundle and stylesheets at our versioned copies, anything else,
  such as AWS's illustrations, at /static/aws/...; crowdloop.portal.assets.aws_asset), and every
  third-party library URL crowdloop.cdnlibs knows (jQuery, d3, ...) at /static/cdn/<host>/<path>.
* The frame's Content-Security-Policy lets the page load from our static files, from the URLs the
  template itself names literally in src/srcset/poster and <link href> (the template is written by the
  requester's admin, who is trusted; the sources are exact URLs, or the folder before a Liquid
  expression), and from the URLs `grant_read_access` handed out for this page (a short-lived URL of the
  blob store). Nothing that only the input content names is allowed: input is data, not a source list.
"""

from __future__ import annotations

import html
import logging
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from urllib.parse import quote, urlsplit

from markupsafe import escape

from crowdloop import cdnlibs, flows, i18n, urls
from crowdloop.caches import CacheSpec
from crowdloop.i18n import N_
from crowdloop.jsoncheck import renderable
from crowdloop.liquid import render_task
from crowdloop.queue import Lease
from crowdloop.runtime import Services

log = logging.getLogger(__name__)

_CROWD_SCRIPT = re.compile(
    r"(?:https?:)?//assets\.crowd\.aws/(?:crowd-html-elements(?:-v2s?)?|gen-ai-components)\.js", re.I
)
_CROWD_CSS = re.compile(
    r"(?:https?:)?//assets\.crowd\.aws/css/(?:crowd-html-elements(?:-v2)?|gen-ai-components)\.css", re.I
)
_AWS_ASSET = re.compile(r"(?:https?:)?//assets\.crowd\.aws/", re.I)

# Attributes whose URL the browser loads: src/poster/srcset on any element, href on <link>.
_VALUE = r"""\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'=<>`]+))"""
_LOADING_ATTRIBUTE = re.compile(r"\s(?:src|poster)" + _VALUE, re.I)
_SRCSET = re.compile(r"\ssrcset" + _VALUE, re.I)
_LINK_TAG = re.compile(r"<link\b[^>]*>", re.I)
_HREF = re.compile(r"\shref" + _VALUE, re.I)
_HOST = re.compile(r"[a-z0-9.-]+(?::[0-9]{1,5})?", re.I)
_PATH_SAFE = "/-._~!$&()*+=:@%"  # characters a CSP source path may hold unencoded
MAX_GRANT_SECONDS = 7 * 24 * 3600  # the longest an S3 presigned URL may live

_HEAD = """<!doctype html>
<html lang="{lang}"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>Task</title>
<style>body{{margin:16px;font:16px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1b1f24}}
.crowdloop-render-errors{{border:2px solid #b42318;background:#fef3f2;padding:8px 12px;margin-bottom:12px}}
:lang(ko){{word-break:keep-all;overflow-wrap:anywhere}}
</style>{messages}</head><body>
{errors}"""


@dataclass(frozen=True)
class TaskDocument:
    html: str
    content_security_policy: str


@dataclass(frozen=True)
class TaskTemplate:
    """A template as the frame uses it: asset URLs rewritten, and the CSP sources it names itself."""

    content: str
    sources: frozenset[str]


TASK_TEMPLATES: CacheSpec[tuple[str, str, str], TaskTemplate] = CacheSpec(
    "rewritten task templates",
    "keyed by what cannot change: the template's SHA-256 and the asset URLs it was rewritten with",
    max_entries=128,
)


class TaskUi:
    """Builds task documents; keeps the rewritten templates (svc.caches[TASK_TEMPLATES])."""

    def __init__(self, svc: Services, script_url: str, css_url: str) -> None:
        self._svc = svc
        self._script_url = script_url
        self._css_url = css_url
        self._templates = svc.caches[TASK_TEMPLATES]

    def document(
        self,
        lease: Lease,
        origin: str,
        now: datetime,
        ancestor: str | None = None,
        language: i18n.Language | None = None,
    ) -> TaskDocument:
        """The frame's HTML and Content-Security-Policy; origin is the frame's scheme://host[:port] (the
        portal's, unless task_frame_origin serves frames elsewhere), ancestor the portal's (default: origin).
        The policy sandboxes the document unless the frame has an origin of its own (ancestor given).
        language: the worker's (English when None); the crowd elements' own texts come in it (a JSON data block
        before the template's scripts, read by CL.t; English is in the bundle itself)."""
        lang = language or i18n.Language.of(None)
        template = self.template(lease.template_sha256)
        granted: set[str] = set()
        seconds = int((lease.expires_at - now).total_seconds()) + 60
        grant = _granter(self._svc, min(max(seconds, 60), MAX_GRANT_SECONDS), granted)
        result = render_task(
            template.content,
            renderable(lease.task_input),
            grant_read_access=grant,
            limits=flows.render_limits(self._svc.settings),
        )
        errors = ""
        if result.errors:
            log.warning(
                "task UI of human loop %s rendered with errors: %s",
                lease.human_loop_name,
                "; ".join(f"{e.code}: {e.message}" for e in result.errors),
            )
            items = "".join(f"<li>{escape(e.code)}: {escape(e.message)}</li>" for e in result.errors)
            message = escape(lang.gettext(N_("This task's template has errors; tell the requester.")))
            errors = f'<div class="crowdloop-render-errors" role="alert"><p>{message}</p><ul>{items}</ul></div>'
        messages = "" if lang.code == i18n.DEFAULT else "\n" + i18n.js_messages_script(lang.code)
        html = _HEAD.format(lang=lang.code, messages=messages, errors=errors) + result.html + "\n</body></html>\n"
        policy = content_security_policy(
            origin,
            granted | set(self._svc.settings.frame_sources),
            template.sources,
            ancestor=ancestor,
            sandbox=ancestor is None,
        )
        return TaskDocument(html=html, content_security_policy=policy)

    def template(self, sha256: str) -> TaskTemplate:
        key = (sha256, self._script_url, self._css_url)
        cached = self._templates.get(key)
        if cached is not None:
            return cached
        content = flows.get_template(self._svc, sha256)
        if content is None:  # the loop row references the template by foreign key, so this is a bug
            raise LookupError(f"template {sha256} is missing")
        content = rewrite_assets(content, self._script_url, self._css_url)
        rewritten = TaskTemplate(content, frozenset(template_sources(content)))
        self._templates.put(key, rewritten)
        return rewritten


def rewrite_assets(template: str, script_url: str, css_url: str) -> str:
    """Point the template's https://assets.crowd.aws/ URLs at the portal: the crowd HTML elements bundle
    and stylesheets at our own copies (script_url, css_url), anything else at urls.AWS_ASSETS_PREFIX; and the
    third-party libraries crowdloop.cdnlibs knows at urls.CDN_PREFIX."""
    template = _CROWD_CSS.sub(css_url, _CROWD_SCRIPT.sub(script_url, template))
    template = _AWS_ASSET.sub(urls.AWS_ASSETS_PREFIX, template)
    return _cdn_urls().sub(lambda m: urls.CDN_PREFIX + cdnlibs.route_name(m.group(0)), template)


@cache
def _cdn_urls() -> re.Pattern[str]:
    names = sorted((re.escape(url.removeprefix("https://")) for url in cdnlibs.urls()), key=len, reverse=True)
    return re.compile(r"(?:https?:)?//(?:" + "|".join(names) + r")(?![\w.-])")


def template_sources(template: str) -> set[str]:
    """The CSP sources of the absolute http(s) URLs the template loads literally (src, srcset, poster,
    <link href>): the exact URL without its query, or the folder before a Liquid expression in the path.
    URLs whose origin is not literal (Liquid in it) name no source."""
    values = [_value(m) for m in _LOADING_ATTRIBUTE.finditer(template)]
    for m in _SRCSET.finditer(template):
        values += [candidate.split()[0] for candidate in _value(m).split(",") if candidate.strip()]
    for tag in _LINK_TAG.findall(template):
        values += [_value(m) for m in _HREF.finditer(tag)]
    return {source for source in map(_source, values) if source is not None}


def _value(match: re.Match[str]) -> str:
    return html.unescape(next(group for group in match.groups() if group is not None))


def _source(url: str) -> str | None:
    url = url.strip()
    if url.startswith("//"):
        url = "https:" + url
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not _HOST.fullmatch(parts.netloc):
        return None
    path = parts.path or "/"
    liquid = path.find("{")
    if liquid >= 0:
        path = path[: path.rfind("/", 0, liquid) + 1]
    return f"{parts.scheme.lower()}://{parts.netloc.lower()}{quote(path, safe=_PATH_SAFE)}"


FRAME_SANDBOX = "allow-scripts allow-forms"
"""What the task frame may do when it is served on the portal's own origin: the task page's iframe
`sandbox` attribute and the frame's own CSP `sandbox` directive (so that opening the frame URL as a page
runs it in an opaque origin too, never with the portal's). No allow-same-origin, ever."""


def content_security_policy(
    origin: str,
    granted_origins: set[str],
    template_sources: Iterable[str] = (),
    *,
    ancestor: str | None = None,
    sandbox: bool = True,
) -> str:
    """No network but our own static files, the sources the template names itself (images, media,
    styles, scripts, fonts) and the granted blob URLs (images, media, fetch, frames); framed only by
    the portal (`ancestor`, by default the frame's own `origin`). A grant on our own origins (the
    built-in blob store) is narrowed to the blob route. `sandbox`: the document runs in an opaque origin
    whoever opens it (FRAME_SANDBOX); off only for frames served on an origin of their own
    (task_frame_origin), which holds no portal page, cookie or token worth reaching."""
    ancestor = ancestor or origin
    granted = sorted(o + urls.BLOBS_PREFIX if o in (origin, ancestor) else o for o in granted_origins)
    named = sorted(set(template_sources))
    sources = " ".join(granted) or "'none'"
    static = " ".join([f"{origin}/static/", *named])
    loads = " ".join([static, *granted, "data:", "blob:"])
    directives = [
        "default-src 'none'",
        f"script-src 'unsafe-inline' {static}",
        f"style-src 'unsafe-inline' {static}",
        f"font-src {static} data:",
        f"img-src {loads}",
        f"media-src {loads}",
        f"connect-src {sources}",
        f"frame-src {sources}",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'none'",
        f"frame-ancestors {ancestor}",
    ]
    if sandbox:
        directives.append(f"sandbox {FRAME_SANDBOX}")
    return "; ".join(directives)


def _granter(svc: Services, expires_seconds: int, granted: set[str]) -> Callable[[str], str]:
    def grant(uri: str) -> str:
        url = svc.blobs.url_for(uri, expires_seconds)
        parts = urlsplit(url)
        if parts.scheme in ("http", "https") and parts.netloc:
            granted.add(f"{parts.scheme}://{parts.netloc}")
        return url

    return grant
