"""`crowdloop serve --workers N` (several server processes on one port, PostgreSQL) and stopping with SIGTERM:
real servers, boto3 without retries, the demo worker answering over HTTP, the process table read from /proc."""

from __future__ import annotations

import http.client
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.conftest import RunningServer, start_server, stop_server
from tests.e2e.portal_connection import PortalConnection
from tests.e2e.simple_job import outputs, set_up_job, signed_in_portal, start_loop, wait_for_outputs
from tests.pg import PostgresServer


def _children(pid: int, module: str) -> list[int]:
    """The processes whose parent is `pid` running `python -m module`."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            command = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:  # it ended meanwhile
            continue
        parent = int(stat.rsplit(")", 1)[1].split()[1])
        if parent == pid and any(arg.startswith(module.encode()) for arg in command):
            found.append(int(entry.name))
    return sorted(found)


def _environment(pid: int) -> dict[str, str]:
    entries = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    return dict(entry.decode().split("=", 1) for entry in entries if b"=" in entry)


def _cpu_ticks(pid: int) -> int:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # utime + stime


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    return state != "Z"


def _answer_every_loop(server: RunningServer, count: int) -> int:
    """The demo worker answers `count` tasks through the portal (one keep-alive connection); how many."""
    portal = signed_in_portal(server)
    try:
        answered = 0
        while answered < count:
            [job] = portal.job_ids()
            assignment, lease = portal.open_task(job)
            assert portal.submit(assignment, lease, {"label": "ok"}).status == 200
            answered += 1
        return answered
    finally:
        portal.close()


def _starting_in_threads(server: RunningServer, flow_arn: str, threads: int, each: int) -> list[str]:
    names: list[str] = []

    def starting() -> None:
        a2i = server.client("sagemaker-a2i-runtime")  # a client, and so a connection, per thread
        try:
            for _ in range(each):
                names.append(start_loop(a2i, flow_arn))
        finally:
            a2i.close()

    workers = [threading.Thread(target=starting) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return names


@pytest.fixture
def two_processes(postgres: PostgresServer, tmp_path: Path) -> Any:
    server = start_server(tmp_path / "data", postgres.create_database(), "postgresql", args=("--workers", "2"))
    yield server
    stop_server(server)


def test_two_server_processes_share_the_port_and_the_work(two_processes: RunningServer) -> None:
    server = two_processes
    processes = _children(server.process.pid, "crowdloop.server")
    assert len(processes) == 2
    assert len(_children(server.process.pid, "crowdloop.deliverer")) == 1  # one delivery process, not one each
    flow_arn = set_up_job(server)
    before = {pid: _cpu_ticks(pid) for pid in processes}
    names = _starting_in_threads(server, flow_arn, threads=8, each=50)
    used = {pid: _cpu_ticks(pid) - before[pid] for pid in processes}
    assert all(ticks > 0 for ticks in used.values()), used  # both answered requests
    assert _answer_every_loop(server, len(names)) == len(names)
    written = wait_for_outputs(server, len(names))
    assert sorted(json.loads(path.read_bytes())["humanLoopName"] for path in written) == sorted(names)  # once each


def test_a_killed_server_process_is_replaced_while_the_other_serves(two_processes: RunningServer) -> None:
    """kill -9 of one of two server processes under load: the other carries on, a new one takes the dead one's
    place, and nothing acknowledged is lost."""
    server = two_processes
    victim, survivor = _children(server.process.pid, "crowdloop.server")
    flow_arn = set_up_job(server)
    acknowledged: list[str] = []
    refused: Counter[str] = Counter()
    stop = threading.Event()

    def starting() -> None:
        while not stop.is_set():
            a2i = server.client("sagemaker-a2i-runtime")  # a new connection after a lost one
            try:
                while not stop.is_set():
                    acknowledged.append(start_loop(a2i, flow_arn))
                    time.sleep(0.05)  # a steady load, every loop of which the worker then answers
            except ClientError as exc:  # an answer: must not be an error of ours
                refused[f"http {exc.response['ResponseMetadata']['HTTPStatusCode']}"] += 1
                return
            except Exception:  # the connection died with its process: a client retries
                refused["connection"] += 1
            finally:
                a2i.close()

    threads = [threading.Thread(target=starting) for _ in range(3)]
    for thread in threads:
        thread.start()
    time.sleep(1.0)
    os.kill(victim, signal.SIGKILL)
    killed_at, before = time.monotonic(), len(acknowledged)
    deadline = killed_at + 30
    while time.monotonic() < deadline:
        now = _children(server.process.pid, "crowdloop.server")
        if len(now) == 2 and victim not in now:
            break
        time.sleep(0.2)
    time.sleep(1.0)
    stop.set()
    for thread in threads:
        thread.join(timeout=30)
    now = _children(server.process.pid, "crowdloop.server")
    assert survivor in now and victim not in now and len(now) == 2, now
    assert _alive(survivor)
    assert len(acknowledged) > before  # served on after the kill
    assert set(refused) <= {"connection"}, refused
    assert _answer_every_loop(server, len(acknowledged)) == len(acknowledged)  # every acknowledged start is there
    written = wait_for_outputs(server, len(acknowledged))
    assert sorted(json.loads(path.read_bytes())["humanLoopName"] for path in written) == sorted(acknowledged)


METRICS_TOKEN = "metrics-token-for-two-processes"


def _scrape(server: RunningServer) -> dict[str, float]:
    """One scrape of /metrics on a new connection (so either process may answer): sample name -> value."""
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    try:
        connection.request("GET", "/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"})
        response = connection.getresponse()
        body = response.read().decode()
        assert response.status == 200, body[:200]
    finally:
        connection.close()
    samples = {}
    for line in body.splitlines():
        if line and not line.startswith("#"):
            name, value = line.rsplit(" ", 1)
            samples[name] = float(value)
    return samples


def test_metrics_add_up_every_server_process(postgres: PostgresServer, tmp_path: Path) -> None:
    """With --workers 2 a scrape answered by either process counts the requests both answered."""
    server = start_server(
        tmp_path / "data",
        postgres.create_database(),
        "postgresql",
        extra_env={"CROWDLOOP_METRICS_TOKEN": METRICS_TOKEN},
        args=("--workers", "2"),
    )
    try:
        processes = _children(server.process.pid, "crowdloop.server")
        flow_arn = set_up_job(server)
        before = {pid: _cpu_ticks(pid) for pid in processes}
        names = _starting_in_threads(server, flow_arn, threads=8, each=5)
        assert all(_cpu_ticks(pid) > before[pid] for pid in processes)  # both answered some of them
        started = 'crowdloop_api_request_seconds_count{operation="StartHumanLoop"}'
        scrapes = [_scrape(server) for _ in range(6)]
        assert [scrape[started] for scrape in scrapes] == [len(names)] * 6
        assert all("process_cpu_seconds_total" not in scrape for scrape in scrapes)  # one process's: left out
        [shared] = {_environment(pid)["PROMETHEUS_MULTIPROC_DIR"] for pid in processes}
        assert any(Path(shared).iterdir())
    finally:
        stop_server(server)
    assert not Path(shared).exists()  # the folder goes with the server


def test_workers_need_postgresql(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "crowdloop", "serve", "--workers", "2", "--data-dir", str(tmp_path / "data")],
        capture_output=True,
        text=True,
        timeout=60,
        env={k: v for k, v in os.environ.items() if not k.startswith("CROWDLOOP_")},
    )
    assert result.returncode == 2
    assert "--workers 2 needs PostgreSQL" in result.stderr
    assert not (tmp_path / "data").exists()  # refused before anything was made


@pytest.mark.parametrize("backend, workers", [("sqlite", "1"), ("postgresql", "2")])
def test_sigterm_finishes_the_work_under_way_and_exits_0(
    backend: str, workers: str, postgres: PostgresServer, tmp_path: Path
) -> None:
    data_dir = tmp_path / "data"
    url = f"sqlite:///{data_dir / 'crowdloop.db'}" if backend == "sqlite" else postgres.create_database()
    server = start_server(data_dir, url, backend, args=("--workers", workers))
    children = _children(server.process.pid, "crowdloop.")
    try:
        flow_arn = set_up_job(server)
        start_loop(server.client("sagemaker-a2i-runtime"), flow_arn)
        outcomes: Counter[str] = Counter()
        acknowledged: list[str] = []
        answered: list[str] = []
        stop = threading.Event()

        def starting() -> None:
            a2i = server.client("sagemaker-a2i-runtime")
            try:
                while not stop.is_set():
                    try:
                        acknowledged.append(start_loop(a2i, flow_arn))
                        outcomes["ok"] += 1
                    except ClientError as exc:  # an answer: must not be an error of ours
                        outcomes[f"http {exc.response['ResponseMetadata']['HTTPStatusCode']}"] += 1
                    except Exception:  # the server closed or refused the connection: a client would retry elsewhere
                        outcomes["connection"] += 1
                        return
            finally:
                a2i.close()

        def answering() -> None:
            portal: PortalConnection | None = None
            try:
                portal = signed_in_portal(server)
                while not stop.is_set():
                    jobs = portal.job_ids()
                    if not jobs:
                        continue
                    assignment, lease = portal.open_task(jobs[0])
                    reply = portal.submit(assignment, lease, {"label": "ok"})
                    assert reply.status == 200, reply.text
                    answered.append(str(assignment))
            except (http.client.HTTPException, OSError):  # the connection ends with the server
                pass
            finally:
                if portal is not None:
                    portal.close()

        threads = [threading.Thread(target=starting) for _ in range(4)] + [threading.Thread(target=answering)]
        for thread in threads:
            thread.start()
        time.sleep(2.0)
        signalled = time.monotonic()
        server.process.send_signal(signal.SIGTERM)
        status = server.process.wait(timeout=45)
        stopped_in = time.monotonic() - signalled
        stop.set()
        for thread in threads:
            thread.join(timeout=30)
    finally:
        stop_server(server)
    assert status == 0
    assert stopped_in < 20, stopped_in
    assert not [pid for pid in children if _alive(pid)]  # server and delivery processes ended with it
    assert outcomes["ok"] > 0 and answered, (outcomes, answered)
    assert set(outcomes) <= {"ok", "connection"}, outcomes  # nothing answered with an error
    assert len(outputs(server)) >= len(answered)  # every acknowledged answer's output.json written before exit
    restarted = start_server(data_dir, url, backend)
    try:
        a2i = restarted.client("sagemaker-a2i-runtime")
        for name in acknowledged:  # every acknowledged start is there
            assert a2i.describe_human_loop(HumanLoopName=name)["HumanLoopName"] == name
    finally:
        stop_server(restarted)
