"""LeaseHandoff: a lease read or claimed by one request, used once by the next (no store needed)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from crowdloop.portal.handoff import HANDOFF_SECONDS, LeaseHandoff
from crowdloop.queue import Lease

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def _lease(assignment_id: int = 1, worker_pk: int = 7, expires_in: float = 600) -> Lease:
    return Lease(
        assignment_id=assignment_id,
        worker_pk=worker_pk,
        loop_id=1,
        human_loop_name="l",
        human_loop_arn="arn",
        flow_definition_id=1,
        input_content="{}",
        template_sha256="0" * 64,
        accepted_at=NOW,
        expires_at=NOW + timedelta(seconds=expires_in),
    )


def test_used_once_by_the_same_worker() -> None:
    handoff = LeaseHandoff()
    lease = _lease()
    handoff.put(lease, NOW)
    assert handoff.take(1, 8, NOW) is None  # another worker gets nothing...
    assert handoff.take(1, 7, NOW + timedelta(seconds=1)) is lease  # ...and does not use it up
    assert handoff.take(1, 7, NOW) is None
    assert handoff.take(2, 7, NOW) is None


def test_stale_expired_or_discarded_entries_are_not_used() -> None:
    handoff = LeaseHandoff()
    handoff.put(_lease(1), NOW)
    assert handoff.take(1, 7, NOW + timedelta(seconds=HANDOFF_SECONDS + 1)) is None
    handoff.put(_lease(2, expires_in=3), NOW)
    assert handoff.take(2, 7, NOW + timedelta(seconds=3)) is None
    handoff.put(_lease(3), NOW)
    handoff.discard(3)
    assert handoff.take(3, 7, NOW) is None
    handoff.put(_lease(4), NOW)
    assert handoff.take(4, 7, NOW - timedelta(seconds=1)) is None  # a clock that went back
