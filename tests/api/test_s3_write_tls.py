"""Uploads over HTTPS, where boto3 sends aws-chunked bodies with the CRC32 in a trailer
(`x-amz-content-sha256: STREAMING-UNSIGNED-PAYLOAD-TRAILER`) instead of a header and a signed payload hash."""

from __future__ import annotations

import base64
import os
import uuid
import zlib
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.api.s3_helpers import error, output, s3_client, signed_request
from tests.conftest import RunningServer


def crc32(data: bytes) -> str:
    return base64.b64encode(zlib.crc32(data).to_bytes(4, "big")).decode()


def _bucket(s3: Any) -> str:
    name = f"tls-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=name)
    return name


def _text(headers: Any) -> dict[str, str]:
    return {k: v.decode() if isinstance(v, bytes) else v for k, v in headers.items()}


def chunked(data: bytes, trailer: str, chunk: int = 3) -> bytes:
    """`data` in aws-chunked encoding, as botocore's AwsChunkedWrapper writes it."""
    pieces = [b"%x\r\n%s\r\n" % (len(data[i : i + chunk]), data[i : i + chunk]) for i in range(0, len(data), chunk)]
    return b"".join(pieces) + b"0\r\n" + trailer.encode() + b"\r\n\r\n"


def test_boto3_sends_aws_chunked_with_a_trailing_crc32(s3_tls_server: RunningServer, tmp_path: Path) -> None:
    sent: list[dict[str, str]] = []
    with s3_client(s3_tls_server) as s3:
        s3.meta.events.register("before-send.s3.PutObject", lambda request, **_: sent.append(_text(request.headers)))
        name = _bucket(s3)
        reply = s3.put_object(Bucket=name, Key="chunked.txt", Body=b"streamed over TLS", ContentType="text/plain")
        assert sent[0]["Content-Encoding"] == "aws-chunked"
        assert sent[0]["X-Amz-Trailer"] == "x-amz-checksum-crc32"
        assert sent[0]["X-Amz-Content-SHA256"] == "STREAMING-UNSIGNED-PAYLOAD-TRAILER"
        assert reply["ChecksumCRC32"] == crc32(b"streamed over TLS")
        got = s3.get_object(Bucket=name, Key="chunked.txt", ChecksumMode="ENABLED")
        assert got["Body"].read() == b"streamed over TLS"
        assert got["ContentType"] == "text/plain"  # aws-chunked is not kept as a content encoding
        assert "ContentEncoding" not in got
        source = tmp_path / "big.bin"
        source.write_bytes(os.urandom(8 * 1024 * 1024 + 1))
        s3.upload_file(str(source), name, "big.bin")
        target = tmp_path / "back.bin"
        s3.download_file(name, "big.bin", str(target))
        assert target.read_bytes() == source.read_bytes()
        assert s3.head_object(Bucket=name, Key="big.bin")["ETag"].endswith('-2"')


def _put_chunked(server: RunningServer, path: str, data: bytes, body: bytes, length: int | None = None) -> Any:
    headers = {
        "Content-Encoding": "aws-chunked",
        "X-Amz-Trailer": "x-amz-checksum-crc32",
        "X-Amz-Decoded-Content-Length": str(len(data) if length is None else length),
        "Content-Length": str(len(body)),
    }
    return signed_request(server, "PUT", path, body, headers, trailer=True)


def test_trailing_checksum_is_verified(s3_tls_server: RunningServer) -> None:
    data = b"hello, aws-chunked world"
    with s3_client(s3_tls_server) as s3:
        name = _bucket(s3)
        status, body = _put_chunked(
            s3_tls_server, f"/{name}/bad.txt", data, chunked(data, f"x-amz-checksum-crc32:{crc32(b'other')}")
        )
        assert status == 400 and b"<Code>BadDigest</Code>" in body
        status, body = _put_chunked(
            s3_tls_server, f"/{name}/short.txt", data, chunked(data, f"x-amz-checksum-crc32:{crc32(data)}"), 999
        )
        assert status == 400 and b"<Code>IncompleteBody</Code>" in body
        status, body = _put_chunked(s3_tls_server, f"/{name}/broken.txt", data, b"zz\r\nnot chunked")
        assert status == 400 and b"<Code>InvalidRequest</Code>" in body
        with pytest.raises(ClientError) as caught:
            s3.head_object(Bucket=name, Key="bad.txt")
        assert error(caught) == ("404", 404)
        assert sorted(p.name for p in (output(s3_tls_server) / name).iterdir()) == []
        status, body = _put_chunked(
            s3_tls_server, f"/{name}/good.txt", data, chunked(data, f"x-amz-checksum-crc32:{crc32(data)}")
        )
        assert status == 200, body
        assert s3.get_object(Bucket=name, Key="good.txt")["Body"].read() == data
