"""Labeling jobs under `crowdloop serve --workers 2` on PostgreSQL: both server processes run the labeling step,
and each job's work is done exactly once — one worker-response file per object, no object in two consolidation
batches, one state change event per job."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from crowdloop import eventlog, queue, workers
from crowdloop.app import build_services
from crowdloop.config import Settings
from crowdloop.runtime import Services
from crowdloop.store.tables import labeling_jobs
from tests.api.labeling_helpers import job_request, put_inputs, wait_status
from tests.conftest import start_server, stop_server
from tests.e2e.answering import flow_definition_id
from tests.pg import PostgresServer

JOBS = 4
OBJECTS = 60


def _answer(svc: Services, worker_pk: int, flow_ids: list[int], stop: threading.Event, answered: list[int]) -> None:
    while not stop.is_set():
        leases = [queue.claim(svc, worker_pk, flow_id) for flow_id in flow_ids]
        for lease in leases:
            if lease is not None:
                queue.submit(svc, lease.assignment_id, worker_pk, {"crowd-image-classifier": {"label": "cat"}}, 1.0)
                answered.append(lease.assignment_id)
        if not any(leases):
            time.sleep(0.05)


def test_two_processes_run_each_labeling_job_once(postgres: PostgresServer, tmp_path: Path) -> None:
    url = postgres.create_database()
    server = start_server(tmp_path, url, "postgresql", args=("--workers", "2"))
    svc = build_services(Settings(data_dir=str(tmp_path), database_url=url, port=server.port))
    stop = threading.Event()
    answered: list[int] = []
    threads: list[threading.Thread] = []
    arns: dict[str, str] = {}
    try:
        sm, s3 = server.client("sagemaker"), server.client("s3")
        team = sm.create_workteam(
            WorkteamName="two-process-labelers",
            Description="two processes",
            MemberDefinitions=[{"OidcMemberDefinition": {"Groups": ["two"]}}],
        )["WorkteamArn"]
        lines = [{"source-ref": f"s3://pictures/{n}.jpg"} for n in range(OBJECTS)]
        uris = put_inputs(s3, lines, bucket="two")
        for number in range(JOBS):
            request = job_request(sm, f"job-{number}", uris, workteam_arn=team)
            request["HumanTaskConfig"]["MaxConcurrentTaskCount"] = 15  # several releases and batches each
            arns[f"job-{number}"] = sm.create_labeling_job(**request)["LabelingJobArn"]
        for name in arns:
            wait_status(sm, name, "InProgress")
        with svc.store.read() as conn:
            job_ids = list(conn.execute(sa.select(labeling_jobs.c.id).order_by(labeling_jobs.c.id)).scalars())
        flow_ids = [flow_definition_id(svc, f"~{job_id}") for job_id in job_ids]
        pks = [workers.add_worker(svc, f"t{i}@example.org", groups=["two"]).id for i in range(2)]
        threads = [threading.Thread(target=_answer, args=(svc, pk, flow_ids, stop, answered)) for pk in pks]
        for thread in threads:
            thread.start()
        for name in arns:
            assert wait_status(sm, name, "Completed", timeout=120)["LabelCounters"]["HumanLabeled"] == OBJECTS
    finally:
        stop.set()
        for thread in threads:
            thread.join(30)
        stop_server(server)
    try:
        assert len(answered) == JOBS * OBJECTS
        for name, arn in arns.items():
            root = tmp_path / "output" / "two" / "output" / name / "annotations"
            responses = root / "worker-response/iteration-1"
            assert sorted(int(p.name) for p in responses.iterdir()) == list(range(OBJECTS))
            assert all(len(list(folder.iterdir())) == 1 for folder in responses.iterdir())
            requested = [
                item["datasetObjectId"]
                for path in (root / "consolidated-annotation/consolidation-request/iteration-1").iterdir()
                for item in _json(path)
            ]
            assert sorted(requested, key=int) == [str(n) for n in range(OBJECTS)], name
            assert _state_changes(svc, arn) == 1, name
    finally:
        svc.store.dispose()


def _state_changes(svc: Services, arn: str) -> int:
    """The job's state change events in the log (the delivery process logs them a moment after the change)."""
    deadline = time.monotonic() + 20
    while True:
        with svc.store.read() as conn:
            logged = [json.loads(e.body) for e in eventlog.read_after(conn, 0, 10_000)]
        found = [
            e
            for e in logged
            if e["detail-type"] == "SageMaker Ground Truth Labeling Job State Change" and e["resources"] == [arn]
        ]
        if found or time.monotonic() > deadline:
            return len(found)
        time.sleep(0.2)


def _json(path: Path) -> Any:
    return json.loads(path.read_text())
