"""The second core: Parquet encoding and compression (which pyarrow does without holding the GIL) run in a
thread while the Python work of the export makes the next batch.

BackgroundWriter holds at most `depth` batches in flight, so memory stays bounded, and hands an exception
raised in the thread to the caller. (Reading SQLite in a thread does not pay: the sqlite3 module releases
and takes back the GIL for every row, and waits for it each time behind the busy main thread.)
"""

from __future__ import annotations

import queue
import threading
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from crowdloop.export.writers import Writer

_END = object()


class BackgroundWriter:
    """Calls inner.write(batch) in a thread, `depth` batches behind the caller at most. An error in the thread
    is raised by the next write() or by close(); close() waits for every batch and closes the inner writer."""

    def __init__(self, inner: Writer, depth: int = 2) -> None:
        self.inner = inner
        self.handoff: queue.Queue[Any] = queue.Queue(maxsize=depth)
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, name="crowdloop-writer", daemon=True)
        self.thread.start()

    @property
    def rows(self) -> int:
        """Rows written so far (all of them once close() has returned)."""
        return self.inner.rows

    def _run(self) -> None:
        while (batch := self.handoff.get()) is not _END:
            if self.error is None:
                try:
                    self.inner.write(batch)
                except BaseException as exc:  # raised in the caller's thread
                    self.error = exc

    def write(self, batch: Any) -> None:
        self._raise()
        self.handoff.put(batch)

    def close(self) -> None:
        self.handoff.put(_END)
        self.thread.join()
        try:
            self.inner.close()
        finally:
            self._raise()

    def _raise(self) -> None:
        if self.error is not None:
            raise self.error
