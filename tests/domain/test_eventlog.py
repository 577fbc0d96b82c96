"""Events recorded with the changes they report (eventlog.py), fanned out to subscriptions (deliveries.py), and
followed in log order (eventstream.py). Services without outbox writers fan out in the committing thread, so
each event is in the log when the domain call returns."""

from __future__ import annotations

import dataclasses
import json
import random
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import orjson
import pytest
import sqlalchemy as sa

from crowdloop import deliveries, eventlog, events, eventstream, loops, outbox, queue, reaper, subscriptions
from crowdloop.clock import ManualClock
from crowdloop.errors import InvalidInput, NotFound
from crowdloop.eventpattern import parse_pattern
from crowdloop.runtime import Services
from crowdloop.store.tables import events as event_rows
from crowdloop.store.tables import outbox as outbox_rows
from tests.domain.loopsetup import CALLER, make_flow, make_worker, start

ALL = '{"version": ["0"]}'
STATUS_CHANGES = '{"detail-type": ["SageMaker A2I HumanLoop Status Change"]}'


@pytest.fixture
def svc(services: Services) -> Services:
    settings = dataclasses.replace(services.settings, webhook_allow_private_targets=True)
    return dataclasses.replace(services, settings=settings)


def _clock(svc: Services) -> ManualClock:
    assert isinstance(svc.clock, ManualClock)
    return svc.clock


def _logged(svc: Services) -> list[dict[str, Any]]:
    with svc.store.read() as conn:
        return [orjson.loads(e.body) for e in eventlog.read_after(conn, 0, 10_000)]


def _of(svc: Services, detail_type: str) -> list[dict[str, Any]]:
    return [e for e in _logged(svc) if e["detail-type"] == detail_type]


def _subscribe(svc: Services, pattern: str = ALL) -> subscriptions.Subscription:
    return subscriptions.create(
        svc,
        kind="webhook",
        target="http://127.0.0.1:9/hook",
        pattern=pattern,
        created_by="test",
        probe=lambda url, timeout: None,  # no receiver: these tests look at the rows, not at sending
    )


def _answer(svc: Services, flow_id: int, worker_pk: int) -> queue.SubmitResult:
    lease = queue.claim(svc, worker_pk, flow_id)
    assert lease is not None
    return queue.submit(svc, lease.assignment_id, worker_pk, {"ok": True}, 3.5)


def test_a_started_loop_is_logged_once(svc: Services) -> None:
    flow = make_flow(svc)
    name = start(svc, flow, "loop-a", {"text": "a"})
    start(svc, flow, "loop-a", {"text": "a"})  # the same call again: the same loop, no second event
    started = _of(svc, events.LOOP_STARTED)
    assert len(started) == 1
    assert started[0]["source"] == svc.settings.events_source
    assert started[0]["detail"]["humanLoopName"] == name
    assert started[0]["detail"]["flowDefinitionArn"] == flow.arn
    assert started[0]["detail"]["humanLoopStatus"] == "InProgress"


def test_answers_and_completion_are_logged_after_the_output_exists(svc: Services) -> None:
    flow = make_flow(svc, task_count=2)
    name = start(svc, flow)
    crew = [make_worker(svc), make_worker(svc)]
    for worker in crew:
        _answer(svc, flow.id, worker.id)
    answers = _of(svc, events.ANSWER_SUBMITTED)
    assert [a["detail"]["workerId"] for a in answers] == [w.worker_id for w in crew]
    assert answers[0]["detail"]["timeSpentInSeconds"] == 3.5
    changes = _of(svc, events.STATUS_CHANGE)
    assert len(changes) == 1
    detail = changes[0]["detail"]
    assert (detail["humanLoopName"], detail["humanLoopStatus"]) == (name, "Completed")
    assert detail["failureCode"] is None and detail["failureReason"] is None
    loop = loops.describe_human_loop(svc, CALLER, name)
    assert detail["humanLoopOutput"]["outputS3Uri"] == loop.output_uri
    assert svc.blobs.get(loop.output_uri) is not None  # whoever gets the event can read the output


def test_stop_and_expiry_are_announced(svc: Services) -> None:
    flow = make_flow(svc, task_count=2, lifetime=60)
    silent, answered, expiring = start(svc, flow), start(svc, flow), start(svc, flow)
    loops.stop_human_loop(svc, CALLER, silent)
    worker = make_worker(svc)
    lease = queue.claim(svc, worker.id, flow.id)
    assert lease is not None
    loop_of_lease = lease.human_loop_name
    queue.submit(svc, lease.assignment_id, worker.id, {"ok": 1}, 1)
    loops.stop_human_loop(svc, CALLER, loop_of_lease)
    _clock(svc).advance(61)
    reaper.reap(svc)
    by_loop = {e["detail"]["humanLoopName"]: e["detail"] for e in _of(svc, events.STATUS_CHANGE)}
    assert by_loop[silent]["humanLoopStatus"] == "Stopped"
    assert by_loop[loop_of_lease]["humanLoopStatus"] == "Stopped"  # with an answer: after its output
    remaining = {answered, expiring} - {loop_of_lease}
    for name in remaining:
        assert by_loop[name]["humanLoopStatus"] == "Failed"
        assert by_loop[name]["failureCode"] == "Expired"
        assert by_loop[name]["failureReason"]
    assert len(by_loop) == 3 + len(remaining) - 1


def test_an_event_of_a_rolled_back_change_is_never_logged(svc: Services) -> None:
    flow = make_flow(svc)
    with pytest.raises(RuntimeError), svc.store.write() as conn:
        eventlog.loop_started(
            conn,
            svc.clock.now(),
            source="crowdloop",
            loop_arn=flow.arn.replace("flow-definition/", "human-loop/x-"),
            flow_arn=flow.arn,
            created_at=svc.clock.now(),
        )
        raise RuntimeError("the change fails after the event was recorded")
    eventlog.after_commit(svc)
    with svc.store.read() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(outbox_rows)).scalar_one() == 0
    assert _logged(svc) == []


def test_an_event_waits_in_the_outbox_until_fanned_out(svc: Services) -> None:
    """The event row is in the outbox from the commit on: a process that dies before the fan-out loses
    nothing (the next writer's pass logs it)."""
    flow = make_flow(svc)
    with svc.store.write() as conn:
        eventlog.loop_started(
            conn,
            svc.clock.now(),
            source="crowdloop",
            loop_arn=flow.arn.replace("flow-definition/", "human-loop/"),
            flow_arn=flow.arn,
            created_at=svc.clock.now(),
        )
    assert _logged(svc) == []  # committed, not yet fanned out (as if the process died here)
    assert outbox.drain(svc, eventlog.FANOUT) == 1
    assert [e["detail-type"] for e in _logged(svc)] == [events.LOOP_STARTED]
    assert outbox.drain(svc, eventlog.FANOUT) == 0


def test_fan_out_makes_deliveries_for_matching_subscriptions_only(svc: Services) -> None:
    everything, changes = _subscribe(svc), _subscribe(svc, STATUS_CHANGES)
    flow = make_flow(svc)
    name = start(svc, flow)
    _answer(svc, flow.id, make_worker(svc).id)
    all_rows = deliveries.listing(svc, everything.id)
    assert sorted(d.detail_type for d in all_rows) == sorted(
        [events.LOOP_STARTED, events.ANSWER_SUBMITTED, events.STATUS_CHANGE]
    )
    [change] = deliveries.listing(svc, changes.id)
    assert change.detail_type == events.STATUS_CHANGE and change.state == "pending"
    delivery, body = deliveries.detail(svc, change.id)
    assert orjson.loads(body)["detail"]["humanLoopName"] == name
    assert delivery.event_id == orjson.loads(body)["id"]
    assert deliveries.summary(svc, everything.id) == {"pending": 3, "failed": 0}


@dataclass(frozen=True)
class Result:
    ok: bool
    status: int | None = None
    error: str = ""
    retry_after_seconds: float | None = None


def test_failures_are_retried_with_backoff_then_fail_and_can_be_redelivered(svc: Services) -> None:
    sub = _subscribe(svc)
    flow = make_flow(svc)
    for _ in range(3):
        start(svc, flow)
    batch = deliveries.claim(svc, sub.id, "lane-1", 10)
    assert len(batch) == 3
    assert deliveries.claim(svc, sub.id, "lane-2", 10) == []  # held by lane-1
    first, *rest = batch
    retry_at = deliveries.settle(
        svc, "lane-1", [(first, Result(False, 500, "HTTP 500: boom"))], held_back=rest, rng=random.Random(1)
    )
    assert retry_at is not None and retry_at > svc.clock.now()
    rows = {d.id: d for d in deliveries.listing(svc, sub.id)}
    assert rows[first.id].attempts == 1 and rows[first.id].last_error == "HTTP 500: boom"
    assert all(rows[c.id].attempts == 0 and rows[c.id].next_attempt_at == retry_at for c in rest)
    assert deliveries.claim(svc, sub.id, "lane-2", 10) == []  # nothing due before the retry time
    _clock(svc).advance((retry_at - svc.clock.now()).total_seconds())
    again = deliveries.claim(svc, sub.id, "lane-2", 10)
    assert {c.id for c in again} == {c.id for c in batch}
    deliveries.settle(svc, "lane-2", [(c, Result(True, 204)) for c in again if c.id != first.id])
    _clock(svc).advance(svc.settings.webhook_retry_hours * 3600)
    deliveries.settle(svc, "lane-2", [(next(c for c in again if c.id == first.id), Result(False, None, "refused"))])
    states = {d.id: d.state for d in deliveries.listing(svc, sub.id)}
    assert states[first.id] == "failed" and sorted(states.values()) == ["delivered", "delivered", "failed"]
    assert deliveries.summary(svc, sub.id) == {"pending": 0, "failed": 1}
    assert [d.id for d in deliveries.listing(svc, sub.id, state="failed")] == [first.id]
    redone = deliveries.redeliver(svc, first.id)
    assert redone.state == "pending" and redone.next_attempt_at == svc.clock.now()
    assert [c.event_id for c in deliveries.claim(svc, sub.id, "lane-3", 10)] == [first.event_id]


def test_retry_after_is_honoured(svc: Services) -> None:
    sub = _subscribe(svc)
    start(svc, make_flow(svc))
    [claimed] = deliveries.claim(svc, sub.id, "lane", 10)
    retry_at = deliveries.settle(svc, "lane", [(claimed, Result(False, 429, "HTTP 429", retry_after_seconds=600))])
    assert retry_at == svc.clock.now() + timedelta(seconds=600)


def test_listing_pages_with_a_keyset(svc: Services) -> None:
    sub = _subscribe(svc)
    flow = make_flow(svc)
    for _ in range(5):
        start(svc, flow)
    page1 = deliveries.listing(svc, sub.id, limit=2)
    page2 = deliveries.listing(svc, sub.id, limit=2, before_id=page1[-1].id)
    page3 = deliveries.listing(svc, sub.id, limit=2, before_id=page2[-1].id)
    ids = [d.id for d in page1 + page2 + page3]
    assert ids == sorted(ids, reverse=True) and len(set(ids)) == 5
    with pytest.raises(InvalidInput) as refused:
        deliveries.listing(svc, sub.id, state="lost")
    assert refused.value.field == "state"
    with pytest.raises(NotFound):
        deliveries.listing(svc, sub.id + 1000)


def test_subscriptions_refuse_what_they_cannot_use(svc: Services) -> None:
    cases: list[tuple[dict[str, Any], str]] = [
        ({"kind": "webhook", "target": "http://127.0.0.1:9/", "pattern": "{"}, ""),
        ({"kind": "webhook", "target": "ftp://127.0.0.1/x", "pattern": ALL}, "target"),
        ({"kind": "carrier-pigeon", "target": "http://127.0.0.1:9/", "pattern": ALL}, "kind"),
        ({"kind": "webhook", "target": "http://127.0.0.1:9/", "pattern": ALL, "secret": "nope"}, "secret"),
        ({"kind": "webhook", "target": "http://127.0.0.1:9/", "pattern": ALL, "description": "x" * 300}, "description"),
    ]
    for arguments, field in cases:
        with pytest.raises(InvalidInput) as refused:
            subscriptions.create(svc, created_by="test", probe=lambda url, timeout: None, **arguments)
        if field:
            assert refused.value.field == field, arguments
    private_off = dataclasses.replace(
        svc, settings=dataclasses.replace(svc.settings, webhook_allow_private_targets=False)
    )
    with pytest.raises(InvalidInput, match="loopback") as private:
        subscriptions.create(private_off, kind="webhook", target="http://127.0.0.1:9/", pattern=ALL, created_by="t")
    assert private.value.field == "target"
    with pytest.raises(InvalidInput, match="cannot be reached") as unreachable:  # nobody listens on port 9
        subscriptions.create(svc, kind="webhook", target="http://127.0.0.1:9/", pattern=ALL, created_by="t")
    assert unreachable.value.field == "target"
    assert subscriptions.list_all(svc) == []


def test_a_subscription_shows_its_secret_once_and_deletes_its_deliveries(svc: Services) -> None:
    sub = _subscribe(svc)
    assert sub.secret is not None and sub.secret.reveal().startswith("whsec_")
    assert "whsec_" not in json.dumps(sub.public(), default=str)
    assert "whsec_" not in repr(sub)
    start(svc, make_flow(svc))
    assert deliveries.summary(svc, sub.id)["pending"] == 1
    subscriptions.delete(svc, sub.id)
    with pytest.raises(NotFound):
        subscriptions.delete(svc, sub.id)
    with pytest.raises(NotFound):
        deliveries.listing(svc, sub.id)


def test_retention_keeps_what_a_pending_delivery_needs(svc: Services) -> None:
    sub = _subscribe(svc, STATUS_CHANGES)
    flow = make_flow(svc)
    start(svc, flow)  # a Started event: no subscription wants it
    stopped = start(svc, flow)
    loops.stop_human_loop(svc, CALLER, stopped)  # a Stopped event: pending for the subscription
    _clock(svc).advance(svc.settings.events_retention_days * 86400 + 1)
    with svc.store.write() as conn:
        eventlog.prune(conn, svc.clock.now(), svc.settings.events_retention_days)
    remaining = _logged(svc)
    assert [e["detail-type"] for e in remaining] == [events.STATUS_CHANGE]  # both Started ones went
    [pending] = deliveries.claim(svc, sub.id, "lane", 10)
    deliveries.settle(svc, "lane", [(pending, Result(True, 200))])
    _clock(svc).advance(svc.settings.events_retention_days * 86400 + 1)
    with svc.store.write() as conn:
        eventlog.prune(conn, svc.clock.now(), svc.settings.events_retention_days)
    assert _logged(svc) == [] and deliveries.listing(svc, sub.id) == []


def _log_rows(svc: Services, seqs: list[int]) -> None:
    """Log events with chosen seqs (as concurrent fan-outs commit them: out of order, with holes)."""
    with svc.store.write() as conn:
        for seq in seqs:
            body = orjson.dumps({"id": f"e{seq}", "detail-type": "T", "detail": {"n": seq}})
            conn.execute(
                event_rows.insert().values(
                    seq=seq,
                    event_id=f"e{seq}",
                    detail_type="T",
                    time=svc.clock.now(),
                    logged_at=svc.clock.now(),
                    body=body,
                )
            )


def test_a_follower_hands_out_each_event_once_and_waits_for_holes(svc: Services) -> None:
    now = [0.0]
    follower = eventstream.Follower(svc, after=0, gap_wait_seconds=2.0, monotonic=lambda: now[0])
    _log_rows(svc, [1, 2, 4])
    assert [e.seq for e in follower.poll()] == [1, 2, 4]
    assert follower.position == 2  # 3 may still commit
    _log_rows(svc, [3])
    now[0] = 1.0
    assert [e.seq for e in follower.poll()] == [3]  # the late one, once
    assert follower.position == 4
    _log_rows(svc, [6])
    now[0] = 2.0
    assert [e.seq for e in follower.poll()] == [6]  # the hole at 5 is noticed now
    now[0] = 3.5
    assert follower.poll() == [] and follower.position == 4  # the hole at 5 is being waited for
    now[0] = 6.0
    assert follower.poll() == [] and follower.position == 6  # given up: a rolled-back fan-out
    resumed = eventstream.Follower(svc, after=2)
    assert [e.seq for e in resumed.poll()] == [3, 4, 6]


def test_a_follower_filters_by_pattern_and_starts_at_the_newest(svc: Services) -> None:
    _log_rows(svc, [1, 2])
    follower = eventstream.Follower(svc, pattern=parse_pattern('{"detail": {"n": [{"numeric": [">", 3]}]}}'))
    assert follower.position == 2
    _log_rows(svc, [3, 4, 5])
    assert [e.seq for e in follower.poll()] == [4, 5]
    assert follower.position == 5
