"""Limits on the JSON documents requesters send (InputContent, RenderUiTemplate's Task.Input), and the
one repair their text may need on the way out.

A document is refused when it nests deeper than MAX_JSON_DEPTH: the limit keeps every later step that
walks the document recursively (template rendering, `to_json`, output.json) well inside Python's
recursion limit (the template engine fails somewhere between 400 and 500 levels); AWS documents none.

`"\\ud800"` (an unpaired surrogate) is valid JSON but not Unicode. It is kept in InputContent and in
output.json (escaped again), but rendered HTML replaces it with U+FFFD so the page can be sent as UTF-8.
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


def encodable_text(text: str) -> str:
    """`text` with unpaired surrogates replaced by U+FFFD (so it encodes as UTF-8)."""
    return text if is_unicode(text) else _SURROGATE.sub("\ufffd", text)


def is_unicode(text: str) -> bool:
    """False when `text` holds an unpaired surrogate (it cannot be encoded as UTF-8)."""
    if text.isascii():
        return True
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True
