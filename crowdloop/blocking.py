"""Where blocking work runs: the one policy, decided here and nowhere else.

| work                                             | where it runs                                         |
|--------------------------------------------------|-------------------------------------------------------|
| a request's store calls, SQLite                  | on the event loop (`store_calls_on_event_loop`)        |
| a request's store calls, PostgreSQL              | worker threads (the API's pool, the portal's limiter)  |
| template renders (CPU, within a budget)          | `liquid.threads.RenderThreads`                         |
| password hashing, identity-provider calls        | portal worker threads (`slow`, `remote`)               |
| output.json (and any message leaving the process) | the outbox writer threads (`crowdloop.outbox`)         |
| WAL checkpoints                                  | the store's checkpointer thread                        |
| console agreement figures, export downloads      | a thread per flow (console/agreement, exportjobs)      |
| heavy reads: API List* pages, console pages      | the heavy lane (`HeavyLane`): one thread at a time     |

On SQLite, writes are serialised anyway and commits never fsync (checkpoints run on their own thread), so
a request's store calls run on the event loop: a thread hop per request would cost more than it overlaps
(measured: 1,500 -> 2,470 StartHumanLoop/s, 0.73 -> 0.41 ms CPU each). PostgreSQL waits on the network,
so its calls go to threads.

Heavy reads (a page of 100 loops, a console page of a flow with a million loops: 5-20 ms each) run in the
heavy lane on either database: one at a time per process, in a thread, so however many arrive together
they hold the event loop (and the store, on SQLite) for at most one of them at a time and the light
requests between them are served meanwhile (bench/fairness.py: a DescribeHumanLoop beside four clients
sending only heavy reads). They wait for each other instead: their fair share.

A request never writes a blob nor calls another server from the event loop: it marks what must leave
the process as due, in its own transaction, and wakes the outbox writer (crowdloop.outbox). The
background threads (outbox writers, checkpointer) start and stop with the app's lifespan (crowdloop.app).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import anyio
import anyio.to_thread

from crowdloop.store import Store

T = TypeVar("T")

HEAVY_LANE_THREADS = 1


def store_calls_on_event_loop(store: Store) -> bool:
    """Whether request handlers run their store calls on the event loop (SQLite) or in a thread."""
    return store.is_sqlite


class HeavyLane:
    """The heavy reads of one process (see the module docstring): at most HEAVY_LANE_THREADS at once, each in
    a thread, the others waiting their turn."""

    def __init__(self, threads: int = HEAVY_LANE_THREADS) -> None:
        self._limiter = anyio.CapacityLimiter(threads)

    async def run(self, function: Callable[..., T], *args: Any) -> T:
        return await anyio.to_thread.run_sync(function, *args, limiter=self._limiter)
