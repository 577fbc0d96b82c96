"""The webhook retry schedule: exponential backoff with full jitter, each wait capped, none past the window."""

from __future__ import annotations

import itertools
import random
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crowdloop.config import Settings, load_settings
from crowdloop.errors import InvalidInput
from crowdloop.webhook_retry import MIN_WAIT, RetryPolicy, next_attempt

START = datetime(2026, 12, 6, 6, 0, tzinfo=UTC)


def _schedule(seed: int, policy: RetryPolicy | None = None) -> list[datetime]:
    """Every attempt time of a delivery that always fails: the first at START, then as next_attempt says."""
    rng = random.Random(seed)
    times = [START]
    while (later := next_attempt(len(times), START, times[-1], rng, policy)) is not None:
        times.append(later)
        assert len(times) < 10_000
    return times


@pytest.mark.parametrize("seed", range(20))
def test_the_schedule_rises_stays_within_the_ceilings_and_ends_at_the_window(seed: int) -> None:
    policy = RetryPolicy()
    times = _schedule(seed)
    waits = [later - earlier for earlier, later in itertools.pairwise(times)]
    for n, wait in enumerate(waits[:-1], start=1):  # the last wait may be cut short by the window
        assert MIN_WAIT <= wait <= policy.ceiling(n)
    assert times == sorted(set(times))
    assert times[-1] == START + timedelta(hours=24)
    # 1 h waits dominate: about 24 h / 30 min on average, never fewer than 24 h / 1 h
    assert 24 < len(times) < 120


def test_the_ceilings_double_from_ten_seconds_up_to_one_hour() -> None:
    policy = RetryPolicy()
    assert [policy.ceiling(n).total_seconds() for n in range(1, 12)] == [
        10, 20, 40, 80, 160, 320, 640, 1280, 2560, 3600, 3600,
    ]  # fmt: skip
    assert policy.ceiling(10_000) == timedelta(hours=1)


def test_the_same_seed_gives_the_same_schedule_and_jitter_spreads_deliveries() -> None:
    assert _schedule(7) == _schedule(7)
    seconds = {next_attempt(5, START, START, random.Random(seed)) for seed in range(50)}
    assert len(seconds) == 50  # fifty failed deliveries do not all come back at once
    assert all(START + MIN_WAIT <= at <= START + timedelta(seconds=160) for at in seconds if at is not None)


@settings(max_examples=200, deadline=None)
@given(
    attempt=st.integers(min_value=1, max_value=500),
    elapsed=st.integers(min_value=0, max_value=30 * 3600),
    seed=st.integers(min_value=0, max_value=2**32),
    hours=st.floats(min_value=0.01, max_value=72),
)
def test_any_retry_is_after_now_within_its_ceiling_and_never_after_the_window(
    attempt: int, elapsed: int, seed: int, hours: float
) -> None:
    policy = RetryPolicy(window=timedelta(hours=hours))
    now = START + timedelta(seconds=elapsed)
    deadline = START + policy.window
    at = next_attempt(attempt, START, now, random.Random(seed), policy)
    if now >= deadline:
        assert at is None
    else:
        assert at is not None
        assert now < at <= deadline
        assert at - now <= policy.ceiling(attempt)
        assert at == deadline or at - now >= MIN_WAIT


def test_a_short_window_from_the_settings_gives_up_sooner() -> None:
    policy = RetryPolicy.from_settings(Settings(webhook_retry_hours=0.5))
    assert policy.window == timedelta(minutes=30)
    times = _schedule(3, policy)
    assert times[-1] == START + timedelta(minutes=30)
    assert next_attempt(len(times), START, times[-1], random.Random(3), policy) is None


def test_the_window_defaults_to_24_hours_and_must_be_positive() -> None:
    assert Settings().webhook_retry_hours == 24
    assert load_settings({}, {"CROWDLOOP_WEBHOOK_RETRY_HOURS": "2.5"}).webhook_retry_hours == 2.5
    for bad in ("0", "-1", "inf"):
        with pytest.raises(ValueError, match=r"webhook_retry_hours .* positive number of hours"):
            load_settings({}, {"CROWDLOOP_WEBHOOK_RETRY_HOURS": bad})
    with pytest.raises(InvalidInput, match="window must be positive"):
        RetryPolicy(window=timedelta(0))
    with pytest.raises(InvalidInput, match="base wait <= cap"):
        RetryPolicy(base=timedelta(hours=2))


def test_bad_arguments_are_refused() -> None:
    with pytest.raises(InvalidInput, match="at least one attempt"):
        next_attempt(0, START, START, random.Random(1))
    with pytest.raises(InvalidInput, match="timezone-aware"):
        next_attempt(1, START.replace(tzinfo=None), START, random.Random(1))
