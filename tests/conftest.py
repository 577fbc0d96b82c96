"""Shared fixtures. Every store-backed fixture runs on SQLite and on a real PostgreSQL server.

- db_url / store / services: a fresh, migrated database per test; services.clock is a ManualClock.
- server: a real `crowdloop serve` process per backend (session-wide), with boto3 clients sm, a2i, s3, sts.
- server_services: Services bound to that server's database and output folder (drives the queue
  in-process exactly as the portal will).
- moto_s3: moto's S3 in server mode on 127.0.0.1.
"""

from __future__ import annotations

import os
import re
import shutil
import ssl
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config

from crowdloop.clock import ManualClock, SystemClock
from crowdloop.config import Settings
from crowdloop.passwords import CHEAPEST, PasswordHasher
from crowdloop.runtime import Services
from crowdloop.store import Store, open_store
from tests.pg import PostgresServer, free_port

BACKENDS = ["sqlite", "postgresql"]
REGION = "us-east-1"


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    server = PostgresServer()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def _templates(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Migrated template databases, copied for each test (migrating once is much faster)."""
    return {}


def _sqlite_template(templates: dict[str, Any], tmp_path_factory: pytest.TempPathFactory) -> Path:
    if "sqlite" not in templates:
        path = tmp_path_factory.mktemp("template") / "template.db"
        open_store(f"sqlite:///{path}").dispose()
        templates["sqlite"] = path
    return Path(templates["sqlite"])


def _postgres_template(templates: dict[str, Any], postgres: PostgresServer) -> str:
    if "postgresql" not in templates:
        url = postgres.create_database()
        open_store(url).dispose()
        templates["postgresql"] = url.rsplit("/", 1)[1]
    return str(templates["postgresql"])


@pytest.fixture(params=BACKENDS)
def db_url(
    request: pytest.FixtureRequest, tmp_path: Path, _templates: dict[str, Any], tmp_path_factory: pytest.TempPathFactory
) -> str:
    if request.param == "sqlite":
        path = tmp_path / "crowdloop.db"
        shutil.copy(_sqlite_template(_templates, tmp_path_factory), path)
        return f"sqlite:///{path}"
    postgres: PostgresServer = request.getfixturevalue("postgres")
    return postgres.create_database(template=_postgres_template(_templates, postgres))


@pytest.fixture
def store(db_url: str) -> Iterator[Store]:
    store = open_store(db_url)
    yield store
    store.dispose()


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def settings(tmp_path: Path, db_url: str) -> Settings:
    return Settings(data_dir=str(tmp_path), database_url=db_url)


@pytest.fixture(scope="session")
def password_hasher() -> PasswordHasher:
    """argon2's cheapest parameters; a test that measures hashing time parametrizes this with PasswordHasher()."""
    return PasswordHasher(CHEAPEST)


@pytest.fixture
def services(settings: Settings, store: Store, clock: ManualClock, password_hasher: PasswordHasher) -> Services:
    from crowdloop.blobs import LocalBlobStore

    blobs = LocalBlobStore(settings.output_path)
    return Services(settings=settings, store=store, clock=clock, blobs=blobs, passwords=password_hasher)


@dataclass
class RunningServer:
    backend: str
    process: subprocess.Popen[str]
    endpoint_url: str
    data_dir: Path
    database_url: str
    port: int
    exports: dict[str, str] = field(default_factory=dict)
    region: str = REGION

    @property
    def access_key_id(self) -> str:
        return self.exports["AWS_ACCESS_KEY_ID"]

    @property
    def secret_access_key(self) -> str:
        return self.exports["AWS_SECRET_ACCESS_KEY"]

    @property
    def settings(self) -> Settings:
        return Settings(data_dir=str(self.data_dir), database_url=self.database_url, port=self.port)

    def client(self, service: str, **kwargs: Any) -> Any:
        if "AWS_CA_BUNDLE" in self.exports:  # serve --tls self-signed: trust its certificate, as the lines say
            kwargs.setdefault("verify", self.exports["AWS_CA_BUNDLE"])
        return boto3.client(
            service,
            endpoint_url=self.endpoint_url,
            region_name=self.region,
            aws_access_key_id=self.access_key_id,
            aws_secret_access_key=self.secret_access_key,
            config=Config(retries={"max_attempts": 1}),
            **kwargs,
        )


def start_server(
    data_dir: Path,
    database_url: str,
    backend: str = "sqlite",
    extra_env: dict[str, str] | None = None,
    port: int | None = None,
    args: tuple[str, ...] = (),
) -> RunningServer:
    """`crowdloop serve` (with these extra args) on a free port of 127.0.0.1, once it answers its health check;
    its endpoint is the one its export lines name (https with --tls)."""
    port = port or free_port()
    env = {**os.environ, "CROWDLOOP_DATABASE_URL": database_url, "PYTHONUNBUFFERED": "1", **(extra_env or {})}
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "crowdloop",
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--data-dir",
            str(data_dir),
            *args,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    )
    server = RunningServer(backend, process, f"http://127.0.0.1:{port}", data_dir, database_url, port)
    deadline = time.monotonic() + 60
    assert process.stdout is not None
    lines: list[str] = []
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            process.wait()
            process.stdout.close()
            raise RuntimeError("crowdloop serve exited:\n" + "".join(lines))
        lines.append(line)
        server.exports.update(_exports(line))
        server.endpoint_url = server.exports.get("AWS_ENDPOINT_URL_S3", server.endpoint_url)
        if "serving on https://" in line:
            server.endpoint_url = f"https://127.0.0.1:{port}"
            kept = data_dir / "tls" / "cert.pem"  # --tls self-signed (a restart prints no AWS_CA_BUNDLE line)
            if kept.exists():
                server.exports.setdefault("AWS_CA_BUNDLE", str(kept.resolve()))
        printed_key = "AWS_ENDPOINT_URL_S3" in server.exports or "crowdloop keys show" in line
        if printed_key and _healthy(server.endpoint_url, server.exports.get("AWS_CA_BUNDLE")):
            break
    else:
        process.kill()
        process.wait()  # reaped, or it outlives the test as a zombie (ResourceWarning)
        process.stdout.close()
        raise RuntimeError("crowdloop serve did not start:\n" + "".join(lines))
    _drain(process)
    if "AWS_SECRET_ACCESS_KEY" not in server.exports:  # a restart prints only the key id
        server.exports.update(keys_show(data_dir, database_url, port, extra_env))
    return server


def _exports(text: str) -> dict[str, str]:
    """NAME -> value of the `export NAME=value` lines of `serve` or `keys show`."""
    found = {}
    for line in text.splitlines():
        match = re.match(r"export (\w+)=(\S+)", line.strip())
        if match:
            found[match.group(1)] = match.group(2).strip("'\"")
    return found


def keys_show(data_dir: Path, database_url: str, port: int, extra_env: dict[str, str] | None = None) -> dict[str, str]:
    """The admin key's export lines from `crowdloop keys show` (what a user runs after a restart)."""
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "crowdloop",
            "keys",
            "show",
            "--data-dir",
            str(data_dir),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "CROWDLOOP_DATABASE_URL": database_url, **(extra_env or {})},
    )
    return _exports(result.stdout)


def _healthy(endpoint_url: str, ca_bundle: str | None = None) -> bool:
    context = ssl.create_default_context(cafile=ca_bundle) if ca_bundle else None
    for _ in range(100):
        try:
            with urllib.request.urlopen(endpoint_url + "/_crowdloop/health", timeout=1, context=context) as reply:
                return bool(reply.status == 200)
        except OSError:
            time.sleep(0.05)
    return False


def _drain(process: subprocess.Popen[str]) -> None:
    """Keep reading the server's output so a full pipe never blocks it; echo it for failing tests."""
    import threading

    def pump() -> None:
        assert process.stdout is not None
        with process.stdout:  # closed at EOF, when the server has exited
            for line in process.stdout:
                sys.stderr.write("[server] " + line)

    threading.Thread(target=pump, daemon=True).start()


def stop_server(server: RunningServer) -> None:
    server.process.terminate()
    try:
        server.process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        server.process.kill()
        server.process.wait()


@pytest.fixture(scope="session", params=BACKENDS)
def server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    data_dir = tmp_path_factory.mktemp(f"server-{request.param}")
    if request.param == "sqlite":
        url = f"sqlite:///{data_dir / 'crowdloop.db'}"
    else:
        url = request.getfixturevalue("postgres").create_database()
    running = start_server(data_dir, url, request.param)
    yield running
    stop_server(running)


@pytest.fixture
def sm(server: RunningServer) -> Any:
    return server.client("sagemaker")


@pytest.fixture
def a2i(server: RunningServer) -> Any:
    return server.client("sagemaker-a2i-runtime")


@pytest.fixture
def s3(server: RunningServer) -> Any:
    return server.client("s3")


@pytest.fixture
def sts(server: RunningServer) -> Any:
    return server.client("sts")


@pytest.fixture
def server_services(server: RunningServer, password_hasher: PasswordHasher) -> Iterator[Services]:
    from crowdloop.blobs import LocalBlobStore

    settings = server.settings
    store = open_store(server.database_url, migrate=False)
    blobs = LocalBlobStore(settings.output_path)
    yield Services(settings=settings, store=store, clock=SystemClock(), blobs=blobs, passwords=password_hasher)
    store.dispose()


@dataclass
class MotoS3:
    endpoint_url: str
    access_key_id: str = "testing"
    secret_access_key: str = "testing"
    region: str = REGION

    def client(self) -> Any:
        return boto3.client(
            "s3",
            endpoint_url=self.endpoint_url,
            region_name=self.region,
            aws_access_key_id=self.access_key_id,
            aws_secret_access_key=self.secret_access_key,
        )


@pytest.fixture(scope="session")
def moto_s3() -> Iterator[MotoS3]:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    endpoint = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60  # as for crowdloop serve: moto takes over 30 s to start on a busy machine
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(endpoint + "/moto-api/", timeout=1).close()
            break
        except OSError:
            time.sleep(0.1)
    else:
        process.kill()
        process.wait()
        raise RuntimeError("moto server did not start")
    yield MotoS3(endpoint)
    process.terminate()
    process.wait(timeout=10)
