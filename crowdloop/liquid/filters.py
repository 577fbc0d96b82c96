"""The filters A2I adds to Liquid, and the built-ins that must escape the A2I way.

A filter returns `Markup` for text that is already HTML (the output statement writes it as is) and a
plain value for everything else (the output statement escapes it).

| filter             | result                                                                        |
|--------------------|-------------------------------------------------------------------------------|
| `escape`           | the value's text, HTML-escaped once; Markup input is escaped again, so        |
|                    | `{{ x | to_json | escape }}` (used by AWS samples) gives escaped JSON          |
| `escape_once`      | escaped, but existing entities (`&amp;`) are kept                             |
| `skip_autoescape`  | the value's text, written raw (`safe` is an alias)                            |
| `to_json`          | raw JSON, see `text.to_json` for the `< > & '` escapes inside its strings     |
| `grant_read_access`| `s3://` URIs through the caller's callable (arrays element-wise); raw output   |

`newline_to_br`, `strip_newlines` and `strip_html` are replaced so that they escape the same way and
keep `Markup` input (a captured value) from being escaped twice.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from typing import Any

from liquid import Markup
from liquid.exceptions import FilterError
from liquid.utils.html import strip_tags

from crowdloop.liquid import text
from crowdloop.liquid.session import current_session

log = logging.getLogger(__name__)

_LINE_END = re.compile(r"\r?\n")
# A granted URL with one of these is written escaped: it cannot be a presigned URL and could break out of
# the attribute it sits in.
_URL_UNSAFE = re.compile(r"""[<>"'\s]""")


def escape(value: object) -> Markup:
    return Markup(text.escape_html(text.to_text(value)))


def escape_once(value: object) -> Markup:
    return Markup(text.escape_html_once(text.to_text(value)))


def skip_autoescape(value: object) -> Markup:
    return Markup(text.to_html(value) if hasattr(value, "__html__") else text.to_text(value))


def to_json(value: object) -> Markup:
    return Markup(text.to_json(value))


def grant_read_access(value: object) -> object:
    """`s3://bucket/key` -> the caller's short-lived URL; arrays element by element.

    Values that are not `s3://` strings, and every value when the render has no callable, come back
    unchanged (and are escaped on output like any other value).
    """
    session = current_session()
    grant = session.grant_read_access if session is not None else None
    if grant is None:
        return value
    if isinstance(value, list | tuple):
        return [_grant_one(item, grant) for item in value]
    return _grant_one(value, grant)


def _grant_one(value: object, grant: Callable[[str], str]) -> object:
    if not isinstance(value, str):
        return value
    uri = (value.unescape() if isinstance(value, Markup) else value).strip()
    if not uri.startswith("s3://"):
        return value
    try:
        url = grant(uri)
    except Exception as exc:  # the caller's callable: report it as this render's error, never raise
        log.warning("grant_read_access failed for %r", uri, exc_info=True)
        message = f"grant_read_access: cannot grant read access to {uri!r}: {exc}"
        raise FilterError(message, token=None) from exc
    return url if _URL_UNSAFE.search(url) else Markup(url)


def newline_to_br(value: object) -> Markup:
    return Markup(_LINE_END.sub("<br />\n", text.to_html(value)))


def strip_newlines(value: object) -> object:
    if hasattr(value, "__html__"):
        return Markup(_LINE_END.sub("", text.to_html(value)))
    return _LINE_END.sub("", text.to_text(value))


def strip_html(value: object) -> object:
    if hasattr(value, "__html__"):
        return Markup(strip_tags(text.to_html(value)))
    return strip_tags(text.to_text(value))


A2I_FILTERS: dict[str, Callable[..., Any]] = {
    "escape": escape,
    "escape_once": escape_once,
    "skip_autoescape": skip_autoescape,
    "safe": skip_autoescape,
    "to_json": to_json,
    "grant_read_access": grant_read_access,
    "newline_to_br": newline_to_br,
    "strip_newlines": strip_newlines,
    "strip_html": strip_html,
}
