"""Benchmark: the portal and StartHumanLoop loads against 1, 2 and 4 server processes on one PostgreSQL.

For each process count N (`crowdloop serve --workers N`, one port; N=1 is the plain server), on a fresh
database of one throwaway PostgreSQL server (tests/pg.py):

* portal: simulated workers doing bench/portal.py's browser cycle (task page, task frame, submit) for
  --seconds: cycles/s, p50/p99, server CPU per cycle (every process of the server: the parent, its server
  processes and the delivery process), database CPU per cycle (every `postgres` process, ended connections
  included) and the machine's CPU per cycle (everything, the simulated workers included: with 2 cores, at
  most 2,000 ms of CPU per second of the run);
* start_loops: wrk replaying pre-signed StartHumanLoop requests (bench/start_loops.py) on 32 connections:
  loops/s, p50/p99, server and database CPU per loop;
* double assignments: loops that got more answers than TaskCount (must be 0; a worker answering a loop twice
  is refused by a unique index);
* duplicated outputs: output.json writes done twice, as the writers report them (a writer whose settle finds
  rows it sent claimed by another writer logs "claimed again before they were marked sent"; counted in the
  servers' logs), and completed loops without an output.json once the outbox is empty (both must be 0).

Ratios: each N's throughput over N=1's, measured in the same run (the baseline). The load generators run on
the same 2 cores as the servers and the database, so the figures say how the work divides, not what more
machines would give.

    python bench/cluster.py [--processes 1,2,4] [--seconds 8] [--workers 32]
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
import re
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from bench import portal, start_loops
from bench.common import Server, machine_busy_seconds, postgres_cpu_seconds, run_wrk, start_server, tree_cpu_seconds

RESENT = re.compile(r"(\d+) output messages were claimed again before they were marked sent")


def portal_load(server: Server, url: str, workers: int, seconds: float) -> dict[str, Any]:
    svc = portal.services_for(server, url)
    try:
        emails = portal.make_workers(svc, workers)

        def sign_in(email: str) -> tuple[dict[str, str], str]:
            client = portal.Client(server.port)
            csrf = client.sign_in(email)
            return dict(client.cookies), csrf

        with ThreadPoolExecutor(8) as pool:
            sessions = list(pool.map(sign_in, emails))
        job = portal.make_job(server, svc, f"cluster-{uuid.uuid4().hex[:6]}", int(2500 * (seconds + 2)) + 2 * workers)
        meters = {
            "server": lambda: tree_cpu_seconds(server.process.pid),
            "database": postgres_cpu_seconds,
            "machine": lambda: machine_busy_seconds()[0],
        }
        result = portal.run(server, sessions, job, 4, seconds, cpu_meters=meters)
        result["double_assignments"] = portal.duplicates(svc)
        return result
    finally:
        svc.store.dispose()


def start_loops_load(server: Server, connections: int, seconds: float) -> dict[str, Any]:
    flow_arn = start_loops.set_up(server)
    requests_file = Path(tempfile.mkdtemp(prefix="crowdloop-bench-")) / "loops.bin"
    start_loops.write_requests(requests_file, server, int(6000 * seconds), flow_arn, noop=False)
    meters = (lambda: tree_cpu_seconds(server.process.pid), postgres_cpu_seconds, lambda: machine_busy_seconds()[0])
    before = [meter() for meter in meters]
    result = run_wrk(requests_file, server.endpoint_url + "/", connections=connections, seconds=seconds)
    used = [meter() - was for meter, was in zip(meters, before, strict=True)]
    done = max(int(result["requests"]), 1)
    return {
        "loops_per_s": round(result["requests"] / (result["duration_us"] / 1e6), 1),
        "p50_ms": round(result["p50_us"] / 1000, 2),
        "p99_ms": round(result["p99_us"] / 1000, 2),
        "server_cpu_ms_per_loop": round(1000 * used[0] / done, 3),
        "database_cpu_ms_per_loop": round(1000 * used[1] / done, 3),
        "machine_cpu_ms_per_loop": round(1000 * used[2] / done, 3),  # everything: servers, database, wrk
        "errors": int(result["non_2xx"] + result["socket_errors"]),
    }


def missing_outputs(server: Server, url: str) -> int:
    """Completed loops without an output.json, once nothing is left to write (at most 60 s)."""
    import sqlalchemy as sa

    from crowdloop.store.tables import human_loops, outbox

    svc = portal.services_for(server, url)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            with svc.store.read() as conn:
                if not conn.execute(sa.select(sa.func.count()).select_from(outbox)).scalar_one():
                    break
            time.sleep(0.5)
        with svc.store.read() as conn:
            completed = conn.execute(
                sa.select(sa.func.count()).select_from(human_loops).where(human_loops.c.status == "Completed")
            ).scalar_one()
    finally:
        svc.store.dispose()
    written = sum(1 for _ in (server.data_dir / "output").rglob("output.json"))
    return int(completed) - written


def one_count(processes: int, url: str, args: argparse.Namespace) -> dict[str, Any]:
    log_path = Path(tempfile.mkdtemp(prefix="crowdloop-bench-")) / "server.log"
    server = start_server(
        url, {"CROWDLOOP_LOG_LEVEL": "warning"}, args=("--workers", str(processes)), log_path=log_path
    )
    try:
        portal_result = portal_load(server, url, args.workers, args.seconds)
        loops_result = start_loops_load(server, args.connections, args.seconds)
        missing = missing_outputs(server, url)
    finally:
        server.stop()
    resent = sum(int(found.group(1)) for found in RESENT.finditer(log_path.read_text()))
    return {
        "processes": processes,
        "portal": portal_result,
        "start_loops": loops_result,
        "duplicated_outputs": resent,
        "missing_outputs": missing,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--processes", default="1,2,4", help="comma-separated server process counts")
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--workers", type=int, default=32, help="simulated portal workers")
    parser.add_argument("--connections", type=int, default=32, help="wrk connections for StartHumanLoop")
    args = parser.parse_args()
    from tests.pg import PostgresServer

    postgres = PostgresServer()
    try:
        runs = [one_count(int(n), postgres.create_database(), args) for n in args.processes.split(",")]
    finally:
        postgres.stop()
    base = runs[0]
    for run in runs:
        run["portal_ratio_to_first"] = round(run["portal"]["cycles_per_s"] / base["portal"]["cycles_per_s"], 2)
        run["start_loops_ratio_to_first"] = round(
            run["start_loops"]["loops_per_s"] / base["start_loops"]["loops_per_s"], 2
        )
    print(json.dumps({"bench": "cluster", "backend": "postgresql", "seconds": args.seconds, "runs": runs}))


if __name__ == "__main__":
    main()
