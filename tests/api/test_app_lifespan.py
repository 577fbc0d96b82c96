"""The app's background work lives with its lifespan: create_app starts no thread and writes nothing; the
lifespan starts the outbox writer (which writes what was due) and stops every thread it started. Request
paths never write a blob: StopHumanLoop and DeleteHumanLoop only mark the output due, and the writer
thread writes it, never the event loop's thread."""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from crowdloop import queue
from crowdloop.app import CrowdloopApp, build_services, create_app
from crowdloop.config import Settings
from crowdloop.runtime import Services
from tests.domain.loopsetup import make_flow, make_worker, start

ORIGIN = "http://127.0.0.1:8080"


def _settings(tmp_path: Path, db_url: str) -> Settings:
    return Settings(data_dir=str(tmp_path), database_url=db_url, auth="off", port=8080, reaper_interval_seconds=0.2)


def _our_threads() -> set[threading.Thread]:
    return {t for t in threading.enumerate() if t.name.startswith("crowdloop-")}


def _eventually(check: Callable[[], bool], seconds: float = 10.0) -> bool:
    deadline = time.monotonic() + seconds
    while not check():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def _answered_loop(svc: Services, task_count: int = 1) -> tuple[str, str]:
    """A loop with one answer (Completed when task_count is 1): (name, output URI)."""
    flow = make_flow(svc, task_count=task_count)
    worker = make_worker(svc)
    name = start(svc, flow)
    lease = queue.claim(svc, worker.id, flow.id)
    assert lease is not None
    return name, queue.submit(svc, lease.assignment_id, worker.id, {"ok": 1}, 1).output_uri


def test_background_threads_start_and_stop_with_the_lifespan(
    request: pytest.FixtureRequest, tmp_path: Path, db_url: str
) -> None:
    before = _our_threads()
    app = create_app(_settings(tmp_path, db_url))
    request.addfinalizer(app.services.store.dispose)
    name, uri = _answered_loop(app.services)  # due before startup: nothing writes it yet
    assert _our_threads() == before, "create_app must not start threads"
    assert not app.services.blobs.exists(uri)
    assert not (tmp_path / "output").exists() or not any((tmp_path / "output").rglob("output.json"))
    with TestClient(app, base_url=ORIGIN) as client:
        started = {t.name for t in _our_threads() - before}
        assert "crowdloop-outbox-output" in started
        assert _eventually(lambda: app.services.blobs.exists(uri)), "the writer's first pass writes what was due"
        reply = client.post("/human-loops/stop", json={"HumanLoopName": name})
        assert reply.status_code == 400  # Completed: only a loop in progress can be stopped
    assert _eventually(lambda: not (_our_threads() - before)), [t.name for t in _our_threads() - before]


class ThreadRecordingBlobs:
    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.put_threads: list[int] = []

    def put(self, uri: str, data: bytes, content_type: str = "application/json") -> None:
        self.put_threads.append(threading.get_ident())
        self.inner.put(uri, data, content_type)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


def test_stop_and_delete_requests_write_no_blob_on_the_event_loop(
    request: pytest.FixtureRequest, tmp_path: Path, db_url: str
) -> None:
    base = build_services(_settings(tmp_path, db_url), background_checkpoints=True)
    request.addfinalizer(base.store.dispose)
    blobs = ThreadRecordingBlobs(base.blobs)
    app = CrowdloopApp(dataclasses.replace(base, blobs=blobs))
    loop_threads: set[int] = set()

    async def recording_app(scope: Any, receive: Any, send: Any) -> None:
        loop_threads.add(threading.get_ident())
        await app(scope, receive, send)

    svc = app.services
    stopped, stopped_uri = _answered_loop(svc, task_count=2)  # one answer of two: StopHumanLoop writes it
    deleted, deleted_uri = _answered_loop(svc, task_count=2)
    with TestClient(recording_app, base_url=ORIGIN) as client:
        assert client.post("/human-loops/stop", json={"HumanLoopName": stopped}).status_code == 200
        assert client.post("/human-loops/stop", json={"HumanLoopName": deleted}).status_code == 200
        assert client.delete(f"/human-loops/{deleted}").status_code == 200
        assert _eventually(lambda: blobs.inner.exists(stopped_uri) and blobs.inner.exists(deleted_uri))
        # the blob is written before the transaction that marks it written commits: Stopped follows shortly
        assert _eventually(lambda: client.get(f"/human-loops/{stopped}").json()["HumanLoopStatus"] == "Stopped")
    assert loop_threads and blobs.put_threads
    assert not loop_threads & set(blobs.put_threads), "a blob was written on the event loop's thread"
