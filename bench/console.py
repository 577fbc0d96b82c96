"""Benchmark: what the requester's view costs as the store grows (stats.py's reads, `crowdloop status`),
on stores of 0, 100k and 1M loops, on SQLite and PostgreSQL.

Each size gets a fresh store. Flow definitions, the work team and the workers are made through the domain
calls; the loops and their answers are then bulk INSERTed (the queue would take hours for a million loops):
the loop counters are kept by the database's triggers during that fill exactly as in service, and the
answer statistics are filled afterwards by the same statements migration 0004 uses
(store.dialect.answer_stats_backfill), and the planner's statistics gathered (ANALYZE; on PostgreSQL VACUUM
(ANALYZE), so that autovacuum's first pass over the new rows does not run during the timings). The big
flow's loops: 60 % Completed with 3 answers each, 30 % InProgress (some with answers, a few held by workers
now), 5 % Stopped, 5 % Failed; answers spread over the last 7 days among 24 workers. Four small flows beside it.

Each read is timed `--repeat` times after two warm-up calls; the JSON line per backend gives the median
milliseconds per read and size and the ratio to the empty store. Pages are timed the same way (`--pages`):
`measure` takes (name, callable) pairs, `url_timers` makes them from paths to GET with a console session's
cookie, `page_timers` starts `crowdloop serve` on the filled store and signs in. The pages are timed once
every store is filled, with a server up on each, in `--rounds` rounds going over every size in turn: each
size's figure is the median of its rounds, and a slow moment of the machine lands on every size alike.

    python bench/console.py [--backend sqlite|postgresql|both] [--sizes 0,100000,1000000] [--repeat 30]
                            [--pages /console,/console/flows/{flow},/console/api/overview] [--agreement borrow]
                            [--rounds 3]

`--agreement borrow` is for stores of many millions of loops, where computing the big flow's agreement
figures takes over an hour (~6.5 minutes per million loops): the big flow's stored summary is then the
figures computed over the first small flow (same workers, same kind of answers), stored as the big flow's
with its answer count, so no refresh is due. A page reads that one stored row whatever figures it holds.
"""

from __future__ import annotations

import sys
from pathlib import Path

# bench/queue.py is named like the standard library's `queue`: keep this folder off the import path. The
# repository goes first: a dependency of the test extra (smdebug_rulesconfig) installs a top-level `tests`.
HERE = Path(__file__).resolve().parent
sys.path[:] = [str(HERE.parent)] + [p for p in sys.path if Path(p or ".").resolve() != HERE]

import argparse
import json
import os
import random
import shutil
import statistics
import tempfile
import time
import urllib.request
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

from click.testing import CliRunner

from bench.common import ratios_to_empty
from crowdloop import flows, stats, workers, workforce
from crowdloop.blobs import LocalBlobStore
from crowdloop.cli import main as cli_main
from crowdloop.clock import SystemClock
from crowdloop.config import Settings
from crowdloop.runtime import Caller, Services
from crowdloop.store import dialect, open_store
from crowdloop.store.dialect import answer_stats_backfill
from crowdloop.store.tables import assignments, human_loops

CALLER = Caller(account="123456789012", region="us-east-1")
PAGES = (
    "/console",
    "/console/api/overview",
    "/console/flows/{flow}",
    "/console/flows/{flow}?status=Failed",
    "/console/api/flows/{flow}",
    "/console/api/flows/{flow}/agreement",
    "/console/flows/{flow}/loops/{loop}",
    "/console/workers",
    "/console/teams",
    "/console/templates",
    "/console/templates/bench-ui",
)
BIG = "bench-console-fd"
SMALL_FLOWS = 4
WORKERS = 24
TASK_COUNT = 3
CHUNK = 20_000

Timer = tuple[str, Callable[[], object]]


# --- filling a store ----------------------------------------------------------------------------------------


def services(url: str, data_dir: str) -> Services:
    settings = Settings(data_dir=data_dir, database_url=url)
    return Services(
        settings=settings, store=open_store(url), clock=SystemClock(), blobs=LocalBlobStore(settings.output_path)
    )


def fill(svc: Services, n_loops: int, seed: int = 11) -> None:
    """The flows and workers through the domain; n_loops loops of the big flow (and a few of each small one)
    with their answers in bulk INSERTs."""
    team = workforce.create_workteam(
        svc,
        CALLER,
        "bench-team",
        description="bench",
        member_definitions=[{"OidcMemberDefinition": {"Groups": ["bench"]}}],
    )
    ui = flows.create_human_task_ui(svc, CALLER, "bench-ui", "<p>{{ task.input.text }}</p>")
    made = []
    for name in [BIG, *(f"bench-small-{i}" for i in range(SMALL_FLOWS))]:
        made.append(
            flows.create_flow_definition(
                svc,
                CALLER,
                name,
                role_arn="arn:aws:iam::123456789012:role/bench",
                output_config={"S3OutputPath": "s3://bench/out"},
                human_loop_config={
                    "WorkteamArn": team.arn,
                    "HumanTaskUiArn": ui.arn,
                    "TaskCount": TASK_COUNT,
                    "TaskTitle": "rate",
                    "TaskDescription": "rate the answer",
                },
            )
        )
        flows.describe_flow_definition(svc, CALLER, name)
    worker_pks = [workers.add_worker(svc, f"rater{i}@bench", groups=["bench"]).id for i in range(WORKERS)]
    rng = random.Random(seed)
    now = datetime.now(UTC)
    plan = [(made[0], n_loops)] + [(flow, min(n_loops, 1000)) for flow in made[1:]]
    loop_id = 0
    for flow, count in plan:
        for start in range(0, count, CHUNK):
            loop_rows: list[dict[str, Any]] = []
            answer_rows: list[dict[str, Any]] = []
            for i in range(start, min(start + CHUNK, count)):
                loop_id += 1
                _loop(rng, now, flow, ui.template_sha256, loop_id, i, worker_pks, loop_rows, answer_rows)
            with svc.store.write() as conn:  # COPY on PostgreSQL (dialect.insert_many)
                _insert(conn, human_loops, loop_rows)
                _insert(conn, assignments, answer_rows)
    with svc.store.write() as conn:
        for statement in answer_stats_backfill():
            conn.exec_driver_sql(statement)
    if svc.store.is_sqlite:
        with svc.store.write() as conn:
            conn.exec_driver_sql("ANALYZE")
    else:  # autovacuum's first pass over millions of new rows would otherwise run during the timings
        with svc.store.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("VACUUM (ANALYZE)")


def _insert(conn: Any, table: Any, rows: list[dict[str, Any]]) -> None:
    if rows:
        columns = list(rows[0])
        dialect.insert_many(conn, table, columns, [tuple(row[c] for c in columns) for row in rows])


def _loop(
    rng: random.Random,
    now: datetime,
    flow: Any,
    template: str,
    loop_id: int,
    i: int,
    worker_pks: list[int],
    loop_rows: list[dict[str, Any]],
    answer_rows: list[dict[str, Any]],
) -> None:
    roll = rng.random()
    status, answers, held = "Completed", TASK_COUNT, False
    if roll >= 0.6:
        status, answers = "InProgress", rng.randint(0, TASK_COUNT - 1)
        held = i < 4 * WORKERS and i % 4 == 0  # one lease per worker and job at most, as queue.claim allows
    if roll >= 0.9:
        status, answers, held = ("Stopped" if roll < 0.95 else "Failed"), rng.randint(0, TASK_COUNT - 1), False
    created = now - timedelta(days=7) + timedelta(seconds=i % (7 * 86400))
    name = f"{flow.name[-8:]}-loop-{i:07d}"
    loop_rows.append(
        {
            "id": loop_id,
            "account": CALLER.account,
            "region": CALLER.region,
            "name": name,
            "name_key": name,
            "arn": f"arn:aws:sagemaker:us-east-1:123456789012:human-loop/{name}",
            "flow_definition_id": flow.id,
            "status": status,
            "created_at": created,
            "input_content": json.dumps({"text": f"item {i}"}),
            "output_uri": f"s3://bench/out/{name}/output.json",
            "template_sha256": template,
            "task_count": TASK_COUNT,
            "open_slots": TASK_COUNT - answers - int(held) if status == "InProgress" else 0,
            "answers_count": answers,
            "task_time_limit_seconds": 3600,
            "available_until": now + timedelta(days=3),
            "ended_at": None if status == "InProgress" else created,
            "output_written": status != "InProgress",
        }
    )
    holder = worker_pks[(i // 4) % len(worker_pks)]
    chosen = rng.sample([w for w in worker_pks if w != holder], answers) + ([holder] if held else [])
    for n, worker in enumerate(chosen):
        lease = n == answers  # the held one, after the answers
        ended = now - timedelta(seconds=rng.randint(0, 7 * 86400))
        answer_rows.append(
            {
                "loop_id": loop_id,
                "worker_id": worker,
                "state": "leased" if lease else "submitted",
                "accepted_at": now if lease else ended,
                "expires_at": now + timedelta(hours=1),
                "ended_at": None if lease else ended,
                "answer_content": None if lease else '{"rating": 3}',
                "time_spent_seconds": None if lease else round(rng.lognormvariate(3, 0.8), 3),
            }
        )


# --- timing -------------------------------------------------------------------------------------------------


def timers(svc: Services, url: str) -> list[Timer]:
    """The reads every console page and `crowdloop status` are made of (add pages with url_timers)."""
    return [
        ("overview", lambda: stats.overview(svc, CALLER)),
        ("progress", lambda: stats.progress(svc, CALLER, BIG)),
        ("answers_per_hour_168", lambda: stats.answers_per_hour(svc, CALLER, BIG, 168)),
        ("worker_stats", lambda: stats.worker_stats(svc, CALLER, BIG)),
        ("loops_by_status", lambda: stats.loops_by_status(svc)),
        ("answers_by_flow", lambda: stats.answers_by_flow(svc)),
        ("crowdloop_status", lambda: _status_command(url)),
    ]


def _status_command(url: str) -> None:
    """`crowdloop status` in this process: opening the store, checking its schema, the read, the output."""
    result = CliRunner().invoke(cli_main, ["status", "--database-url", url])
    if result.exit_code != 0 or BIG not in result.output:
        raise RuntimeError(f"crowdloop status failed: {result.output}")


def url_timers(base_url: str, paths: list[str], headers: dict[str, str]) -> list[Timer]:
    """A timer per console path: a GET with these headers (e.g. the console session's Cookie) that must
    answer 200. For the pages, once the lead adds them: start a server on the filled store
    (bench/common.start_server), sign in (crowdloop.consoleauth), pass the session cookie here."""

    def get(path: str) -> Callable[[], object]:
        def call() -> object:
            request = urllib.request.Request(base_url + path, headers=headers)
            with urllib.request.urlopen(request, timeout=30) as response:
                if response.status != 200:
                    raise RuntimeError(f"GET {path}: {response.status}")
                return response.read()

        return call

    return [(f"GET {path}", get(path)) for path in paths]


@contextmanager
def page_timers(
    svc: Services, url: str, paths: list[str], size: int, refreshed: list[float], borrow: bool = False
) -> Iterator[list[Timer]]:
    """Timers for console pages: `crowdloop serve` started on the filled store, a console session of the
    key it made, one GET per path ({flow} is the big flow's name, {loop} its first loop: paths naming a loop
    are left out of the empty store). The timings are the client's (the server is on the same machine: a
    request's whole round trip). Before the timings, the big flow's agreement figures are computed once (the
    background refresh the flow page starts) and its duration appended to `refreshed`: the pages are then
    timed in the steady state, where no new answers make a refresh due. With `borrow` the figures stored are
    a small flow's (borrow_agreement) and `refreshed` gets the seconds their computation took."""
    from bench.common import start_server
    from crowdloop import consoleauth
    from crowdloop.console.web import SESSION_COOKIE

    if borrow:
        refreshed.append(borrow_agreement(svc))
    server = start_server(database_url=url)
    try:
        token, _session = consoleauth.start_session(svc, server.exports["AWS_ACCESS_KEY_ID"])
        first_loop = f"{BIG[-8:]}-loop-{0:07d}"
        wanted = [path for path in paths if size or "{loop}" not in path]
        filled = [path.replace("{flow}", BIG).replace("{loop}", first_loop) for path in wanted]
        headers = {"Cookie": f"{SESSION_COOKIE}={token}"}
        if not borrow:
            refreshed.append(_agreement_refresh_seconds(server.endpoint_url, headers))
        yield url_timers(server.endpoint_url, filled, headers)
    finally:
        server.stop()


def borrow_agreement(svc: Services) -> float:
    """Store the first small flow's agreement figures as the big flow's, seen at its current answer count
    (not stale: no refresh is due); the seconds their computation took."""
    from crowdloop import insights
    from crowdloop.console import agreement

    small = stats.progress(svc, CALLER, "bench-small-0")
    big = stats.progress(svc, CALLER, BIG)
    started = time.perf_counter()
    result = agreement.compute(svc.store, small.arn)
    if not insights.save(svc, big.flow_definition_id, big.answers_received, datetime.now(UTC), result):
        raise RuntimeError("the borrowed agreement figures were not stored")
    return round(time.perf_counter() - started, 1)


def _agreement_refresh_seconds(base_url: str, headers: dict[str, str], timeout_s: float = 3600) -> float:
    """Start the big flow's agreement refresh (as a flow page view does) and wait for its figures."""
    started = time.perf_counter()
    while time.perf_counter() - started < timeout_s:
        request = urllib.request.Request(f"{base_url}/console/api/flows/{BIG}/agreement", headers=headers)
        with urllib.request.urlopen(request, timeout=30) as response:
            summary = json.loads(response.read())
        if summary["computed"] and not summary["stale"]:
            return round(time.perf_counter() - started, 1)
        time.sleep(0.5)
    raise RuntimeError("the agreement figures were not computed within the hour")


def measure(named: list[Timer], repeat: int) -> dict[str, float]:
    """Median milliseconds of each callable over `repeat` calls, after two warm-up calls."""
    found = {}
    for name, call in named:
        call()
        call()
        times = []
        for _ in range(repeat):
            started = time.perf_counter()
            call()
            times.append((time.perf_counter() - started) * 1000)
        found[name] = round(statistics.median(times), 3)
    return found


# --- stores per backend -------------------------------------------------------------------------------------


@contextmanager
def fresh_store(backend: str, postgres: Any) -> Iterator[tuple[str, str]]:
    data_dir = tempfile.mkdtemp(prefix="crowdloop-bench-console-")
    try:
        yield (f"sqlite:///{data_dir}/crowdloop.db" if backend == "sqlite" else postgres.create_database()), data_dir
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)


def bench(
    backend: str, sizes: list[int], repeat: int, pages: list[str], borrow: bool = False, rounds: int = 3
) -> dict[str, Any]:
    """Every size's store is filled and its reads timed in turn; then a server is started on each store and the
    pages are timed in `rounds` interleaved rounds (every store once per round), each page's figure the median
    of its rounds: a machine that slows down for a while slows every size alike."""
    by_size: dict[str, dict[str, float]] = {}
    fill_seconds: dict[str, float] = {}
    refresh_seconds: dict[str, float] = {}
    with ExitStack() as stack:
        postgres = None
        if backend == "postgresql":
            from tests.pg import PostgresServer

            postgres = PostgresServer()
            stack.callback(postgres.stop)
        stores: dict[int, tuple[Services, str]] = {}
        for size in sizes:
            url, data_dir = stack.enter_context(fresh_store(backend, postgres))
            svc = services(url, data_dir)
            stack.callback(svc.store.dispose)
            started = time.perf_counter()
            fill(svc, size)
            fill_seconds[str(size)] = round(time.perf_counter() - started, 1)
            by_size[str(size)] = measure(timers(svc, url), repeat)
            stores[size] = svc, url
        named: dict[int, list[Timer]] = {}
        for size, (svc, url) in stores.items() if pages else ():
            refreshed: list[float] = []
            named[size] = stack.enter_context(page_timers(svc, url, pages, size, refreshed, borrow))
            refresh_seconds[str(size)] = refreshed[0]
        per_round: dict[int, dict[str, list[float]]] = {size: defaultdict(list) for size in named}
        for _ in range(rounds if named else 0):
            for size, timed in named.items():
                for name, ms in measure(timed, repeat).items():
                    per_round[size][name].append(ms)
        for size, figures in per_round.items():
            by_size[str(size)].update({name: round(statistics.median(ms), 3) for name, ms in figures.items()})
    ratios = ratios_to_empty(by_size)
    return {
        "bench": "console",
        "backend": backend,
        "ms_median": by_size,
        "ratio_to_empty": ratios,
        "fill_s": fill_seconds,
        "agreement_refresh_s": refresh_seconds,
        "agreement": "borrowed from bench-small-0" if borrow else "computed",
        "repeat": repeat,
        "rounds": rounds,
        "cpus": os.cpu_count(),
        "load_1m": round(os.getloadavg()[0], 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--sizes", default="0,100000,1000000", help="loops of the big flow, comma-separated")
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument(
        "--pages",
        default=",".join(PAGES),
        help="console paths to time through a server, comma-separated ({flow}: the big flow, {loop}: one of its "
        "loops); '' for none. Default: every console page and its JSON",
    )
    parser.add_argument(
        "--agreement",
        choices=["compute", "borrow"],
        default="compute",
        help="compute: the big flow's agreement figures are computed before the pages are timed (~6.5 min per "
        "million loops); borrow: a small flow's figures are stored as the big flow's",
    )
    parser.add_argument(
        "--rounds", type=int, default=3, help="interleaved rounds of page timings over the sizes' servers"
    )
    args = parser.parse_args()
    pages = [p for p in args.pages.split(",") if p]
    sizes = [int(s) for s in args.sizes.split(",")]
    for backend in ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]:
        found = bench(backend, sizes, args.repeat, pages, args.agreement == "borrow", args.rounds)
        print(json.dumps(found), flush=True)


if __name__ == "__main__":
    main()
