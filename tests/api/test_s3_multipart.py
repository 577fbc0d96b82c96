"""Multipart uploads and checksums of the built-in S3 API, through real boto3 over HTTP (boto3 then sends
`x-amz-checksum-crc32` as a header and signs the payload's SHA-256; over HTTPS: test_s3_write_tls.py)."""

from __future__ import annotations

import base64
import hashlib
import os
import uuid
import zlib
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.api.s3_helpers import error, output, s3_client, signed_request
from tests.conftest import RunningServer

MIB = 1024 * 1024


def _bucket(s3: Any) -> str:
    name = f"mp-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=name)
    return name


def crc32(data: bytes) -> str:
    return base64.b64encode(zlib.crc32(data).to_bytes(4, "big")).decode()


def _uploads_left(server: RunningServer) -> list[str]:
    folder = output(server) / ".s3-uploads"
    return sorted(p.name for p in folder.iterdir()) if folder.is_dir() else []


def test_upload_file_switches_to_multipart_and_download_file_round_trips(
    s3_server: RunningServer, tmp_path: Path
) -> None:
    source = tmp_path / "video.bin"
    source.write_bytes(os.urandom(9 * MIB + 12345))  # above boto3's 8 MiB multipart threshold: two parts
    with s3_client(s3_server) as s3:
        name = _bucket(s3)
        s3.upload_file(str(source), name, "media/video.bin", ExtraArgs={"ContentType": "video/mp4"})
        head = s3.head_object(Bucket=name, Key="media/video.bin", ChecksumMode="ENABLED")
        data = source.read_bytes()
        md5s = hashlib.md5(data[: 8 * MIB]).digest() + hashlib.md5(data[8 * MIB :]).digest()
        assert head["ETag"] == f'"{hashlib.md5(md5s).hexdigest()}-2"'
        assert (head["ContentLength"], head["ContentType"]) == (len(data), "video/mp4")
        parts = base64.b64decode(crc32(data[: 8 * MIB])) + base64.b64decode(crc32(data[8 * MIB :]))
        assert head["ChecksumCRC32"] == f"{crc32(parts)}-2"  # COMPOSITE, as S3 computes it
        target = tmp_path / "back.bin"
        s3.download_file(name, "media/video.bin", str(target))
        assert target.read_bytes() == data
        assert s3.list_multipart_uploads(Bucket=name).get("Uploads", []) == []
    assert not list((output(s3_server) / ".incoming").glob("*.part"))


def _two_part_upload(s3: Any, name: str, first: bytes, second: bytes) -> tuple[str, list[dict[str, Any]]]:
    upload_id = s3.create_multipart_upload(Bucket=name, Key="joined.bin", ChecksumAlgorithm="CRC32")["UploadId"]
    parts = []
    for number, data in ((1, first), (2, second)):
        reply = s3.upload_part(Bucket=name, Key="joined.bin", UploadId=upload_id, PartNumber=number, Body=data)
        assert reply["ChecksumCRC32"] == crc32(data)
        parts.append({"PartNumber": number, "ETag": reply["ETag"], "ChecksumCRC32": reply["ChecksumCRC32"]})
    return upload_id, parts


def test_low_level_multipart_and_entity_too_small(s3_server: RunningServer) -> None:
    with s3_client(s3_server) as s3:
        name = _bucket(s3)
        upload_id, parts = _two_part_upload(s3, name, b"a" * 100, b"b" * 100)
        listed = s3.list_parts(Bucket=name, Key="joined.bin", UploadId=upload_id)["Parts"]
        assert [(p["PartNumber"], p["Size"], p["ETag"]) for p in listed] == [
            (1, 100, parts[0]["ETag"]),
            (2, 100, parts[1]["ETag"]),
        ]
        assert [u["UploadId"] for u in s3.list_multipart_uploads(Bucket=name)["Uploads"]] == [upload_id]
        with pytest.raises(ClientError) as caught:
            s3.complete_multipart_upload(
                Bucket=name, Key="joined.bin", UploadId=upload_id, MultipartUpload={"Parts": parts}
            )
        assert error(caught) == ("EntityTooSmall", 400)
        s3.abort_multipart_upload(Bucket=name, Key="joined.bin", UploadId=upload_id)
        assert s3.list_multipart_uploads(Bucket=name).get("Uploads", []) == []
        with pytest.raises(ClientError) as caught:
            s3.complete_multipart_upload(
                Bucket=name, Key="joined.bin", UploadId=upload_id, MultipartUpload={"Parts": parts}
            )
        assert error(caught) == ("NoSuchUpload", 404)
        with pytest.raises(ClientError) as caught:
            s3.get_object(Bucket=name, Key="joined.bin")
        assert error(caught) == ("NoSuchKey", 404)
    assert upload_id not in _uploads_left(s3_server)


def test_complete_checks_the_part_list(s3_server: RunningServer) -> None:
    first, second = os.urandom(5 * MIB), b"tail"
    with s3_client(s3_server) as s3:
        name = _bucket(s3)
        upload_id, parts = _two_part_upload(s3, name, first, second)

        def complete(listed: list[dict[str, Any]], upload: str = upload_id) -> Any:
            return s3.complete_multipart_upload(
                Bucket=name, Key="joined.bin", UploadId=upload, MultipartUpload={"Parts": listed}
            )

        for listed, code in [
            ([parts[0], {**parts[1], "ETag": '"' + "0" * 32 + '"'}], "InvalidPart"),
            ([parts[0], {**parts[1], "PartNumber": 3}], "InvalidPart"),
            ([parts[0], {**parts[1], "ChecksumCRC32": crc32(b"other")}], "InvalidPart"),
            ([parts[1], parts[0]], "InvalidPartOrder"),
        ]:
            with pytest.raises(ClientError) as caught:
                complete(listed)
            assert error(caught) == (code, 400)
        with pytest.raises(ClientError) as caught:
            complete(parts, upload="x" * 64)
        assert error(caught) == ("NoSuchUpload", 404)
        done = complete(parts)
        md5s = hashlib.md5(first).digest() + hashlib.md5(second).digest()
        assert done["ETag"] == f'"{hashlib.md5(md5s).hexdigest()}-2"'
        got = s3.get_object(Bucket=name, Key="joined.bin")
        assert got["Body"].read() == first + second
        assert got["ETag"] == done["ETag"]
        assert [o["ETag"] for o in s3.list_objects_v2(Bucket=name)["Contents"]] == [done["ETag"]]
    assert upload_id not in _uploads_left(s3_server)


def test_full_object_crc32_multipart(s3_server: RunningServer) -> None:
    first, second = os.urandom(5 * MIB), b"end"
    with s3_client(s3_server) as s3:
        name = _bucket(s3)
        upload_id = s3.create_multipart_upload(
            Bucket=name, Key="full.bin", ChecksumAlgorithm="CRC32", ChecksumType="FULL_OBJECT"
        )["UploadId"]
        parts = []
        for number, data in ((1, first), (2, second)):
            reply = s3.upload_part(Bucket=name, Key="full.bin", UploadId=upload_id, PartNumber=number, Body=data)
            parts.append({"PartNumber": number, "ETag": reply["ETag"], "ChecksumCRC32": reply["ChecksumCRC32"]})
        done = s3.complete_multipart_upload(
            Bucket=name, Key="full.bin", UploadId=upload_id, MultipartUpload={"Parts": parts}
        )
        assert (done["ChecksumCRC32"], done["ChecksumType"]) == (crc32(first + second), "FULL_OBJECT")
        got = s3.get_object(Bucket=name, Key="full.bin", ChecksumMode="ENABLED")
        assert got["Body"].read() == first + second  # botocore checks the CRC32 while reading
        assert got["ChecksumCRC32"] == crc32(first + second)


@pytest.mark.parametrize(
    ("argument", "right", "wrong"),
    [
        ("ChecksumCRC32", crc32(b"payload"), crc32(b"other")),
        ("ChecksumSHA1", base64.b64encode(hashlib.sha1(b"payload").digest()).decode(), "A" * 27 + "="),
        ("ChecksumSHA256", base64.b64encode(hashlib.sha256(b"payload").digest()).decode(), "A" * 43 + "="),
        ("ContentMD5", base64.b64encode(hashlib.md5(b"payload").digest()).decode(), "A" * 22 + "=="),
    ],
)
def test_checksums_are_verified(s3_server: RunningServer, argument: str, right: str, wrong: str) -> None:
    with s3_client(s3_server) as s3:
        name = _bucket(s3)
        with pytest.raises(ClientError) as caught:
            s3.put_object(Bucket=name, Key="wrong.txt", Body=b"payload", **{argument: wrong})
        assert error(caught) == ("BadDigest", 400)
        with pytest.raises(ClientError) as missing:
            s3.head_object(Bucket=name, Key="wrong.txt")
        assert error(missing) == ("404", 404)  # nothing written
        reply = s3.put_object(Bucket=name, Key="right.txt", Body=b"payload", **{argument: right})
        if argument != "ContentMD5":
            assert reply[argument] == right
            got = s3.get_object(Bucket=name, Key="right.txt", ChecksumMode="ENABLED")
            assert got[argument] == right
            assert got["Body"].read() == b"payload"
        else:
            assert s3.get_object(Bucket=name, Key="right.txt")["Body"].read() == b"payload"


def test_boto3s_default_crc32_is_kept_and_returned(s3_server: RunningServer) -> None:
    with s3_client(s3_server) as s3:
        name = _bucket(s3)
        reply = s3.put_object(Bucket=name, Key="plain.txt", Body=b"no checksum asked for")
        assert reply["ChecksumCRC32"] == crc32(b"no checksum asked for")  # boto3 sends it by default
        ranged = s3.get_object(Bucket=name, Key="plain.txt", Range="bytes=0-1", ChecksumMode="ENABLED")
        assert "ChecksumCRC32" not in ranged  # S3 returns the whole object's checksum only for whole reads
        assert ranged["Body"].read() == b"no"


def test_malformed_and_unsupported_checksums(s3_server: RunningServer) -> None:
    with s3_client(s3_server) as s3:
        name = _bucket(s3)
        with pytest.raises(ClientError) as caught:
            s3.put_object(Bucket=name, Key="k", Body=b"x", ChecksumCRC32="not base64!")
        assert error(caught) == ("InvalidRequest", 400)
        with pytest.raises(ClientError) as caught:
            s3.put_object(Bucket=name, Key="k", Body=b"x", ContentMD5="short")
        assert error(caught) == ("InvalidDigest", 400)
    status, body = signed_request(
        s3_server, "PUT", f"/{name}/c.txt", b"x", {"x-amz-checksum-crc32c": base64.b64encode(b"\0\0\0\0").decode()}
    )
    assert status == 501 and b"<Code>NotImplemented</Code>" in body and b"CRC32C" in body
