"""The built-in S3 API's writes, driven by real boto3 over HTTP against `crowdloop serve`: buckets, objects
with their metadata, copies, deletes, key and bucket name checks, authentication, the size limit, and the
bucket a flow definition's output path makes. (Multipart and checksums: test_s3_multipart.py.)"""

from __future__ import annotations

import hashlib
import urllib.error
import urllib.request
import uuid
from contextlib import closing
from pathlib import Path
from typing import Any

import boto3
import pytest
from boto3.exceptions import S3UploadFailedError
from botocore.config import Config
from botocore.exceptions import ClientError

from tests.api.s3_helpers import MAX_OBJECT_BYTES, error, output, raw_request, s3_client, signed_request
from tests.api.sagemaker_helpers import ROLE, human_loop_config
from tests.conftest import RunningServer


def _bucket(s3: Any) -> str:
    name = f"b-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=name)
    return name


def test_create_head_and_list_buckets(s3_server: RunningServer) -> None:
    with s3_client(s3_server) as s3, s3_client(s3_server, region="eu-west-1") as s3_eu:
        name = f"inputs-{uuid.uuid4().hex[:8]}"
        reply = s3.create_bucket(Bucket=name)
        assert reply["Location"] == f"/{name}"
        assert s3.head_bucket(Bucket=name)["ResponseMetadata"]["HTTPStatusCode"] == 200
        assert name in [b["Name"] for b in s3.list_buckets()["Buckets"]]
        assert s3.create_bucket(Bucket=name)["ResponseMetadata"]["HTTPStatusCode"] == 200  # us-east-1: 200 again
        with pytest.raises(ClientError) as caught:
            s3_eu.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
        assert error(caught) == ("BucketAlreadyOwnedByYou", 409)
        with pytest.raises(ClientError) as caught:
            s3.head_bucket(Bucket=f"missing-{uuid.uuid4().hex[:8]}")
        assert error(caught) == ("404", 404)
        hidden = [b["Name"] for b in s3.list_buckets()["Buckets"] if b["Name"].startswith(".")]
        assert hidden == []


@pytest.mark.parametrize("name", ["ab", "Bad-Bucket", "bad_bucket", "a..b", "a.-b", "192.168.1.1", "xn--abc", "-abc"])
def test_invalid_bucket_names(s3_server: RunningServer, name: str) -> None:
    with s3_client(s3_server) as s3, pytest.raises(ClientError) as caught:
        s3.create_bucket(Bucket=name)
    assert error(caught) == ("InvalidBucketName", 400)
    assert caught.value.response["Error"]["BucketName"] == name
    assert not (output(s3_server) / name).exists()


def test_delete_bucket(s3_server: RunningServer) -> None:
    with s3_client(s3_server) as s3:
        name = _bucket(s3)
        s3.put_object(Bucket=name, Key="dir/file.txt", Body=b"x")
        with pytest.raises(ClientError) as caught:
            s3.delete_bucket(Bucket=name)
        assert error(caught) == ("BucketNotEmpty", 409)
        s3.delete_object(Bucket=name, Key="dir/file.txt")
        assert s3.delete_bucket(Bucket=name)["ResponseMetadata"]["HTTPStatusCode"] == 204
        with pytest.raises(ClientError) as caught:
            s3.head_bucket(Bucket=name)
        assert error(caught) == ("404", 404)


def test_put_get_head_list_delete_with_metadata(s3_server: RunningServer) -> None:
    body = b"\x89PNG fake image bytes" * 100
    with s3_client(s3_server) as s3:
        name = _bucket(s3)
        put = s3.put_object(
            Bucket=name,
            Key="media/cat.png",
            Body=body,
            ContentType="image/png",
            CacheControl="max-age=60",
            Metadata={"source": "camera-7", "Label": "cat"},
        )
        assert put["ETag"] == f'"{hashlib.md5(body).hexdigest()}"'
        got = s3.get_object(Bucket=name, Key="media/cat.png")
        assert got["Body"].read() == body
        assert got["ContentType"] == "image/png"
        assert got["CacheControl"] == "max-age=60"
        assert got["Metadata"] == {"source": "camera-7", "label": "cat"}
        assert got["ETag"] == put["ETag"]
        head = s3.head_object(Bucket=name, Key="media/cat.png")
        assert (head["ContentLength"], head["ContentType"], head["Metadata"]["source"]) == (
            len(body),
            "image/png",
            "camera-7",
        )
        listed = s3.list_objects_v2(Bucket=name)["Contents"]
        assert [(o["Key"], o["Size"], o["ETag"]) for o in listed] == [("media/cat.png", len(body), put["ETag"])]
        ranged = s3.get_object(Bucket=name, Key="media/cat.png", Range="bytes=4-7")
        assert (ranged["Body"].read(), ranged["ContentRange"]) == (body[4:8], f"bytes 4-7/{len(body)}")
        s3.put_object(Bucket=name, Key="media/cat.png", Body=b"new")  # overwritten: no old metadata
        got = s3.get_object(Bucket=name, Key="media/cat.png")
        assert (got["Body"].read(), got["ContentType"], got["Metadata"]) == (b"new", "binary/octet-stream", {})
        assert s3.delete_object(Bucket=name, Key="media/cat.png")["ResponseMetadata"]["HTTPStatusCode"] == 204
        assert s3.delete_object(Bucket=name, Key="media/cat.png")["ResponseMetadata"]["HTTPStatusCode"] == 204
        with pytest.raises(ClientError) as caught:
            s3.get_object(Bucket=name, Key="media/cat.png")
        assert error(caught) == ("NoSuchKey", 404)
        assert s3.list_objects_v2(Bucket=name)["KeyCount"] == 0
        with pytest.raises(ClientError) as caught:
            s3.put_object(Bucket=f"missing-{uuid.uuid4().hex[:8]}", Key="k", Body=b"x")
        assert error(caught) == ("NoSuchBucket", 404)


def test_copy_object(s3_server: RunningServer) -> None:
    with s3_client(s3_server) as s3:
        name, other = _bucket(s3), _bucket(s3)
        s3.put_object(
            Bucket=name, Key="src.json", Body=b'{"a": 1}', ContentType="application/json", Metadata={"m": "1"}
        )
        copied = s3.copy_object(Bucket=other, Key="copy.json", CopySource={"Bucket": name, "Key": "src.json"})
        assert copied["CopyObjectResult"]["ETag"] == '"' + hashlib.md5(b'{"a": 1}').hexdigest() + '"'
        got = s3.get_object(Bucket=other, Key="copy.json")
        assert (got["Body"].read(), got["ContentType"], got["Metadata"]) == (
            b'{"a": 1}',
            "application/json",
            {"m": "1"},
        )
        s3.copy_object(
            Bucket=name,
            Key="src.json",
            CopySource={"Bucket": name, "Key": "src.json"},
            MetadataDirective="REPLACE",
            ContentType="text/plain",
            Metadata={"m": "2"},
        )
        got = s3.get_object(Bucket=name, Key="src.json")
        assert (got["Body"].read(), got["ContentType"], got["Metadata"]) == (b'{"a": 1}', "text/plain", {"m": "2"})
        with pytest.raises(ClientError) as caught:
            s3.copy_object(Bucket=name, Key="src.json", CopySource={"Bucket": name, "Key": "src.json"})
        assert error(caught) == ("InvalidRequest", 400)
        with pytest.raises(ClientError) as caught:
            s3.copy_object(Bucket=name, Key="x", CopySource={"Bucket": name, "Key": "missing"})
        assert error(caught) == ("NoSuchKey", 404)


@pytest.mark.parametrize("quiet", [False, True])
def test_delete_objects(s3_server: RunningServer, quiet: bool) -> None:
    with s3_client(s3_server) as s3:
        name = _bucket(s3)
        for key in ("a.txt", "d/b.txt", "d/c.txt"):
            s3.put_object(Bucket=name, Key=key, Body=key.encode())
        keys = ["a.txt", "d/b.txt", "never-there.txt"]
        reply = s3.delete_objects(Bucket=name, Delete={"Objects": [{"Key": k} for k in keys], "Quiet": quiet})
        assert reply.get("Deleted", []) == ([] if quiet else [{"Key": k} for k in keys])
        assert reply.get("Errors", []) == []
        assert [o["Key"] for o in s3.list_objects_v2(Bucket=name)["Contents"]] == ["d/c.txt"]


@pytest.mark.parametrize("key", ["../escape.txt", "a/../../escape.txt", "a/./b", "a\x00b", "a//b", "dir/"])
def test_keys_that_cannot_be_stored_are_refused(s3_server: RunningServer, key: str) -> None:
    with s3_client(s3_server) as s3:
        name = _bucket(s3)
        before = sorted(p for p in output(s3_server).rglob("*") if ".incoming" not in p.parts)
        with pytest.raises(ClientError) as caught:
            s3.put_object(Bucket=name, Key=key, Body=b"owned")
        assert error(caught) == ("InvalidArgument", 400)
        after = sorted(p for p in output(s3_server).rglob("*") if ".incoming" not in p.parts)
        assert after == before
        assert not (output(s3_server) / "escape.txt").exists()
        assert not (s3_server.data_dir / "escape.txt").exists()


def test_key_too_long(s3_server: RunningServer) -> None:
    with s3_client(s3_server) as s3:
        name = _bucket(s3)
        with pytest.raises(ClientError) as caught:
            s3.put_object(Bucket=name, Key="k" * 1025, Body=b"x")
        assert error(caught) == ("KeyTooLongError", 400)
        with pytest.raises(ClientError) as caught:
            s3.put_object(Bucket=name, Key="sub/.tmp-abc.part", Body=b"x")
        assert error(caught) == ("InvalidArgument", 400)


def test_a_key_cannot_be_another_keys_folder(s3_server: RunningServer) -> None:
    with s3_client(s3_server) as s3:
        name = _bucket(s3)
        s3.put_object(Bucket=name, Key="a", Body=b"file")
        with pytest.raises(ClientError) as caught:
            s3.put_object(Bucket=name, Key="a/b", Body=b"x")
        assert error(caught) == ("InvalidArgument", 400)
        assert s3.get_object(Bucket=name, Key="a")["Body"].read() == b"file"


def test_presigned_put_with_urllib(s3_server: RunningServer) -> None:
    with s3_client(s3_server, signature_version="s3v4") as s3:
        name = _bucket(s3)
        url = s3.generate_presigned_url("put_object", Params={"Bucket": name, "Key": "up/load.csv"}, ExpiresIn=60)
        request = urllib.request.Request(url, data=b"a,b\n1,2\n", method="PUT", headers={"Content-Type": "text/csv"})
        with urllib.request.urlopen(request, timeout=10) as reply:
            assert reply.status == 200
            assert reply.headers["ETag"] == '"' + hashlib.md5(b"a,b\n1,2\n").hexdigest() + '"'
        got = s3.get_object(Bucket=name, Key="up/load.csv")
        assert (got["Body"].read(), got["ContentType"]) == (b"a,b\n1,2\n", "text/csv")
        url = s3.generate_presigned_url("get_object", Params={"Bucket": name, "Key": "up/load.csv"}, ExpiresIn=60)
        with urllib.request.urlopen(url, timeout=10) as reply:
            assert reply.read() == b"a,b\n1,2\n"
    with s3_client(s3_server) as s3_v2:  # boto3's default for us-east-1: a SigV2 presigned URL
        url = s3_v2.generate_presigned_url("put_object", Params={"Bucket": name, "Key": "v2.txt"}, ExpiresIn=60)
        assert "AWSAccessKeyId=" in url
        status, _ = raw_request(s3_server, "PUT", url.removeprefix(s3_server.endpoint_url), b"v2 body")
        assert status == 200
        assert s3_v2.get_object(Bucket=name, Key="v2.txt")["Body"].read() == b"v2 body"
        tampered = url.replace("v2.txt", "other.txt")
        status, body = raw_request(s3_server, "PUT", tampered.removeprefix(s3_server.endpoint_url), b"evil")
        assert status == 403 and b"<Code>SignatureDoesNotMatch</Code>" in body
        assert not (output(s3_server) / name / "other.txt").exists()


def test_unsigned_put_is_refused_and_writes_nothing(s3_server: RunningServer) -> None:
    with s3_client(s3_server) as s3:
        name = _bucket(s3)
    status, body = raw_request(s3_server, "PUT", f"/{name}/anonymous.txt", b"hello", {"Content-Length": "5"})
    assert status == 403 and b"<Code>AccessDenied</Code>" in body
    with closing(
        boto3.client(
            "s3",
            endpoint_url=s3_server.endpoint_url,
            region_name="us-east-1",
            aws_access_key_id="AKIAUNKNOWNKEY000000",
            aws_secret_access_key="x",
            config=Config(retries={"max_attempts": 1}),
        )
    ) as stranger:
        with pytest.raises(ClientError) as caught:
            stranger.put_object(Bucket=name, Key="stranger.txt", Body=b"x")
        assert error(caught) == ("InvalidAccessKeyId", 403)
    assert sorted(p.name for p in (output(s3_server) / name).iterdir()) == []


def test_tampered_body_after_signing_is_refused(s3_server: RunningServer) -> None:
    with s3_client(s3_server) as s3:
        name = _bucket(s3)
    status, body = signed_request(s3_server, "PUT", f"/{name}/signed.txt", b"good body", send=b"evil body")
    assert status == 400 and b"<Code>XAmzContentSHA256Mismatch</Code>" in body
    status, body = signed_request(s3_server, "PUT", f"/{name}/signed.txt", b"good body")
    assert status == 200, body
    with s3_client(s3_server) as s3:
        assert s3.get_object(Bucket=name, Key="signed.txt")["Body"].read() == b"good body"


def test_body_over_the_limit_is_entity_too_large(s3_server: RunningServer) -> None:
    with s3_client(s3_server) as s3:
        name = _bucket(s3)
        with pytest.raises(ClientError) as caught:
            s3.put_object(Bucket=name, Key="big.bin", Body=b"\0" * (MAX_OBJECT_BYTES + 1))
        assert error(caught) == ("EntityTooLarge", 400)
        assert caught.value.response["Error"]["MaxSizeAllowed"] == str(MAX_OBJECT_BYTES)
        assert not (output(s3_server) / name / "big.bin").exists()
        s3.put_object(Bucket=name, Key="fits.bin", Body=b"\0" * MAX_OBJECT_BYTES)
        assert s3.head_object(Bucket=name, Key="fits.bin")["ContentLength"] == MAX_OBJECT_BYTES


def test_files_being_written_are_never_listed(s3_server: RunningServer) -> None:
    with s3_client(s3_server) as s3:
        name = _bucket(s3)
        s3.put_object(Bucket=name, Key="kept.txt", Body=b"x")
        crashed = output(s3_server) / ".incoming" / "12345-dead-7.part"
        crashed.write_bytes(b"left by a crash")
        try:
            (output(s3_server) / name / ".tmp-123.part").write_bytes(b"left by an older crowdloop")
            assert [o["Key"] for o in s3.list_objects_v2(Bucket=name)["Contents"]] == ["kept.txt"]
            assert [o["Key"] for o in s3.list_objects(Bucket=name)["Contents"]] == ["kept.txt"]
            assert not [b for b in s3.list_buckets()["Buckets"] if b["Name"].startswith(".")]
            with pytest.raises(ClientError) as caught:
                s3.get_object(Bucket=".incoming", Key="12345-dead-7.part")
            assert error(caught) == ("NoSuchBucket", 404)
        finally:
            crashed.unlink()


def test_a_flow_definitions_output_bucket_exists(s3_server: RunningServer) -> None:
    bucket = f"fresh-{uuid.uuid4().hex[:10]}"
    with closing(s3_server.client("sagemaker")) as sm, s3_client(s3_server) as s3:
        with pytest.raises(ClientError) as caught:
            s3.head_bucket(Bucket=bucket)
        assert error(caught) == ("404", 404)
        sm.create_flow_definition(
            FlowDefinitionName=f"fd-{uuid.uuid4().hex[:10]}",
            RoleArn=ROLE,
            HumanLoopConfig=human_loop_config(sm),
            OutputConfig={"S3OutputPath": f"s3://{bucket}/a2i/"},
        )
        assert s3.head_bucket(Bucket=bucket)["ResponseMetadata"]["HTTPStatusCode"] == 200
        with pytest.raises(ClientError) as caught:
            s3.get_object(Bucket=bucket, Key="a2i/not-yet/output.json")
        assert error(caught) == ("NoSuchKey", 404)


def test_folder_links_out_of_the_bucket_are_never_followed_by_writes(s3_server: RunningServer, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_bytes(b"keep me")
    with s3_client(s3_server) as s3:
        name = _bucket(s3)
        (output(s3_server) / name / "link").symlink_to(outside, target_is_directory=True)
        assert s3.delete_object(Bucket=name, Key="link/secret.txt")["ResponseMetadata"]["HTTPStatusCode"] == 204
        s3.delete_objects(Bucket=name, Delete={"Objects": [{"Key": "link/secret.txt"}]})
        with pytest.raises(ClientError) as caught:
            s3.put_object(Bucket=name, Key="link/new.txt", Body=b"x")
        assert error(caught) == ("InvalidArgument", 400)
        with pytest.raises(ClientError) as caught:
            s3.copy_object(Bucket=name, Key="copied.txt", CopySource={"Bucket": name, "Key": "link/secret.txt"})
        assert error(caught) == ("NoSuchKey", 404)
    assert sorted(p.name for p in outside.iterdir()) == ["secret.txt"]
    assert (outside / "secret.txt").read_bytes() == b"keep me"


def test_a_refused_file_upload_is_answered_before_its_body_is_sent(s3_server: RunningServer, tmp_path: Path) -> None:
    source = tmp_path / "photo.jpg"
    source.write_bytes(b"\xff\xd8" * 1000)
    missing = f"missing-{uuid.uuid4().hex[:8]}"
    with s3_client(s3_server) as s3:  # boto3 sends files with Expect: 100-continue
        with pytest.raises(S3UploadFailedError, match="NoSuchBucket"):
            s3.upload_file(str(source), missing, "photo.jpg")
        name = _bucket(s3)
        s3.upload_file(str(source), name, "photo.jpg")  # the client's next request works
        assert s3.get_object(Bucket=name, Key="photo.jpg")["Body"].read() == source.read_bytes()
