"""Following the event log as it grows: the live stream (`GET /events/stream`), `crowdloop events tail` and the
console's live panel read the log through a Follower.

The log's `seq` is given when an event is logged, and processes log concurrently, so on PostgreSQL an event
may become visible after one with a higher seq (its transaction committed later), and a rolled-back fan-out
leaves a seq that never appears. A Follower therefore keeps a watermark (`position`: every event up to it was
handled) and the seqs above it already handed out. A hole just above the watermark is waited for up to
`gap_wait_seconds`, then skipped (a rollback, or events the retention sweep removed). So each event is handed
out once, in log order except where commits raced, and a consumer that resumes from `position` (an SSE
`Last-Event-ID`) misses nothing; it may see again an event handed out above the watermark (receivers dedupe on
the event's id, as for webhooks).
"""

from __future__ import annotations

import time
from collections.abc import Callable

import orjson

from crowdloop import eventlog
from crowdloop.eventlog import LoggedEvent
from crowdloop.eventpattern import EventPattern
from crowdloop.runtime import Services

GAP_WAIT_SECONDS = 2.0
READ_LIMIT = 500


class Follower:
    """One consumer's place in the event log. Not thread-safe: one consumer, one thread at a time."""

    def __init__(
        self,
        svc: Services,
        *,
        after: int | None = None,
        pattern: EventPattern | None = None,
        gap_wait_seconds: float = GAP_WAIT_SECONDS,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        """`after`: the seq to follow from (a resumed stream's Last-Event-ID; 0: the whole log); None: from the
        newest event now (only what is logged from here on)."""
        self._svc = svc
        self._pattern = pattern
        self._gap_wait = gap_wait_seconds
        self._monotonic = monotonic
        if after is None:
            with svc.store.read() as conn:
                after = eventlog.latest_seq(conn)
        self._position = max(int(after), 0)
        self._seen: set[int] = set()  # seqs above the watermark already handed out (or filtered)
        self._gap_since: float | None = None

    @property
    def position(self) -> int:
        """Every event up to this seq has been handed out (or filtered out, or skipped as a hole)."""
        return self._position

    def poll(self, limit: int = READ_LIMIT) -> list[LoggedEvent]:
        """The events logged since the last poll that match the pattern, in log order (one read)."""
        with self._svc.store.read() as conn:
            rows = eventlog.read_after(conn, self._position, limit + len(self._seen))
        fresh = [row for row in rows if row.seq not in self._seen]
        self._seen.update(row.seq for row in fresh)
        self._advance()
        return [row for row in fresh if self._matches(row)]

    def _matches(self, row: LoggedEvent) -> bool:
        return self._pattern is None or self._pattern.matches(orjson.loads(row.body))

    def _advance(self) -> None:
        """Move the watermark over the seqs handed out; over a hole once it has been waited for long enough."""
        while self._seen:
            if self._position + 1 in self._seen:
                self._position += 1
                self._seen.discard(self._position)
                self._gap_since = None
                continue
            now = self._monotonic()
            if self._gap_since is None:
                self._gap_since = now
            if now - self._gap_since < self._gap_wait:
                return
            self._position = min(self._seen) - 1  # the hole is given up: a rollback or pruned events
            self._gap_since = None
