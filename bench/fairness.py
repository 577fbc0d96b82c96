"""Benchmark: does a heavy request delay the others beyond its fair share? (issue 13, head-of-line blocking)

On a store of --size loops (bench/console.py's fill: one big flow definition and four small ones), on SQLite
and PostgreSQL, `crowdloop serve` answers a probe client doing DescribeHumanLoop back to back (boto3, one
keep-alive connection) for --seconds, first alone (the baseline), then while --heavy clients, each on its own
connection, send the heaviest requests a user can make, round robin:

* ListHumanLoops of the big flow: a page of 100 deep in the middle (NextToken), newest and oldest first,
  and the first page of a one-day CreationTimeAfter/Before window in the middle;
* the console's flow page and its loops table deep in (a keyset page after the middle), the overview, the
  workers page.

Reports the probe's p50/p99 alone and under load and their ratio, and each heavy request's median time. A
request that held the server (on SQLite, store calls run on the event loop) would show in the probe's p99 as
that request's time; fair sharing shows as the probe waiting at most about one heavy request's share.

    python bench/fairness.py [--backend sqlite|postgresql|both] [--size 1000000] [--seconds 8] [--heavy 4]
"""

from __future__ import annotations

import sys
from pathlib import Path

# bench/queue.py is named like the standard library's `queue`: keep this folder off the import path. The
# repository goes first: a dependency of the test extra (smdebug_rulesconfig) installs a top-level `tests`.
HERE = Path(__file__).resolve().parent
sys.path[:] = [str(HERE.parent)] + [p for p in sys.path if Path(p or ".").resolve() != HERE]

import argparse
import http.client
import json
import multiprocessing as mp
import os
import statistics
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from bench.common import Server, start_server
from bench.console import BIG, CALLER, fresh_store, services
from bench.scale import _middle, fill_for_service
from crowdloop.keyfiles import load_key
from crowdloop.paging import PageRequest
from crowdloop.runtime import Services


def _percentiles(times: list[float]) -> dict[str, float]:
    ordered = sorted(times)
    return {
        "n": len(ordered),
        "p50_ms": round(statistics.median(ordered), 2) if ordered else 0.0,
        "p99_ms": round(ordered[int(0.99 * (len(ordered) - 1))], 2) if ordered else 0.0,
    }


def _deep_token(server: Server, svc: Services, order: str) -> str:
    """The NextToken a client holds after paging down to the middle of the big flow (in the server's key)."""
    import sqlalchemy as sa

    from crowdloop.store.tables import human_loops

    at, name = _middle(svc)
    with svc.store.read() as conn:
        loop_id = conn.execute(sa.select(human_loops.c.id).where(human_loops.c.name == name)).scalar_one()
    arn = f"arn:aws:sagemaker:{CALLER.region}:{CALLER.account}:flow-definition/{BIG}"
    page = PageRequest(
        query={"flow": arn, "after": None, "before": None, "sort": order},
        key=load_key(server.data_dir, "paging.key"),
    )
    delta = at - datetime(1970, 1, 1, tzinfo=UTC)
    return page.token_after([(delta.days * 86400 + delta.seconds) * 1_000_000 + delta.microseconds, loop_id])


def heavy_requests(server: Server, svc: Services, cookie: str) -> list[tuple[str, Callable[[Any, Any], object]]]:
    """(name, call(a2i client, console connection)) for each heavy request."""
    arn = f"arn:aws:sagemaker:{CALLER.region}:{CALLER.account}:flow-definition/{BIG}"
    tokens = {order: _deep_token(server, svc, order) for order in ("Descending", "Ascending")}
    at, _ = _middle(svc)
    window = (at - timedelta(hours=12), at + timedelta(hours=12))

    def console(path: str) -> Callable[[Any, Any], object]:
        def get(a2i: Any, conn: http.client.HTTPConnection) -> object:
            conn.request("GET", path, headers={"Cookie": cookie})
            response = conn.getresponse()
            body = response.read()
            if response.status != 200:
                raise RuntimeError(f"GET {path}: {response.status} {body[:200]!r}")
            return body

        return get

    return [
        (
            "list_deep_desc",
            lambda a2i, _: a2i.list_human_loops(FlowDefinitionArn=arn, MaxResults=100, NextToken=tokens["Descending"]),
        ),
        (
            "list_deep_asc",
            lambda a2i, _: a2i.list_human_loops(
                FlowDefinitionArn=arn, MaxResults=100, SortOrder="Ascending", NextToken=tokens["Ascending"]
            ),
        ),
        (
            "list_window",
            lambda a2i, _: a2i.list_human_loops(
                FlowDefinitionArn=arn, MaxResults=100, CreationTimeAfter=window[0], CreationTimeBefore=window[1]
            ),
        ),
        ("console_flow", console(f"/console/flows/{BIG}")),
        ("console_flow_failed", console(f"/console/flows/{BIG}?status=Failed")),
        ("console_overview", console("/console")),
        ("console_workers", console("/console/workers")),
    ]


def probe(server: Server, name: str, seconds: float) -> list[float]:
    a2i = server.client("sagemaker-a2i-runtime")
    a2i.describe_human_loop(HumanLoopName=name)
    times: list[float] = []
    stop_at = time.perf_counter() + seconds
    while time.perf_counter() < stop_at:
        started = time.perf_counter()
        a2i.describe_human_loop(HumanLoopName=name)
        times.append((time.perf_counter() - started) * 1000)
    return times


def _hammer_process(
    server: Server, requests: list[tuple[str, Callable[[Any, Any], object]]], heavy: int, stop: Any, results: Any
) -> None:
    """The heavy clients: `heavy` threads in a process of their own (the probe's timings must not include
    waiting for this process's interpreter lock)."""
    spent: dict[str, list[float]] = {request: [] for request, _ in requests}
    errors: list[str] = []

    def hammer(offset: int) -> None:
        a2i = server.client("sagemaker-a2i-runtime")
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
        index = offset
        while not stop.is_set():
            request, call = requests[index % len(requests)]
            index += 1
            started = time.perf_counter()
            try:
                call(a2i, conn)
            except Exception as exc:
                errors.append(f"{request}: {exc}")
                return
            spent[request].append((time.perf_counter() - started) * 1000)
        conn.close()

    threads = [threading.Thread(target=hammer, args=(n,)) for n in range(heavy)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    results.put((spent, errors))


def under_load(server: Server, svc: Services, cookie: str, name: str, seconds: float, heavy: int) -> dict[str, Any]:
    ctx = mp.get_context("fork")
    stop, results = ctx.Event(), ctx.Queue()
    hammering = ctx.Process(
        target=_hammer_process, args=(server, heavy_requests(server, svc, cookie), heavy, stop, results)
    )
    hammering.start()
    time.sleep(1.5)  # every heavy client is under way
    times = probe(server, name, seconds)
    stop.set()
    spent, errors = results.get()
    hammering.join()
    return {
        "probe": _percentiles(times),
        "heavy_p50_ms": {request: _percentiles(t)["p50_ms"] for request, t in spent.items()},
        "heavy_requests": sum(len(t) for t in spent.values()),
        "errors": errors[:5],
    }


def bench(backend: str, size: int, seconds: float, heavy: int) -> dict[str, Any]:
    from crowdloop import consoleauth
    from crowdloop.console.web import SESSION_COOKIE

    postgres = None
    if backend == "postgresql":
        from tests.pg import PostgresServer

        postgres = PostgresServer()
    try:
        with fresh_store(backend, postgres) as (url, data_dir):
            svc = services(url, data_dir)
            try:
                fill_for_service(svc, size)
                name = f"{BIG[-8:]}-loop-{size // 2:07d}"  # a loop of the fill, halfway
                server = start_server(database_url=url)
                try:
                    token, _ = consoleauth.start_session(svc, server.exports["AWS_ACCESS_KEY_ID"])
                    cookie = f"{SESSION_COOKIE}={token}"
                    alone = _percentiles(probe(server, name, seconds))
                    loaded = under_load(server, svc, cookie, name, seconds, heavy)
                finally:
                    server.stop()
            finally:
                svc.store.dispose()
    finally:
        if postgres is not None:
            postgres.stop()
    return {
        "bench": "fairness",
        "backend": backend,
        "size": size,
        "heavy_clients": heavy,
        "probe_alone": alone,
        "under_load": loaded,
        "probe_p50_ratio": round(loaded["probe"]["p50_ms"] / alone["p50_ms"], 2),
        "probe_p99_ratio": round(loaded["probe"]["p99_ms"] / alone["p99_ms"], 2),
        "cpus": os.cpu_count(),
        "load_1m": round(os.getloadavg()[0], 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--size", type=int, default=1_000_000, help="loops of the big flow")
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--heavy", type=int, default=4, help="clients sending heavy requests")
    args = parser.parse_args()
    for backend in ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]:
        print(json.dumps(bench(backend, args.size, args.seconds, args.heavy)), flush=True)


if __name__ == "__main__":
    main()
