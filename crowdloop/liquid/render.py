"""check_template and render_task: the renderer shared by RenderUiTemplate and the worker portal.

Template and data problems never raise: they come back as `RenderError`s (code, message) next to the
HTML rendered so far. Codes:

| code                    | when                                                              |
|-------------------------|-------------------------------------------------------------------|
| `TemplateSyntaxError`   | the template does not parse (or `break`/`continue` outside a loop) |
| `UndefinedFilter`       | a filter name that does not exist                                 |
| `ResourceLimitExceeded` | too many loop iterations, too much output or too-large variables  |
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
    ResourceLimitError,
    TemplateNotFoundError,
    UnknownFilterError,
)
from liquid.output import LimitedStringIO

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
) -> RenderResult:
    """Render `template` with `task.input` = `task_input` (the parsed InputContent).

    `grant_read_access(uri)` turns an `s3://bucket/key` into a short-lived URL for the
    `grant_read_access` filter; it may raise to refuse a URI (that becomes a `RenderError`). Without
    it the filter returns its input unchanged.
    """
    parsed = _parse(template)
    if isinstance(parsed, RenderError):
        return RenderResult(html="", errors=[parsed])
    session = RenderSession(grant_read_access=grant_read_access)
    buffer = _buffer(parsed)
    unexpected: list[RenderError] = []
    with active_session(session):
        try:
            _render(parsed, {"task": {"input": task_input}}, buffer)
        except LiquidError as exc:  # raised outside a top-level node, e.g. by the render context
            session.errors.append(exc)
        except Exception as exc:  # a python-liquid fault on odd data (e.g. `sum` of mixed values)
            log.warning("unexpected error while rendering a template", exc_info=True)
            unexpected.append(RenderError("RenderError", f"unexpected {type(exc).__name__}: {exc}"))
    errors = [_render_error(exc) for exc in session.errors] + unexpected
    return RenderResult(html=buffer.getvalue(), errors=errors)


def _render(template: BoundTemplate, variables: dict[str, object], buffer: StringIO) -> None:
    """`template.render(...)` into our own buffer, so the HTML written before a failure is kept."""
    context = template.context_class(template, globals=template.make_globals(variables))
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


def _buffer(template: BoundTemplate) -> StringIO:
    limit = template.env.output_stream_limit
    return StringIO() if limit is None else LimitedStringIO(limit=limit)


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
    if isinstance(exc, TemplateNotFoundError):  # A2I templates have no partials to include or render
        message = f"template not found: {message!r}"
    try:
        where = exc.context()
    except ValueError:  # a token index past the end of the source (python-liquid quirk)
        where = None
    if where is None:
        return message
    return f"{message} (line {where[0]}, column {where[1] + 1})"
