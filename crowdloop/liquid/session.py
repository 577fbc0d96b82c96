"""The state of the render in progress, held in a context variable.

Parsed templates and the environment are shared by every render (and thread), so what belongs to one
render (the caller's `grant_read_access` and the errors collected so far) lives here instead.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field

from liquid.exceptions import LiquidError


@dataclass
class RenderSession:
    grant_read_access: Callable[[str], str] | None
    errors: list[LiquidError] = field(default_factory=list)


_CURRENT: ContextVar[RenderSession | None] = ContextVar("crowdloop_liquid_session", default=None)


def current_session() -> RenderSession | None:
    """The session of the render running in this context, or None outside `render_task`."""
    return _CURRENT.get()


@contextmanager
def active_session(session: RenderSession) -> Iterator[RenderSession]:
    token = _CURRENT.set(session)
    try:
        yield session
    finally:
        _CURRENT.reset(token)
