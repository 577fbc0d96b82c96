"""Benchmark: 64 concurrent workers doing claim -> submit through the queue, on SQLite and PostgreSQL.

Workers run as threads spread over several processes (so the GIL of one process is not the limit), each
calling the same domain functions the portal calls. Before the measured run, the same workers do two
empty write transactions per cycle: that baseline, measured in the same run on the same database, shows
how close the queue gets to the store's own transaction ceiling. Prints one JSON line per backend with
answers/s, p50/p99 per cycle, double assignments and over-answered loops (both must be 0).

    python bench/queue.py [--backend sqlite|postgresql|both] [--workers 64] [--loops 4000]
"""

from __future__ import annotations

import sys
from pathlib import Path

# This file is named like the standard library's `queue`: keep its folder off the import path.
HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE]

import argparse
import dataclasses
import json
import multiprocessing
import statistics
import tempfile
import time
from typing import Any

ROOT = HERE.parent
sys.path.insert(0, str(ROOT))

import sqlalchemy as sa

from crowdloop import flows, loops, queue, workers, workforce
from crowdloop.blobs import LocalBlobStore
from crowdloop.clock import SystemClock
from crowdloop.config import Settings
from crowdloop.outbox import OutboxWriters
from crowdloop.output import KIND as OUTPUT
from crowdloop.runtime import Caller, Services
from crowdloop.store import open_store
from crowdloop.store.tables import assignments, human_loops

CALLER = Caller(account="123456789012", region="us-east-1")


def services(url: str, data_dir: str, *, background_output: bool = False) -> Services:
    """Services as the server builds them: with background_output, output.json files are written by the
    outbox writer thread instead of inside each submit."""
    settings = Settings(data_dir=data_dir, database_url=url)
    svc = Services(
        settings=settings,
        store=open_store(url, migrate=False),
        clock=SystemClock(),
        blobs=LocalBlobStore(settings.output_path),
    )
    if not background_output:
        return svc
    writers = OutboxWriters(svc, [OUTPUT], poll_seconds=settings.reaper_interval_seconds)
    writers.start()
    return dataclasses.replace(svc, outbox=writers)


def set_up(url: str, data_dir: str, n_workers: int, n_loops: int, task_count: int) -> tuple[int, list[int]]:
    open_store(url).dispose()
    svc = services(url, data_dir)
    team = workforce.create_workteam(
        svc,
        CALLER,
        "bench-team",
        description="bench",
        member_definitions=[{"OidcMemberDefinition": {"Groups": ["bench"]}}],
    )
    ui = flows.create_human_task_ui(svc, CALLER, "bench-ui", "<p>{{ task.input.n }}</p>")
    flow = flows.create_flow_definition(
        svc,
        CALLER,
        "bench-fd",
        role_arn="arn:aws:iam::123456789012:role/bench",
        output_config={"S3OutputPath": "s3://bench/out"},
        human_loop_config={
            "WorkteamArn": team.arn,
            "HumanTaskUiArn": ui.arn,
            "TaskCount": task_count,
            "TaskTitle": "bench",
            "TaskDescription": "bench",
        },
    )
    flows.describe_flow_definition(svc, CALLER, "bench-fd")
    worker_pks = [workers.add_worker(svc, f"w{i}@bench.example", groups=["bench"]).id for i in range(n_workers)]
    for i in range(n_loops):
        loops.start_human_loop(svc, CALLER, f"loop-{i}", flow.arn, json.dumps({"n": i}))
    with svc.store.read() as conn:
        fd_id = int(conn.execute(sa.text("SELECT id FROM flow_definitions WHERE name = 'bench-fd'")).scalar_one())
    svc.store.dispose()
    return fd_id, worker_pks


def _worker_process(
    url: str, data_dir: str, fd_id: int, worker_pks: list[int], mode: str, cycles: int, start_at: float, results: Any
) -> None:
    import threading

    svc = services(url, data_dir, background_output=True)
    latencies: list[float] = []
    lock = threading.Lock()

    def work(worker_pk: int) -> None:
        mine: list[float] = []
        done = 0
        while True:
            began = time.perf_counter()
            if mode == "baseline":
                if done >= cycles:
                    break
                for _ in range(2):
                    with svc.store.write() as conn:
                        conn.execute(sa.text("SELECT 1"))
            else:
                lease = queue.claim(svc, worker_pk, fd_id)
                if lease is None:
                    break
                queue.submit(svc, lease.assignment_id, worker_pk, {"ok": {"label": "yes"}}, 1.0)
            mine.append(time.perf_counter() - began)
            done += 1
        with lock:
            latencies.extend(mine)

    while time.time() < start_at:
        time.sleep(0.001)
    threads = [threading.Thread(target=work, args=(pk,)) for pk in worker_pks]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if isinstance(svc.outbox, OutboxWriters):
        svc.outbox.close(60)
    results.put((latencies, time.time()))
    svc.store.dispose()


def run_phase(
    url: str, data_dir: str, fd_id: int, worker_pks: list[int], processes: int, mode: str, cycles: int
) -> dict[str, float]:
    context = multiprocessing.get_context("spawn")
    results = context.Queue()
    start_at = time.time() + 2.0  # let every process import and connect first
    groups = [worker_pks[i::processes] for i in range(processes)]
    procs = [
        context.Process(target=_worker_process, args=(url, data_dir, fd_id, group, mode, cycles, start_at, results))
        for group in groups
    ]
    for proc in procs:
        proc.start()
    latencies: list[float] = []
    finished = start_at
    for _ in procs:
        lat, ended = results.get()
        latencies.extend(lat)
        finished = max(finished, ended)
    for proc in procs:
        proc.join()
    elapsed = finished - start_at
    latencies.sort()
    return {
        "cycles": len(latencies),
        "seconds": elapsed,
        "per_s": len(latencies) / elapsed,
        "p50_ms": 1000 * statistics.median(latencies) if latencies else 0.0,
        "p99_ms": 1000 * latencies[int(0.99 * (len(latencies) - 1))] if latencies else 0.0,
    }


def check(url: str, data_dir: str) -> dict[str, int]:
    svc = services(url, data_dir)
    a, h = assignments, human_loops
    with svc.store.read() as conn:
        doubles = conn.execute(
            sa.select(sa.func.count()).select_from(
                sa.select(a.c.loop_id, a.c.worker_id)
                .where(a.c.state == "submitted")
                .group_by(a.c.loop_id, a.c.worker_id)
                .having(sa.func.count() > 1)
                .subquery()
            )
        ).scalar_one()
        over = conn.execute(
            sa.select(sa.func.count()).select_from(
                sa.select(a.c.loop_id)
                .join(h, h.c.id == a.c.loop_id)
                .where(a.c.state == "submitted")
                .group_by(a.c.loop_id, h.c.task_count)
                .having(sa.func.count() > h.c.task_count)
                .subquery()
            )
        ).scalar_one()
        unfinished = conn.execute(sa.select(sa.func.count()).where(h.c.status != "Completed")).scalar_one()
        unwritten = conn.execute(sa.select(sa.func.count()).where(~h.c.output_written)).scalar_one()
    svc.store.dispose()
    return {
        "double_assignments": int(doubles),
        "over_answered_loops": int(over),
        "loops_not_completed": int(unfinished),
        "outputs_not_written": int(unwritten),
    }


def bench(backend: str, args: argparse.Namespace) -> dict[str, Any]:
    data_dir = tempfile.mkdtemp(prefix="crowdloop-bench-queue-")
    postgres = None
    if backend == "sqlite":
        url = f"sqlite:///{data_dir}/crowdloop.db"
    else:
        from tests.pg import PostgresServer

        postgres = PostgresServer()
        url = postgres.create_database()
    try:
        fd_id, worker_pks = set_up(url, data_dir, args.workers, args.loops, args.task_count)
        baseline = run_phase(
            url,
            data_dir,
            fd_id,
            worker_pks,
            args.processes,
            "baseline",
            max(1, args.loops * args.task_count // args.workers),
        )
        measured = run_phase(url, data_dir, fd_id, worker_pks, args.processes, "queue", 0)
        checks = check(url, data_dir)
    finally:
        if postgres:
            postgres.stop()
    return {
        "bench": "queue",
        "backend": backend,
        "workers": args.workers,
        "processes": args.processes,
        "loops": args.loops,
        "task_count": args.task_count,
        "answers": measured["cycles"],
        "answers_per_s": round(measured["per_s"], 1),
        "p50_ms": round(measured["p50_ms"], 2),
        "p99_ms": round(measured["p99_ms"], 2),
        "baseline_empty_tx_pairs_per_s": round(baseline["per_s"], 1),
        "ratio_to_baseline": round(measured["per_s"] / baseline["per_s"], 3),
        **checks,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--workers", type=int, default=64)
    parser.add_argument(
        "--processes",
        type=int,
        default=None,
        help="worker processes (default: 1 on SQLite, whose writes are serialised anyway, 2 on PostgreSQL)",
    )
    parser.add_argument("--loops", type=int, default=3000)
    parser.add_argument("--task-count", type=int, default=3)
    args = parser.parse_args()
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    for backend in backends:
        run_args = argparse.Namespace(**vars(args))
        if run_args.processes is None:
            run_args.processes = 1 if backend == "sqlite" else 2
        print(json.dumps(bench(backend, run_args)), flush=True)


if __name__ == "__main__":
    main()
