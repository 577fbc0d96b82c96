"""How template values become text: HTML escaping (Ruby/CGI style) and JSON.

Three ways a value turns into text, used by the output node and the A2I filters:

* `to_text(value)`  plain text: strings as they are, `true`/`false`, `""` for nil/undefined, and
  objects/arrays as compact JSON (A2I templates print `{{ task.input.blocks }}` and expect JSON).
* `escape_html(text)`  `& < > " '` -> `&amp; &lt; &gt; &quot; &#39;`, as Ruby's `CGI.escapeHTML` (and
  A2I) do; Python's `html.escape` would write `&#x27;` and markupsafe `&#34;`.
* `to_json(value)`  the `to_json` filter: compact JSON whose strings have `< > & '` (and U+2028/2029)
  written as `\\u003c`-style escapes. It is still raw JSON (never HTML-escaped, as on AWS) and parses to
  the same value, but it cannot end the single-quoted attribute of the AWS idiom
  `categories='{{ task.input.labels | to_json }}'` or a `<script>` block, whatever the data holds.
  AWS writes those characters literally, so our bytes differ from AWS's only for such values.

`Markup` (markupsafe) marks text that is already HTML. Data-consuming conversions (JSON, URLs) read a
Markup value as the text it stands for (`Markup.unescape()`), so `{% capture %}`d values round-trip.
"""

from __future__ import annotations

import json
import math
import re
from decimal import Decimal
from typing import Any

from liquid import Markup
from liquid.undefined import is_undefined

_ESCAPE_ONCE = re.compile(r"""[<>"']|&(?!(?:[a-zA-Z][a-zA-Z0-9]*|#[0-9]+|#[xX][0-9a-fA-F]+);)""")
_ENTITIES = {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;"}
_JSON_UNSAFE = re.compile("[<>&'\u2028\u2029]")


def escape_html(text: str) -> str:
    """Escape `& < > " '` for HTML text and attribute values (`'` -> `&#39;`, `"` -> `&quot;`)."""
    return (
        text.replace("&", "&amp;")
        .replace("<", "&lt;")
        .replace(">", "&gt;")
        .replace('"', "&quot;")
        .replace("'", "&#39;")
    )


def escape_html_once(text: str) -> str:
    """Like `escape_html`, but an `&` that starts an entity (`&amp;`, `&#39;`, `&#x2F;`) is kept."""
    return _ESCAPE_ONCE.sub(lambda m: _ENTITIES[m.group(0)], text)


def plain(value: object) -> Any:
    """`value` as JSON-ready data: Markup -> its text, undefined/NaN/Infinity -> None, ranges -> lists."""
    if isinstance(value, Markup):
        return value.unescape()
    if isinstance(value, float) and not math.isfinite(value):
        return None  # as JSON.stringify does
    if value is None or isinstance(value, str | bool | int | float):
        return value
    if isinstance(value, Decimal):  # from python-liquid's math filters
        return plain(float(value))
    if isinstance(value, dict):  # JSON objects only: python-liquid drops (forloop) print as str()
        return {str(plain(k)): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | range):
        return [plain(item) for item in value]
    if is_undefined(value):
        return None
    return str(value)


def dumps(value: object) -> str:
    """Compact JSON (`{"a":[1,2]}`) with non-ASCII characters kept."""
    return json.dumps(plain(value), ensure_ascii=False, separators=(",", ":"))


def to_json(value: object) -> str:
    """The `to_json` filter's text: `dumps` with `< > & '` and U+2028/2029 as `\\uXXXX` escapes."""
    return _JSON_UNSAFE.sub(lambda m: f"\\u{ord(m.group(0)):04x}", dumps(value))


def to_text(value: object) -> str:
    """How `{{ value }}` reads before escaping; objects and arrays become JSON."""
    if isinstance(value, str):
        return str(value)  # a plain str even for Markup, whose methods would escape their arguments
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None or is_undefined(value):
        return ""
    if isinstance(value, dict | list | tuple):
        return dumps(value)
    if isinstance(value, range):
        return f"{value.start}..{value.stop - 1}"
    return str(value)


def to_html(value: object) -> str:
    """What an output statement writes: Markup as is, everything else `escape_html(to_text(value))`."""
    if hasattr(value, "__html__"):
        return str(value.__html__())
    return escape_html(to_text(value))
