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


def test_page_workers_by_email(services: Services) -> None:
    for email in ("c@example.org", "a@example.org", "b@example.org", "d@example.org", "e@example.org"):
        workers.add_worker(services, email, groups=["g2", "g1"] if email == "b@example.org" else [])
    first, after = workers.page_workers(services, limit=2)
    assert [w.email for w in first] == ["a@example.org", "b@example.org"] and after == "b@example.org"
    assert first[1].groups == ("g1", "g2") and first[1] == workers.get_worker(services, "b@example.org")
    second, after = workers.page_workers(services, after=after, limit=2)
    assert [w.email for w in second] == ["c@example.org", "d@example.org"] and after == "d@example.org"
    last, after = workers.page_workers(services, after=after, limit=2)
    assert [w.email for w in last] == ["e@example.org"] and after is None
    assert workers.page_workers(services, after="e@example.org") == ([], None)


def test_set_groups_makes_them_exactly_those(services: Services) -> None:
    workers.add_worker(services, "w@example.org", groups=["a", "b"])
    assert workers.set_groups(services, "w@example.org", ["b", "c", "c"]).groups == ("b", "c")
    assert workers.set_groups(services, "w@example.org", []).groups == ()
    with pytest.raises(InvalidInput):
        workers.set_groups(services, "w@example.org", ["x" * 129])
    with pytest.raises(NotFound):
        workers.set_groups(services, "nobody@example.org", ["a"])
