"""The seed notebook's boto3 code (sections 2-3.6) runs unchanged against crowdloop; workers answer
through the queue while it waits; the labels are read back with s3.get_object."""

from __future__ import annotations

import contextlib
import io
import json
import os
import subprocess
import sys
import threading
import uuid
from contextlib import redirect_stdout
from pathlib import Path
from typing import Any

import boto3
import pytest

from crowdloop import workers
from crowdloop.runtime import Services
from tests.conftest import MotoS3, RunningServer, start_server, stop_server
from tests.e2e import notebook
from tests.e2e.answering import answer_until

RANKS = {"response_1_ranking": "1", "response_2_ranking": "3", "response_3_ranking": "2"}
# sagemaker 2.257 warns once, on import, that v3 exists (the seed pins 2.230, which needs numpy < 2).
SDK_V2_NOTICE = "ignore:You are using the SageMaker Python SDK v2"
ROLE = "arn:aws:iam::123456789012:role/service-role/AmazonSageMaker-ExecutionRole"


def test_cells_are_verbatim_from_the_seed() -> None:
    seed = notebook.seed_text()
    for cell in notebook.CELLS:
        assert cell.replace("\\\\n", "\\n") in seed, cell[:80]


def _ensure_team(server: RunningServer, group: str) -> None:
    sm = server.client("sagemaker")
    with contextlib.suppress(sm.exceptions.ResourceInUse):
        sm.create_workteam(
            WorkteamName="article-test",
            Description="seed notebook team",
            MemberDefinitions=[{"OidcMemberDefinition": {"Groups": [group]}}],
        )


def _run_notebook(
    server: RunningServer,
    svc: Services,
    monkeypatch: pytest.MonkeyPatch,
    bucket: str,
    s3_endpoint: str,
    s3_keys: tuple[str, str],
    cells: list[str] | None = None,
) -> dict[str, Any]:
    for name in ("AWS_ENDPOINT_URL_SAGEMAKER", "AWS_ENDPOINT_URL_SAGEMAKER_A2I_RUNTIME", "AWS_ENDPOINT_URL_STS"):
        monkeypatch.setenv(name, server.endpoint_url)
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", s3_endpoint)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", server.access_key_id)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", server.secret_access_key)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
    monkeypatch.setattr(boto3, "DEFAULT_SESSION", None)  # the notebook's boto3.client() calls read the env anew
    _ensure_team(server, "article-test")
    email = f"rater-{uuid.uuid4().hex[:8]}@example.org"
    workers.add_worker(svc, email, groups=["article-test"])

    namespace: dict[str, Any] = {"BUCKET": bucket, "ROLE": ROLE}
    cells = cells if cells is not None else notebook.program()
    stop = threading.Event()
    answerer: threading.Thread | None = None
    out = io.StringIO()
    try:
        with redirect_stdout(out):
            for cell in cells:
                if cell.startswith("workteam_name = ") and answerer is None:
                    # Loops are started and their status printed: now the workers answer.
                    flow_name = namespace["flow_definition_name"]
                    answerer = threading.Thread(target=answer_until, args=(svc, email, flow_name, RANKS.copy, stop))
                    answerer.start()
                exec(compile(cell, "<notebook>", "exec"), namespace)
    finally:
        stop.set()
        if answerer:
            answerer.join(timeout=30)
    namespace["printed"] = out.getvalue()
    return namespace


def _check(ns: dict[str, Any], server: RunningServer) -> None:
    assert "Flow Definition is active" in ns["printed"]
    assert ns["human_task_ui_arn"].startswith("arn:aws:sagemaker:us-east-1:")
    assert ns["account_id"] == "123456789012"
    assert "HumanLoop Status: InProgress" in ns["printed"]
    assert f"https://127.0.0.1:{server.port}" in ns["printed"]
    assert len(ns["completed_human_loops"]) == 1
    uri = ns["completed_human_loops"][0]["HumanLoopOutput"]["OutputS3Uri"]
    loop_name = ns["human_loops_started"][0]
    assert uri.startswith(f"s3://{ns['bucket']}/ground-truth-star-rating-results/{ns['flow_definition_name']}/")
    assert uri.endswith(f"/{loop_name}/output.json")
    output = ns["json_output"]
    assert output["humanLoopName"] == loop_name
    assert output["flowDefinitionArn"] == ns["augmented_ai_flow_definition_arn"]
    assert output["inputContent"] == {"taskObject": ns["items"][0]}
    (answer,) = output["humanAnswers"]
    assert answer["answerContent"] == RANKS
    assert set(answer) == {
        "acceptanceTime",
        "answerContent",
        "submissionTime",
        "timeSpentInSeconds",
        "workerId",
        "workerMetadata",
    }
    assert set(answer["workerMetadata"]["identityData"]) == {"identityProviderType", "issuer", "sub"}
    assert [item[2] for item in ns["human_feedback_items"]] == ["1", "3", "2"]


def test_notebook_against_builtin_output(
    server: RunningServer, server_services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    ns = _run_notebook(
        server,
        server_services,
        monkeypatch,
        "my-a2i-bucket",
        server.endpoint_url,
        (server.access_key_id, server.secret_access_key),
    )
    _check(ns, server)


def test_notebook_against_moto_s3(moto_s3: MotoS3, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from crowdloop.app import build_services

    bucket = "a2i-" + uuid.uuid4().hex[:8]
    moto_s3.client().create_bucket(Bucket=bucket)
    url = f"sqlite:///{tmp_path / 'crowdloop.db'}"
    server = start_server(
        tmp_path,
        url,
        extra_env={
            "CROWDLOOP_S3_ENDPOINT_URL": moto_s3.endpoint_url,
            "CROWDLOOP_S3_ACCESS_KEY_ID": "testing",
            "CROWDLOOP_S3_SECRET_ACCESS_KEY": "testing",
        },
    )
    svc = None
    try:
        svc = build_services(
            server.settings.__class__(
                data_dir=str(tmp_path),
                database_url=url,
                port=server.port,
                s3_endpoint_url=moto_s3.endpoint_url,
                s3_access_key_id="testing",
                s3_secret_access_key="testing",
            )
        )
        monkeypatch.setenv("AWS_ENDPOINT_URL_S3", moto_s3.endpoint_url)
        ns = _run_notebook(server, svc, monkeypatch, bucket, moto_s3.endpoint_url, ("testing", "testing"))
        _check(ns, server)
        stored = json.loads(moto_s3.client().get_object(Bucket=bucket, Key=ns["key"])["Body"].read())
        assert stored["humanAnswers"][0]["answerContent"] == RANKS
        assert not (tmp_path / "output").exists() or not any((tmp_path / "output").rglob("output.json"))
    finally:
        stop_server(server)
        if svc is not None:
            svc.store.dispose()


@pytest.mark.filterwarnings(SDK_V2_NOTICE)
def test_notebook_through_the_sagemaker_sdk(
    server: RunningServer, server_services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Section 2 as the seed has it, through the SageMaker SDK, with docs/notebook.md's two changes:
    `sagemaker.Session(default_bucket=...)` and a role ARN. default_bucket() creates the bucket in crowdloop's
    S3 (HeadBucket 404, then CreateBucket) as it would in AWS."""
    bucket = f"sagemaker-us-east-1-{uuid.uuid4().hex[:8]}"
    s3 = server.client("s3")
    try:
        with pytest.raises(s3.exceptions.ClientError):
            s3.head_bucket(Bucket=bucket)
        ns = _run_notebook(
            server,
            server_services,
            monkeypatch,
            bucket,
            server.endpoint_url,
            (server.access_key_id, server.secret_access_key),
            cells=notebook.program(sdk=True),
        )
        _check(ns, server)
        assert ns["bucket"] == bucket and ns["role"] == ROLE
        assert bucket in [b["Name"] for b in s3.list_buckets()["Buckets"]]
    finally:
        s3.close()


@pytest.mark.filterwarnings(SDK_V2_NOTICE)
def test_korean_notebook_through_the_sagemaker_sdk(
    server: RunningServer, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The Korean seed's cells 2-10 with the same two changes; its work team `dsoaws` made the second way
    docs/notebook.md shows, `crowdloop teams create`."""
    created = subprocess.run(
        [
            sys.executable,
            "-m",
            "crowdloop",
            "teams",
            "create",
            "dsoaws",
            "--group",
            "dsoaws",
            "--data-dir",
            str(server.data_dir),
            "--database-url",
            server.database_url,
        ],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "HOME": str(tmp_path)},
    )
    assert created.returncode == 0 or "already exists" in created.stderr + created.stdout, created
    for name in (
        "AWS_ENDPOINT_URL_SAGEMAKER",
        "AWS_ENDPOINT_URL_SAGEMAKER_A2I_RUNTIME",
        "AWS_ENDPOINT_URL_STS",
        "AWS_ENDPOINT_URL_S3",
    ):
        monkeypatch.setenv(name, server.endpoint_url)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", server.access_key_id)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", server.secret_access_key)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
    monkeypatch.setattr(boto3, "DEFAULT_SESSION", None)
    bucket = f"sagemaker-us-east-1-{uuid.uuid4().hex[:8]}"
    namespace: dict[str, Any] = {"BUCKET": bucket, "ROLE": ROLE}
    out = io.StringIO()
    with redirect_stdout(out):
        for cell in notebook.program_ko():
            exec(compile(cell, "<notebook-ko>", "exec"), namespace)
    printed = out.getvalue()
    assert f"s3://{bucket}/ground-truth-star-rating-results" in printed
    assert "arn:aws:sagemaker:us-east-1:123456789012:workteam/private-crowd/dsoaws" in printed
    assert "Flow Definition is active" in printed
    sm = server.client("sagemaker")
    try:
        flow = sm.describe_flow_definition(FlowDefinitionName=namespace["flow_definition_name"])
        assert flow["HumanLoopConfig"]["WorkteamArn"].endswith("/dsoaws")
        assert flow["OutputConfig"]["S3OutputPath"] == f"s3://{bucket}/ground-truth-star-rating-results"
    finally:
        sm.close()
