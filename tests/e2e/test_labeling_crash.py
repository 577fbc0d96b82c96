"""A labeling job survives SIGKILLs of the server: workers keep answering (their answers go to the database) while
the server is killed twice mid-job and restarted; the job completes, every object is labeled once, each object
has one worker-response file, and no object is in two consolidation batches (nothing written twice)."""

from __future__ import annotations

import json
import os
import signal
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from crowdloop import queue, workers
from crowdloop.app import build_services
from crowdloop.config import Settings
from crowdloop.runtime import Services
from tests.api.labeling_helpers import job_request, put_inputs, wait_status
from tests.conftest import BACKENDS, RunningServer, start_server, stop_server
from tests.e2e.answering import flow_definition_id
from tests.pg import PostgresServer

OBJECTS = 200


def _answer_everything(svc: Services, worker_pk: int, flow_id: int, stop: threading.Event, done: list[int]) -> None:
    """Claim and answer the job's tasks as one worker until `stop` (straight through the queue: the server
    may be down meanwhile, the answers are in the database)."""
    while not stop.is_set():
        try:
            lease = queue.claim(svc, worker_pk, flow_id)
            if lease is None:
                time.sleep(0.05)
                continue
            queue.submit(svc, lease.assignment_id, worker_pk, {"crowd-image-classifier": {"label": "dog"}}, 1.0)
            done.append(lease.assignment_id)
        except Exception:  # the database is busy with a restarting server: try again
            time.sleep(0.1)


def _kill(server: RunningServer) -> None:
    os.kill(server.process.pid, signal.SIGKILL)
    server.process.wait()  # its output pump ends at the end of the output


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_labeling_job_survives_sigkill(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> None:
    if backend == "sqlite":
        url = f"sqlite:///{tmp_path / 'crowdloop.db'}"
    else:
        postgres: PostgresServer = request.getfixturevalue("postgres")
        url = postgres.create_database()
    server = start_server(tmp_path, url, backend)
    svc = build_services(Settings(data_dir=str(tmp_path), database_url=url, port=server.port))
    stop = threading.Event()
    answered: list[int] = []
    threads: list[threading.Thread] = []
    try:
        sm, s3 = server.client("sagemaker"), server.client("s3")
        team = sm.create_workteam(
            WorkteamName="crash-labelers",
            Description="crash",
            MemberDefinitions=[{"OidcMemberDefinition": {"Groups": ["crash"]}}],
        )["WorkteamArn"]
        uris = put_inputs(s3, [{"source-ref": f"s3://pictures/{n}.jpg"} for n in range(OBJECTS)], bucket="crash")
        request_members = job_request(sm, "crash-job", uris, workteam_arn=team)
        request_members["HumanTaskConfig"]["MaxConcurrentTaskCount"] = 40  # many releases and batches
        sm.create_labeling_job(**request_members)
        wait_status(sm, "crash-job", "InProgress")
        worker_pks = [workers.add_worker(svc, f"c{i}@example.org", groups=["crash"]).id for i in range(3)]
        deadline = time.monotonic() + 20
        while True:  # the job's flow definition exists once it is InProgress; its first tasks a moment later
            try:
                flow_id = flow_definition_id(svc, f"~{_job_id(svc)}")
                break
            except Exception:
                assert time.monotonic() < deadline
                time.sleep(0.1)
        threads = [
            threading.Thread(target=_answer_everything, args=(svc, pk, flow_id, stop, answered)) for pk in worker_pks
        ]
        for thread in threads:
            thread.start()
        for threshold in (30, 90):  # kill while objects are being released, answered and consolidated
            while len(answered) < threshold:
                time.sleep(0.05)
            _kill(server)
            time.sleep(0.3)
            server = start_server(tmp_path, url, backend)
        sm = server.client("sagemaker")
        described = wait_status(sm, "crash-job", "Completed", timeout=120)
        assert described["LabelCounters"]["HumanLabeled"] == OBJECTS
        assert described["LabelCounters"]["FailedNonRetryableError"] == 0
    finally:
        stop.set()
        for thread in threads:
            thread.join(30)
        stop_server(server)
        svc.store.dispose()
    assert len(answered) == OBJECTS  # one worker per object: one answer each
    root = tmp_path / "output" / "crash" / "output" / "crash-job"
    lines = [json.loads(line) for line in (root / "manifests/output/output.manifest").read_text().splitlines()]
    assert [line["source-ref"] for line in lines] == [f"s3://pictures/{n}.jpg" for n in range(OBJECTS)]
    assert all(line["label"] == 1 and line["label-metadata"]["class-name"] == "dog" for line in lines)
    responses = root / "annotations/worker-response/iteration-1"
    assert sorted(int(p.name) for p in responses.iterdir()) == list(range(OBJECTS))
    assert all(len(list(folder.iterdir())) == 1 for folder in responses.iterdir()), "an object answered twice"
    consolidated = root / "annotations/consolidated-annotation"
    requested: list[str] = []
    for path in sorted((consolidated / "consolidation-request/iteration-1").iterdir()):
        requested += [item["datasetObjectId"] for item in _json(path)]
    assert sorted(requested, key=int) == [str(n) for n in range(OBJECTS)], "an object consolidated twice or never"
    requests = sorted(p.name for p in (consolidated / "consolidation-request/iteration-1").iterdir())
    replies = sorted(p.name for p in (consolidated / "consolidation-response/iteration-1").iterdir())
    assert requests == replies


def _job_id(svc: Services) -> int:
    import sqlalchemy as sa

    from crowdloop.store.tables import labeling_jobs

    with svc.store.read() as conn:
        return int(conn.execute(sa.select(labeling_jobs.c.id).where(labeling_jobs.c.name == "crash-job")).scalar_one())


def _json(path: Path) -> Any:
    return json.loads(path.read_text())
