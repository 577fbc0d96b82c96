"""Limits on the JSON documents requesters send (InputContent, RenderUiTemplate's Task.Input), and the
one repair their text may need on the way out.

A document is refused when it nests deeper than MAX_JSON_DEPTH: the limit keeps every later step that
walks the document recursively (template rendering, `to_json`, output.json) well inside Python's
recursion limit (the template engine fails somewhere between 400 and 500 levels); AWS documents none.

`"\\ud800"` (an unpaired surrogate) is valid JSON but not Unicode. It is kept in InputContent and in
output.json (escaped again), but the template renderer sees U+FFFD instead (`renderable`): rendered HTML
must be UTF-8.
"""

from __future__ import annotations

from typing import Any

import regex

MAX_JSON_DEPTH = 256

_SURROGATE = regex.compile("[\ud800-\udfff]")


def document_problem(value: Any) -> str | None:
    """Why `value` (parsed JSON) cannot be accepted, or None. Walks the document without recursion."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict | list):
            if depth > MAX_JSON_DEPTH:
                return f"nests deeper than {MAX_JSON_DEPTH} levels"
            stack.extend((member, depth + 1) for member in (item.values() if isinstance(item, dict) else item))
    return None


def renderable(value: Any) -> Any:
    """`value` (parsed JSON) with unpaired surrogates in its strings and keys replaced by U+FFFD; the
    value itself when it has none (the usual case, checked without copying)."""
    if document_is_unicode(value):
        return value
    if isinstance(value, str):
        return _SURROGATE.sub("\ufffd", value)
    if isinstance(value, dict):
        return {renderable(key): renderable(member) for key, member in value.items()}
    if isinstance(value, list):
        return [renderable(member) for member in value]
    return value


def document_is_unicode(value: Any) -> bool:
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if not is_unicode(item):
                return False
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return True


def is_unicode(text: str) -> bool:
    """False when `text` holds an unpaired surrogate (it cannot be encoded as UTF-8)."""
    if text.isascii():
        return True
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True
