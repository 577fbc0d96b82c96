"""ListHumanLoops pages are index seeks on SQLite and PostgreSQL, whatever the page's depth: the NextToken's
position is a bound of the range read on ix_human_loops_list (flow_definition_id, created_at, id), with every
filter and both sort orders, so no page reads the loops before its position and nothing is sorted."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from crowdloop import loops
from crowdloop.clock import ManualClock
from crowdloop.runtime import Services
from tests.domain.loopsetup import CALLER, make_flow, start
from tests.domain.plans import plan, statements


def _fill(svc: Services, count: int = 12) -> Any:
    flow = make_flow(svc, "fd-plans")
    make_flow(svc, "fd-beside")  # another flow's loops share the index
    assert isinstance(svc.clock, ManualClock)
    for i in range(count):
        if i % 3 == 0:
            svc.clock.advance(1)
        start(svc, flow, f"plans-{i:03d}")
    with svc.store.write() as conn:
        conn.exec_driver_sql("ANALYZE")
    return flow


@pytest.mark.parametrize("sort_order", ["Descending", "Ascending"])
@pytest.mark.parametrize("window", ["none", "after", "before", "both"])
def test_a_page_deep_in_seeks_to_its_position(services: Services, sort_order: str, window: str) -> None:
    flow = _fill(services)
    t0 = services.clock.now() - timedelta(seconds=10)
    kwargs: dict[str, Any] = {"sort_order": sort_order, "max_results": 2}
    if window in ("after", "both"):
        kwargs["created_after"] = t0 + timedelta(seconds=1)
    if window in ("before", "both"):
        kwargs["created_before"] = t0 + timedelta(seconds=9)
    _, token = loops.list_human_loops(services, CALLER, flow.arn, **kwargs)
    assert token is not None
    with statements() as seen:
        loops.list_human_loops(services, CALLER, flow.arn, next_token=token, **kwargs)
    pages = [s for s in seen if "ORDER BY" in s[0]]
    assert len(pages) == 1
    found = plan(services, *pages[0])
    assert "ix_human_loops_list" in found, found
    assert "TEMP B-TREE" not in found and "Sort" not in found and "Seq Scan" not in found, found
    beyond = "<" if sort_order == "Descending" else ">"
    if services.store.is_sqlite:  # the position bounds the range: "created_at<?" (or ">"), not a filter
        assert any("ix_human_loops_list" in line and f"created_at{beyond}?" in line for line in found.splitlines()), (
            found
        )
    else:  # the whole position is in the index condition (not a Filter applied to every row read)
        condition = next(line for line in found.splitlines() if "Index Cond" in line)
        assert f"ROW(created_at, id) {beyond} ROW(" in condition, found
        assert "Filter" not in found, found


def test_pages_cover_every_loop_once_across_shared_instants(services: Services) -> None:
    flow = _fill(services, count=11)
    for order in ("Descending", "Ascending"):
        names: list[str] = []
        token = None
        while True:
            page, token = loops.list_human_loops(
                services, CALLER, flow.arn, sort_order=order, max_results=2, next_token=token
            )
            names += [loop.name for loop in page]
            if token is None:
                break
        expected = [f"plans-{i:03d}" for i in range(11)]
        assert names == (expected if order == "Ascending" else expected[::-1])
