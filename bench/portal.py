"""Benchmark: simulated workers answering tasks through the worker portal of `crowdloop serve`.

Each simulated worker signs in once, presses Start working, then repeats the browser's cycle: GET the
task page, GET its task frame (the rendered seed ranking template), POST the answer with the page's
lease token as portal.js does (the server stores it and claims the next task of the job, whose URL the
reply names). Static assets are cached by a
browser, so they are not fetched per cycle. Workers are threads spread over several client processes
so the client is not the limit. Runs with 1, 8 and 32 concurrent workers, each on its own job (flow
definition, TaskCount=1) preloaded with enough loops. Prints one JSON line: per run cycles/s, p50/p99
cycle latency, duplicates (loops answered more than TaskCount times; must be 0) and the server
process's CPU time per cycle (from /proc/<pid>/stat).

    python bench/portal.py [--seconds 8] [--workers 1,8,32] [--processes 4] [--database-url URL]
                           [--backend sqlite|postgresql|both] [--rounds 3]

--backend both runs SQLite and PostgreSQL in alternating rounds and reports PostgreSQL's median server CPU per
cycle as a ratio of SQLite's (issue 13: at most 1.5).
"""

from __future__ import annotations

import sys
from pathlib import Path

# bench/queue.py is named like the standard library's `queue`: keep this folder off the import path. The
# repository goes first: a dependency of the test extra (smdebug_rulesconfig) installs a top-level `tests`.
HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE]
sys.path.insert(0, str(HERE.parent))

import argparse
import http.client
import json
import multiprocessing as mp
import os
import re
import statistics
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import urlencode

from bench.common import Server, start_server

PASSWORD = "bench password 1234"
SEED = HERE.parent / "tests" / "data" / "seeds" / "a2i-ranking-notebook-en.txt"
FALLBACK_TEMPLATE = """<script src="https://assets.crowd.aws/crowd-html-elements.js"></script>
<crowd-form><p>{{ task.input.taskObject.prompt }}</p>
<select name="response_1_ranking" required><option value="1">Most</option></select></crowd-form>"""
INPUT = {
    "taskObject": {
        "prompt": "Explain why you can see yourself in a mirror to a 16 year old.",
        "responses": [
            "Light reflects off you, then off the mirror, into your eyes." * 3,
            "Because of a series of light reflections." * 4,
            "Light travels from a source, reflects twice, reaches your eyes." * 3,
        ],
    }
}
ANSWER = {
    "answer": {"response_1_ranking": "1", "response_2_ranking": "3", "response_3_ranking": "2"},
    "timeSpentInSeconds": 3.5,
}
_CSRF = re.compile(rb'name="csrf_token" value="([^"]+)"')
_FRAME = re.compile(rb'<iframe[^>]* src="([^"]+)"')
_LEASE = re.compile(rb'data-lease="([^"]+)"')


def seed_template() -> str:
    try:
        text = SEED.read_text()
    except FileNotFoundError:
        return FALLBACK_TEMPLATE
    start = text.index('template = r"""') + len('template = r"""')
    return text[start : text.index('"""', start)]


# ---- setup (in this process, on the server's database) -------------------------------------------


def services_for(server: Server, database_url: str | None) -> Any:
    from crowdloop.blobs import LocalBlobStore
    from crowdloop.clock import SystemClock
    from crowdloop.config import Settings
    from crowdloop.runtime import Services
    from crowdloop.store import open_store

    settings = Settings(data_dir=str(server.data_dir), database_url=database_url or "", port=server.port)
    return Services(
        settings=settings,
        store=open_store(settings.resolved_database_url, migrate=False),
        clock=SystemClock(),
        blobs=LocalBlobStore(settings.output_path),
    )


def make_job(server: Server, svc: Any, name: str, loops_count: int) -> int:
    """A work team (group 'bench'), the seed template and a flow definition with `loops_count` loops."""
    from crowdloop import loops
    from crowdloop.runtime import Caller

    sm = server.client("sagemaker")
    team = sm.create_workteam(
        WorkteamName=f"team-{name}",
        Description="benchmark",
        MemberDefinitions=[{"OidcMemberDefinition": {"Groups": ["bench"]}}],
    )
    ui = sm.create_human_task_ui(HumanTaskUiName=f"ui-{name}", UiTemplate={"Content": seed_template()})
    flow = sm.create_flow_definition(
        FlowDefinitionName=f"fd-{name}",
        RoleArn="arn:aws:iam::123456789012:role/bench",
        HumanLoopConfig={
            "WorkteamArn": team["WorkteamArn"],
            "HumanTaskUiArn": ui["HumanTaskUiArn"],
            "TaskCount": 1,
            "TaskTitle": f"bench {name}",
            "TaskDescription": "bench",
        },
        OutputConfig={"S3OutputPath": "s3://bench/out"},
    )
    sm.describe_flow_definition(FlowDefinitionName=f"fd-{name}")
    caller = Caller(account=server_account(server), region="us-east-1")
    content = json.dumps(INPUT)
    for i in range(loops_count):
        loops.start_human_loop(svc, caller, f"{name}-{i}", flow["FlowDefinitionArn"], content)
    return flow_id(svc, f"fd-{name}")


def server_account(server: Server) -> str:
    return str(server.client("sts").get_caller_identity()["Account"])


def flow_id(svc: Any, name: str) -> int:
    import sqlalchemy as sa

    from crowdloop.store.tables import flow_definitions

    with svc.store.read() as conn:
        return int(conn.execute(sa.select(flow_definitions.c.id).where(flow_definitions.c.name == name)).scalar_one())


def make_workers(svc: Any, count: int) -> list[str]:
    from crowdloop import workers

    password_hash = svc.passwords.hash(PASSWORD)
    emails = [f"bench-{uuid.uuid4().hex[:8]}@example.org" for _ in range(count)]
    for email in emails:
        workers.add_worker(svc, email, password_hash=password_hash, groups=["bench"])
    return emails


def duplicates(svc: Any) -> int:
    """Loops with more submitted answers than TaskCount (the queue must make this impossible)."""
    import sqlalchemy as sa

    from crowdloop.store.tables import assignments, human_loops

    submitted = (
        sa.select(assignments.c.loop_id, sa.func.count().label("n"))
        .where(assignments.c.state == "submitted")
        .group_by(assignments.c.loop_id)
        .subquery()
    )
    with svc.store.read() as conn:
        return int(
            conn.execute(
                sa.select(sa.func.count())
                .select_from(submitted.join(human_loops, human_loops.c.id == submitted.c.loop_id))
                .where(submitted.c.n > human_loops.c.task_count)
            ).scalar_one()
        )


# ---- the simulated browser -----------------------------------------------------------------------


class Client:
    """One worker's keep-alive connection and session cookie."""

    def __init__(self, port: int) -> None:
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        self.cookies: dict[str, str] = {}
        self.origin = f"http://127.0.0.1:{port}"

    def request(
        self, method: str, path: str, body: bytes | None = None, headers: dict[str, str] | None = None
    ) -> tuple[int, dict[str, str], bytes]:
        sent = dict(headers or {})
        if self.cookies:
            sent["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        self.conn.request(method, path, body=body, headers=sent)
        response = self.conn.getresponse()
        data = response.read()
        for value in response.headers.get_all("Set-Cookie") or []:
            name, _, rest = value.partition("=")
            self.cookies[name] = rest.split(";", 1)[0]
        return response.status, {k.lower(): v for k, v in response.getheaders()}, data

    def sign_in(self, email: str) -> str:
        status, _, page = self.request("GET", "/signin")
        token = _CSRF.search(page)
        assert status == 200 and token, f"sign-in page: HTTP {status}"
        form = urlencode({"csrf_token": token.group(1).decode(), "email": email, "password": PASSWORD})
        status, _, _ = self.request(
            "POST",
            "/signin",
            form.encode(),
            {"Content-Type": "application/x-www-form-urlencoded", "Origin": self.origin},
        )
        assert status == 303, f"sign in: HTTP {status}"
        status, _, page = self.request("GET", "/")
        token = _CSRF.search(page)
        assert status == 200 and token, f"job list: HTTP {status}"
        return token.group(1).decode()


def worker_thread(
    port: int,
    session: tuple[dict[str, str], str],
    job: int,
    start_at: float,
    stop_at: float,
    out: list[tuple[float, float]],
    errors: list[str],
) -> None:
    client = Client(port)
    client.cookies, csrf = dict(session[0]), session[1]
    form = urlencode({"csrf_token": csrf}).encode()
    status, headers, _ = client.request(
        "POST",
        f"/jobs/{job}/start",
        form,
        {"Content-Type": "application/x-www-form-urlencoded", "Origin": client.origin},
    )
    if status != 303 or not headers.get("location", "").startswith("/tasks/"):
        errors.append(f"start: HTTP {status} {headers.get('location')}")
        return
    task = headers["location"]
    submit_headers = {"Content-Type": "application/json", "X-CSRF-Token": csrf, "Origin": client.origin}
    while time.time() < start_at:
        time.sleep(0.001)
    while True:
        began = time.time()
        if began >= stop_at:
            return
        status, _, page = client.request("GET", task)
        frame, lease = _FRAME.search(page), _LEASE.search(page)
        if status != 200 or not frame or not lease:
            errors.append(f"task page: HTTP {status}")
            return
        status, _, _ = client.request("GET", frame.group(1).decode().replace("&amp;", "&"))
        if status != 200:
            errors.append(f"frame: HTTP {status}")
            return
        body = json.dumps({**ANSWER, "lease": lease.group(1).decode()}).encode()
        status, _, reply = client.request("POST", task + "/submit", body, submit_headers)
        if status != 200:
            errors.append(f"submit: HTTP {status} {reply[:200]!r}")
            return
        ended = time.time()
        if ended <= stop_at:
            out.append((began, ended - began))
        task = json.loads(reply)["next"]
        if not task.startswith("/tasks/"):
            errors.append("ran out of tasks")
            return


def client_process(
    port: int, sessions: list[tuple[dict[str, str], str]], job: int, start_at: float, stop_at: float, results: Any
) -> None:
    out: list[tuple[float, float]] = []
    errors: list[str] = []
    threads = [
        threading.Thread(target=worker_thread, args=(port, s, job, start_at, stop_at, out, errors)) for s in sessions
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    results.put((out, errors))


def run(
    server: Server,
    sessions: list[tuple[dict[str, str], str]],
    job: int,
    processes: int,
    seconds: float,
    cpu_meters: dict[str, Callable[[], float]] | None = None,
) -> dict[str, Any]:
    """One load of len(sessions) workers for `seconds`. cpu_meters: name -> CPU seconds used so far, each
    reported per cycle as NAME_cpu_ms_per_cycle (default: the server process's, as "server")."""
    meters = cpu_meters or {"server": server.cpu_seconds}
    ctx = mp.get_context("fork")
    results = ctx.Queue()
    groups = [sessions[i::processes] for i in range(min(processes, len(sessions)))]
    start_at = time.time() + 1.5  # every worker has started (claimed its first task) by then
    stop_at = start_at + seconds
    procs = [ctx.Process(target=client_process, args=(server.port, g, job, start_at, stop_at, results)) for g in groups]
    for proc in procs:
        proc.start()
    while time.time() < start_at:
        time.sleep(0.001)
    cpu_before = {name: meter() for name, meter in meters.items()}
    cycles: list[tuple[float, float]] = []
    errors: list[str] = []
    for _ in procs:
        out, errs = results.get()
        cycles += out
        errors += errs
    cpu = {name: meter() - cpu_before[name] for name, meter in meters.items()}
    for proc in procs:
        proc.join()
    latencies = sorted(latency for _, latency in cycles)
    return {
        "workers": len(sessions),
        "client_processes": len(groups),
        "cycles": len(cycles),
        "cycles_per_s": round(len(cycles) / seconds, 1),
        "p50_ms": round(1000 * statistics.median(latencies), 2) if latencies else None,
        "p99_ms": round(1000 * latencies[int(0.99 * (len(latencies) - 1))], 2) if latencies else None,
        **{f"{name}_cpu_ms_per_cycle": round(1000 * used / max(len(cycles), 1), 3) for name, used in cpu.items()},
        "errors": errors[:5],
    }


def bench_backend(database_url: str | None, counts: list[int], args: argparse.Namespace) -> dict[str, Any]:
    """One server on this database (None: SQLite), one run per worker count."""
    server = start_server(database_url)
    try:
        svc = services_for(server, database_url)
        emails = make_workers(svc, max(counts))
        with ThreadPoolExecutor(8) as pool:

            def sign_in(email: str) -> tuple[dict[str, str], str]:
                client = Client(server.port)
                csrf = client.sign_in(email)
                return dict(client.cookies), csrf

            sessions = list(pool.map(sign_in, emails))
        runs = []
        for n in counts:
            job = make_job(
                server, svc, f"run{n}-{uuid.uuid4().hex[:6]}", int(args.max_rate * (args.seconds + 2)) + 2 * n
            )
            runs.append(run(server, sessions[:n], job, args.processes, args.seconds))
        dupes = duplicates(svc)
        svc.store.dispose()
    finally:
        server.stop()
    return {
        "bench": "portal",
        "backend": "postgresql" if database_url else "sqlite",
        "seconds": args.seconds,
        "duplicates": dupes,
        "runs": runs,
    }


def compare(counts: list[int], args: argparse.Namespace) -> dict[str, Any]:
    """--backend both: SQLite and PostgreSQL (a throwaway server, a fresh database each round) in alternating
    rounds; the ratio of PostgreSQL's median server CPU per cycle to SQLite's, per worker count."""
    from tests.pg import PostgresServer

    postgres = PostgresServer()
    cpu: dict[str, dict[int, list[float]]] = {"sqlite": {n: [] for n in counts}, "postgresql": {n: [] for n in counts}}
    rates: dict[str, dict[int, list[float]]] = {b: {n: [] for n in counts} for b in cpu}
    dupes = 0
    try:
        for _ in range(args.rounds):
            for backend in ("sqlite", "postgresql"):
                found = bench_backend(postgres.create_database() if backend == "postgresql" else None, counts, args)
                dupes += found["duplicates"]
                for n, entry in zip(counts, found["runs"], strict=True):
                    cpu[backend][n].append(entry["server_cpu_ms_per_cycle"])
                    rates[backend][n].append(entry["cycles_per_s"])
    finally:
        postgres.stop()
    median = {b: {str(n): statistics.median(v) for n, v in by_n.items()} for b, by_n in cpu.items()}
    return {
        "bench": "portal",
        "backend": "both",
        "rounds": args.rounds,
        "seconds": args.seconds,
        "duplicates": dupes,
        "server_cpu_ms_per_cycle": cpu,
        "cycles_per_s": rates,
        "median_server_cpu_ms_per_cycle": median,
        "postgresql_to_sqlite_server_cpu": {
            str(n): round(median["postgresql"][str(n)] / median["sqlite"][str(n)], 2) for n in counts
        },
        "load_1m": round(os.getloadavg()[0], 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--workers", default="1,8,32", help="comma-separated concurrent worker counts")
    parser.add_argument("--processes", type=int, default=4, help="client processes per run")
    parser.add_argument(
        "--backend",
        choices=["sqlite", "postgresql", "both"],
        default="sqlite",
        help="postgresql: a throwaway server unless --database-url; both: alternating rounds and their ratio",
    )
    parser.add_argument("--rounds", type=int, default=3, help="rounds of each backend with --backend both")
    parser.add_argument("--database-url", default=None, help="a PostgreSQL URL to use (implies --backend postgresql)")
    parser.add_argument("--max-rate", type=float, default=1500.0, help="cycles/s to preload loops for")
    args = parser.parse_args()
    counts = [int(n) for n in args.workers.split(",")]
    if args.backend == "both":
        print(json.dumps(compare(counts, args)))
    elif args.backend == "postgresql" and not args.database_url:
        from tests.pg import PostgresServer

        postgres = PostgresServer()
        try:
            print(json.dumps(bench_backend(postgres.create_database(), counts, args)))
        finally:
            postgres.stop()
    else:
        print(json.dumps(bench_backend(args.database_url, counts, args)))


if __name__ == "__main__":
    main()
