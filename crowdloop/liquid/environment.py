"""The Liquid environment of A2I worker templates (spec §8).

python-liquid with lax undefined variables, strict (unknown = error) filters, and autoescape done by
us rather than by python-liquid:

* every node that writes a value (`{{ }}`, `{% echo %}`, `{% cycle %}`) writes it through
  `text.to_html`: `Markup` as is, anything else as text (objects/arrays as JSON) with Ruby/CGI escaping
  (`&#39;`, `&quot;`). python-liquid's own autoescape is off because it treats string literals as
  `Markup`, and markupsafe then escapes data joined to them (`{{ x | append: "!" }}`) as `&#34;`.
  As in an "escape every output" model, `{{ "<b>" }}` is escaped too;
* `{% capture %}` stores `Markup` (its content was escaped while it was rendered), so printing a
  captured value does not escape it twice;
* the A2I filters from `filters.py`, which return `Markup` for raw output;
* errors: parsing raises (strict); while a `RenderSession` is active, a failing top-level node is
  recorded in the session and rendering goes on with the next one (the page may be partial);
* the render budget (`budget.py`), since templates come from API callers: every render runs in a
  `BudgetedContext`, `for`/`tablerow` check a range against the steps left before iterating (or
  reversing) it, output statements measure the arrays and objects they print, and exceeding any
  resource limit ends the render (it is raised, not collected).

Gaps: a `{% cycle %}` value that is `Markup` (a captured value) is escaped again; text appended to a
`Markup` value (`{{ x | escape | append: '"' }}`) is escaped by markupsafe (`&#34;`).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from io import StringIO
from typing import TYPE_CHECKING, Any, ClassVar, TextIO

from liquid import BoundTemplate, Environment, Markup
from liquid.builtin.expressions import LoopExpression
from liquid.builtin.output import Output, OutputNode
from liquid.builtin.tags.capture_tag import CaptureNode, CaptureTag
from liquid.builtin.tags.cycle_tag import CycleNode, CycleTag
from liquid.builtin.tags.echo_tag import EchoNode, EchoTag
from liquid.builtin.tags.for_tag import ForNode, ForTag
from liquid.builtin.tags.tablerow_tag import TablerowNode, TablerowTag
from liquid.exceptions import LiquidError, ResourceLimitError

from crowdloop.liquid.budget import MAX_OUTPUT_BYTES, MAX_STEPS, BudgetedContext, range_length
from crowdloop.liquid.filters import A2I_FILTERS
from crowdloop.liquid.session import current_session
from crowdloop.liquid.text import escape_html, to_html

if TYPE_CHECKING:
    from liquid.ast import Node
    from liquid.context import RenderContext
    from liquid.stream import TokenStream
    from liquid.token import Token


def _printed(value: object, context: RenderContext) -> str:
    if isinstance(context, BudgetedContext) and isinstance(value, list | tuple | Mapping):
        context.budget.measure(value)  # an array can stand for far more text than it holds
    return to_html(value)


class _OutputNode(OutputNode):
    def render_to_output(self, context: RenderContext, buffer: TextIO) -> int:
        return buffer.write(_printed(self.expression.evaluate(context), context))

    async def render_to_output_async(self, context: RenderContext, buffer: TextIO) -> int:
        return buffer.write(_printed(await self.expression.evaluate_async(context), context))


class _EchoNode(_OutputNode, EchoNode):
    pass


class _CaptureNode(CaptureNode):
    def _assign(self, context: RenderContext, buf: StringIO) -> None:
        context.assign(self.name, Markup(buf.getvalue()))


class _CycleNode(CycleNode):
    def render_to_output(self, context: RenderContext, buffer: TextIO) -> int:
        value = StringIO()
        super().render_to_output(context, value)
        return buffer.write(escape_html(value.getvalue()))

    async def render_to_output_async(self, context: RenderContext, buffer: TextIO) -> int:
        value = StringIO()
        await super().render_to_output_async(context, value)
        return buffer.write(escape_html(value.getvalue()))


class _BudgetedLoopExpression(LoopExpression):
    """A loop expression that refuses a range longer than the steps left before `reversed` copies it or
    `offset` skips into it."""

    def _to_iter(self, obj: object, context: RenderContext) -> tuple[Iterator[Any], int]:
        if isinstance(obj, range) and isinstance(context, BudgetedContext):
            context.budget.require(range_length(obj), "a range")
        return super()._to_iter(obj, context)


def _budgeted(expression: LoopExpression) -> _BudgetedLoopExpression:
    return _BudgetedLoopExpression(
        expression.token,
        expression.identifier,
        expression.iterable,
        limit=expression.limit,
        offset=expression.offset,
        reversed_=expression.reversed,
        cols=expression.cols,
    )


class _For(ForTag):
    def parse(self, stream: TokenStream) -> Node:
        node = super().parse(stream)
        assert isinstance(node, ForNode)
        node.expression = _budgeted(node.expression)
        return node


class _Tablerow(TablerowTag):
    def parse(self, stream: TokenStream) -> TablerowNode:
        node = super().parse(stream)
        node.expression = _budgeted(node.expression)
        return node


class _A2ITemplate(BoundTemplate):
    context_class = BudgetedContext


class _Output(Output):
    node_class = _OutputNode


class _Echo(EchoTag):
    node_class = _EchoNode


class _Capture(CaptureTag):
    node_class = _CaptureNode


class _Cycle(CycleTag):
    node_class = _CycleNode


class A2IEnvironment(Environment):
    # python-liquid's own limits, next to the budget: nested loops whose lengths multiply past MAX_STEPS
    # fail before they start; `capture` buffers are limited like the output
    loop_iteration_limit: ClassVar[int | None] = MAX_STEPS
    output_stream_limit: ClassVar[int | None] = MAX_OUTPUT_BYTES  # bytes of rendered HTML
    local_namespace_limit: ClassVar[int | None] = 64 * 1024 * 1024
    template_class = _A2ITemplate

    def __init__(self) -> None:
        super().__init__(autoescape=False, strict_filters=True)
        for tag in (_Output, _Echo, _Capture, _Cycle, _For, _Tablerow):
            self.add_tag(tag)
        for name, func in A2I_FILTERS.items():
            self.add_filter(name, func)

    def error(
        self,
        exc: type[LiquidError] | LiquidError,
        msg: str | None = None,
        token: Token | None = None,
    ) -> None:
        session = current_session()
        if session is None or isinstance(exc, ResourceLimitError):
            super().error(exc, msg, token)  # strict mode: raises; a spent budget ends the render
            return
        if not isinstance(exc, LiquidError):
            exc = exc(msg, token=token)
        elif not exc.token:
            exc.token = token
        session.errors.append(exc)
