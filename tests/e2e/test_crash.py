"""Nothing acknowledged is lost: SIGKILL the server (and the worker processes answering tasks) while
clients start loops and submit answers, restart, and check every acknowledged loop and answer is
there exactly once and every output.json is complete JSON."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa

from crowdloop import workers
from crowdloop.app import build_services
from crowdloop.config import Settings
from crowdloop.runtime import Services
from crowdloop.store.tables import assignments, human_loops
from tests.conftest import BACKENDS, RunningServer, start_server, stop_server
from tests.pg import PostgresServer

REPO = Path(__file__).resolve().parents[2]


def _set_up(server: RunningServer) -> str:
    sm = server.client("sagemaker")
    team = sm.create_workteam(
        WorkteamName="crash-team",
        Description="crash test",
        MemberDefinitions=[{"OidcMemberDefinition": {"Groups": ["crash"]}}],
    )
    ui = sm.create_human_task_ui(HumanTaskUiName="crash-ui", UiTemplate={"Content": "<p>{{ task.input.n }}</p>"})
    flow = sm.create_flow_definition(
        FlowDefinitionName="crash-fd",
        RoleArn="arn:aws:iam::123456789012:role/crash",
        HumanLoopConfig={
            "WorkteamArn": team["WorkteamArn"],
            "HumanTaskUiArn": ui["HumanTaskUiArn"],
            "TaskCount": 2,
            "TaskTitle": "crash",
            "TaskDescription": "crash",
        },
        OutputConfig={"S3OutputPath": "s3://crash/out"},
    )
    sm.describe_flow_definition(FlowDefinitionName="crash-fd")
    return str(flow["FlowDefinitionArn"])


def _start_loops(server: RunningServer, flow_arn: str, acked: list[str], stop: threading.Event) -> None:
    a2i = server.client("sagemaker-a2i-runtime")
    while not stop.is_set():
        name = "loop-" + uuid.uuid4().hex[:12]
        try:
            a2i.start_human_loop(
                HumanLoopName=name, FlowDefinitionArn=flow_arn, HumanLoopInput={"InputContent": json.dumps({"n": name})}
            )
        except Exception:  # the server is being killed: unacknowledged, may or may not exist
            time.sleep(0.01)
            continue
        acked.append(name)


def _completed(svc: Services) -> int:
    with svc.store.read() as conn:
        return int(conn.execute(sa.select(sa.func.count()).where(human_loops.c.status == "Completed")).scalar_one())


def _count_acks(acks: list[Path]) -> int:
    return sum(len(ack.read_text().split()) for ack in acks if ack.exists())


@pytest.mark.parametrize("backend", BACKENDS)
def test_sigkill_loses_nothing_acknowledged(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> None:
    if backend == "sqlite":
        url = f"sqlite:///{tmp_path / 'crowdloop.db'}"
    else:
        postgres: PostgresServer = request.getfixturevalue("postgres")
        url = postgres.create_database()
    server = start_server(tmp_path, url, backend)
    flow_arn = _set_up(server)
    svc = build_services(Settings(data_dir=str(tmp_path), database_url=url, port=server.port))
    emails = [f"w{i}@example.org" for i in range(4)]
    for email in emails:
        workers.add_worker(svc, email, groups=["crash"])

    acks = [tmp_path / f"acks-{i}.txt" for i in range(len(emails))]
    worker_logs = [(tmp_path / f"{ack.stem}.log").open("w") for ack in acks]
    worker_procs = [
        subprocess.Popen(
            [sys.executable, "-m", "tests.e2e.crash_worker", url, str(tmp_path), email, "crash-fd", str(ack)],
            cwd=REPO,
            stderr=worker_log,
        )
        for email, ack, worker_log in zip(emails, acks, worker_logs, strict=True)
    ]
    acked_loops: list[str] = []
    stop = threading.Event()
    clients = [threading.Thread(target=_start_loops, args=(server, flow_arn, acked_loops, stop)) for _ in range(4)]
    for client in clients:
        client.start()
    # Let work pile up (at least some loops started and answered), then kill mid-flight.
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and (len(acked_loops) < 40 or _count_acks(acks) < 12 or _completed(svc) < 3):
        time.sleep(0.2)
    time.sleep(0.5)
    # Kill the server and the answering workers mid-flight.
    for process in [server.process, *worker_procs]:
        os.kill(process.pid, signal.SIGKILL)
    for process in [server.process, *worker_procs]:
        process.wait()
    for worker_log in worker_logs:
        worker_log.close()
    stop.set()
    for client in clients:
        client.join()

    acked_answers = [int(line) for ack in acks if ack.exists() for line in ack.read_text().split()]
    for log in tmp_path.glob("acks-*.log"):  # a worker process that died shows why here
        sys.stderr.write(log.read_text()[-2000:])
    assert len(acked_loops) > 20, "the clients should have started loops before the kill"
    assert len(acked_answers) > 5, "the workers should have answered before the kill"

    restarted = start_server(tmp_path, url, backend)
    try:
        a2i = restarted.client("sagemaker-a2i-runtime")
        listed = [
            s["HumanLoopName"]
            for page in a2i.get_paginator("list_human_loops").paginate(FlowDefinitionArn=flow_arn)
            for s in page["HumanLoopSummaries"]
        ]
        assert len(listed) == len(set(listed))
        assert set(acked_loops) <= set(listed)
        with svc.store.read() as conn:
            rows = conn.execute(
                sa.select(assignments.c.id, assignments.c.state, assignments.c.answer_content).where(
                    assignments.c.id.in_(acked_answers)
                )
            ).all()
            completed = (
                conn.execute(sa.select(human_loops.c.output_uri).where(human_loops.c.status == "Completed"))
                .scalars()
                .all()
            )
        assert sorted(r.id for r in rows) == sorted(acked_answers)
        assert all(r.state == "submitted" and json.loads(r.answer_content) for r in rows)
        assert completed, "some loops should have completed before the kill"
        # The restarted server writes any output the crash left unwritten; every file is complete JSON.
        deadline = time.monotonic() + 20
        s3 = restarted.client("s3")
        for uri in completed:
            bucket, key = uri.removeprefix("s3://").split("/", 1)
            while True:
                try:
                    document = json.loads(s3.get_object(Bucket=bucket, Key=key)["Body"].read())
                    break
                except (s3.exceptions.NoSuchKey, s3.exceptions.NoSuchBucket):
                    assert time.monotonic() < deadline, f"{uri} was never written"
                    time.sleep(0.2)
            assert len(document["humanAnswers"]) == 2
        for path in (tmp_path / "output").rglob("*"):
            if path.is_file() and ".incoming" not in path.parts:
                assert path.name == "output.json", f"stray partial file {path}"
                json.loads(path.read_text())
    finally:
        stop_server(restarted)
        svc.store.dispose()
