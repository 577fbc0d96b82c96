"""The announcements table: the last `serve` started on a store wins (crowdloop/announce.py)."""

from __future__ import annotations

from crowdloop.announce import announce_portal_url, announced_portal_url
from crowdloop.clock import ManualClock
from crowdloop.store import Store


def test_the_last_announcement_wins(store: Store, clock: ManualClock) -> None:
    assert announced_portal_url(store) is None
    announce_portal_url(store, clock, "http://127.0.0.1:9001")
    clock.advance(5)
    announce_portal_url(store, clock, "https://work.example.org")
    announced = announced_portal_url(store)
    assert announced is not None
    assert announced.value == "https://work.example.org" and announced.announced_at == clock.now()
