"""The made-up input of the template checks (crowdloop.templatecheck) when none is given: every `task.input`
path the template's expressions read (crowdloop.liquid.references), named leaves holding their own path as
text ("taskObject.prompt"), lists as many elements as the highest index read, at least DEFAULT_ITEMS for a
list a loop goes through. So the seed notebook's template, which reads `taskObject.responses[0]` and `[1]`,
gets two responses, and the check adds as many as its answer fields number.

    made_up_input(references) -> dict
    listify(document, paths, create=...)   lists of responses where the expressions read one whole
"""

from __future__ import annotations

from typing import Any

from crowdloop.liquid.references import ITEM, Reference

DEFAULT_ITEMS = 3  # elements of a made-up list that a loop goes through and nothing else sizes


def made_up_input(references: list[Reference]) -> dict[str, Any]:
    """An input with every path the references read: named leaves hold their path as text, lists as many
    elements as the highest index read (at least DEFAULT_ITEMS for lists a loop goes through)."""
    shape = _Shape()
    for reference in references:
        node: _Shape | None = shape
        for segment in reference.path:
            node = node.child(segment) if node is not None else None
        if node is not None and reference.iterated:
            node.iterated = True
    value = shape.build(())
    return value if isinstance(value, dict) else {}


class _Shape:
    def __init__(self) -> None:
        self.keys: dict[str, _Shape] = {}
        self.elements: dict[int, _Shape] = {}  # by index; -1: the last, and ITEM's shape is kept at -2
        self.length = 0
        self.iterated = False

    def child(self, segment: str | int) -> _Shape | None:
        if isinstance(segment, int) or segment == ITEM:
            if self.keys:
                return None  # read as an object elsewhere
            index = segment if isinstance(segment, int) else -2
            if index >= 0:
                self.length = max(self.length, index + 1)
            return self.elements.setdefault(index, _Shape())
        if self.elements or self.iterated:
            return None  # a list: `size`-like names were left out by the references already
        return self.keys.setdefault(segment, _Shape())

    def build(self, path: tuple[str | int, ...]) -> Any:
        if self.keys:
            return {key: shape.build((*path, key)) for key, shape in self.keys.items()}
        if self.elements or self.iterated:
            length = max(self.length, DEFAULT_ITEMS if self.iterated else 1)
            common = self.elements.get(-2) or self.elements.get(-1) or _Shape()
            return [self.elements.get(i, common).build((*path, i)) for i in range(length)]
        return ".".join(map(str, path)) or "input"


def listify(document: dict[str, Any], paths: list[str], *, create: bool) -> None:
    """Make up lists of responses where the expressions read a candidate list whole (`| to_json`), or, with
    `create` (a given mapping's path), where they do not read it at all."""
    for path in paths:
        holder: Any = document
        *parents, last = path.split(".")
        for part in parents:
            if create and isinstance(holder, dict) and part not in holder:
                holder[part] = {}
            holder = holder.get(part) if isinstance(holder, dict) else None
        if isinstance(holder, dict) and (isinstance(holder.get(last), str) or (create and last not in holder)):
            holder[last] = [f"{path}.{i}" for i in range(DEFAULT_ITEMS)]
