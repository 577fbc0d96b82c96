"""Where the server renders templates: in worker threads, a few at a time, never on the event loop.

A render is CPU work bounded by its budget (`budget.py`), not by anything the event loop could wait
on. On SQLite the API and portal run most handlers on the event loop itself, so a render there would
hold up every other request until it ended; in a worker thread it only competes for the GIL, which
Python hands back to the event loop every few milliseconds. At most `RENDER_THREADS` renders run at
once (more would only slow each other down on the GIL); the rest wait their turn without a thread.

Every server path that renders (RenderUiTemplate, the task frame) goes through `RenderThreads.run`;
the app builds one instance and hands it to the API and the portal.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar, TypeVarTuple

import anyio
import anyio.to_thread

RENDER_THREADS = 4

T = TypeVar("T")
Args = TypeVarTuple("Args")


class RenderThreads:
    def __init__(self, threads: int = RENDER_THREADS) -> None:
        self._limiter = anyio.CapacityLimiter(threads)

    async def run(self, function: Callable[[*Args], T], *args: *Args) -> T:
        """`function(*args)` in a worker thread, at most `threads` of them at once."""
        return await anyio.to_thread.run_sync(function, *args, limiter=self._limiter)
