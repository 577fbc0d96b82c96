"""check_template and render_task: the renderer shared by RenderUiTemplate and the worker portal.

Template and data problems never raise: they come back as `RenderError`s (code, message) next to the
HTML rendered so far. A render that exceeds its budget (`budget.py`: steps, CPU time, size) ends there
and returns no HTML, only its errors (a page cut off at an arbitrary point is no use to anyone). Codes:

| code                    | when                                                              |
|-------------------------|-------------------------------------------------------------------|
| `TemplateSyntaxError`   | the template does not parse (or `break`/`continue` outside a loop) |
| `UndefinedFilter`       | a filter name that does not exist                                 |
| `ResourceLimitExceeded` | the render budget is spent: steps, CPU time, output or value size |
| `RenderError`           | any other failure while rendering (bad filter arguments, ...)     |

Parsed templates are cached by their text (LRU), so rendering one template for many loops parses once.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache, lru_cache
from io import StringIO

from liquid import BoundTemplate
from liquid.exceptions import (
    LiquidError,
    LiquidSyntaxError,
    LoopIterationLimitError,
    ResourceLimitError,
    TemplateNotFoundError,
    UnknownFilterError,
)

from crowdloop.liquid.budget import (
    DEFAULT_LIMITS,
    MAX_STEPS,
    BudgetedContext,
    OutputBuffer,
    RenderBudget,
    RenderBudgetExceeded,
    RenderLimits,
)
from crowdloop.liquid.environment import A2IEnvironment
from crowdloop.liquid.session import RenderSession, active_session

log = logging.getLogger(__name__)

TEMPLATE_CACHE_SIZE = 256


@dataclass(frozen=True)
class RenderError:
    code: str  # "TemplateSyntaxError", "UndefinedFilter", "ResourceLimitExceeded" or "RenderError"
    message: str


@dataclass(frozen=True)
class RenderResult:
    html: str
    errors: list[RenderError]


def check_template(template: str) -> list[RenderError]:
    """Parse only: `[]` when `template` parses, else its syntax error."""
    parsed = _parse(template)
    return [parsed] if isinstance(parsed, RenderError) else []


def render_task(
    template: str,
    task_input: object,
    *,
    grant_read_access: Callable[[str], str] | None = None,
    limits: RenderLimits = DEFAULT_LIMITS,
) -> RenderResult:
    """Render `template` with `task.input` = `task_input` (the parsed InputContent), within `limits`.

    `grant_read_access(uri)` turns an `s3://bucket/key` into a short-lived URL for the
    `grant_read_access` filter; it may raise to refuse a URI (that becomes a `RenderError`). Without
    it the filter returns its input unchanged.
    """
    parsed = _parse(template)
    if isinstance(parsed, RenderError):
        return RenderResult(html="", errors=[parsed])
    session = RenderSession(grant_read_access=grant_read_access)
    buffer = OutputBuffer(limit=limits.output_bytes)
    unexpected: list[RenderError] = []
    exceeded = False
    with active_session(session):
        try:
            _render(parsed, {"task": {"input": task_input}}, buffer, RenderBudget(limits))
        except LiquidError as exc:  # a spent budget, or raised outside a top-level node
            session.errors.append(exc)
            exceeded = isinstance(exc, ResourceLimitError)
        except Exception as exc:  # a python-liquid fault on odd data (e.g. `sum` of mixed values)
            log.warning("unexpected error while rendering a template", exc_info=True)
            unexpected.append(RenderError("RenderError", f"unexpected {type(exc).__name__}: {exc}"))
    errors = [_render_error(exc) for exc in session.errors] + unexpected
    return RenderResult(html="" if exceeded else buffer.getvalue(), errors=errors)


def _render(template: BoundTemplate, variables: dict[str, object], buffer: StringIO, budget: RenderBudget) -> None:
    """`template.render(...)` into our own buffer, so the HTML written before a failure is kept."""
    context = BudgetedContext(template, globals=template.make_globals(variables), budget=budget)
    template.render_with_context(context, buffer)


@cache
def _environment() -> A2IEnvironment:
    return A2IEnvironment()


@lru_cache(maxsize=TEMPLATE_CACHE_SIZE)
def _parse(template: str) -> BoundTemplate | RenderError:
    try:
        return _environment().from_string(template)
    except LiquidError as exc:
        return _render_error(exc)


def _render_error(exc: LiquidError) -> RenderError:
    if isinstance(exc, UnknownFilterError):
        code = "UndefinedFilter"
    elif isinstance(exc, LiquidSyntaxError):
        code = "TemplateSyntaxError"
    elif isinstance(exc, ResourceLimitError):
        code = "ResourceLimitExceeded"
    else:
        code = "RenderError"
    return RenderError(code, _describe(exc))


def _describe(exc: LiquidError) -> str:
    message = str(exc.message) if exc.message is not None else type(exc).__name__
    if isinstance(exc, LoopIterationLimitError):
        message = f"nested loops of more than {MAX_STEPS:,} iterations"
    if isinstance(exc, ResourceLimitError) and not isinstance(exc, RenderBudgetExceeded):
        message = f"The template exceeded the render budget: {message}."  # python-liquid's own limits
    if isinstance(exc, TemplateNotFoundError):  # A2I templates have no partials to include or render
        message = f"template not found: {message!r}"
    try:
        where = exc.context()
    except ValueError:  # a token index past the end of the source (python-liquid quirk)
        where = None
    if where is None:
        return message
    return f"{message} (line {where[0]}, column {where[1] + 1})"
