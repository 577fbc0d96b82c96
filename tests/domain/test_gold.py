"""Gold items (crowdloop:gold-rate, gold-min-accuracy, gold-min-items) on SQLite and PostgreSQL: adding and
checking them, mixing them into the queue, pausing a worker below the accuracy (with its event), resuming."""

from __future__ import annotations

import json
from typing import Any

import pytest
import sqlalchemy as sa

from crowdloop import events, gold, loops, quality, queue, reaper
from crowdloop.errors import InvalidInput, NotFound, TaskUnavailable
from crowdloop.flows import FlowDefinition
from crowdloop.i18n import Language
from crowdloop.portal.pages import standing_note
from crowdloop.runtime import Services
from crowdloop.store.tables import events as event_rows
from crowdloop.store.tables import outbox
from crowdloop.tags import Tag
from tests.domain.loopsetup import CALLER, make_flow, make_worker, start

RESPONSES = ["alpha", "bravo", "charlie"]


def item_input(prompt: str = "Which is best?") -> dict[str, Any]:
    return {"taskObject": {"prompt": prompt, "responses": RESPONSES}}


def gold_line(name: str | None, best: int = 0, prompt: str = "Which is best?") -> str:
    line: dict[str, Any] = {"input": item_input(prompt), "answer": {"best": best}}
    if name is not None:
        line["id"] = name
    return json.dumps(line)


def ranking(best: int) -> dict[str, str]:
    """A seed-style answer ranking response `best` first, the others after it in input order."""
    ranks = {best: 1}
    for other in range(len(RESPONSES)):
        ranks.setdefault(other, len(ranks) + 1)
    return {f"response_{i + 1}_ranking": str(ranks[i]) for i in range(len(RESPONSES))}


def gold_flow(svc: Services, **settings: str) -> FlowDefinition:
    tags = [Tag(f"crowdloop:{key.replace('_', '-')}", value) for key, value in settings.items()]
    return make_flow(svc, task_count=40, time_limit=60, tags=tags)


def test_lines_are_checked_before_anything_is_stored(services: Services) -> None:
    flow = gold_flow(services)
    bad = [
        gold_line("a"),
        "not json",
        json.dumps({"input": item_input(), "answer": {"best": 3}}),
        json.dumps({"input": {"text": "no responses"}, "answer": {"ranking": [0, 1]}}),
        json.dumps({"input": item_input(), "answer": {"label": ""}}),
        json.dumps({"input": item_input(), "answer": {"best": 0}, "extra": 1}),
        gold_line("a"),
    ]
    with pytest.raises(InvalidInput) as raised:
        gold.add_items(services, CALLER, flow.name, bad)
    message = raised.value.message
    for expected in ("line 2: not a JSON object", "line 3:", "0 to 2", "line 4:", "line 5:", "line 6:", "line 7:"):
        assert expected in message
    assert "line 1:" not in message and "line 7: id 'a' is also on line 1" in message
    assert gold.list_items(services, CALLER, flow.name) == []
    names = gold.add_items(services, CALLER, flow.name, [gold_line("a"), gold_line(None), "", gold_line(None)])
    assert names == ["a", "gold-2", "gold-3"]
    with pytest.raises(InvalidInput, match="line 1: id 'a' exists already"):
        gold.add_items(services, CALLER, flow.name, [gold_line("a")])
    with pytest.raises(NotFound):
        gold.add_items(services, CALLER, "no-such-flow", [gold_line("b")])


def test_gold_is_mixed_in_at_the_rate_and_never_reaches_loops(services: Services) -> None:
    flow = gold_flow(services, gold_rate="0.5")
    gold.add_items(services, CALLER, flow.name, [gold_line(f"g{i}", prompt=f"gold {i}") for i in range(40)])
    name = start(services, flow, content=item_input("real"))
    worker = make_worker(services)
    gold_items, real = [], 0
    for _ in range(40):
        lease = queue.claim(services, worker.id, flow.id)
        assert lease is not None
        if lease.gold:
            assert lease.human_loop_name == "" and lease.loop_id == 0
            gold_items.append(lease.gold_item_id)
            queue.submit(services, lease.assignment_id, worker.id, ranking(0), 2.0, gold_item=True)
        else:
            real += 1
            queue.release(services, lease.assignment_id, worker.id)  # comes back: one loop is enough
    assert 8 <= len(gold_items) <= 32
    assert len(set(gold_items)) == len(gold_items)  # never the same gold item twice
    assert real == 40 - len(gold_items)
    loop = loops.describe_human_loop(services, CALLER, name)
    assert loop.status.value == "InProgress"
    listed, _ = loops.list_human_loops(services, CALLER, flow.arn)
    assert [item.name for item in listed] == [name]
    accuracy = [item for item in gold.list_items(services, CALLER, flow.name) if item.answered]
    assert len(accuracy) == len(gold_items) and all(item.mean_score == 1.0 for item in accuracy)


def test_a_worker_below_the_accuracy_is_paused_with_an_event(services: Services) -> None:
    flow = gold_flow(services, gold_rate="0.5", gold_min_accuracy="0.6", gold_min_items="3")
    gold.add_items(services, CALLER, flow.name, [gold_line(f"g{i}", best=1) for i in range(10)])
    start(services, flow, content=item_input("real"))
    worker = make_worker(services)
    answered = 0
    for _ in range(200):
        lease = queue.claim(services, worker.id, flow.id)
        assert lease is not None
        if not lease.gold:
            queue.release(services, lease.assignment_id, worker.id)
            continue
        queue.submit(services, lease.assignment_id, worker.id, ranking(2), 2.0, gold_item=True)  # wrong
        answered += 1
        if answered == 3:
            break
    assert answered == 3
    assert queue.claim(services, worker.id, flow.id) is None  # paused: nothing more
    standing = gold.standings(services, worker.id, [flow.id])[flow.id]
    assert standing.paused and standing.gold_answered == 3 and standing.accuracy == 0.0
    assert "paused for this job" in (standing_note(Language("en"), standing) or "")
    with services.store.read() as conn:
        bodies = [
            json.loads(body)
            for body in conn.execute(sa.select(outbox.c.payload).where(outbox.c.kind == "events")).scalars()
        ] + [json.loads(b) for b in conn.execute(sa.select(event_rows.c.body)).scalars()]
    paused = [e for e in bodies if e["detail-type"] == events.WORKER_PAUSED]
    assert len(paused) == 1
    assert paused[0]["detail"] == {
        "flowDefinitionArn": flow.arn,
        "workerId": worker.worker_id,
        "goldAnswered": 3,
        "goldAccuracy": 0.0,
        "minAccuracy": 0.6,
        "reason": "gold-accuracy",
    }
    assert not any(e["detail-type"] == events.ANSWER_SUBMITTED for e in bodies)  # gold answers have no event
    gold.resume(services, CALLER, flow.name, worker.email)
    assert gold.standings(services, worker.id, [flow.id])[flow.id].gold_answered == 0
    assert queue.claim(services, worker.id, flow.id) is not None


def test_a_paused_workers_held_loop_lease_is_withdrawn(services: Services) -> None:
    flow = gold_flow(services, gold_rate="0.5", gold_min_accuracy="1", gold_min_items="1")
    gold.add_items(services, CALLER, flow.name, [gold_line("g", best=0)])
    start(services, flow, content=item_input("real"))
    worker = make_worker(services)
    gold.add_items(services, CALLER, flow.name, [gold_line(f"more-{i}") for i in range(20)])
    loop_lease = queue.claim(services, worker.id, flow.id)
    while loop_lease is not None and loop_lease.gold:  # a real task first: gold items given back
        queue.release(services, loop_lease.assignment_id, worker.id, gold_item=True)
        loop_lease = queue.claim(services, worker.id, flow.id)
    assert loop_lease is not None
    # a gold lease held at the same time (the claim never hands out both; a race between two tabs could)
    hold: Any = None
    while not isinstance(hold, gold.Hold):
        with services.store.write() as conn:
            config = quality.current_config(services, conn, flow.id)
            hold = gold.claim_in(services, conn, worker.id, flow.id, services.clock.now(), config)
            assert hold is None or isinstance(hold, gold.Hold)
    queue.submit(services, hold.assignment_id, worker.id, ranking(1), 1.0, gold_item=True)
    with pytest.raises(TaskUnavailable):
        queue.get_lease(services, loop_lease.assignment_id, worker.id)
    assert queue.claim(services, worker.id, flow.id) is None
    other = make_worker(services)
    assert queue.claim(services, other.id, flow.id) is not None


def test_gold_leases_expire_and_are_not_offered_again(services: Services) -> None:
    flow = gold_flow(services, qualification="2")
    gold.add_items(services, CALLER, flow.name, [gold_line("g1"), gold_line("g2"), gold_line("g3")])
    worker = make_worker(services)
    first = queue.claim(services, worker.id, flow.id)
    assert first is not None and first.gold
    services.clock.advance(61)
    report = reaper.reap(services)
    assert report.expired_gold_leases == 1
    second = queue.claim(services, worker.id, flow.id)
    assert second is not None and second.gold and second.gold_item_id != first.gold_item_id


def test_qualification_passes_or_fails_on_the_mean_score(services: Services) -> None:
    flow = gold_flow(services, qualification="2", gold_min_accuracy="0.75")
    gold.add_items(services, CALLER, flow.name, [gold_line(f"q{i}", best=0) for i in range(3)])
    start(services, flow, content=item_input("real"))
    good, bad = make_worker(services), make_worker(services)
    for worker, answers in ((good, [0, 0]), (bad, [0, 2])):
        assert gold.standings(services, worker.id, [flow.id])[flow.id].questions_left == 2
        for best in answers:
            lease = queue.claim(services, worker.id, flow.id)
            assert lease is not None and lease.gold
            queue.submit(services, lease.assignment_id, worker.id, ranking(best), 1.0, gold_item=True)
    passed = queue.claim(services, good.id, flow.id)
    assert passed is not None and not passed.gold  # rate 0: only real tasks after the qualification
    assert gold.standings(services, good.id, [flow.id])[flow.id].qualified
    assert queue.claim(services, bad.id, flow.id) is None
    failed = gold.standings(services, bad.id, [flow.id])[flow.id]
    assert failed.failed
    assert standing_note(Language("en"), failed) == "You did not pass the qualification for this job (1 of 2)."
    assert standing_note(Language("ko"), failed) == "이 작업의 자격 심사를 통과하지 못했습니다(2개 중 1점)."


def _claim_until(services: Services, worker_pk: int, flow_id: int, want_gold: bool) -> queue.Lease:
    """Claim until the lease is of the kind wanted, giving back (for good) the others."""
    for _ in range(200):
        lease = queue.claim(services, worker_pk, flow_id)
        if lease is None and want_gold:  # no loop left for them, and the draw gave no gold item this time
            continue
        assert lease is not None
        if lease.gold == want_gold:
            return lease
        queue.release(services, lease.assignment_id, worker_pk, gold_item=lease.gold)
    raise AssertionError("never offered")


def test_the_adaptive_count_leaves_out_a_paused_workers_answer(services: Services) -> None:
    """Two identical rankings would complete an adaptive loop (target 0.8), but one of them is by a worker
    whom gold has paused since: the export leaves it out, so the loop goes to one more worker instead."""
    tags = {"gold_rate": "0.5", "gold_min_accuracy": "0.6", "gold_min_items": "1"}
    tags |= {"task_count_min": "2", "agreement_target": "0.8"}
    flow = make_flow(
        services,
        task_count=3,
        time_limit=60,
        tags=[Tag(f"crowdloop:{k.replace('_', '-')}", v) for k, v in tags.items()],
    )
    gold.add_items(services, CALLER, flow.name, [gold_line(f"g{i}", best=1, prompt=f"g{i}") for i in range(60)])
    name = start(services, flow, content=item_input("real"))
    spammer, honest = make_worker(services, "spammer@example.org"), make_worker(services, "honest@example.org")
    lease = _claim_until(services, spammer.id, flow.id, want_gold=False)
    queue.submit(services, lease.assignment_id, spammer.id, ranking(0), 3.0)
    check = _claim_until(services, spammer.id, flow.id, want_gold=True)
    queue.submit(services, check.assignment_id, spammer.id, ranking(2), 3.0, gold_item=True)  # wrong: paused
    assert gold.standings(services, spammer.id, [flow.id])[flow.id].paused
    lease = _claim_until(services, honest.id, flow.id, want_gold=False)
    queue.submit(services, lease.assignment_id, honest.id, ranking(0), 3.0)  # the same ranking as the spammer's
    described = loops.describe_human_loop(services, CALLER, name)
    assert described.status.value == "InProgress"  # not Completed on the paused worker's agreement
    third = make_worker(services, "third@example.org")
    lease = _claim_until(services, third.id, flow.id, want_gold=False)
    queue.submit(services, lease.assignment_id, third.id, ranking(0), 3.0)
    assert loops.describe_human_loop(services, CALLER, name).status.value == "Completed"  # two unpaused agree
