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
* resource limits, since templates come from API callers.

Gaps: a `{% cycle %}` value that is `Markup` (a captured value) is escaped again; text appended to a
`Markup` value (`{{ x | escape | append: '"' }}`) is escaped by markupsafe (`&#34;`).
"""

from __future__ import annotations

from io import StringIO
from typing import TYPE_CHECKING, ClassVar, TextIO

from liquid import Environment, Markup
from liquid.builtin.output import Output, OutputNode
from liquid.builtin.tags.capture_tag import CaptureNode, CaptureTag
from liquid.builtin.tags.cycle_tag import CycleNode, CycleTag
from liquid.builtin.tags.echo_tag import EchoNode, EchoTag
from liquid.exceptions import LiquidError

from crowdloop.liquid.filters import A2I_FILTERS
from crowdloop.liquid.session import current_session
from crowdloop.liquid.text import escape_html, to_html

if TYPE_CHECKING:
    from liquid.context import RenderContext
    from liquid.token import Token


class _OutputNode(OutputNode):
    def render_to_output(self, context: RenderContext, buffer: TextIO) -> int:
        return buffer.write(to_html(self.expression.evaluate(context)))

    async def render_to_output_async(self, context: RenderContext, buffer: TextIO) -> int:
        return buffer.write(to_html(await self.expression.evaluate_async(context)))


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


class _Output(Output):
    node_class = _OutputNode


class _Echo(EchoTag):
    node_class = _EchoNode


class _Capture(CaptureTag):
    node_class = _CaptureNode


class _Cycle(CycleTag):
    node_class = _CycleNode


class A2IEnvironment(Environment):
    loop_iteration_limit: ClassVar[int | None] = 1_000_000
    output_stream_limit: ClassVar[int | None] = 64 * 1024 * 1024  # bytes of rendered HTML
    local_namespace_limit: ClassVar[int | None] = 64 * 1024 * 1024

    def __init__(self) -> None:
        super().__init__(autoescape=False, strict_filters=True)
        for tag in (_Output, _Echo, _Capture, _Cycle):
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
        if session is None:
            super().error(exc, msg, token)  # strict mode: raises
            return
        if not isinstance(exc, LiquidError):
            exc = exc(msg, token=token)
        elif not exc.token:
            exc.token = token
        session.errors.append(exc)
