"""BlobStore.put_stream (a labeling job's output manifest): the chunks' concatenation stored as put stores
bytes, atomically, on the local folder and on S3 (moto); and the manifest lines read as before."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from crowdloop.blobs import INCOMING, LocalBlobStore, S3BlobStore
from crowdloop.errors import NotFound
from crowdloop.labeling import start
from tests.conftest import MotoS3

URI = "s3://results/job/manifests/output/output.manifest"


def _chunks(count: int, fail_after: int | None = None) -> Iterator[bytes]:
    for n in range(count):
        if fail_after is not None and n == fail_after:
            raise RuntimeError("the store went away mid-read")
        yield b'{"source-ref":"s3://b/%d.jpg"}\n' % n


def test_local_put_stream_writes_the_concatenation(tmp_path: Path) -> None:
    blobs = LocalBlobStore(tmp_path)
    blobs.put_stream(URI, _chunks(1000), "application/jsonlines")
    assert blobs.get(URI) == b"".join(_chunks(1000))
    blobs.put_stream(URI, iter([]))
    assert blobs.get(URI) == b""
    assert list((tmp_path / INCOMING).iterdir()) == []


def test_local_put_stream_failing_midway_keeps_the_old_object(tmp_path: Path) -> None:
    blobs = LocalBlobStore(tmp_path)
    with pytest.raises(RuntimeError):
        blobs.put_stream(URI, _chunks(10, fail_after=5))
    assert not blobs.exists(URI)
    blobs.put(URI, b"old")
    with pytest.raises(RuntimeError):
        blobs.put_stream(URI, _chunks(10, fail_after=5))
    assert blobs.get(URI) == b"old"
    assert list((tmp_path / INCOMING).iterdir()) == []  # the partial file is gone


def test_s3_put_stream_on_moto(moto_s3: MotoS3) -> None:
    client = moto_s3.client()
    client.create_bucket(Bucket="results")
    store = S3BlobStore(moto_s3.endpoint_url, moto_s3.access_key_id, moto_s3.secret_access_key, moto_s3.region)
    store.put_stream(URI, _chunks(5000), "application/jsonlines")
    assert store.get(URI) == b"".join(_chunks(5000))
    head = client.head_object(Bucket="results", Key="job/manifests/output/output.manifest")
    assert head["ContentType"] == "application/jsonlines"
    with pytest.raises(RuntimeError):
        store.put_stream(URI, _chunks(10, fail_after=5))
    assert store.get(URI) == b"".join(_chunks(5000))  # nothing sent: the old object stays
    with pytest.raises(NotFound, match="no-such-bucket") as err:
        store.put_stream("s3://no-such-bucket/k", _chunks(2))
    assert err.value.kind == "bucket"


@pytest.mark.parametrize(
    "manifest",
    [
        b'{"source":"a"}\n{"source":"b"}\n',
        b'{"source":"a"}\r\n\r\n  \n{"source":"b"}',
        b'\xef\xbb\xbf{"source":"a"}\r\n{"source":"b\\r"}\r\r\n',
        b'\n\n{"source":"a"}\rx\n{"source-ref":"s3://b/k"}\n\xff\n[1]\n',
        b"",
    ],
)
def test_manifest_lines_as_split_reads_them(manifest: bytes) -> None:
    """start._objects reads the manifest line by line; the same objects as splitting it on b"\\n"."""
    expected = []
    for raw in manifest.split(b"\n"):
        raw = raw.rstrip(b"\r")
        if not raw.strip():
            continue
        if not expected and raw.startswith(b"\xef\xbb\xbf"):
            raw = raw[3:]
        expected.append((len(expected), *start.check_line(raw)))
    assert list(start._objects(manifest)) == expected
