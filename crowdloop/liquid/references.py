"""Which parts of `task.input` a template refers to, read from the parsed template (no rendering).

`input_references(template)` walks python-liquid's syntax tree and returns one `Reference` per place an
expression reads `task.input` (output statements, tags, filter arguments alike): its path under
`task.input` and its template line. Loop variables and `assign`ed names are followed to what they stand
for, so in

    {% for r in task.input.taskObject.responses %}{{ r.text }}{% endfor %}

`r.text` is the path ("taskObject", "responses", ITEM, "text"), and the loop's iterable is marked
`iterated`. `first` and `last` after a path are read as the elements they name (index 0 and -1), `size` as the path
before it; other
segments that are not plain names or numbers (`task.input[key]`) end the path there.

A template that does not parse has no references (its syntax error comes from `check_template`).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from liquid import BoundTemplate, RenderContext
from liquid.ast import Node
from liquid.builtin.expressions.filtered import FilteredExpression
from liquid.builtin.expressions.path import Path
from liquid.builtin.tags.assign_tag import AssignNode
from liquid.builtin.tags.for_tag import ForNode
from liquid.builtin.tags.tablerow_tag import TablerowNode
from liquid.expression import Expression

from crowdloop.liquid.render import _parse

ITEM = "*"  # a path segment: any element of the list a loop goes through
Segment = str | int
InputPath = tuple[Segment, ...]


@dataclass(frozen=True)
class Reference:
    path: InputPath  # under task.input; () is task.input itself
    line: int  # 1-based line of the template
    iterated: bool = False  # the path is the list a for / tablerow loop goes through


def input_references(template: str) -> list[Reference]:
    """Every place `template` reads task.input, in template order (empty when it does not parse)."""
    parsed = _parse(template)
    if not isinstance(parsed, BoundTemplate):
        return []
    walker = _Walker(template, RenderContext(parsed))
    for node in parsed.nodes:
        walker.visit(node)
    return walker.found


class _Walker:
    def __init__(self, source: str, context: RenderContext) -> None:
        self.source = source
        self.context = context
        self.names: dict[str, InputPath] = {}  # loop variables and assigned names standing for input paths
        self.found: list[Reference] = []

    def visit(self, node: Node) -> None:
        loop = node.expression if isinstance(node, ForNode | TablerowNode) else None
        for expression in node.expressions():
            self.expression(expression, iterable=loop.iterable if loop is not None else None)
        saved = dict(self.names)
        if loop is not None:
            iterable = self.resolve(loop.iterable)
            if iterable is not None:
                self.names[loop.identifier] = (*iterable, ITEM)
            else:
                self.names.pop(loop.identifier, None)
        for child in node.children(self.context, include_partials=False):
            self.visit(child)
        if loop is not None:
            self.names = saved  # the loop variable is gone after the loop
        if isinstance(node, AssignNode):
            target = self.resolve(node.expression)
            if target is not None:
                self.names[str(node.name)] = target
            else:
                self.names.pop(str(node.name), None)

    def expression(self, expression: Expression, iterable: Expression | None) -> None:
        for path in _paths(expression):
            resolved = self.resolve(path)
            if resolved is not None:
                line = self.source.count("\n", 0, path.token.start_index) + 1
                self.found.append(Reference(resolved, line, iterated=path is iterable))

    def resolve(self, expression: Expression) -> InputPath | None:
        """The input path an expression stands for (a plain path, or one with filters), or None."""
        if isinstance(expression, FilteredExpression) and not expression.filters:
            expression = expression.left
        if not isinstance(expression, Path) or not expression.path:
            return None
        head, *rest = expression.path
        if head == "task" and rest[:1] == ["input"]:
            base: InputPath = ()
            rest = rest[1:]
        elif isinstance(head, str) and head in self.names:
            base = self.names[head]
        else:
            return None
        path = list(base)
        for segment in rest:
            if segment in ("first", "last") and path:
                path.append(0 if segment == "first" else -1)
            elif segment == "size":
                break  # the length of what comes before
            elif isinstance(segment, str | int) and not isinstance(segment, bool):
                path.append(segment)
            else:
                break  # a computed key: the path is known up to here
        return tuple(path)


def _paths(expression: Expression) -> Iterator[Path]:
    if isinstance(expression, Path):
        yield expression
    for child in expression.children():
        yield from _paths(child)
