"""Order randomisation (`crowdloop:shuffle-responses`, crowdloop.shuffle): claims of a shuffled flow get
their own order of the responses, the lease's task input shows it, output.json records it."""

from __future__ import annotations

import json
from typing import Any

import pytest
import sqlalchemy as sa

from crowdloop import loops, queue, shuffle, tags
from crowdloop.runtime import Services
from crowdloop.store.tables import assignments
from crowdloop.tags import Tag
from tests.domain.loopsetup import CALLER, make_flow, make_worker, start

SHUFFLE = [Tag("crowdloop:shuffle-responses", "true")]


def _input(name: str, count: int = 4) -> dict[str, Any]:
    return {"taskObject": {"prompt": f"prompt of {name}", "responses": [f"{name} r{i}" for i in range(count)]}}


def _stored_orders(svc: Services) -> list[str | None]:
    with svc.store.read() as conn:
        return list(conn.execute(sa.select(assignments.c.response_order).order_by(assignments.c.id)).scalars())


def test_pure_helpers() -> None:
    document = {"taskObject": {"prompt": "p", "responses": ["a", "b", "c"]}, "other": [1]}
    shown = shuffle.apply_order(document, (2, 0, 1))
    assert shown == {"taskObject": {"prompt": "p", "responses": ["c", "a", "b"]}, "other": [1]}
    assert document["taskObject"]["responses"] == ["a", "b", "c"]  # the original is left alone
    assert shuffle.apply_order({"responses": ["x", "y"]}, (1, 0)) == {"responses": ["y", "x"]}
    assert shuffle.apply_order({"text": "no list"}, (1, 0)) == {"text": "no list"}
    assert shuffle.apply_order(document, (0, 1)) is document  # does not fit: unchanged
    assert shuffle.unshuffle(("shown0", "shown1", "shown2"), (2, 0, 1)) == ("shown1", "shown2", "shown0")
    assert shuffle.decode(shuffle.encode((2, 0, 1))) == (2, 0, 1)
    assert shuffle.is_order([1, 0], 2) and not shuffle.is_order([1, 1], 2) and not shuffle.is_order([0], 2)
    assert sorted(shuffle.draw_order(7)) == list(range(7))


def test_claims_of_a_shuffled_flow_get_their_own_orders(services: Services) -> None:
    flow = make_flow(services, task_count=1, tags=SHUFFLE)
    names = [start(services, flow, f"shuffled-{i}", _input(f"s{i}")) for i in range(40)]
    worker = make_worker(services)
    orders = []
    for name in names:
        lease = queue.claim(services, worker.id, flow.id)
        assert lease is not None and lease.human_loop_name == name
        order = lease.response_order
        assert order is not None and sorted(order) == [0, 1, 2, 3]
        original = _input(name.replace("shuffled-", "s"))["taskObject"]["responses"]
        assert lease.task_input["taskObject"]["responses"] == [original[i] for i in order]
        assert lease.task_input["taskObject"]["prompt"] == f"prompt of {name.replace('shuffled-', 's')}"
        again = queue.get_lease(services, lease.assignment_id, worker.id)  # a reload: the same order
        assert again.response_order == order and again.task_input == lease.task_input
        assert queue.claim(services, worker.id, flow.id) == lease  # the held lease comes back as it was
        orders.append(order)
        queue.submit(services, lease.assignment_id, worker.id, {"response_1_ranking": 1}, 1)
    assert len(set(orders)) > 5  # 24 orders possible: 40 equal draws would be chance 24**-39
    assert _stored_orders(services) == [shuffle.encode(o) for o in orders]


def test_flows_without_the_tag_and_inputs_without_responses_are_shown_unchanged(services: Services) -> None:
    plain = make_flow(services, task_count=1)
    shuffled = make_flow(services, task_count=1, tags=SHUFFLE)
    off = make_flow(services, task_count=1, tags=[Tag("crowdloop:shuffle-responses", "false")])
    worker = make_worker(services)
    start(services, plain, "plain", _input("plain"))
    start(services, shuffled, "no-list", {"text": "just a text", "responses": "not a list"})
    start(services, off, "off", _input("off"))
    for flow, expected in ((plain, _input("plain")), (shuffled, None), (off, _input("off"))):
        lease = queue.claim(services, worker.id, flow.id)
        assert lease is not None and lease.response_order is None
        assert lease.task_input == (expected or {"text": "just a text", "responses": "not a list"})
        queue.submit(services, lease.assignment_id, worker.id, {"a": 1}, 1)
    assert _stored_orders(services) == [None, None, None]
    for name in ("plain", "no-list", "off"):
        document = json.loads(services.blobs.get(loops.describe_human_loop(services, CALLER, name).output_uri))
        assert "crowdloopResponseOrder" not in document["humanAnswers"][0]


def test_output_json_records_each_answers_order(services: Services) -> None:
    flow = make_flow(services, task_count=3, tags=SHUFFLE)
    crew = [make_worker(services) for _ in range(3)]
    start(services, flow, "ranked", _input("ranked", 3))
    given = {}
    for number, worker in enumerate(crew):
        lease = queue.claim(services, worker.id, flow.id)
        assert lease is not None and lease.response_order is not None
        answer = {"response_1_ranking": "1", "response_2_ranking": "2", "response_3_ranking": str(number % 3 + 1)}
        queue.submit(services, lease.assignment_id, worker.id, answer, 1)
        given[worker.worker_id] = (answer, list(lease.response_order))
    document = json.loads(services.blobs.get(loops.describe_human_loop(services, CALLER, "ranked").output_uri))
    assert document["inputContent"] == _input("ranked", 3)  # as A2I has it: the original order
    for entry in document["humanAnswers"]:
        answer, order = given[entry["workerId"]]
        assert entry["answerContent"] == answer  # as given, in displayed positions
        assert entry["crowdloopResponseOrder"] == order
        assert list(entry) == sorted(entry)  # in the document's key order


def test_turning_shuffling_on_is_seen_by_later_claims(services: Services, monkeypatch: pytest.MonkeyPatch) -> None:
    from crowdloop import quality

    flow = make_flow(services, task_count=1)
    worker = make_worker(services)
    start(services, flow, "before", _input("before"))
    start(services, flow, "after", _input("after"))
    first = queue.claim(services, worker.id, flow.id)
    assert first is not None and first.response_order is None
    queue.submit(services, first.assignment_id, worker.id, {"a": 1}, 1)
    tags.add_tags(services, CALLER, flow.arn, SHUFFLE)
    services.caches[quality.CONFIGS].clear()  # as if CONFIG_REFRESH_SECONDS had passed
    second = queue.claim(services, worker.id, flow.id)
    assert second is not None and second.response_order is not None
