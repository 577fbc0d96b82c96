"""The export undoes crowdloop:shuffle-responses: preferences refer to the original responses, position bias
is measured by the position each worker saw (from the store and from the output.json files alike)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from crowdloop import queue
from crowdloop.clock import ManualClock
from crowdloop.export.api import run
from crowdloop.export.mapping import Mapper
from crowdloop.export.model import ProblemLog, RawAnswer, RawLoop
from crowdloop.runtime import Services
from crowdloop.tags import Tag
from tests.domain.loopsetup import make_flow, make_worker, start
from tests.export.helpers import ranks

RESPONSES = ["best", "middle", "worst"]  # every worker ranks them so, wherever they were shown
LOOPS, WORKERS = 12, 3


def _fill(svc: Services) -> list[tuple[int, ...]]:
    """A shuffled flow whose workers all rank original response 0 first, 1 second, 2 third, answering in
    the positions they were shown (the seed template's response_{i}_ranking). Returns every answer's order."""
    assert isinstance(svc.clock, ManualClock)
    flow = make_flow(svc, "fd-shuffled", task_count=WORKERS, tags=[Tag("crowdloop:shuffle-responses", "true")])
    for i in range(LOOPS):
        start(svc, flow, f"item-{i:02d}", {"taskObject": {"prompt": f"Q{i}", "responses": RESPONSES}})
        svc.clock.advance(1)
    orders = []
    for worker in [make_worker(svc) for _ in range(WORKERS)]:
        for _ in range(LOOPS):
            lease = queue.claim(svc, worker.id, flow.id)
            assert lease is not None and lease.response_order is not None
            shown = lease.task_input["taskObject"]["responses"]
            # displayed position k shows original response order[k]: its rank is order[k] + 1
            answer = ranks(*[str(RESPONSES.index(text) + 1) for text in shown])
            assert answer == ranks(*[str(i + 1) for i in lease.response_order])
            queue.submit(svc, lease.assignment_id, worker.id, answer, 1.0)
            orders.append(lease.response_order)
    assert len(set(orders)) > 1
    return orders


def _first_shown_preferred(orders: list[tuple[int, ...]]) -> float:
    """What the report must say: the response shown first is original order[0], which beats the other two
    2 - order[0] times (0: both, 1: one, 2: none)."""
    return sum(2 - order[0] for order in orders) / (2 * len(orders))


@pytest.mark.parametrize("source", ["store", "folder"])
def test_export_and_report_undo_the_shuffling(services: Services, source: str) -> None:
    orders = _fill(services)
    spec = "fd-shuffled" if source == "store" else str(services.settings.output_path)
    rows = list(run(spec, store=services.store, policy="all").rows())
    assert len(rows) == LOOPS * WORKERS * 3
    chosen_over = {(row["chosen"], row["rejected"]) for row in rows}
    assert chosen_over == {("best", "middle"), ("best", "worst"), ("middle", "worst")}  # always the original 0 first

    card = run(spec, store=services.store, dataset="report").analyse()
    agreement = card["agreement"]
    assert agreement["pairwise_agreement_mean"] == 1.0  # they all agree once un-shuffled
    workers = agreement["workers"]
    preferred = sum(w["first_shown_preferred"] * w["first_shown_decided"] for w in workers)
    decided = sum(w["first_shown_decided"] for w in workers)
    assert decided == 2 * len(orders)
    assert preferred / decided == pytest.approx(_first_shown_preferred(orders))
    shown_first_best = sum(1 for order in orders if order[0] == 0)
    by_position = {(d["position"], d["value"]): d["count"] for d in agreement["value_distribution"]}
    assert by_position.get((1, 1.0), 0) == shown_first_best  # rank 1 counted where it was shown
    assert shown_first_best < len(orders)


def test_rankings_row_holds_ranks_in_input_order(services: Services) -> None:
    _fill(services)
    rows = list(run("fd-shuffled", store=services.store, dataset="rankings").rows())
    assert rows and all(row["responses"] == RESPONSES for row in rows)
    assert all(row["ranks"] == [1.0, 2.0, 3.0] for row in rows)


def test_an_order_that_does_not_fit_is_a_problem(tmp_path: Path) -> None:
    problems = ProblemLog()
    loop = RawLoop(
        "x",
        "fd",
        {"taskObject": {"prompt": "Q", "responses": ["a", "b"]}},
        (
            RawAnswer("w1", ranks("1", "2"), [1, 0]),
            RawAnswer("w2", ranks("1", "2"), [0, 0]),
            RawAnswer("w3", ranks("1", "2"), [0, 1, 2]),
        ),
    )
    item = Mapper(problems).map(loop)
    assert item is not None and [j.values for j in item.judgments] == [(2.0, 1.0)]
    assert item.judgments[0].order == (1, 0)
    assert problems.counts["response order does not fit"] == 2
    json.dumps(problems.as_dict())
