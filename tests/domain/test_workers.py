from __future__ import annotations

import pytest

from crowdloop import workers
from crowdloop.errors import AlreadyExists, InvalidInput, NotFound
from crowdloop.model import WorkerStatus
from crowdloop.runtime import Services


def test_add_worker_with_groups_and_lookup(services: Services) -> None:
    added = workers.add_worker(services, " Ana@Example.org ", groups=["raters", "raters", "experts"])
    assert added.email == "ana@example.org"
    assert added.groups == ("experts", "raters")
    assert len(added.worker_id) == 16 and int(added.worker_id, 16) >= 0
    assert workers.get_worker(services, "ANA@example.org") == added


def test_duplicate_email_is_rejected(services: Services) -> None:
    workers.add_worker(services, "bo@example.org")
    with pytest.raises(AlreadyExists, match=r"bo@example\.org"):
        workers.add_worker(services, "BO@example.org")


def test_bad_email_and_unknown_worker(services: Services) -> None:
    with pytest.raises(InvalidInput):
        workers.add_worker(services, "not-an-email")
    with pytest.raises(NotFound):
        workers.get_worker(services, "nobody@example.org")


def test_group_membership_and_status(services: Services) -> None:
    workers.add_worker(services, "a@example.org", groups=["g1"])
    workers.add_worker(services, "b@example.org", groups=["g2"])
    assert [w.email for w in workers.list_workers(services, "g1")] == ["a@example.org"]
    workers.add_to_groups(services, "b@example.org", ["g1"])
    assert [w.email for w in workers.list_workers(services, "g1")] == ["a@example.org", "b@example.org"]
    assert workers.remove_from_groups(services, "a@example.org", ["g1"]).groups == ()
    assert workers.set_status(services, "b@example.org", WorkerStatus.DISABLED).status == WorkerStatus.DISABLED
