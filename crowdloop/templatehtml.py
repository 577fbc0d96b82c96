"""What a rendered task page holds, for the template check (crowdloop.templatecheck): its form fields and
where given marker strings appear. Pure: HTML text in, facts out.

    scan(html, markers) -> Scan

Form fields are the named controls `crowd-form` collects an answer from (docs/crowd-elements.md): native
`input` (not buttons), `select` and `textarea`, and the crowd elements that answer under their `name`.

A marker is *shown* when it appears in the page's text, in an attribute (crowd elements take their text
from attributes: `crowd-text-ranking responses="..."`) or in a script (which may show it); not when it is
only in a comment, a `<style>` or the value of a hidden input. Its *visible* places are its appearances
in text: each is counted in the *item* it belongs to, items being the stretches of the page between two
form fields of different names. The seed notebook's template shows each response in a paragraph followed
by its select, so a response shown in two items is one the worker sees twice, next to two questions.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from html.parser import HTMLParser

# crowd elements answering under their name attribute (crowdloop/portal/static/crowd: CL.defineControl)
CROWD_CONTROLS = frozenset(
    {
        "crowd-bounding-box",
        "crowd-checkbox",
        "crowd-classifier",
        "crowd-classifier-multi-select",
        "crowd-entity-annotation",
        "crowd-image-classifier",
        "crowd-image-classifier-multi-select",
        "crowd-input",
        "crowd-instance-segmentation",
        "crowd-keypoint",
        "crowd-line",
        "crowd-polygon",
        "crowd-polyline",
        "crowd-radio-button",
        "crowd-semantic-segmentation",
        "crowd-slider",
        "crowd-text-area",
        "crowd-text-ranking",
        "crowd-toggle-button",
    }
)
NATIVE_CONTROLS = frozenset({"input", "select", "textarea"})
NOT_ANSWERS = frozenset({"submit", "button", "reset", "image"})  # input types that answer nothing
HIDDEN_TEXT = frozenset({"style", "template", "noscript"})


@dataclass(frozen=True)
class Field:
    name: str
    tag: str
    attributes: dict[str, str]


@dataclass
class Scan:
    fields: list[Field] = field(default_factory=list)  # the first control of each name, in page order
    shown: set[str] = field(default_factory=set)  # markers shown anywhere (text, attribute, script)
    # marker -> the items it is visible in, each with the field that follows it (None: no field after it)
    items: dict[str, list[int]] = field(default_factory=lambda: defaultdict(list))
    item_fields: list[str] = field(default_factory=list)  # item k ends at the field named item_fields[k]

    def field_after(self, item: int) -> str | None:
        return self.item_fields[item] if item < len(self.item_fields) else None


def scan(html: str, markers: list[str]) -> Scan:
    """The fields of `html` and where each of `markers` (lower-case strings) appears in it."""
    parser = _Parser([m.lower() for m in markers])
    parser.feed(html)
    parser.close()
    return parser.result


class _Parser(HTMLParser):
    def __init__(self, markers: list[str]) -> None:
        super().__init__(convert_charrefs=True)
        self.markers = markers
        self.result = Scan()
        self.names: set[str] = set()
        self.last_name: str | None = None
        self.item = 0
        self.hidden_depth = 0  # inside <style>, <template>, <noscript>
        self.in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = {k.lower(): v or "" for k, v in attrs}
        hidden_input = tag == "input" and attributes.get("type", "").lower() == "hidden"
        for key, value in attributes.items():
            if not (hidden_input and key == "value"):
                self._seen(value, visible=False)
        self._field(tag, attributes)
        if tag == "script":
            self.in_script = True
        elif tag in HIDDEN_TEXT:
            self.hidden_depth += 1

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        if tag == "script":
            self.in_script = False
        elif tag in HIDDEN_TEXT:
            self.hidden_depth -= 1

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self.in_script = False
        elif tag in HIDDEN_TEXT and self.hidden_depth:
            self.hidden_depth -= 1

    def handle_data(self, data: str) -> None:
        if self.in_script:
            self._seen(data, visible=False)
        elif not self.hidden_depth:
            self._seen(data, visible=True)

    def _field(self, tag: str, attributes: dict[str, str]) -> None:
        name = attributes.get("name", "").strip()
        if not name:
            return
        if tag in NATIVE_CONTROLS:
            if tag == "input" and attributes.get("type", "text").lower() in NOT_ANSWERS:
                return
        elif tag not in CROWD_CONTROLS:
            return
        if name != self.last_name:  # a new item starts after a field of another name
            self.result.item_fields.append(name)
            self.item += 1
            self.last_name = name
        if name not in self.names:
            self.names.add(name)
            self.result.fields.append(Field(name, tag, attributes))

    def _seen(self, text: str, *, visible: bool) -> None:
        lowered = text.lower()
        for marker in self.markers:
            if marker in lowered:
                self.result.shown.add(marker)
                if visible:
                    self.result.items[marker].append(self.item)
