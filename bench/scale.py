"""Benchmark: what the API's reads and StartHumanLoop cost as the store grows, on stores of 0, 100k and 1M loops,
on SQLite and PostgreSQL (issue 13's flat costs).

Each size gets a fresh store filled as bench/console.py fills one (the domain calls for flows, team and workers;
the loops and answers in bulk INSERTs through the same tables, so the triggers keep the loop counters exactly as
in service): one big flow definition of `size` loops (30 % InProgress) and four small ones. Then 20 loops are
started through StartHumanLoop (the empty store's loops), a worker is added, and each operation is timed in this
process (the domain call the API handler makes, without HTTP) `--repeat` times after two warm-up calls:

* describe: DescribeHumanLoop of one loop;
* list_first: ListHumanLoops of the big flow, first page (10, newest first);
* list_deep_desc / list_deep_asc: the page after a NextToken in the middle of the big flow, both orders;
* list_window: the first page with CreationTimeAfter and CreationTimeBefore (a day, in the middle);
* start_near_quota: StartHumanLoop as every start pays near the in-progress quota (the quota's cache emptied
  before each call, so each one reads the account's InProgress loops);
* jobs: the worker portal's job list for a worker of the team with no work yet;
* portal_cycle: the portal's next task and submit (queue.claim, queue.submit) of one worker on the big flow.

With each size, the store's size on disk per loop (the SQLite files, or pg_database_size; answers included).

Prints one JSON line per backend: the median milliseconds per operation and size, and the ratio of each to the
empty store's (measured in the same run).

    python bench/scale.py [--backend sqlite|postgresql|both] [--sizes 0,100000,1000000] [--repeat 30]
                          [--explain describe,list_first]
"""

from __future__ import annotations

import sys
from pathlib import Path

# bench/queue.py is named like the standard library's `queue`: keep this folder off the import path. The
# repository goes first: a dependency of the test extra (smdebug_rulesconfig) installs a top-level `tests`.
HERE = Path(__file__).resolve().parent
sys.path[:] = [str(HERE.parent)] + [p for p in sys.path if Path(p or ".").resolve() != HERE]

import argparse
import dataclasses
import itertools
import json
import os
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa

from bench.common import ratios_to_empty
from bench.console import BIG, CALLER, fill, fresh_store, measure, services
from crowdloop import loops, queue, workers
from crowdloop.paging import PageRequest
from crowdloop.runtime import Services

PROBES = 20
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _flow_arn(name: str) -> str:
    return f"arn:aws:sagemaker:{CALLER.region}:{CALLER.account}:flow-definition/{name}"


def _middle(svc: Services) -> tuple[datetime, str]:
    """The creation time and name of the loop halfway down the big flow (by time), found through the API."""
    arn = _flow_arn(BIG)
    page, _ = loops.list_human_loops(svc, CALLER, arn, max_results=1)
    newest = page[0].created_at
    oldest = loops.list_human_loops(svc, CALLER, arn, sort_order="Ascending", max_results=1)[0][0].created_at
    middle = oldest + (newest - oldest) / 2
    found, _ = loops.list_human_loops(svc, CALLER, arn, created_before=middle, max_results=1)
    return (found[0].created_at, found[0].name) if found else (newest, page[0].name)


def _token(svc: Services, order: str, at: datetime, loop_name: str) -> str:
    """The NextToken a client holds after paging down to the loop `loop_name` (created at `at`)."""
    from crowdloop.store.tables import human_loops

    with svc.store.read() as conn:
        loop_id = conn.execute(sa.select(human_loops.c.id).where(human_loops.c.name == loop_name)).scalar_one()
    page = PageRequest(query={"flow": _flow_arn(BIG), "after": None, "before": None, "sort": order}, key=svc.paging_key)
    delta = at - _EPOCH
    return page.token_after([(delta.days * 86400 + delta.seconds) * 1_000_000 + delta.microseconds, loop_id])


def timers(svc: Services, repeat: int) -> list[tuple[str, Any]]:
    arn = _flow_arn(BIG)
    run = uuid.uuid4().hex[:6]  # the timers may run again on the same store
    names = [f"scale-probe-{run}-{i}" for i in range(PROBES)]
    for name in [*names, *(f"scale-cycle-{run}-{i}" for i in range(repeat + 2))]:
        loops.start_human_loop(svc, CALLER, name, arn, json.dumps({"text": name}))
    worker = workers.add_worker(svc, f"scale-newcomer-{run}@bench", groups=["bench"]).id
    cycler = workers.add_worker(svc, f"scale-cycler-{run}@bench", groups=["bench"]).id
    flow_id = _flow_id(svc)
    at, middle_name = _middle(svc)
    deep = {order: _token(svc, order, at, middle_name) for order in ("Descending", "Ascending")}
    window = (at - timedelta(hours=12), at + timedelta(hours=12))
    counter = itertools.count()
    counts = svc.caches[loops.IN_PROGRESS_COUNTS]

    def start_near_quota() -> None:
        counts.discard(CALLER.account)
        name = f"scale-start-{run}-{next(counter)}"
        loops.start_human_loop(svc, CALLER, name, arn, json.dumps({"text": name}))

    def portal_cycle() -> None:
        lease = queue.claim(svc, cycler, flow_id)
        assert lease is not None, "no loop left for the portal cycle"
        queue.submit(svc, lease.assignment_id, cycler, {"ok": {"label": "yes"}}, 1.0)

    return [
        ("describe", lambda: loops.describe_human_loop(svc, CALLER, names[PROBES // 2])),
        ("list_first", lambda: loops.list_human_loops(svc, CALLER, arn, max_results=10)),
        (
            "list_deep_desc",
            lambda: loops.list_human_loops(svc, CALLER, arn, max_results=10, next_token=deep["Descending"]),
        ),
        (
            "list_deep_asc",
            lambda: loops.list_human_loops(
                svc, CALLER, arn, sort_order="Ascending", max_results=10, next_token=deep["Ascending"]
            ),
        ),
        (
            "list_window",
            lambda: loops.list_human_loops(
                svc, CALLER, arn, created_after=window[0], created_before=window[1], max_results=10
            ),
        ),
        ("start_near_quota", start_near_quota),
        ("jobs", lambda: queue.jobs_for_worker(svc, worker)),
        ("portal_cycle", portal_cycle),
    ]


def explain(svc: Services, call: Any) -> list[str]:
    """The plans of the SELECTs `call` runs through SQLAlchemy, as the database ran them: EXPLAIN (ANALYZE,
    BUFFERS) on PostgreSQL, EXPLAIN QUERY PLAN on SQLite."""
    statements: list[tuple[str, Any]] = []

    def record(_conn: Any, _cursor: Any, statement: str, parameters: Any, _context: Any, _many: bool) -> None:
        if statement.lstrip().upper().startswith(("SELECT", "WITH")):
            statements.append((statement, parameters))

    engines = {svc.store.engine, svc.store._reader if svc.store.is_sqlite else svc.store.engine}
    for engine in engines:
        sa.event.listen(engine, "before_cursor_execute", record)
    try:
        call()
    finally:
        for engine in engines:
            sa.event.remove(engine, "before_cursor_execute", record)
    prefix = "EXPLAIN QUERY PLAN " if svc.store.is_sqlite else "EXPLAIN (ANALYZE, BUFFERS) "
    plans = []
    with svc.store.read() as conn:
        for statement, parameters in statements:
            rows = conn.exec_driver_sql(prefix + statement, parameters).all()
            plan = "\n".join(" ".join(str(v) for v in row) for row in rows)
            plans.append(f"{' '.join(statement.split())}\n{plan}")
    return plans


def _flow_id(svc: Services) -> int:
    from crowdloop.store.tables import flow_definitions

    with svc.store.read() as conn:
        return int(conn.execute(sa.select(flow_definitions.c.id).where(flow_definitions.c.name == BIG)).scalar_one())


def storage_bytes(svc: Services, data_dir: str) -> int:
    """What the store takes on disk: the SQLite files (WAL included) or the PostgreSQL database."""
    if svc.store.is_sqlite:
        return sum(p.stat().st_size for p in Path(data_dir).glob("crowdloop.db*"))
    with svc.store.read() as conn:
        return int(conn.exec_driver_sql("SELECT pg_database_size(current_database())").scalar_one())


def fill_for_service(svc: Services, size: int) -> None:
    """bench/console.py's fill, then what loops started through the API afterwards need on PostgreSQL: the
    fill gave the loops their ids, so the sequence moves past them; and fresh planner statistics."""
    fill(svc, size)
    if not svc.store.is_sqlite:
        with svc.store.write() as conn:
            conn.exec_driver_sql(
                "SELECT setval(pg_get_serial_sequence('human_loops', 'id'),"
                " (SELECT COALESCE(max(id), 0) + 1 FROM human_loops), false)"
            )
            conn.exec_driver_sql("ANALYZE")


def bench(backend: str, sizes: list[int], repeat: int, explained: frozenset[str] = frozenset()) -> dict[str, Any]:
    postgres = None
    if backend == "postgresql":
        from tests.pg import PostgresServer

        postgres = PostgresServer()
    by_size: dict[str, dict[str, float]] = {}
    fill_seconds: dict[str, float] = {}
    bytes_per_loop: dict[str, int] = {}
    try:
        for size in sizes:
            with fresh_store(backend, postgres) as (url, data_dir):
                svc = services(url, data_dir)  # the quota far above the store's InProgress loops (300k at 1M)
                svc = dataclasses.replace(svc, settings=dataclasses.replace(svc.settings, max_in_progress_loops=10**9))
                try:
                    started = time.perf_counter()
                    fill_for_service(svc, size)
                    fill_seconds[str(size)] = round(time.perf_counter() - started, 1)
                    if size:
                        bytes_per_loop[str(size)] = round(storage_bytes(svc, data_dir) / size)
                    named = timers(svc, repeat)
                    by_size[str(size)] = measure(named, repeat)
                    for name, call in named:
                        if name in explained:
                            for plan in explain(svc, call):
                                print(f"--- {backend} {size} {name}\n{plan}", file=sys.stderr, flush=True)
                finally:
                    svc.store.dispose()
    finally:
        if postgres is not None:
            postgres.stop()
    ratios = ratios_to_empty(by_size)
    return {
        "bench": "scale",
        "backend": backend,
        "ms_median": by_size,
        "ratio_to_empty": ratios,
        "fill_s": fill_seconds,
        "storage_bytes_per_loop": bytes_per_loop,
        "repeat": repeat,
        "cpus": os.cpu_count(),
        "load_1m": round(os.getloadavg()[0], 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--sizes", default="0,100000,1000000", help="loops of the big flow, comma-separated")
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument(
        "--explain", default="", help="operations whose query plans go to stderr at each size, comma-separated"
    )
    args = parser.parse_args()
    explained = frozenset(filter(None, args.explain.split(",")))
    sizes = [int(s) for s in args.sizes.split(",")]
    for backend in ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]:
        print(json.dumps(bench(backend, sizes, args.repeat, explained)), flush=True)


if __name__ == "__main__":
    main()
