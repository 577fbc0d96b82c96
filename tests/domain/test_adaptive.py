"""The adaptive worker count (crowdloop:task-count-min, crowdloop:agreement-target), on SQLite and PostgreSQL:
a loop goes to task-count-min workers first, then to one more at a time while they disagree, up to TaskCount."""

from __future__ import annotations

import json
from typing import Any

import sqlalchemy as sa

from crowdloop import flows, loops, quality, queue, reaper, stats, tags
from crowdloop.clock import ManualClock
from crowdloop.model import HumanLoopStatus
from crowdloop.runtime import Services
from crowdloop.store.tables import human_loops
from crowdloop.tags import Tag
from tests.domain.loopsetup import CALLER, make_flow, make_worker, start
from tests.domain.plans import plan, statements

ITEM = {"taskObject": {"prompt": "Which answer is best?", "responses": ["a", "b", "c"]}}
BEST_FIRST = {"response_1_ranking": "1", "response_2_ranking": "2", "response_3_ranking": "3"}
BEST_LAST = {"response_1_ranking": "3", "response_2_ranking": "2", "response_3_ranking": "1"}


def adaptive_flow(svc: Services, task_count: int = 4, minimum: int = 2, target: str = "0.8") -> flows.FlowDefinition:
    tags = [Tag("crowdloop:task-count-min", str(minimum)), Tag("crowdloop:agreement-target", target)]
    return make_flow(svc, task_count=task_count, time_limit=60, tags=tags)


def loop_row(svc: Services, name: str) -> Any:
    h = human_loops
    with svc.store.read() as conn:
        return conn.execute(
            sa.select(h.c.status, h.c.open_slots, h.c.answers_count, h.c.task_count).where(h.c.name == name)
        ).one()


def answer(svc: Services, flow: flows.FlowDefinition, content: dict[str, Any]) -> queue.SubmitResult:
    """A new worker claims the next task and submits `content`."""
    worker = make_worker(svc)
    lease = queue.claim(svc, worker.id, flow.id)
    assert lease is not None, "no task left to claim"
    return queue.submit(svc, lease.assignment_id, worker.id, content, 3.0)


def test_agreeing_first_workers_complete_the_loop_at_the_minimum(services: Services) -> None:
    flow = adaptive_flow(services)
    name = start(services, flow, content=ITEM)
    assert loop_row(services, name).open_slots == 2  # task-count-min, not TaskCount
    assert answer(services, flow, BEST_FIRST).status is HumanLoopStatus.IN_PROGRESS
    result = answer(services, flow, BEST_FIRST)
    assert (result.status, result.answers_count, result.task_count) == (HumanLoopStatus.COMPLETED, 2, 4)
    assert queue.claim(services, make_worker(services).id, flow.id) is None
    loop = loops.describe_human_loop(services, CALLER, name)
    assert loop.status is HumanLoopStatus.COMPLETED
    document = json.loads(services.blobs.get(loop.output_uri))
    assert [a["answerContent"] for a in document["humanAnswers"]] == [BEST_FIRST, BEST_FIRST]


def test_disagreeing_workers_get_one_more_worker_at_a_time_up_to_task_count(services: Services) -> None:
    flow = adaptive_flow(services)
    name = start(services, flow, content=ITEM)
    answer(services, flow, BEST_FIRST)
    answer(services, flow, BEST_LAST)
    row = loop_row(services, name)
    assert (row.status, row.open_slots, row.answers_count) == ("InProgress", 1, 2)
    third = make_worker(services)
    lease = queue.claim(services, third.id, flow.id)
    assert lease is not None
    assert queue.claim(services, make_worker(services).id, flow.id) is None  # one more, not two
    queue.submit(services, lease.assignment_id, third.id, BEST_FIRST, 2.0)  # agreement 1/3 < 0.8
    assert (loop_row(services, name).open_slots, loop_row(services, name).answers_count) == (1, 3)
    result = answer(services, flow, BEST_LAST)  # the maximum: completes whatever the agreement
    assert (result.status, result.answers_count) == (HumanLoopStatus.COMPLETED, 4)
    assert queue.claim(services, make_worker(services).id, flow.id) is None
    assert loop_row(services, name).open_slots == 0


def test_agreement_reached_after_more_workers_completes_early(services: Services) -> None:
    flow = adaptive_flow(services, task_count=5, minimum=2, target="0.6")
    name = start(services, flow, content={"text": "a photo"})
    good, bad = {"q": {"label": "Good"}}, {"q": {"label": "Bad"}}
    answer(services, flow, good)
    answer(services, flow, bad)  # majority share 0.5
    result = answer(services, flow, good)  # 2 of 3: 0.67 >= 0.6
    assert (result.status, result.answers_count) == (HumanLoopStatus.COMPLETED, 3)
    assert loop_row(services, name).answers_count == 3


def test_the_decision_waits_for_every_worker_asked(services: Services) -> None:
    flow = adaptive_flow(services)
    name = start(services, flow, content=ITEM)
    first, second = make_worker(services), make_worker(services)
    lease1, lease2 = queue.claim(services, first.id, flow.id), queue.claim(services, second.id, flow.id)
    assert lease1 is not None and lease2 is not None
    queue.submit(services, lease1.assignment_id, first.id, BEST_FIRST, 1.0)
    row = loop_row(services, name)  # the second worker still works on it: no decision, no new slot
    assert (row.status, row.open_slots) == ("InProgress", 0)
    queue.submit(services, lease2.assignment_id, second.id, BEST_LAST, 1.0)
    assert loop_row(services, name).open_slots == 1


def test_release_decline_and_expiry_give_the_slot_back(services: Services) -> None:
    clock = services.clock
    assert isinstance(clock, ManualClock)
    flow = adaptive_flow(services)
    name = start(services, flow, content=ITEM)
    w1, w2, w3 = make_worker(services), make_worker(services), make_worker(services)
    lease = queue.claim(services, w1.id, flow.id)
    assert lease is not None
    queue.release(services, lease.assignment_id, w1.id)
    lease = queue.claim(services, w2.id, flow.id)
    assert lease is not None
    queue.decline(services, lease.assignment_id, w2.id)
    assert loop_row(services, name).open_slots == 2
    held = [queue.claim(services, w.id, flow.id) for w in (w1, w3)]
    assert all(held) and loop_row(services, name).open_slots == 0
    clock.advance(61)
    assert reaper.reap(services).expired_leases == 2
    assert loop_row(services, name).open_slots == 2  # the two slots of the first workers, no more
    answer(services, flow, BEST_FIRST)
    assert answer(services, flow, BEST_FIRST).status is HumanLoopStatus.COMPLETED
    assert loop_row(services, name).answers_count == 2


def test_a_flow_without_the_keys_needs_task_count_answers_as_before(services: Services) -> None:
    flow = make_flow(services, task_count=3)
    name = start(services, flow, content=ITEM)
    assert loop_row(services, name).open_slots == 3
    assert answer(services, flow, BEST_FIRST).status is HumanLoopStatus.IN_PROGRESS
    assert answer(services, flow, BEST_FIRST).status is HumanLoopStatus.IN_PROGRESS
    assert answer(services, flow, BEST_FIRST).status is HumanLoopStatus.COMPLETED


def test_a_minimum_without_a_target_completes_at_the_minimum(services: Services) -> None:
    flow = make_flow(services, task_count=3, tags=[Tag("crowdloop:task-count-min", "1")])
    name = start(services, flow, content=ITEM)
    result = answer(services, flow, BEST_FIRST)
    assert (result.status, result.answers_count) == (HumanLoopStatus.COMPLETED, 1)
    assert loop_row(services, name).task_count == 3


def test_answers_whose_agreement_cannot_be_read_go_to_task_count(services: Services) -> None:
    flow = adaptive_flow(services, task_count=3)
    name = start(services, flow, content={"something": "else"})
    answer(services, flow, {"free": "text"})
    answer(services, flow, {"free": "text"})
    assert loop_row(services, name).open_slots == 1
    assert answer(services, flow, {"free": "text"}).status is HumanLoopStatus.COMPLETED


def test_progress_counts_what_a_loop_completed_early_got(services: Services) -> None:
    flow = adaptive_flow(services)  # TaskCount 4, two workers first
    start(services, flow, content=ITEM)
    start(services, flow, content=ITEM)
    assert stats.progress(services, CALLER, flow.name).answers_needed == 8  # at most TaskCount each
    answer(services, flow, BEST_FIRST)
    answer(services, flow, BEST_FIRST)  # the first loop agrees: done with 2 answers
    progress = stats.progress(services, CALLER, flow.name)
    assert (progress.answers_received, progress.answers_needed) == (2, 2 + 4)
    answer(services, flow, BEST_FIRST)
    answer(services, flow, BEST_FIRST)
    progress = stats.progress(services, CALLER, flow.name)
    assert progress.answers_received == progress.answers_needed == 4  # 100 %, not 4 of 8
    assert progress.loops["Completed"] == 2


def test_a_loop_started_adaptively_is_reopened_when_the_keys_go(services: Services) -> None:
    flow = adaptive_flow(services)
    name = start(services, flow, content=ITEM)
    tags.delete_tags(services, CALLER, flow.arn, ["crowdloop:task-count-min", "crowdloop:agreement-target"])
    services.caches[quality.CONFIGS].clear()  # as after its 5 s
    answer(services, flow, BEST_FIRST)
    answer(services, flow, BEST_FIRST)
    row = loop_row(services, name)  # the submit saw a fixed flow: nobody decided
    assert (row.status, row.open_slots, row.answers_count) == ("InProgress", 0, 2)
    assert reaper.reap(services).reopened_loops == 1
    assert loop_row(services, name).open_slots == 2
    assert reaper.reap(services).reopened_loops == 0
    answer(services, flow, BEST_FIRST)
    assert answer(services, flow, BEST_FIRST).status is HumanLoopStatus.COMPLETED


def test_the_sweep_leaves_fixed_and_waiting_loops_alone(services: Services) -> None:
    fixed = make_flow(services, task_count=2)
    adaptive = adaptive_flow(services)
    held = start(services, adaptive, content=ITEM)
    start(services, fixed)
    worker = make_worker(services)
    assert queue.claim(services, worker.id, fixed.id) is not None
    answer(services, fixed, {"a": 1})
    answer(services, adaptive, BEST_FIRST)
    assert queue.claim(services, make_worker(services).id, adaptive.id) is not None
    assert loop_row(services, held).open_slots == 0
    assert reaper.reap(services).reopened_loops == 0


def test_agreement_is_measured_on_the_original_responses_when_they_are_shuffled(services: Services) -> None:
    """crowdloop:shuffle-responses with the adaptive count: two workers who both rank the original response
    "a" best agree, whatever positions they saw it at (their answers are put back in input order first)."""
    flow = adaptive_flow(services, task_count=4, minimum=2, target="0.99")
    tags.add_tags(services, CALLER, flow.arn, [Tag("crowdloop:shuffle-responses", "true")])
    services.caches[quality.CONFIGS].clear()
    for attempt in range(20):  # until the two workers see different orders (a 5-in-6 chance each time)
        name = start(services, flow, content=ITEM)
        leases = []
        for _ in range(2):
            worker = make_worker(services)
            lease = queue.claim(services, worker.id, flow.id)
            assert lease is not None and lease.response_order is not None
            leases.append((worker, lease))
        orders = [lease.response_order for _, lease in leases]
        results = []
        for worker, lease in leases:  # each ranks "a" (original index 0) first, as displayed to them
            assert lease.response_order is not None
            content = {f"response_{k + 1}_ranking": str(lease.response_order[k] + 1) for k in range(3)}
            results.append(queue.submit(services, lease.assignment_id, worker.id, content, 2.0))
        if orders[0] != orders[1]:
            assert results[-1].status is HumanLoopStatus.COMPLETED, (attempt, orders)
            assert loop_row(services, name).answers_count == 2
            return
    raise AssertionError("twenty pairs of claims all saw the same order")


def test_the_stalled_loop_check_reads_only_loops_without_an_open_slot(services: Services) -> None:
    """The sweep's check reads ix_human_loops_no_open_slot (loops in progress whose slots are all taken), not
    every loop in progress: at millions of loops in progress the scan took 1.7 s of each sweep."""
    adaptive = adaptive_flow(services)
    fixed = make_flow(services, task_count=1)
    for _ in range(6):
        start(services, fixed)
        start(services, adaptive, content=ITEM)
    assert queue.claim(services, make_worker(services).id, fixed.id) is not None  # one loop without a slot
    with services.store.write() as conn:
        conn.exec_driver_sql("ANALYZE")
    with statements() as seen:
        reaper.reap(services)
    checks = [s for s in seen if "open_slots = 0" in s[0] and s[0].startswith("UPDATE")]
    assert len(checks) == 1, [s[0] for s in seen]
    found = plan(services, *checks[0])
    assert "ix_human_loops_no_open_slot" in found, (checks[0], found)
    assert "SCAN human_loops\n" not in found + "\n" and "Seq Scan on human_loops" not in found, found
