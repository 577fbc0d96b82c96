"""BackgroundWriter: every batch reaches the inner writer in order, and its errors reach the caller."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from crowdloop.export.threads import BackgroundWriter


class Recorder:
    def __init__(self, fail_at: int | None = None) -> None:
        self.batches: list[Any] = []
        self.threads: set[str] = set()
        self.closed = False
        self.fail_at = fail_at

    @property
    def rows(self) -> int:
        return len(self.batches)

    def write(self, batch: Any) -> None:
        self.threads.add(threading.current_thread().name)
        if batch == self.fail_at:
            raise OSError(f"disk full at {batch}")
        self.batches.append(batch)

    def close(self) -> None:
        self.closed = True


def test_batches_are_written_in_order_in_the_writer_thread() -> None:
    inner = Recorder()
    writer = BackgroundWriter(inner, depth=2)
    for batch in range(50):
        writer.write(batch)
    writer.close()
    assert inner.batches == list(range(50)) and writer.rows == 50
    assert inner.closed and inner.threads == {"crowdloop-writer"}


def test_an_error_in_the_thread_is_raised_to_the_caller() -> None:
    inner = Recorder(fail_at=3)
    writer = BackgroundWriter(inner, depth=1)
    with pytest.raises(OSError, match="disk full at 3"):
        for batch in range(1000):
            writer.write(batch)
    with pytest.raises(OSError, match="disk full at 3"):
        writer.close()
    assert inner.batches == [0, 1, 2] and inner.closed


def test_an_error_in_the_last_batch_is_raised_by_close() -> None:
    inner = Recorder(fail_at=1)
    writer = BackgroundWriter(inner)
    writer.write(0)
    writer.write(1)
    with pytest.raises(OSError, match="disk full at 1"):
        writer.close()
