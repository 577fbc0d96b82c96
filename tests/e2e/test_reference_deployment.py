"""The reference deployment of docs/deployment.md, started as written on 127.0.0.1: nginx over HTTPS rendered
from deploy/nginx/crowdloop.conf in front of two `crowdloop serve` processes configured by deploy/env.example
(sharing one PostgreSQL database, directly or through pgbouncer in transaction mode, one data directory and
moto's S3 as the output store). Through nginx only: the seed notebook's boto3 calls, workers answering in
the portal over HTTPS, the live event stream. Then each output.json is in the bucket exactly once (the bucket
keeps every version written) and both processes answered requests (nginx's access log)."""

from __future__ import annotations

import contextlib
import http.client
import io
import json
import re
import ssl
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import redirect_stdout
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
import psycopg
import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials

from crowdloop import tls, workers
from crowdloop.blobs import LocalBlobStore
from crowdloop.clock import SystemClock
from crowdloop.config import Settings
from crowdloop.passwords import CHEAPEST, PasswordHasher
from crowdloop.runtime import Services
from crowdloop.store import open_store
from tests.conftest import MotoS3, RunningServer, start_server, stop_server
from tests.e2e import notebook
from tests.e2e.portal_connection import PortalConnection
from tests.e2e.reference import DEPLOY, Nginx, PgBouncer, read_env_file, render
from tests.pg import PostgresServer, free_port

RANKS = {"response_1_ranking": "1", "response_2_ranking": "3", "response_3_ranking": "2"}
EXTRA_LOOPS = 5  # started besides the notebook's one
_FRAME = re.compile(r'class="task-frame"[^>]*src="([^"]+)"')
_LEASE = re.compile(r'data-lease="([^"]+)"')


@dataclass
class Deployment:
    url: str  # nginx's address, the only one the clients use
    port: int
    ca_bundle: str
    bucket: str
    moto: MotoS3
    servers: list[RunningServer]
    nginx: Nginx
    data_dir: Path
    database_url: str
    access_log: Path
    stopped: list[str] = field(default_factory=list)

    def client(self, service: str) -> Any:
        return boto3.client(
            service,
            endpoint_url=self.url,
            region_name="us-east-1",
            aws_access_key_id=self.servers[0].access_key_id,
            aws_secret_access_key=self.servers[0].secret_access_key,
            verify=self.ca_bundle,
            config=Config(retries={"max_attempts": 1}),
        )

    def tls_context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=self.ca_bundle)

    def stop_servers(self) -> None:
        """SIGTERM to both processes (they finish their output writes first)."""
        for server in self.servers:
            stop_server(server)


@pytest.fixture(params=["postgresql", "pgbouncer"])
def deployment(
    request: pytest.FixtureRequest, tmp_path: Path, postgres: PostgresServer, moto_s3: MotoS3
) -> Iterator[Deployment]:
    database_url = postgres.create_database()
    _operator_upgrades(database_url)  # once, before any process starts (docs/deployment.md "Upgrades")
    bouncer = None
    servers: list[RunningServer] = []
    nginx = None
    try:
        served_url = database_url
        if request.param == "pgbouncer":
            _turn_jit_off(database_url)  # pgbouncer drops the startup option that does it (the docs say so)
            bouncer = PgBouncer(_port_of(postgres.url), free_port())
            served_url = _through(database_url, bouncer.port) + "?prepare_threshold=none"
        bucket = "a2i-" + uuid.uuid4().hex[:8]
        s3 = moto_s3.client()
        s3.create_bucket(Bucket=bucket)
        s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
        port, redirect_port, upstreams = free_port(), free_port(), (free_port(), free_port())
        certificate = tls.ensure_self_signed(tmp_path / "certificate", ("localhost", "127.0.0.1"), datetime.now(UTC))
        data_dir = tmp_path / "data"
        env = _env(served_url, data_dir, moto_s3, f"127.0.0.1:{port}")
        for upstream in upstreams:  # one after the other, as systemd would start them (the first makes the keys)
            servers.append(start_server(data_dir, served_url, "postgresql", extra_env=env, port=upstream))
        access_log = tmp_path / "nginx" / "access.log"
        nginx = Nginx(
            tmp_path / "nginx",
            render(
                DEPLOY / "nginx" / "crowdloop.conf",
                {
                    "127.0.0.1:8081": f"127.0.0.1:{upstreams[0]}",
                    "127.0.0.1:8082": f"127.0.0.1:{upstreams[1]}",
                    "listen 80;": f"listen 127.0.0.1:{redirect_port};",
                    "listen [::]:80;\n": "",
                    "listen 443 ssl http2;": f"listen 127.0.0.1:{port} ssl http2;",
                    "listen [::]:443 ssl http2;\n": "",
                    "/etc/letsencrypt/live/review.example.org/fullchain.pem": str(certificate.cert),
                    "/etc/letsencrypt/live/review.example.org/privkey.pem": str(certificate.key),
                    "/var/log/nginx/crowdloop.access.log": str(access_log),
                },
            ),
        )
        nginx.start(port)
        yield Deployment(
            f"https://127.0.0.1:{port}",
            port,
            str(certificate.cert),
            bucket,
            moto_s3,
            servers,
            nginx,
            data_dir,
            served_url,
            access_log,
        )
        if bouncer is not None:
            assert "ERROR" not in bouncer.log() and "WARNING" not in bouncer.log(), bouncer.log()
    finally:
        if nginx is not None:
            nginx.stop()
        for server in servers:
            stop_server(server)
        if bouncer is not None:
            bouncer.stop()


def test_notebook_and_portal_through_nginx(deployment: Deployment, monkeypatch: pytest.MonkeyPatch) -> None:
    started = time.monotonic()
    _check_redirect_and_readiness(deployment)
    svc = _services(deployment)
    try:
        worker_email, worker_password = _demo_worker(deployment.data_dir)
        rater_email, rater_password = f"rater-{uuid.uuid4().hex[:8]}@example.org", "a-long-password-1"
        workers.add_worker(
            svc, rater_email, groups=["raters"], password_hash=PasswordHasher(CHEAPEST).hash(rater_password)
        )
    finally:
        svc.store.dispose()
    sm = deployment.client("sagemaker")
    sm.create_workteam(
        WorkteamName="article-test",  # the team the notebook names
        Description="reference deployment",
        MemberDefinitions=[{"OidcMemberDefinition": {"Groups": ["demo", "raters"]}}],
    )
    assert sm.describe_workteam(WorkteamName="article-test")["Workteam"]["SubDomain"] == f"127.0.0.1:{deployment.port}"

    stream = _EventStream(deployment)
    try:
        ns = _run_notebook(deployment, monkeypatch, [(worker_email, worker_password), (rater_email, rater_password)])
        event = stream.next_event()
    finally:
        stream.close()
    assert event["detail"]["humanLoopName"] in ns["all_loops"], event  # events arrive through nginx as they happen

    # the notebook's own checks (section 3.6 read the output back from moto's S3)
    assert "Flow Definition is active" in ns["printed"]
    assert f"https://127.0.0.1:{deployment.port}" in ns["printed"]  # "https://" + SubDomain: nginx's address
    assert [item[2] for item in ns["human_feedback_items"]] == ["1", "3", "2"]
    a2i = deployment.client("sagemaker-a2i-runtime")
    listed = a2i.list_human_loops(FlowDefinitionArn=ns["augmented_ai_flow_definition_arn"], MaxResults=100)
    assert {loop["HumanLoopName"]: loop["HumanLoopStatus"] for loop in listed["HumanLoopSummaries"]} == dict.fromkeys(
        ns["all_loops"], "Completed"
    )

    deployment.stop_servers()  # every output write under way is finished first
    versions = deployment.moto.client().list_object_versions(Bucket=deployment.bucket)["Versions"]
    written = Counter(version["Key"] for version in versions)
    assert len(written) == len(ns["all_loops"]) and set(written.values()) == {1}, written  # each exactly once
    for key in written:
        stored = json.loads(deployment.moto.client().get_object(Bucket=deployment.bucket, Key=key)["Body"].read())
        assert key.endswith(f"/{stored['humanLoopName']}/output.json")
        assert [answer["answerContent"] for answer in stored["humanAnswers"]] == [RANKS]

    served = Counter(re.findall(r"upstream=127\.0\.0\.1:(\d+) 2\d\d ", deployment.access_log.read_text()))
    ports = {str(server.port) for server in deployment.servers}
    assert set(served) == ports and min(served.values()) >= 10, served  # both processes answered, in turn
    print(f"reference deployment: {time.monotonic() - started:.1f} s, requests per process {dict(served)}")


# --- the parts ------------------------------------------------------------------------------------------


def _check_redirect_and_readiness(deployment: Deployment) -> None:
    """Plain HTTP is sent to HTTPS (the first server block); readiness passes through nginx."""
    redirect = re.search(r"listen 127\.0\.0\.1:(\d+);", (deployment.nginx.folder / "crowdloop.conf").read_text())
    assert redirect
    plain = http.client.HTTPConnection("127.0.0.1", int(redirect.group(1)), timeout=10)
    with contextlib.closing(plain):
        plain.request("GET", "/jobs?x=1", headers={"Host": "review.example.org"})
        reply = plain.getresponse()
        reply.read()
    assert (reply.status, reply.getheader("Location")) == (301, "https://review.example.org/jobs?x=1")
    secure = http.client.HTTPSConnection("127.0.0.1", deployment.port, timeout=10, context=deployment.tls_context())
    with contextlib.closing(secure):
        secure.request("GET", "/_crowdloop/ready")
        ready = secure.getresponse()
        assert (ready.status, ready.read()) == (200, b"ready")


def _env(database_url: str, data_dir: Path, moto: MotoS3, public_host: str) -> dict[str, str]:
    """deploy/env.example with this machine's values: every setting it names is used."""
    values = read_env_file(DEPLOY / "env.example")
    ours = {
        "CROWDLOOP_DATABASE_URL": database_url,
        "CROWDLOOP_DATA_DIR": str(data_dir),
        "CROWDLOOP_S3_ENDPOINT_URL": moto.endpoint_url,
        "CROWDLOOP_S3_ACCESS_KEY_ID": moto.access_key_id,
        "CROWDLOOP_S3_SECRET_ACCESS_KEY": moto.secret_access_key,
        "CROWDLOOP_PUBLIC_HOST": public_host,
        "CROWDLOOP_CDN_CACHE": str(Settings().cdn_cache_path),  # the suite's own cache: no network here
    }
    assert set(ours) <= set(values), set(ours) - set(values)
    return {**values, **ours}


def _operator_upgrades(database_url: str) -> None:
    subprocess.run(
        [sys.executable, "-m", "crowdloop", "db", "upgrade", "--database-url", database_url],
        check=True,
        capture_output=True,
        text=True,
    )


def _turn_jit_off(database_url: str) -> None:
    plain = database_url.replace("postgresql+psycopg://", "postgresql://")
    name = plain.rsplit("/", 1)[1]
    with psycopg.connect(plain, autocommit=True) as conn:
        conn.execute(f'ALTER DATABASE "{name}" SET jit = off')


def _port_of(url: str) -> int:
    found = re.search(r"@127\.0\.0\.1:(\d+)/", url)
    assert found, url
    return int(found.group(1))


def _through(database_url: str, port: int) -> str:
    return re.sub(r"@127\.0\.0\.1:\d+/", f"@127.0.0.1:{port}/", database_url)


def _services(deployment: Deployment) -> Services:
    """Services on the deployment's store, to add a worker (setting up, as `crowdloop workers add` would)."""
    settings = Settings(data_dir=str(deployment.data_dir), database_url=deployment.database_url)
    store = open_store(settings.resolved_database_url, migrate=False)
    return Services(
        settings=settings,
        store=store,
        clock=SystemClock(),
        blobs=LocalBlobStore(settings.output_path),
        passwords=PasswordHasher(CHEAPEST),
    )


def _demo_worker(data_dir: Path) -> tuple[str, str]:
    email, _, password = (data_dir / "demo-worker.txt").read_text().strip().partition(" ")
    return email, password


def _run_notebook(
    deployment: Deployment, monkeypatch: pytest.MonkeyPatch, portal_workers: list[tuple[str, str]]
) -> dict[str, Any]:
    """The seed notebook's cells, its boto3 clients pointed at nginx (S3 at moto); before the cell that waits
    for the loops, more loops are started and the workers answer every one of them in the portal."""
    for name in ("AWS_ENDPOINT_URL_SAGEMAKER", "AWS_ENDPOINT_URL_SAGEMAKER_A2I_RUNTIME", "AWS_ENDPOINT_URL_STS"):
        monkeypatch.setenv(name, deployment.url)
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", deployment.moto.endpoint_url)
    monkeypatch.setenv("AWS_CA_BUNDLE", deployment.ca_bundle)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", deployment.servers[0].access_key_id)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", deployment.servers[0].secret_access_key)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
    monkeypatch.setattr(boto3, "DEFAULT_SESSION", None)
    namespace: dict[str, Any] = {"BUCKET": deployment.bucket}
    out = io.StringIO()
    with redirect_stdout(out):
        for cell in notebook.program():
            if cell == notebook.CELLS[-2]:  # 3.5: waits until every loop is Completed
                namespace["all_loops"] = [*namespace["human_loops_started"], *_start_more(namespace)]
                answered = _answer_in_portal(deployment, portal_workers)
                assert len(answered) == len(namespace["all_loops"]), answered
                _wait_for_outputs(deployment, len(answered))
            exec(compile(cell, "<notebook>", "exec"), namespace)
    namespace["printed"] = out.getvalue()
    return namespace


def _start_more(namespace: dict[str, Any]) -> list[str]:
    names = []
    for item in range(EXTRA_LOOPS):
        name = f"extra-{item}-{uuid.uuid4().hex[:8]}"
        namespace["a2i"].start_human_loop(
            HumanLoopName=name,
            FlowDefinitionArn=namespace["augmented_ai_flow_definition_arn"],
            HumanLoopInput={"InputContent": json.dumps({"taskObject": namespace["items"][0]})},
        )
        names.append(name)
    return names


def _answer_in_portal(deployment: Deployment, portal_workers: list[tuple[str, str]]) -> list[int]:
    """Each worker signs in through nginx and answers tasks (their frames rendered) until none is left."""
    answered: list[int] = []
    errors: list[BaseException] = []

    def work(email: str, password: str) -> None:
        portal = PortalConnection(deployment.port, deployment.tls_context())
        try:
            portal.sign_in(email, password)
            jobs = portal.job_ids()
            if not jobs:
                return
            path = portal.post_form(f"/jobs/{jobs[0]}/start").headers["location"]
            while path.startswith("/tasks/"):
                page = portal.get(path)
                lease, frame = _LEASE.search(page.text), _FRAME.search(page.text)
                assert page.status == 200 and lease and frame, page.text
                assert portal.get(frame.group(1).replace("&amp;", "&")).status == 200  # a token another process signed
                assignment = int(path.rsplit("/", 1)[1])
                reply = portal.submit(assignment, lease.group(1), RANKS)
                assert reply.status == 200, reply.text
                answered.append(assignment)
                path = reply.json()["next"]
        except BaseException as exc:
            errors.append(exc)
        finally:
            portal.close()

    threads = [threading.Thread(target=work, args=worker) for worker in portal_workers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    if errors:
        raise errors[0]
    return answered


def _wait_for_outputs(deployment: Deployment, count: int, seconds: float = 60) -> None:
    s3 = deployment.moto.client()
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if s3.list_objects_v2(Bucket=deployment.bucket).get("KeyCount", 0) >= count:
            return
        time.sleep(0.2)
    raise AssertionError(f"fewer than {count} output.json files in the bucket after {seconds} s")


class _EventStream:
    """GET /events/stream through nginx (HTTPS, signed for the service "crowdloop"), read as it arrives."""

    def __init__(self, deployment: Deployment) -> None:
        server = deployment.servers[0]
        host = f"127.0.0.1:{deployment.port}"
        request = AWSRequest(method="GET", url=f"{deployment.url}/events/stream", headers={"Host": host})
        SigV4Auth(Credentials(server.access_key_id, server.secret_access_key), "crowdloop", "us-east-1").add_auth(
            request
        )
        self.connection = http.client.HTTPSConnection(
            "127.0.0.1", deployment.port, timeout=30, context=deployment.tls_context()
        )
        self.connection.request("GET", "/events/stream", headers=dict(request.headers.items()))
        self.response = self.connection.getresponse()
        assert self.response.status == 200, self.response.read()
        assert self.response.getheader("Content-Type", "").startswith("text/event-stream")

    def next_event(self) -> Any:
        """The data of the next message carrying an event."""
        while True:
            line = self.response.readline().decode()
            if not line:
                raise EOFError("the stream ended")
            if line.startswith("data: "):
                return json.loads(line.removeprefix("data: "))

    def close(self) -> None:
        self.response.close()
        self.connection.close()
