"""For the few tests that compare latencies: measure the server, not this test process's garbage collector.

A pytest-xdist worker late in the suite holds millions of objects; a full collection of them takes about
0.6 s per 3 million (measured here) and lands in whichever request the test is timing (the boto3 client and
the in-process portal both run in this process). `steady_heap` collects once, then freezes what exists
(gc.freeze: later collections skip it) for the measurement, and unfreezes afterwards. The limits the tests
assert stay as they are.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def steady_heap() -> Iterator[None]:
    gc.collect()
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()
