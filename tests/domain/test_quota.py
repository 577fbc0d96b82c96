"""The in-progress quota (max_in_progress_loops) is read from the loop counters, exactly: the loop over the
quota is refused, every way a loop leaves InProgress frees its place, and no start counts the loops."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

import pytest

from crowdloop import loops, queue, reaper
from crowdloop.clock import ManualClock
from crowdloop.errors import QuotaExceeded
from crowdloop.runtime import Caller, Services
from tests.domain.loopsetup import CALLER, make_flow, make_worker, start
from tests.domain.plans import statements

LIMIT = 3


def _quota(services: Services, limit: int = LIMIT) -> Services:
    return dataclasses.replace(services, settings=dataclasses.replace(services.settings, max_in_progress_loops=limit))


def _refused(svc: Services, flow: object, name: str) -> str:
    with pytest.raises(QuotaExceeded) as caught:
        start(svc, flow, name)  # type: ignore[arg-type]
    return caught.value.message


def test_the_loop_over_the_quota_is_refused_and_each_ending_frees_one(services: Services) -> None:
    svc = _quota(services)
    flow = make_flow(svc, task_count=1, lifetime=60)
    other_flow = make_flow(svc, task_count=1)  # the quota is the account's, over its flow definitions
    worker = make_worker(svc)
    start(svc, flow, "a")
    start(svc, other_flow, "b")
    start(svc, flow, "c")
    message = _refused(svc, flow, "d")
    assert message == (
        f"Account {CALLER.account} has reached its quota of {LIMIT} human loops in progress; "
        "wait for some to finish or raise max_in_progress_loops."
    )
    start(svc, flow, "c")  # a retried start of an existing loop is not a new loop

    lease = queue.claim(svc, worker.id, other_flow.id)  # completing one frees one
    assert lease is not None
    queue.submit(svc, lease.assignment_id, worker.id, {"ok": True}, 1)
    start(svc, other_flow, "d")
    _refused(svc, flow, "e")

    loops.stop_human_loop(svc, CALLER, "a")  # stopping one frees one
    start(svc, other_flow, "e")
    _refused(svc, flow, "f")

    assert isinstance(svc.clock, ManualClock)
    svc.clock.advance(61)  # "c" fails when its availability lifetime ends
    assert reaper.reap(svc).failed_loops == 1
    start(svc, other_flow, "f")
    _refused(svc, other_flow, "g")

    other = Caller(account="210987654321", region="us-east-1")
    start(svc, make_flow(svc, caller=other), "elsewhere", caller=other)


def test_near_the_quota_no_start_counts_the_loops(services: Services) -> None:
    svc = _quota(services, limit=1000)
    flow = make_flow(svc)
    for i in range(3):
        start(svc, flow, f"before-{i}")
    with statements() as seen:
        for i in range(3):  # 3 of 1000: the first start of a process reads the count (no cache yet)
            start(svc, flow, f"counted-{i}")
    svc = _quota(services, limit=8)
    with statements() as seen_near:  # 7 and 8 of 8: every start is near the quota and reads the count
        start(svc, flow, "near-1")
        start(svc, flow, "near-2")
    _refused(svc, flow, "over")
    for statement, _ in [*seen, *seen_near]:
        assert "count(" not in statement.lower(), statement


def test_a_deleted_loop_was_ended_so_the_count_stays_exact(services: Services) -> None:
    svc = _quota(services, limit=2)
    flow = make_flow(svc)
    start(svc, flow, "one")
    start(svc, flow, "two")
    _refused(svc, flow, "three")
    loops.stop_human_loop(svc, CALLER, "one")
    loops.delete_human_loop(svc, CALLER, "one")
    start(svc, flow, "three")
    _refused(svc, flow, "four")
    assert isinstance(svc.clock, ManualClock)
    svc.clock.advance(timedelta(hours=2).total_seconds())
    reaper.reap(svc)  # both fail at the end of the default lifetime
    start(svc, flow, "four")
    start(svc, flow, "five")
    _refused(svc, flow, "six")
