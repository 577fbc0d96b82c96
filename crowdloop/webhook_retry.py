"""When a failed webhook delivery is tried again: exponential backoff with full jitter, within a window.

After the n-th failed attempt (n = 1, 2, ...) the wait before the next one is drawn uniformly from
[MIN_WAIT, min(cap, base * 2**(n-1))] ("full jitter": receivers coming back from an outage are not hit by
every delivery at once). With the defaults (base 10 s, cap 1 h) the ceilings are 10 s, 20 s, 40 s, ...,
2560 s (n = 9), then 1 h for every later wait. No attempt is scheduled after the window (setting
`webhook_retry_hours`, 24 h from the first attempt): a draw that would land beyond it is moved to the
window's end, so the last attempt happens exactly then, and after it `next_attempt` answers None (the
delivery has failed). Pure: the caller passes the clock's now and a random.Random.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta

from crowdloop.config import Settings
from crowdloop.errors import InvalidInput

MIN_WAIT = timedelta(seconds=1)


@dataclass(frozen=True)
class RetryPolicy:
    window: timedelta = timedelta(hours=24)
    base: timedelta = timedelta(seconds=10)
    cap: timedelta = timedelta(hours=1)

    def __post_init__(self) -> None:
        if self.window <= timedelta(0):
            raise InvalidInput("The webhook retry window must be positive.", "webhook_retry_hours")
        if not MIN_WAIT <= self.base <= self.cap:
            raise InvalidInput("Webhook retries need 1 s <= base wait <= cap.", "base")

    @classmethod
    def from_settings(cls, settings: Settings) -> RetryPolicy:
        return cls(window=timedelta(hours=settings.webhook_retry_hours))

    def ceiling(self, attempt: int) -> timedelta:
        """The longest wait after the attempt-th failed attempt."""
        if attempt >= 40:  # 2**39 * base is past any cap; don't build huge timedeltas
            return self.cap
        return min(self.cap, self.base * (1 << (attempt - 1)))


def next_attempt(
    attempt: int,
    first_attempt_at: datetime,
    now: datetime,
    rng: random.Random,
    policy: RetryPolicy | None = None,
) -> datetime | None:
    """When to try again after `attempt` attempts (the last one failed at `now`), or None: give up."""
    if attempt < 1:
        raise InvalidInput("A retry follows at least one attempt.", "attempt")
    if first_attempt_at.tzinfo is None or now.tzinfo is None:
        raise InvalidInput("Retry times must be timezone-aware (UTC).", "now")
    policy = policy or RetryPolicy()
    deadline = first_attempt_at + policy.window
    if now >= deadline:
        return None
    ceiling = policy.ceiling(attempt)
    wait = timedelta(seconds=rng.uniform(MIN_WAIT.total_seconds(), ceiling.total_seconds()))
    return min(now + wait, deadline)
