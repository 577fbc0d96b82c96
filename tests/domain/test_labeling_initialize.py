"""Initializing a labeling job in chunks (crowdloop/labeling/start.py): the claim renewed between committed
chunks (inside one transaction holding the job's row, the renewal waited for itself on PostgreSQL), and a
stop arriving midway leaving no objects."""

from __future__ import annotations

import json
import threading
from typing import Any

import pytest
import sqlalchemy as sa

from crowdloop import workforce
from crowdloop.clock import ManualClock
from crowdloop.labeling import finish, jobs, runner, start, step
from crowdloop.runtime import Caller, Services
from crowdloop.store.tables import labeling_jobs, labeling_objects

CALLER = Caller(account="123456789012", region="us-east-1")
LAMBDA = "arn:aws:lambda:us-east-1:432418664414:function:{}-ImageMultiClass"
TEMPLATE = '<crowd-form><crowd-image-classifier name="c" src="{{ task.input.taskObject }}"/></crowd-form>'


def _create(svc: Services, name: str, lines: int) -> str:
    svc.blobs.put("s3://in/manifest", "".join(f'{{"source-ref":"s3://in/{n}.jpg"}}\n' for n in range(lines)).encode())
    svc.blobs.put("s3://in/template.liquid", TEMPLATE.encode())
    svc.blobs.put("s3://in/labels.json", json.dumps({"labels": [{"label": "cat"}, {"label": "dog"}]}).encode())
    team = workforce.create_workteam(
        svc,
        CALLER,
        f"team-{name}",
        description="labelers",
        member_definitions=[{"OidcMemberDefinition": {"Groups": ["labelers"]}}],
    )
    request: dict[str, Any] = {
        "LabelingJobName": name,
        "LabelAttributeName": "label",
        "InputConfig": {"DataSource": {"S3DataSource": {"ManifestS3Uri": "s3://in/manifest"}}},
        "OutputConfig": {"S3OutputPath": "s3://out/"},
        "RoleArn": "arn:aws:iam::123456789012:role/labeling",
        "LabelCategoryConfigS3Uri": "s3://in/labels.json",
        "HumanTaskConfig": {
            "WorkteamArn": team.arn,
            "UiConfig": {"UiTemplateS3Uri": "s3://in/template.liquid"},
            "PreHumanTaskLambdaArn": LAMBDA.format("PRE"),
            "AnnotationConsolidationConfig": {"AnnotationConsolidationLambdaArn": LAMBDA.format("ACS")},
            "TaskTitle": "Pets",
            "TaskDescription": "What is in the picture?",
            "NumberOfHumanWorkersPerDataObject": 1,
            "TaskTimeLimitInSeconds": 300,
        },
    }
    return jobs.create_labeling_job(svc, CALLER, request, [])


def _in_thread(fn: Any) -> None:
    """Run fn, failing the test (instead of hanging it) if it waits on itself."""
    errors: list[BaseException] = []

    def run() -> None:
        try:
            fn()
        except BaseException as exc:
            errors.append(exc)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(60)
    assert not thread.is_alive(), "the step is stuck"
    assert not errors, errors


def test_claim_renewed_between_chunks(services: Services, clock: ManualClock, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(start, "INSERT_CHUNK", 2)
    _create(services, "pets", 5)
    claim = runner.claim_due(services)
    assert claim is not None
    clock.advance(runner.CLAIM_SECONDS / 2 + 1)  # the claim is due for renewal at the first chunk
    before = claim.until
    _in_thread(lambda: step.run_step(services, claim))
    assert claim.until > before
    j = labeling_jobs
    with services.store.read() as conn:
        row = conn.execute(sa.select(j.c.status, j.c.objects, j.c.claimed_until).where(j.c.id == claim.job_id)).one()
        states = conn.execute(
            sa.select(labeling_objects.c.state).where(labeling_objects.c.job_id == claim.job_id)
        ).scalars()
        assert sorted(states) == ["released"] * 5
    assert row.status == "InProgress" and row.objects == 5
    assert row.claimed_until == claim.until  # the renewal was committed


def test_stop_while_storing_objects_leaves_none(
    services: Services, clock: ManualClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(start, "INSERT_CHUNK", 2)
    _create(services, "halted", 5)
    claim = runner.claim_due(services)
    assert claim is not None
    insert = start._insert
    chunks = 0

    def insert_then_stop(svc: Services, rows: list[Any]) -> None:
        nonlocal chunks
        insert(svc, rows)
        chunks += 1
        if chunks == 1:
            jobs.stop_labeling_job(svc, CALLER, "halted")

    monkeypatch.setattr(start, "_insert", insert_then_stop)
    _in_thread(lambda: step.run_step(services, claim))
    job, _ = jobs.describe_labeling_job(services, CALLER, "halted")
    with services.store.read() as conn:
        left = conn.execute(
            sa.select(sa.func.count()).select_from(labeling_objects).where(labeling_objects.c.job_id == job.id)
        ).scalar()
    assert left == 0 and job.objects == 0
    assert job.status.value in ("Stopping", "Stopped")
    clock.advance(2)
    runner.let_go(services, claim, 0)
    runner.run_due(services)
    job, _ = jobs.describe_labeling_job(services, CALLER, "halted")
    assert job.status.value == "Stopped"
    assert finish.manifest_bytes(services, job) == b""
