"""Benchmark: export 1M answers (333,334 loops x 3 workers, seed ranking convention) from a SQLite store as
Parquet preference pairs (all pairs, ties excluded, one row per annotator).

The store is filled once: flow definition, work team and workers through the domain calls, then loops and
submitted assignments in bulk INSERTs (the queue would take an hour for a million answers). Loops look
like the seed notebook's: a prompt and three responses of 300-500 characters; each worker picks a rank
1-3 for each response independently, as the seed template lets them (so some pairs are ties).

Measured in child processes, so each peak RSS is its own: the baseline is a plain scan of the same rows
(the loops' input and every submitted answer with its worker id, fetched and discarded); the export is
`crowdloop export preferences --format parquet` in-process, with its worker processes (--jobs). CPU time
includes the workers'; export_peak_rss_mb is the export process's peak plus each worker's. Prints one JSON line.

    python bench/export.py [--loops 333334] [--database-url URL [--filled]] [--keep] [--jobs N]
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
import resource
import shutil
import subprocess
import tempfile
import time
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from crowdloop import flows, workers, workforce
from crowdloop.blobs import LocalBlobStore
from crowdloop.clock import SystemClock
from crowdloop.config import Settings
from crowdloop.runtime import Caller, Services
from crowdloop.store import open_store
from crowdloop.store.tables import assignments, human_loops

CALLER = Caller(account="123456789012", region="us-east-1")
FLOW = "bench-export-fd"
WORDS = (
    "light",
    "mirror",
    "reflects",
    "travels",
    "your",
    "eyes",
    "brain",
    "image",
    "surface",
    "angle",
    "photons",
    "the",
    "a",
    "of",
    "and",
    "then",
    "back",
    "toward",
    "signal",
    "processes",
)


def text(rng: random.Random, low: int, high: int) -> str:
    target = rng.randint(low, high)
    words: list[str] = []
    size = 0
    while size < target:
        word = rng.choice(WORDS)
        words.append(word)
        size += len(word) + 1
    return " ".join(words)


def fill(url: str, data_dir: str, n_loops: int, task_count: int = 3) -> None:
    store = open_store(url)
    settings = Settings(data_dir=data_dir, database_url=url)
    svc = Services(settings=settings, store=store, clock=SystemClock(), blobs=LocalBlobStore(settings.output_path))
    team = workforce.create_workteam(
        svc,
        CALLER,
        "bench-team",
        description="bench",
        member_definitions=[{"OidcMemberDefinition": {"Groups": ["bench"]}}],
    )
    ui = flows.create_human_task_ui(svc, CALLER, "bench-ui", "<p>{{ task.input.taskObject.prompt }}</p>")
    flow = flows.create_flow_definition(
        svc,
        CALLER,
        FLOW,
        role_arn="arn:aws:iam::123456789012:role/bench",
        output_config={"S3OutputPath": "s3://bench/out"},
        human_loop_config={
            "WorkteamArn": team.arn,
            "HumanTaskUiArn": ui.arn,
            "TaskCount": task_count,
            "TaskTitle": "rank",
            "TaskDescription": "rank the answers",
        },
    )
    worker_ids = [workers.add_worker(svc, f"rater{i}@bench", groups=["bench"]).id for i in range(24)]
    rng = random.Random(7)
    now = datetime(2026, 1, 1, tzinfo=UTC)
    chunk = 20000
    loop_id = 0
    for start in range(0, n_loops, chunk):
        loop_rows, answer_rows = [], []
        for i in range(start, min(start + chunk, n_loops)):
            loop_id += 1
            name = f"loop-{i:07d}"
            item = {
                "taskObject": {
                    "prompt": f"Question {i}: " + text(rng, 60, 140),
                    "responses": [text(rng, 300, 500) for _ in range(3)],
                }
            }
            loop_rows.append(
                {
                    "id": loop_id,
                    "account": CALLER.account,
                    "region": CALLER.region,
                    "name": name,
                    "name_key": name,
                    "arn": f"arn:aws:sagemaker:us-east-1:123456789012:human-loop/{name}",
                    "flow_definition_id": flow.id,
                    "status": "Completed",
                    "created_at": now,
                    "input_content": json.dumps(item),
                    "output_uri": f"s3://bench/out/{FLOW}/2026/01/01/00/00/00/{name}/output.json",
                    "template_sha256": ui.template_sha256,
                    "task_count": task_count,
                    "open_slots": 0,
                    "answers_count": task_count,
                    "task_time_limit_seconds": 3600,
                    "available_until": now + timedelta(days=1),
                    "ended_at": now,
                    "output_written": True,
                }
            )
            for worker in rng.sample(worker_ids, task_count):
                answer = {f"response_{k}_ranking": str(rng.randint(1, 3)) for k in (1, 2, 3)}
                answer_rows.append(
                    {
                        "loop_id": loop_id,
                        "worker_id": worker,
                        "state": "submitted",
                        "accepted_at": now,
                        "expires_at": now + timedelta(hours=1),
                        "ended_at": now,
                        "answer_content": json.dumps(answer),
                        "time_spent_seconds": 12.5,
                    }
                )
        with store.write() as conn:
            conn.execute(human_loops.insert(), loop_rows)
            conn.execute(assignments.insert(), answer_rows)
    store.dispose()


def baseline(url: str) -> dict[str, float]:
    """Scan the rows the export reads: each loop's input, each submitted answer with its worker id."""
    from crowdloop.store.tables import workers as worker_table

    store = open_store(url, migrate=False)
    rows = 0
    with store.read() as conn:
        for _ in conn.execution_options(yield_per=5000).execute(
            sa.select(human_loops.c.id, human_loops.c.name, human_loops.c.input_content)
            .where(human_loops.c.status == "Completed")
            .order_by(human_loops.c.id)
        ):
            rows += 1
        for _ in conn.execution_options(yield_per=5000).execute(
            sa.select(assignments.c.loop_id, worker_table.c.worker_id, assignments.c.answer_content)
            .join(worker_table, worker_table.c.id == assignments.c.worker_id)
            .where(assignments.c.state == "submitted")
            .order_by(assignments.c.loop_id)
        ):
            rows += 1
    store.dispose()
    return {"rows": rows}


def run_export(url: str, output: str, jobs: str = "") -> dict[str, float]:
    """The export; its worker processes' count and the sum of their peak RSS (each reports its own)."""
    from crowdloop.export.api import export, run

    job = run(FLOW, "preferences", database_url=url, jobs=int(jobs) if jobs else None)
    result = export(job, output, "parquet")
    return {
        "rows": int(result.card["output"]["rows"]),
        "workers": job.workers_used,
        "workers_rss_mb": sum(job.worker_peaks.values()) / 1024,
    }


def measure(mode: str, *args: str) -> None:
    """In a fresh process: run `mode`, print its wall time, CPU time (user + system, all threads, this process
    and its workers; less sensitive than wall time to other work on the machine) and peak RSS as JSON."""

    def cpu() -> float:
        own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
        return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime

    started, cpu_started = time.perf_counter(), cpu()
    result: dict[str, float] = {"baseline": baseline, "run_export": run_export}[mode](*args)  # type: ignore[operator]
    result.update(
        {
            "seconds": time.perf_counter() - started,
            "cpu_seconds": cpu() - cpu_started,
            "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            "largest_child_rss_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024,
        }
    )
    print(json.dumps(result))


def child(mode: str, *args: str) -> dict[str, float]:
    """Run one measurement in a fresh process, so that each peak RSS is its own."""
    code = f"import sys; sys.path.insert(0, {str(HERE.parent)!r}); import bench.export as b; b.measure(*sys.argv[1:])"
    done = subprocess.run([sys.executable, "-c", code, mode, *args], capture_output=True, text=True, check=True)
    result: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--loops", type=int, default=333334)
    parser.add_argument("--database-url", default="", help="an empty database to fill (default: a new SQLite file)")
    parser.add_argument(
        "--filled",
        action="store_true",
        help="the --database-url store is already filled by an earlier run (measure only)",
    )
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    parser.add_argument("--jobs", type=int, default=None, help="export processes (default: the export's own)")
    args = parser.parse_args()
    if args.filled and not args.database_url:
        parser.error("--filled needs --database-url")
    work = Path(tempfile.mkdtemp(prefix="crowdloop-bench-export-"))
    url = args.database_url or f"sqlite:///{work / 'crowdloop.db'}"
    try:
        started = time.perf_counter()
        if not args.filled:
            fill(url, str(work), args.loops)
        fill_seconds = time.perf_counter() - started
        load_before = os.getloadavg()[0]
        scan = child("baseline", url)
        out = work / "preferences.parquet"
        exported = child("run_export", url, str(out), str(args.jobs or ""))
        # Every process's own peak, added up: the export process and each worker (their peaks may not
        # coincide in time, so this is an upper bound of the memory the export needed at once).
        total_rss = exported["rss_mb"] + exported["workers_rss_mb"]
        print(
            json.dumps(
                {
                    "bench": "export_preferences_parquet",
                    "backend": "sqlite" if url.startswith("sqlite") else "postgresql",
                    "loops": args.loops,
                    "answers": args.loops * 3,
                    "rows": int(exported["rows"]),
                    "export_s": round(exported["seconds"], 2),
                    "export_cpu_s": round(exported["cpu_seconds"], 2),
                    "export_peak_rss_mb": round(total_rss, 1),
                    "export_parent_rss_mb": round(exported["rss_mb"], 1),
                    "export_workers": int(exported["workers"]),
                    "export_workers_rss_mb": round(exported["workers_rss_mb"], 1),
                    "export_largest_worker_rss_mb": round(exported["largest_child_rss_mb"], 1),
                    "baseline_select_s": round(scan["seconds"], 2),
                    "baseline_cpu_s": round(scan["cpu_seconds"], 2),
                    "baseline_peak_rss_mb": round(scan["rss_mb"], 1),
                    "ratio_to_baseline": round(exported["seconds"] / scan["seconds"], 2),
                    "cpu_ratio_to_baseline": round(exported["cpu_seconds"] / scan["cpu_seconds"], 2),
                    "parquet_mb": round(out.stat().st_size / 2**20, 1),
                    "fill_s": round(fill_seconds, 1),
                    "cpus": os.cpu_count(),
                    "load_1m_before": round(load_before, 2),
                    "load_1m": round(os.getloadavg()[0], 2),
                    "fill_peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
                }
            )
        )
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
