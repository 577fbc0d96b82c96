"""Benchmark: a Ground Truth labeling job with a big input manifest (issue: "a 1,000,000-line manifest -> job
InProgress and every object queued in under 30 s; after simulated workers answer, the 1M-line output manifest
written in under 30 s; peak RSS under 500 MB"), and how its cost grows from 10k to 1M lines.

For each size (`--sizes`, fresh server and store for each), on SQLite or a throwaway PostgreSQL
(`--database`), through a real `crowdloop serve` and boto3:

1. the manifest (`{"source-ref": "s3://…/images/<n>.jpg", "id": "<n>"}` per line) is uploaded to the built-in
   S3 with the template and label file; the server's peak RSS is then reset (`/proc/<pid>/clear_refs`);
2. **to InProgress**: CreateLabelingJob (built-in ImageMultiClass PRE/ACS Lambda ARNs, 2 labels, a
   crowd-image-classifier template, 3 workers per object, MaxConcurrentTaskCount 1000) until
   DescribeLabelingJob shows InProgress with `Unlabeled == size` (the step has stored every object and
   released the first 1,000 as human loops); `init_rss_mb` is the server's VmHWM over that phase;
3. **the step's cost** on the InProgress job: `step.run_step` called in the bench process on the same store
   (the exact work of the server's step each second for an active job with nothing finished: collect's
   reads, release with no room, the "anything unfinished" read), median ms of `--step-repeat` calls, and the
   server's own CPU per second while idle; at the largest size the EXPLAIN plans of every statement on
   `labeling_objects` that step ran (`plans`);
4. **simulated workers** (what is simulated): answering a million objects through the portal is out of reach
   (about 1 ms per cycle, at most 5,000 tasks out at once), so the store is written directly, in one
   transaction, to the state collect.py leaves after every object was answered and consolidated: each queued
   or released object `labeled` with the label the built-in ACS-ImageMultiClass consolidation gives for three
   answers (two "cat" and one "dog", or the reverse on odd objects: `{"label": 0, "label-metadata":
   {"confidence": …, "class-name": "cat", …}}`), the job's counters labeled = objects, released = queued = 0, and
   the job woken (`next_step_at` = now, `wakes` + 1). The 1,000 released objects' human loops are left open
   (the end of a job reads objects, never loops). No worker-response or consolidation files are written;
5. **to Completed**: from that commit until DescribeLabelingJob says Completed (the runner's next step sees
   nothing left and runs finish.complete: the output manifest, then the status) and the output manifest
   exists; `finish_rss_mb` is the server's VmHWM over that phase. The manifest is then read back through S3
   and its lines counted (not timed).

Prints one JSON line: per size the seconds of each phase, the peak RSS of each phase and the whole run
(`rss_mb`, upload included), the step's cost, and `per_line_ratio`: each size's seconds per line divided by
the first size's (10k) of the same run — the growth curve (1.0: linear).

    python bench/labeling_job.py [--sizes 10000,100000,1000000] [--database sqlite|postgresql]
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
import shutil
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa

from bench.common import Server, start_server
from crowdloop.blobs import LocalBlobStore
from crowdloop.clock import SystemClock
from crowdloop.config import Settings
from crowdloop.groundtruth import consolidation
from crowdloop.groundtruth.tasktypes import TaskType
from crowdloop.labeling import step
from crowdloop.labeling.runner import Claim
from crowdloop.runtime import Services
from crowdloop.store import open_store
from crowdloop.store.tables import labeling_jobs, labeling_objects
from tests.api.labeling_helpers import CLASSIFIER

LAMBDA = "arn:aws:lambda:us-east-1:432418664414:function:{}-ImageMultiClass"
ROLE = "arn:aws:iam::123456789012:role/service-role/AmazonSageMaker-ExecutionRole-bench"
TEMPLATE = CLASSIFIER  # the labeling tests' crowd-image-classifier template
WORKERS = 3
CONCURRENCY = 1000


def write_manifest(path: Path, size: int) -> int:
    with path.open("wb") as out:
        for n in range(size):
            out.write(b'{"source-ref": "s3://bench-pictures/images/%07d.jpg", "id": "%07d"}\n' % (n, n))
    return path.stat().st_size


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return round(int(line.split()[1]) / 1024, 1)
    raise RuntimeError("no VmHWM")


def reset_peak_rss(pid: int) -> None:
    """Make VmHWM the current RSS again (Linux >= 4.0), so each phase's peak is its own."""
    Path(f"/proc/{pid}/clear_refs").write_text("5")


def labels_for(job_name: str) -> tuple[str, str]:
    """What ACS-ImageMultiClass gives for three answers: two for one class, one for the other."""
    made = []
    for majority, minority in (("cat", "dog"), ("dog", "cat")):
        answers = [
            consolidation.WorkerAnnotation(f"w{k}", {"crowd-image-classifier": {"label": label}})
            for k, label in enumerate((majority, majority, minority))
        ]
        result = consolidation.consolidate(
            TaskType("ImageMultiClass"),
            label_attribute_name="label",
            job_name=job_name,
            labels=["cat", "dog"],
            objects=[consolidation.DataObject("0", {"source-ref": "s3://b/x.jpg"}, answers)],
            created=datetime.now(UTC),
        )
        made.append(json.dumps(result["0"].content, separators=(",", ":")))
    return made[0], made[1]


def simulate_answers(svc: Services, job_id: int, job_name: str) -> None:
    """Every queued or released object labeled as consolidation would leave it, the counters set, the job
    woken: one transaction."""
    cat, dog = labels_for(job_name)
    o, j = labeling_objects, labeling_jobs
    with svc.store.write() as conn:
        conn.execute(
            o.update()
            .where(o.c.job_id == job_id, o.c.state.in_(("queued", "released")))
            .values(state="labeled", label=sa.case((o.c.object_index % 2 == 0, cat), else_=dog))
        )
        conn.execute(
            j.update()
            .where(j.c.id == job_id)
            .values(
                labeled=j.c.objects - j.c.failed - j.c.skipped,
                released=0,
                queued=0,
                next_step_at=svc.clock.now(),
                wakes=j.c.wakes + 1,
            )
        )


class Captured:
    """The SQL statements run in this process while `on` (for EXPLAIN)."""

    def __init__(self) -> None:
        self.on = False
        self.statements: list[tuple[str, Any]] = []
        sa.event.listen(sa.engine.Engine, "before_cursor_execute", self._seen)

    def _seen(self, conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, many: bool) -> None:
        if self.on and not many:
            self.statements.append((statement, parameters))


def step_cost(svc: Services, job_id: int, repeat: int, captured: Captured) -> tuple[float, list[dict[str, Any]]]:
    """Median ms of the InProgress job's step (nothing finished, no room to release), and the plans of the
    statements on labeling_objects it ran."""
    claim = Claim(job_id, "bench", 0, svc.clock.now() + timedelta(days=1))
    step.run_step(svc, claim)  # warm-up
    times = []
    for n in range(repeat):
        captured.on, captured.statements = n == 0, []
        started = time.perf_counter()
        step.run_step(svc, claim)
        times.append((time.perf_counter() - started) * 1000)
        captured.on = False
        if n == 0:
            statements = list(captured.statements)
    plans = []
    postgres = svc.store.url.startswith("postgresql")
    with svc.store.read() as conn:
        for statement, parameters in statements:
            if "labeling_objects" not in statement or not statement.lstrip().upper().startswith("SELECT"):
                continue
            explain = "EXPLAIN " if postgres else "EXPLAIN QUERY PLAN "
            rows = conn.exec_driver_sql(explain + statement, parameters).all()
            plan = [str(row[0]) if postgres else str(row[-1]) for row in rows]
            plans.append({"sql": " ".join(statement.split())[:300], "plan": plan})
    return round(statistics.median(times), 2), plans


def wait_for(sm: Any, name: str, done: Any, timeout: float) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        described: dict[str, Any] = sm.describe_labeling_job(LabelingJobName=name)
        if done(described):
            return described
        if described["LabelingJobStatus"] == "Failed" or time.monotonic() > deadline:
            raise RuntimeError(f"job {name}: {described['LabelingJobStatus']} {described.get('FailureReason')}")
        time.sleep(0.1)


def run_size(database: str, postgres: Any, size: int, step_repeat: int, explain: bool) -> dict[str, Any]:
    url = None if database == "sqlite" else postgres.create_database()
    server = start_server(url)
    work = Path(tempfile.mkdtemp(prefix="crowdloop-bench-gt-"))
    try:
        return measure(server, url, work, size, step_repeat, explain)
    finally:
        server.stop()
        shutil.rmtree(work, ignore_errors=True)
        shutil.rmtree(server.data_dir, ignore_errors=True)


def measure(server: Server, url: str | None, work: Path, size: int, step_repeat: int, explain: bool) -> dict[str, Any]:
    pid = server.process.pid
    s3, sm = server.client("s3"), server.client("sagemaker")
    bucket, name = "bench-gt", f"bench-{size}"
    s3.create_bucket(Bucket=bucket)
    manifest = work / "in.manifest"
    manifest_bytes = write_manifest(manifest, size)
    with manifest.open("rb") as body:
        s3.put_object(Bucket=bucket, Key="input/in.manifest", Body=body)
    s3.put_object(Bucket=bucket, Key="input/template.liquid", Body=TEMPLATE.encode())
    labels = {"document-version": "2018-11-28", "labels": [{"label": "cat"}, {"label": "dog"}]}
    s3.put_object(Bucket=bucket, Key="input/labels.json", Body=json.dumps(labels).encode())
    team = sm.create_workteam(
        WorkteamName="bench-team",
        Description="bench",
        MemberDefinitions=[{"OidcMemberDefinition": {"Groups": ["raters"]}}],
    )["WorkteamArn"]
    upload_rss = peak_rss_mb(pid)

    reset_peak_rss(pid)
    started = time.perf_counter()
    sm.create_labeling_job(
        LabelingJobName=name,
        LabelAttributeName="label",
        InputConfig={"DataSource": {"S3DataSource": {"ManifestS3Uri": f"s3://{bucket}/input/in.manifest"}}},
        OutputConfig={"S3OutputPath": f"s3://{bucket}/output/"},
        RoleArn=ROLE,
        LabelCategoryConfigS3Uri=f"s3://{bucket}/input/labels.json",
        HumanTaskConfig={
            "WorkteamArn": team,
            "UiConfig": {"UiTemplateS3Uri": f"s3://{bucket}/input/template.liquid"},
            "PreHumanTaskLambdaArn": LAMBDA.format("PRE"),
            "AnnotationConsolidationConfig": {"AnnotationConsolidationLambdaArn": LAMBDA.format("ACS")},
            "TaskTitle": "Cats and dogs",
            "TaskDescription": "Say what is in each picture",
            "NumberOfHumanWorkersPerDataObject": WORKERS,
            "TaskTimeLimitInSeconds": 300,
            "MaxConcurrentTaskCount": CONCURRENCY,
        },
    )
    wait_for(
        sm,
        name,
        lambda d: d["LabelingJobStatus"] == "InProgress" and d["LabelCounters"]["Unlabeled"] == size,
        timeout=600,
    )
    to_in_progress = time.perf_counter() - started
    init_rss = peak_rss_mb(pid)

    database_url = url or f"sqlite:///{server.data_dir}/crowdloop.db"
    settings = Settings(data_dir=str(server.data_dir), database_url=database_url)
    svc = Services(
        settings=settings,
        store=open_store(database_url, migrate=False),
        clock=SystemClock(),
        blobs=LocalBlobStore(settings.output_path),
    )
    try:
        with svc.store.read() as conn:
            job_id = int(conn.execute(sa.select(labeling_jobs.c.id).where(labeling_jobs.c.name == name)).scalar_one())
        time.sleep(2)  # the step releasing the first objects
        cpu_before, idle_started = server.cpu_seconds(), time.perf_counter()
        time.sleep(5)
        with svc.store.read() as conn:
            released = int(
                conn.execute(sa.select(labeling_jobs.c.released).where(labeling_jobs.c.id == job_id)).scalar_one()
            )
        idle_cpu_ms_per_s = (server.cpu_seconds() - cpu_before) / (time.perf_counter() - idle_started) * 1000
        step_ms, plans = step_cost(svc, job_id, step_repeat, Captured())

        simulate_started = time.perf_counter()
        reset_peak_rss(pid)
        simulate_answers(svc, job_id, name)
        started = time.perf_counter()
        simulate_s = started - simulate_started
        wait_for(sm, name, lambda d: d["LabelingJobStatus"] == "Completed", timeout=600)
        s3.head_object(Bucket=bucket, Key=f"output/{name}/manifests/output/output.manifest")
        to_completed = time.perf_counter() - started
        finish_rss = peak_rss_mb(pid)
    finally:
        svc.store.dispose()

    body = s3.get_object(Bucket=bucket, Key=f"output/{name}/manifests/output/output.manifest")["Body"]
    lines = labeled = 0
    output_bytes = 0
    for line in body.iter_lines(chunk_size=1 << 20):
        lines += 1
        output_bytes += len(line) + 1
        labeled += b'"label-metadata"' in line
    if lines != size or labeled != size:
        raise RuntimeError(f"output manifest: {lines} lines, {labeled} labeled, expected {size}")
    result: dict[str, Any] = {
        "to_in_progress_s": round(to_in_progress, 2),
        "to_completed_s": round(to_completed, 2),
        "step_ms": step_ms,
        "idle_server_cpu_ms_per_s": round(idle_cpu_ms_per_s, 1),
        "init_rss_mb": init_rss,
        "finish_rss_mb": finish_rss,
        "rss_mb": max(upload_rss, init_rss, finish_rss),
        "released": released,
        "simulate_s": round(simulate_s, 2),
        "manifest_mb": round(manifest_bytes / 2**20, 1),
        "output_manifest_mb": round(output_bytes / 2**20, 1),
    }
    if explain:
        result["plans"] = plans
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="10000,100000,1000000", help="manifest lines, comma-separated")
    parser.add_argument("--database", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--step-repeat", type=int, default=20)
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    postgres = None
    if args.database == "postgresql":
        from tests.pg import PostgresServer

        postgres = PostgresServer()
    load_before = os.getloadavg()[0]
    by_size: dict[str, dict[str, Any]] = {}
    try:
        for size in sizes:
            by_size[str(size)] = run_size(args.database, postgres, size, args.step_repeat, size == max(sizes))
    finally:
        if postgres is not None:
            postgres.stop()
    base = sizes[0]
    ratios = {
        str(size): {
            key: round((by_size[str(size)][key] / size) / (by_size[str(base)][key] / base), 2)
            for key in ("to_in_progress_s", "to_completed_s")
        }
        | {"step_ms": round(by_size[str(size)]["step_ms"] / by_size[str(base)]["step_ms"], 2)}
        for size in sizes[1:]
    }
    targets = {
        "to_in_progress_under_30s": all(r["to_in_progress_s"] < 30 for r in by_size.values()),
        "to_completed_under_30s": all(r["to_completed_s"] < 30 for r in by_size.values()),
        "rss_under_500mb": all(r["rss_mb"] < 500 for r in by_size.values()),
    }
    print(
        json.dumps(
            {
                "bench": "labeling_job",
                "database": args.database,
                "sizes": by_size,
                "per_line_ratio_to_first": ratios,
                "targets_met": targets,
                "simulated": "workers' answers and consolidation: objects set labeled in the store directly",
                "cpus": os.cpu_count(),
                "load_1m": [round(load_before, 2), round(os.getloadavg()[0], 2)],
            }
        ),
        flush=True,
    )


if __name__ == "__main__":
    main()
