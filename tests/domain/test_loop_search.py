"""The console's loop search (loopsearch.search_loops) on SQLite and PostgreSQL: filters, keyset pages, cursors,
and the query plans (each page a seek on an index, never a scan of the flow's loops)."""

from __future__ import annotations

from typing import Any

import pytest

from crowdloop import loops, loopsearch
from crowdloop.clock import ManualClock
from crowdloop.errors import InvalidInput, NotFound
from crowdloop.model import HumanLoopStatus
from crowdloop.runtime import Caller, Services
from tests.domain.loopsetup import CALLER, make_flow, start
from tests.domain.plans import plan, statements


def _clock(svc: Services) -> ManualClock:
    assert isinstance(svc.clock, ManualClock)
    return svc.clock


def _all_pages(svc: Services, flow: str, **kwargs: Any) -> list[str]:
    names: list[str] = []
    cursor = None
    while True:
        rows, cursor = loopsearch.search_loops(svc, CALLER, flow, cursor=cursor, **kwargs)
        names += [r.name for r in rows]
        if cursor is None:
            return names


def _fill(svc: Services, flow_name: str = "fd-search", count: int = 25) -> list[str]:
    """`count` loops; three at a time share a creation instant (a bulk start), so pages split instants."""
    flow = make_flow(svc, flow_name)
    names = []
    for i in range(count):
        if i % 3 == 0:
            _clock(svc).advance(1)
        names.append(start(svc, flow, f"{flow_name}-{'odd' if i % 2 else 'even'}-{i:03d}"))
    return names


def test_pages_newest_first_to_the_end(services: Services) -> None:
    names = _fill(services)
    for limit in (1, 2, 4, 50):
        assert _all_pages(services, "fd-search", limit=limit) == list(reversed(names))


def test_filters(services: Services) -> None:
    names = _fill(services)
    loops.stop_human_loop(services, CALLER, names[4])
    loops.stop_human_loop(services, CALLER, names[7])
    stopped = _all_pages(services, "fd-search", status=HumanLoopStatus.STOPPED, limit=1)
    assert stopped == [names[7], names[4]]
    assert len(_all_pages(services, "fd-search", status=HumanLoopStatus.IN_PROGRESS, limit=3)) == 23
    odd = _all_pages(services, "fd-search", name_prefix="FD-search-odd", limit=2)
    assert odd == sorted(n for n in names if "-odd-" in n)  # by name
    assert _all_pages(services, "fd-search", name_prefix="fd-search-odd-00", limit=2) == [
        "fd-search-odd-001",
        "fd-search-odd-003",
        "fd-search-odd-005",
        "fd-search-odd-007",
        "fd-search-odd-009",
    ]
    assert _all_pages(services, "fd-search", name_prefix="fd-search-odd-00", status=HumanLoopStatus.STOPPED) == [
        "fd-search-odd-007"
    ]
    first = loops.describe_human_loop(services, CALLER, names[3]).created_at  # the 2nd instant: loops 3, 4, 5
    last = loops.describe_human_loop(services, CALLER, names[9]).created_at  # the 4th: loops 9, 10, 11
    window = _all_pages(services, "fd-search", created_after=first, created_before=last, limit=2)
    assert window == list(reversed(names[3:9]))
    assert _all_pages(services, "fd-search", name_prefix="zzz") == []


def test_other_flows_and_accounts_stay_out(services: Services) -> None:
    names = _fill(services, "fd-a", 4)
    _fill(services, "fd-b", 4)
    assert _all_pages(services, "fd-a") == list(reversed(names))
    assert _all_pages(services, "fd-a", name_prefix="fd-") == sorted(names)
    with pytest.raises(NotFound):
        loopsearch.search_loops(services, Caller(account="210987654321", region="us-east-1"), "fd-a")
    with pytest.raises(NotFound):
        loopsearch.search_loops(services, CALLER, "fd-none")


def test_cursor_cannot_be_forged_or_reused_elsewhere(services: Services) -> None:
    _fill(services, count=6)
    _, cursor = loopsearch.search_loops(services, CALLER, "fd-search", limit=2)
    assert cursor is not None
    payload, _, mac = cursor.partition(".")
    forged = [
        "x" + cursor[1:],
        payload + "." + mac[::-1],
        "W1swLDBdXQ." + mac,
        "garbage",
        "",
    ]
    for bad in forged[:-1]:
        with pytest.raises(InvalidInput):
            loopsearch.search_loops(services, CALLER, "fd-search", limit=2, cursor=bad)
    with pytest.raises(InvalidInput):  # another search, another page size
        loopsearch.search_loops(services, CALLER, "fd-search", limit=3, cursor=cursor)
    with pytest.raises(InvalidInput):
        loopsearch.search_loops(services, CALLER, "fd-search", limit=2, status=HumanLoopStatus.STOPPED, cursor=cursor)


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"limit": 0}, "limit"),
        ({"limit": 201}, "limit"),
        ({"name_prefix": "a" * 64}, "name"),
        ({"name_prefix": "a%"}, "name"),
        ({"name_prefix": "a_"}, "name"),
    ],
)
def test_limits(services: Services, kwargs: dict[str, Any], field: str) -> None:
    make_flow(services, "fd-search")
    with pytest.raises(InvalidInput) as caught:
        loopsearch.search_loops(services, CALLER, "fd-search", **kwargs)
    assert caught.value.field == field


@pytest.mark.parametrize(
    ("kwargs", "index"),
    [
        ({}, "ix_human_loops_list"),
        ({"status": HumanLoopStatus.IN_PROGRESS}, "ix_human_loops_flow_status"),
        # the unique constraint (account, region, name_key): SQLite names its index itself
        ({"name_prefix": "fd-search-odd"}, "uq_human_loops_account_region_name_key sqlite_autoindex_human_loops_1"),
    ],
)
def test_every_page_is_an_index_seek(services: Services, kwargs: dict[str, Any], index: str) -> None:
    _fill(services, count=12)
    _, cursor = loopsearch.search_loops(services, CALLER, "fd-search", limit=2, **kwargs)
    with services.store.write() as conn:
        conn.exec_driver_sql("ANALYZE")
    with statements() as seen:
        loopsearch.search_loops(services, CALLER, "fd-search", limit=2, cursor=cursor, **kwargs)
    searches = [s for s in seen if "ORDER BY" in s[0]]
    assert searches
    for statement, parameters in searches:
        found = plan(services, statement, parameters)
        assert any(name in found for name in index.split()), found
        assert "TEMP B-TREE" not in found and "Sort" not in found and "Seq Scan" not in found, found
        assert not any(
            line.strip().startswith("SCAN human_loops") and "INDEX" not in line for line in found.splitlines()
        ), found
