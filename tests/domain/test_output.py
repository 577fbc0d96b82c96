"""output.json (spec §7): location, content, the outbox, and the blob stores (local folder, S3 on moto)."""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import threading
import urllib.request
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import sqlalchemy as sa

from crowdloop import loops, outbox, output, queue, reaper
from crowdloop.blobs import LocalBlobStore, S3BlobStore, blob_store_for
from crowdloop.clock import ManualClock
from crowdloop.config import Settings
from crowdloop.errors import InvalidInput, NotFound, TaskUnavailable
from crowdloop.model import HumanLoopStatus
from crowdloop.runtime import Services
from crowdloop.store.tables import human_loops
from tests.conftest import MotoS3
from tests.domain.loopsetup import CALLER, make_flow, make_worker, start


def _clock(svc: Services) -> ManualClock:
    assert isinstance(svc.clock, ManualClock)
    return svc.clock


def _written(svc: Services, name: str) -> bool:
    with svc.store.read() as conn:
        return bool(
            conn.execute(sa.select(human_loops.c.output_written).where(human_loops.c.name == name)).scalar_one()
        )


def test_output_uri_layout() -> None:
    from datetime import UTC, datetime

    created = datetime(2019, 11, 14, 17, 37, 36, 740000, tzinfo=UTC)
    assert (
        output.output_uri("s3://b/a2i-results", "fd", "Loop-1", created)
        == "s3://b/a2i-results/fd/2019/11/14/17/37/36/Loop-1/output.json"
    )
    assert output.output_uri("s3://b", "fd", "l", created) == "s3://b/fd/2019/11/14/17/37/36/l/output.json"
    assert output.format_time(created) == "2019-11-14T17:37:36.740Z"


def test_output_document(services: Services) -> None:
    flow = make_flow(services, "rank-fd", task_count=2, output_path="s3://bucket/a2i/")
    clock = _clock(services)
    clock.advance(3723.4567)
    start(services, flow, "Fraud-1", {"taskObject": "s3://x/y.png", "n": [1, 2]})
    first, second = make_worker(services), make_worker(services)
    lease_1 = queue.claim(services, first.id, flow.id)
    clock.advance(1.5)
    lease_2 = queue.claim(services, second.id, flow.id)
    assert lease_1 is not None and lease_2 is not None
    clock.advance(10.25)
    queue.submit(services, lease_2.assignment_id, second.id, {"category": {"label": "B"}}, 9.87654)
    loop = loops.describe_human_loop(services, CALLER, "Fraud-1")
    assert loop.output_uri == "s3://bucket/a2i/rank-fd/2026/01/01/01/02/03/Fraud-1/output.json"
    assert not services.blobs.exists(loop.output_uri)  # nothing before TaskCount answers
    clock.advance(2)
    result = queue.submit(services, lease_1.assignment_id, first.id, {"category": {"label": "A"}}, 12)
    assert result.status is HumanLoopStatus.COMPLETED and result.output_uri == loop.output_uri
    path = services.settings.output_path / "bucket/a2i/rank-fd/2026/01/01/01/02/03/Fraud-1/output.json"
    document = json.loads(path.read_bytes())
    issuer = f"http://{services.settings.portal_host}"
    assert document == {
        "flowDefinitionArn": flow.arn,
        "humanAnswers": [
            {
                "acceptanceTime": "2026-01-01T01:02:04.956Z",
                "answerContent": {"category": {"label": "B"}},
                "submissionTime": "2026-01-01T01:02:15.206Z",
                "timeSpentInSeconds": 9.877,
                "workerId": second.worker_id,
                "workerMetadata": {
                    "identityData": {"identityProviderType": "Cognito", "issuer": issuer, "sub": second.sub}
                },
            },
            {
                "acceptanceTime": "2026-01-01T01:02:03.456Z",
                "answerContent": {"category": {"label": "A"}},
                "submissionTime": "2026-01-01T01:02:17.206Z",
                "timeSpentInSeconds": 12.0,
                "workerId": first.worker_id,
                "workerMetadata": {
                    "identityData": {"identityProviderType": "Cognito", "issuer": issuer, "sub": first.sub}
                },
            },
        ],
        "humanLoopName": "Fraud-1",
        "inputContent": {"taskObject": "s3://x/y.png", "n": [1, 2]},
    }
    assert _written(services, "Fraud-1")
    assert [p.name for p in path.parent.iterdir()] == ["output.json"]  # no temporary files left


def test_output_keeps_big_integers_and_unicode(services: Services) -> None:
    flow = make_flow(services)
    worker = make_worker(services)
    content = '{"n": 1180591620717411303424, "s": "\\ud83d\\ude00 caf\u00e9", "lone": "\\udc00"}'
    loops.start_human_loop(services, CALLER, "big", flow.arn, content)
    lease = queue.claim(services, worker.id, flow.id)
    assert lease is not None and lease.task_input["n"] == 2**70
    queue.submit(services, lease.assignment_id, worker.id, {"score": 2**65, "text": "\u00e9"}, 1)
    document = json.loads(services.blobs.get(loops.describe_human_loop(services, CALLER, "big").output_uri))
    assert document["inputContent"] == {"n": 2**70, "s": "\U0001f600 caf\u00e9", "lone": "\udc00"}
    assert document["humanAnswers"][0]["answerContent"] == {"score": 2**65, "text": "\u00e9"}


def test_stopped_loop_output_has_the_answers_given(services: Services) -> None:
    flow = make_flow(services, task_count=3)
    crew = [make_worker(services) for _ in range(2)]
    name = start(services, flow)
    leases = [queue.claim(services, w.id, flow.id) for w in crew]
    assert all(leases)
    queue.submit(services, leases[0].assignment_id, crew[0].id, {"a": 1}, 1)  # type: ignore[union-attr]
    loops.stop_human_loop(services, CALLER, name)
    loop = loops.describe_human_loop(services, CALLER, name)
    assert loop.status is HumanLoopStatus.STOPPED  # at once: the other worker's lease was withdrawn
    document = json.loads(services.blobs.get(loop.output_uri))
    assert [a["answerContent"] for a in document["humanAnswers"]] == [{"a": 1}]
    with pytest.raises(TaskUnavailable):
        queue.submit(services, leases[1].assignment_id, crew[1].id, {"a": 2}, 1)  # type: ignore[union-attr]
    assert json.loads(services.blobs.get(loop.output_uri)) == document


def test_stopped_without_answers_has_no_output(services: Services) -> None:
    flow = make_flow(services)
    name = start(services, flow)
    loops.stop_human_loop(services, CALLER, name)
    assert outbox.drain(services, output.KIND) == 0
    assert not services.blobs.exists(loops.describe_human_loop(services, CALLER, name).output_uri)


class _BrokenBlobs:
    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.broken = True

    def put(self, uri: str, data: bytes, content_type: str = "application/json") -> None:
        if self.broken:
            raise OSError("disk on fire")
        self.inner.put(uri, data, content_type)

    def get(self, uri: str) -> bytes:
        return bytes(self.inner.get(uri))

    def exists(self, uri: str) -> bool:
        return bool(self.inner.exists(uri))

    def url_for(self, uri: str, expires_seconds: int) -> str:
        return str(self.inner.url_for(uri, expires_seconds))


def test_outbox_survives_a_failed_write(services: Services, caplog: pytest.LogCaptureFixture) -> None:
    blobs = _BrokenBlobs(services.blobs)
    svc = dataclasses.replace(services, blobs=blobs)
    flow = make_flow(svc)
    worker = make_worker(svc)
    name = start(svc, flow)
    lease = queue.claim(svc, worker.id, flow.id)
    assert lease is not None
    with caplog.at_level(logging.WARNING, logger="crowdloop.output"):
        result = queue.submit(svc, lease.assignment_id, worker.id, {"ok": 1}, 1)
    assert result.status is HumanLoopStatus.COMPLETED  # the answer counts even though the write failed
    assert "disk on fire" in caplog.text
    assert not _written(svc, name) and not blobs.exists(result.output_uri)
    assert reaper.reap(svc).outputs_written == 0  # still broken: stays pending
    blobs.broken = False
    assert reaper.reap(svc).outputs_written == 1
    assert json.loads(blobs.get(result.output_uri))["humanAnswers"][0]["answerContent"] == {"ok": 1}
    assert _written(svc, name)
    assert outbox.drain(svc, output.KIND) == 0


def test_delete_keeps_a_pending_output(services: Services) -> None:
    """DeleteHumanLoop writes nothing itself: a loop whose output.json is still due leaves its document in
    the outbox, written once the blob store works."""
    blobs = _BrokenBlobs(services.blobs)
    svc = dataclasses.replace(services, blobs=blobs)
    flow = make_flow(svc)
    worker = make_worker(svc)
    name = start(svc, flow)
    lease = queue.claim(svc, worker.id, flow.id)
    assert lease is not None
    uri = queue.submit(svc, lease.assignment_id, worker.id, {"ok": 1}, 1).output_uri
    # Completed is reported only once output.json exists, so a client never sees Completed without it.
    assert loops.describe_human_loop(svc, CALLER, name).status is HumanLoopStatus.IN_PROGRESS
    loops.delete_human_loop(svc, CALLER, name)  # the write fails again: the document stays due
    with pytest.raises(NotFound):
        loops.describe_human_loop(svc, CALLER, name)
    assert not blobs.exists(uri)
    blobs.broken = False
    assert outbox.drain(svc, output.KIND) == 1
    document = json.loads(blobs.get(uri))
    assert document["humanLoopName"] == name and document["humanAnswers"][0]["answerContent"] == {"ok": 1}
    assert outbox.drain(svc, output.KIND) == 0


def test_delete_of_a_written_loop_writes_nothing(services: Services) -> None:
    flow = make_flow(services)
    worker = make_worker(services)
    name = start(services, flow)
    lease = queue.claim(services, worker.id, flow.id)
    assert lease is not None
    uri = queue.submit(services, lease.assignment_id, worker.id, {"ok": 1}, 1).output_uri
    assert loops.describe_human_loop(services, CALLER, name).status is HumanLoopStatus.COMPLETED
    loops.delete_human_loop(services, CALLER, name)
    assert services.blobs.exists(uri) and outbox.drain(services, output.KIND) == 0


# --- blob stores ---------------------------------------------------------------------------------------


def test_local_blob_store(tmp_path: Path) -> None:
    store = LocalBlobStore(tmp_path, signing_key=b"k" * 32, portal_url="http://portal.test:8080")
    uri = "s3://bucket/some/key with space/output.json"
    assert not store.exists(uri)
    with pytest.raises(NotFound):
        store.get(uri)
    store.put(uri, b'{"a": 1}')
    assert (tmp_path / "bucket/some/key with space/output.json").read_bytes() == b'{"a": 1}'
    store.put(uri, b'{"a": 2}')
    assert store.get(uri) == b'{"a": 2}' and store.exists(uri)
    with pytest.raises(NotFound):
        store.get("s3://bucket/some")  # a folder is not an object
    for bad in ("s3://bucket/../etc/passwd", "s3://bucket/a//b", "s3://bucket", "http://bucket/key", "s3://bucket/./x"):
        with pytest.raises(InvalidInput):
            store.put(bad, b"x")
    url = store.url_for(uri, 60)
    parts = urlsplit(url)
    assert (parts.scheme, parts.netloc, parts.path) == (
        "http",
        "portal.test:8080",
        "/_crowdloop/blobs/bucket/some/key%20with%20space/output.json",
    )
    query = {k: v[0] for k, v in parse_qs(parts.query).items()}
    expires = int(query["expires"])
    assert store.verify("bucket", "some/key with space/output.json", expires, query["signature"])
    assert not store.verify("bucket", "some/other", expires, query["signature"])
    assert not store.verify("bucket", "some/key with space/output.json", expires + 1, query["signature"])
    assert not store.verify("bucket", "some/key with space/output.json", expires, query["signature"], now=expires + 1)


def test_local_put_is_atomic_for_readers(tmp_path: Path) -> None:
    store = LocalBlobStore(tmp_path)
    uri = "s3://b/k/output.json"
    big = [json.dumps({"n": i, "pad": "x" * 200_000}).encode() for i in range(2)]
    store.put(uri, big[0])
    stop = threading.Event()
    seen: list[bytes] = []

    def read() -> None:
        while not stop.is_set():
            seen.append(store.get(uri))

    reader = threading.Thread(target=read)
    reader.start()
    for i in range(30):
        store.put(uri, big[i % 2])
    stop.set()
    reader.join()
    assert seen and all(data in big for data in seen)
    assert sorted(os.listdir(tmp_path / "b/k")) == ["output.json"]


def test_blob_store_for_settings(tmp_path: Path, moto_s3: MotoS3) -> None:
    local = blob_store_for(Settings(data_dir=str(tmp_path)))
    assert isinstance(local, LocalBlobStore) and local.root == tmp_path / "output"
    again = blob_store_for(Settings(data_dir=str(tmp_path)))
    assert isinstance(again, LocalBlobStore) and again.signing_key == local.signing_key  # kept on disk
    assert oct((tmp_path / "keys" / "blob-url.key").stat().st_mode & 0o777) == "0o600"
    remote = blob_store_for(
        Settings(
            data_dir=str(tmp_path),
            s3_endpoint_url=moto_s3.endpoint_url,
            s3_access_key_id="testing",
            s3_secret_access_key="testing",
        )
    )
    assert isinstance(remote, S3BlobStore)


def test_s3_blob_store_on_moto(moto_s3: MotoS3) -> None:
    client = moto_s3.client()
    client.create_bucket(Bucket="results")
    store = S3BlobStore(moto_s3.endpoint_url, moto_s3.access_key_id, moto_s3.secret_access_key, moto_s3.region)
    uri = "s3://results/a2i/fd/2026/01/01/00/00/00/loop/output.json"
    assert not store.exists(uri)
    with pytest.raises(NotFound) as err:
        store.get(uri)
    assert err.value.kind == "object"
    store.put(uri, b'{"ok": true}')
    assert store.exists(uri) and store.get(uri) == b'{"ok": true}'
    head = client.head_object(Bucket="results", Key="a2i/fd/2026/01/01/00/00/00/loop/output.json")
    assert head["ContentType"] == "application/json"
    with urllib.request.urlopen(store.url_for(uri, 60), timeout=10) as reply:
        assert reply.read() == b'{"ok": true}'
    for action in (
        lambda: store.put("s3://no-such-bucket/k", b"x"),
        lambda: store.get("s3://no-such-bucket/k"),
        lambda: store.exists("s3://no-such-bucket/k"),
    ):
        with pytest.raises(NotFound, match="no-such-bucket") as err:
            action()
        assert err.value.kind == "bucket"


def test_output_written_to_s3(services: Services, moto_s3: MotoS3) -> None:
    moto_s3.client().create_bucket(Bucket="a2i-out")
    blobs = S3BlobStore(moto_s3.endpoint_url, "testing", "testing", "us-east-1")
    svc = dataclasses.replace(services, blobs=blobs)
    flow = make_flow(svc, output_path="s3://a2i-out/results")
    worker = make_worker(svc)
    name = start(svc, flow)
    lease = queue.claim(svc, worker.id, flow.id)
    assert lease is not None
    queue.submit(svc, lease.assignment_id, worker.id, {"label": "x"}, 1)
    uri = loops.describe_human_loop(svc, CALLER, name).output_uri
    key = uri.removeprefix("s3://a2i-out/")
    body = moto_s3.client().get_object(Bucket="a2i-out", Key=key)["Body"].read()
    assert json.loads(body)["humanLoopName"] == name
    assert _written(svc, name)


def test_local_url_for_rejects_unservable_keys(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput):
        LocalBlobStore(tmp_path).url_for("s3://b/../x", 60)


class _GatedBlobs:
    """Blocks writes until opened, to observe the window between commit and output.json."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.gate = threading.Event()

    def put(self, uri: str, data: bytes, content_type: str = "application/json") -> None:
        assert self.gate.wait(10)
        self.inner.put(uri, data, content_type)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


def test_background_writer_reports_completed_only_with_output(services: Services) -> None:
    blobs = _GatedBlobs(services.blobs)
    base = dataclasses.replace(services, blobs=blobs)
    writers = outbox.OutboxWriters(base, [output.KIND], poll_seconds=5)
    writers.start()
    svc = dataclasses.replace(base, outbox=writers)
    flow = make_flow(svc)
    worker = make_worker(svc)
    name = start(svc, flow)
    lease = queue.claim(svc, worker.id, flow.id)
    assert lease is not None
    result = queue.submit(svc, lease.assignment_id, worker.id, {"ok": 1}, 1)  # returns before the write
    assert result.status is HumanLoopStatus.COMPLETED
    assert loops.describe_human_loop(svc, CALLER, name).status is HumanLoopStatus.IN_PROGRESS
    assert not services.blobs.exists(result.output_uri)
    blobs.gate.set()
    writers.close()
    assert loops.describe_human_loop(svc, CALLER, name).status is HumanLoopStatus.COMPLETED
    assert json.loads(services.blobs.get(result.output_uri))["humanAnswers"][0]["answerContent"] == {"ok": 1}
