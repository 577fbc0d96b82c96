"""The read-only S3 API over the output folder, driven by boto3's s3 client (raw requests for the edges)."""

from __future__ import annotations

import hashlib
import shutil
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from xml.etree import ElementTree

import botocore.session
import pytest
from awskit import AwsServer, error_of
from botocore import UNSIGNED
from botocore.exceptions import ClientError
from botocore.parsers import create_parser

from crowdloop.aws.s3 import XMLNS

BUCKET = "results"
LOOP_KEY = "a2i/fd/2023/11/14/22/13/20/loop-1/output.json"
OUTPUT = b'{"humanAnswers": [{"answerContent": {"ok": true}}], "humanLoopName": "loop-1"}'
BIG = bytes(range(256)) * 10_000  # 2.56 MB: streamed in chunks
_S3 = botocore.session.get_session().get_service_model("s3")


@pytest.fixture(scope="module")
def objects(aws: AwsServer) -> Iterator[Path]:
    root = aws.output / BUCKET
    files = {
        LOOP_KEY: OUTPUT,
        "a2i/fd/2023/11/14/22/13/21/loop-2/output.json": b"{}",
        "a2i/other/x.json": b"[]",
        "top.txt": b"top",
        "space key é+.txt": b"unicode",
        "big.bin": BIG,
        "a2i/fd/.tmp-abc.part": b"half-written",
    }
    for key, data in files.items():
        (root / key).parent.mkdir(parents=True, exist_ok=True)
        (root / key).write_bytes(data)
    (aws.output / "empty-bucket").mkdir(exist_ok=True)
    (aws.output / "secret.txt").write_bytes(b"outside every bucket")
    yield root
    shutil.rmtree(root)


def test_get_object(aws: AwsServer, objects: Path) -> None:
    reply = aws.client("s3").get_object(Bucket=BUCKET, Key=LOOP_KEY)
    assert reply["Body"].read() == OUTPUT
    assert reply["ContentType"] == "application/json"
    assert reply["ContentLength"] == len(OUTPUT)
    assert reply["ETag"] == f'"{hashlib.md5(OUTPUT).hexdigest()}"'
    assert reply["LastModified"].tzinfo is not None


def test_get_large_object_and_key_with_special_characters(aws: AwsServer, objects: Path) -> None:
    s3 = aws.client("s3")
    assert s3.get_object(Bucket=BUCKET, Key="big.bin")["Body"].read() == BIG
    assert s3.get_object(Bucket=BUCKET, Key="space key é+.txt")["Body"].read() == b"unicode"


@pytest.mark.parametrize(
    ("header", "expected", "content_range"),
    [
        ("bytes=0-9", BIG[:10], "bytes 0-9/2560000"),
        ("bytes=2559990-", BIG[-10:], "bytes 2559990-2559999/2560000"),
        ("bytes=-5", BIG[-5:], "bytes 2559995-2559999/2560000"),
        ("bytes=100-99999999", BIG[100:], "bytes 100-2559999/2560000"),
    ],
)
def test_get_object_range(aws: AwsServer, objects: Path, header: str, expected: bytes, content_range: str) -> None:
    reply = aws.client("s3").get_object(Bucket=BUCKET, Key="big.bin", Range=header)
    assert reply["ResponseMetadata"]["HTTPStatusCode"] == 206
    assert reply["ContentRange"] == content_range
    assert reply["Body"].read() == expected


def test_unsatisfiable_range(aws: AwsServer, objects: Path) -> None:
    with pytest.raises(ClientError) as exc:
        aws.client("s3").get_object(Bucket=BUCKET, Key="top.txt", Range="bytes=10-20")
    assert error_of(exc)[:2] == ("InvalidRange", 416)


def test_head_object(aws: AwsServer, objects: Path) -> None:
    s3 = aws.client("s3")
    reply = s3.head_object(Bucket=BUCKET, Key="big.bin")
    assert reply["ContentLength"] == len(BIG)
    assert reply["ETag"] == f'"{hashlib.md5(BIG).hexdigest()}"'
    with pytest.raises(ClientError) as exc:
        s3.head_object(Bucket=BUCKET, Key="nope")
    assert error_of(exc)[:2] == ("404", 404)


def test_missing_key_and_bucket(aws: AwsServer, objects: Path) -> None:
    s3 = aws.client("s3")
    with pytest.raises(s3.exceptions.NoSuchKey):
        s3.get_object(Bucket=BUCKET, Key="a2i/nope.json")
    with pytest.raises(s3.exceptions.NoSuchKey):
        s3.get_object(Bucket=BUCKET, Key="a2i/fd")  # a folder is not an object
    with pytest.raises(s3.exceptions.NoSuchKey):
        s3.get_object(Bucket=BUCKET, Key="a2i/fd/.tmp-abc.part")
    with pytest.raises(s3.exceptions.NoSuchBucket):
        s3.get_object(Bucket="no-such-bucket", Key=LOOP_KEY)
    with pytest.raises(s3.exceptions.NoSuchBucket):
        s3.list_objects_v2(Bucket="no-such-bucket")


def test_keys_cannot_escape_the_bucket(aws: AwsServer, objects: Path) -> None:
    for path in (f"/{BUCKET}/..%2Fsecret.txt", f"/{BUCKET}/%2E%2E/secret.txt", f"/{BUCKET}/a2i/../../secret.txt"):
        status, _, body = aws.request("GET", path, service="s3")
        assert status == 404, path
        assert b"<Code>NoSuchKey</Code>" in body
    (objects / "link.txt").symlink_to(aws.output / "secret.txt")
    try:
        with pytest.raises(aws.client("s3").exceptions.NoSuchKey):
            aws.client("s3").get_object(Bucket=BUCKET, Key="link.txt")
    finally:
        (objects / "link.txt").unlink()


def test_list_objects_v2_with_delimiter(aws: AwsServer, objects: Path) -> None:
    reply = aws.client("s3").list_objects_v2(Bucket=BUCKET, Delimiter="/")
    assert [c["Key"] for c in reply["Contents"]] == ["big.bin", "space key é+.txt", "top.txt"]
    assert reply["CommonPrefixes"] == [{"Prefix": "a2i/"}]
    assert reply["KeyCount"] == 4 and reply["IsTruncated"] is False
    reply = aws.client("s3").list_objects_v2(Bucket=BUCKET, Prefix="a2i/fd/2023/11/14/22/13/", Delimiter="/")
    assert reply["CommonPrefixes"] == [
        {"Prefix": "a2i/fd/2023/11/14/22/13/20/"},
        {"Prefix": "a2i/fd/2023/11/14/22/13/21/"},
    ]
    assert "Contents" not in reply
    reply = aws.client("s3").list_objects_v2(Bucket=BUCKET, Prefix="a2i/fd/", Delimiter="/")
    assert "Contents" not in reply  # the half-written .tmp-*.part file is invisible
    assert reply["CommonPrefixes"] == [{"Prefix": "a2i/fd/2023/"}]


def test_list_objects_v2_prefix_and_sizes(aws: AwsServer, objects: Path) -> None:
    reply = aws.client("s3").list_objects_v2(Bucket=BUCKET, Prefix="a2i/fd/")
    assert [(c["Key"], c["Size"]) for c in reply["Contents"]] == [
        (LOOP_KEY, len(OUTPUT)),
        ("a2i/fd/2023/11/14/22/13/21/loop-2/output.json", 2),
    ]
    assert reply["Contents"][0]["ETag"] == f'"{hashlib.md5(OUTPUT).hexdigest()}"'
    partial = aws.client("s3").list_objects_v2(Bucket=BUCKET, Prefix="a2i/o")
    assert [c["Key"] for c in partial["Contents"]] == ["a2i/other/x.json"]


def test_list_objects_v2_pages_and_start_after(aws: AwsServer, objects: Path) -> None:
    s3 = aws.client("s3")
    paginator = s3.get_paginator("list_objects_v2")
    pages = list(paginator.paginate(Bucket=BUCKET, PaginationConfig={"PageSize": 2}))
    assert len(pages) == 3
    assert [c["Key"] for page in pages for c in page["Contents"]] == [
        LOOP_KEY,
        "a2i/fd/2023/11/14/22/13/21/loop-2/output.json",
        "a2i/other/x.json",
        "big.bin",
        "space key é+.txt",
        "top.txt",
    ]
    first = s3.list_objects_v2(Bucket=BUCKET, MaxKeys=2)
    assert first["IsTruncated"] is True and first["KeyCount"] == 2
    after = s3.list_objects_v2(Bucket=BUCKET, StartAfter="big.bin")
    assert [c["Key"] for c in after["Contents"]] == ["space key é+.txt", "top.txt"]
    assert after["StartAfter"] == "big.bin"


def test_list_objects_v2_with_another_delimiter(aws: AwsServer, objects: Path) -> None:
    reply = aws.client("s3").list_objects_v2(Bucket=BUCKET, Delimiter=".")
    assert [c["Prefix"] for c in reply["CommonPrefixes"]] == [
        "a2i/fd/2023/11/14/22/13/20/loop-1/output.",
        "a2i/fd/2023/11/14/22/13/21/loop-2/output.",
        "a2i/other/x.",
        "big.",
        "space key é+.",
        "top.",
    ]


def test_list_objects_v1_and_empty_bucket(aws: AwsServer, objects: Path) -> None:
    s3 = aws.client("s3")
    reply = s3.list_objects(Bucket=BUCKET, Prefix="a2i/", Delimiter="/")
    assert reply["CommonPrefixes"] == [{"Prefix": "a2i/fd/"}, {"Prefix": "a2i/other/"}]
    assert "Contents" not in s3.list_objects_v2(Bucket="empty-bucket")


def test_list_buckets_location_and_head_bucket(aws: AwsServer, objects: Path) -> None:
    s3 = aws.client("s3")
    names = [b["Name"] for b in s3.list_buckets()["Buckets"]]
    assert BUCKET in names and "empty-bucket" in names and "secret.txt" not in names
    assert s3.get_bucket_location(Bucket=BUCKET)["LocationConstraint"] == "eu-central-1"
    assert s3.head_bucket(Bucket=BUCKET)["ResponseMetadata"]["HTTPStatusCode"] == 200


# boto3's default for us-east-1 is a legacy SigV2 URL; signature_version="s3v4" gives a SigV4 one.
SIGNATURES = pytest.mark.parametrize(
    ("config", "marker"),
    [({}, "Signature="), ({"signature_version": "s3v4"}, "X-Amz-Signature=")],
    ids=["sigv2", "sigv4"],
)


@SIGNATURES
def test_presigned_get_url(aws: AwsServer, objects: Path, config: dict[str, str], marker: str) -> None:
    url = aws.client("s3", **config).generate_presigned_url(
        "get_object", Params={"Bucket": BUCKET, "Key": "space key é+.txt"}, ExpiresIn=300
    )
    assert marker in url
    with urllib.request.urlopen(url) as reply:
        assert reply.read() == b"unicode"
    tampered = url.replace("X-Amz-Expires=300", "X-Amz-Expires=900").replace("Expires=1", "Expires=2")
    assert tampered != url
    with pytest.raises(urllib.error.HTTPError) as exc:
        urllib.request.urlopen(tampered)
    assert exc.value.code == 403 and b"SignatureDoesNotMatch" in exc.value.read()


@SIGNATURES
def test_presigned_url_expires(aws: AwsServer, objects: Path, config: dict[str, str], marker: str) -> None:
    url = aws.client("s3", **config).generate_presigned_url(
        "get_object", Params={"Bucket": BUCKET, "Key": "top.txt"}, ExpiresIn=60
    )
    with urllib.request.urlopen(url) as reply:
        assert reply.read() == b"top"
    aws.clock.offset = 61
    with pytest.raises(urllib.error.HTTPError) as exc:
        urllib.request.urlopen(url)
    assert exc.value.code == 403
    body = exc.value.read()
    assert b"<Code>AccessDenied</Code>" in body and b"Request has expired" in body


@SIGNATURES
def test_presigned_url_with_response_overrides(
    aws: AwsServer, objects: Path, config: dict[str, str], marker: str
) -> None:
    url = aws.client("s3", **config).generate_presigned_url(
        "get_object",
        Params={"Bucket": BUCKET, "Key": LOOP_KEY, "ResponseContentDisposition": 'attachment; filename="o.json"'},
    )
    with urllib.request.urlopen(url) as reply:
        assert reply.headers["Content-Disposition"] == 'attachment; filename="o.json"'


def test_virtual_host_addressing(aws: AwsServer, objects: Path) -> None:
    status, _, body = aws.request("GET", "/top.txt", service="s3", host=f"{BUCKET}.localhost:{aws.port}")
    assert (status, body) == (200, b"top")


@SIGNATURES
def test_presigned_virtual_host_url(aws: AwsServer, objects: Path, config: dict[str, str], marker: str) -> None:
    s3 = aws.client("s3", endpoint_url=f"http://localhost:{aws.port}", s3={"addressing_style": "virtual"}, **config)
    url = urllib.parse.urlsplit(s3.generate_presigned_url("get_object", Params={"Bucket": BUCKET, "Key": "top.txt"}))
    assert url.netloc == f"{BUCKET}.localhost:{aws.port}" and marker in url.query
    status, _, body = aws.request("GET", f"{url.path}?{url.query}", service=None, host=url.netloc)
    assert (status, body) == (200, b"top")


def test_writes_land_in_the_output_folder(aws: AwsServer, objects: Path) -> None:
    s3 = aws.client("s3")  # the S3 API's writes: tests/api/test_s3_write.py and its neighbours
    s3.put_object(Bucket=BUCKET, Key="new/written.txt", Body=b"x")
    assert (objects / "new" / "written.txt").read_bytes() == b"x"
    s3.delete_object(Bucket=BUCKET, Key="new/written.txt")
    assert not (objects / "new").exists()
    assert (objects / "top.txt").exists()


def test_unsupported_subresource(aws: AwsServer, objects: Path) -> None:
    with pytest.raises(ClientError) as exc:
        aws.client("s3").get_object_tagging(Bucket=BUCKET, Key="top.txt")
    assert error_of(exc)[:2] == ("NotImplemented", 501)


def test_s3_auth_failures(aws: AwsServer, objects: Path) -> None:
    with pytest.raises(ClientError) as exc:
        aws.client("s3", secret="wrong").get_object(Bucket=BUCKET, Key="top.txt")
    assert error_of(exc)[:2] == ("SignatureDoesNotMatch", 403)
    with pytest.raises(ClientError) as exc:
        aws.client("s3", key="AKIAUNKNOWN000000000").list_buckets()
    assert error_of(exc)[:2] == ("InvalidAccessKeyId", 403)
    aws.clock.offset = 3600
    with pytest.raises(ClientError) as exc:
        aws.client("s3").list_objects_v2(Bucket=BUCKET)
    assert error_of(exc)[:2] == ("RequestTimeTooSkewed", 403)


def test_auth_off_serves_any_signed_s3_request(aws_off: AwsServer) -> None:
    (aws_off.output / "b").mkdir(exist_ok=True)
    (aws_off.output / "b" / "k.txt").write_bytes(b"open")
    s3 = aws_off.client("s3", key="AKIAANY", secret="any")
    assert s3.get_object(Bucket="b", Key="k.txt")["Body"].read() == b"open"
    anonymous = aws_off.client("s3", signature_version=UNSIGNED)
    with pytest.raises(ClientError) as exc:
        anonymous.get_object(Bucket="b", Key="k.txt")
    assert error_of(exc)[1] == 404  # no credential scope: not recognisable as S3 (the portal's URL space)


@pytest.mark.parametrize(
    ("key", "overrides", "content_type", "disposition"),
    [
        (LOOP_KEY, {}, "application/json", None),
        ("top.txt", {}, "text/plain", None),
        (LOOP_KEY, {"ResponseContentType": "text/html"}, "text/html", "attachment"),
        (
            LOOP_KEY,
            {"ResponseContentType": "text/html", "ResponseContentDisposition": "inline"},
            "text/html",
            "attachment",
        ),
        (LOOP_KEY, {"ResponseContentType": "TEXT/HTML; charset=utf-8"}, "TEXT/HTML; charset=utf-8", "attachment"),
        (LOOP_KEY, {"ResponseContentType": "image/svg+xml"}, "image/svg+xml", "attachment"),
        (LOOP_KEY, {"ResponseContentType": "application/xhtml+xml"}, "application/xhtml+xml", "attachment"),
        (LOOP_KEY, {"ResponseContentType": "text/javascript"}, "text/javascript", "attachment"),
        (LOOP_KEY, {"ResponseContentType": "application/x-unknown"}, "application/x-unknown", "attachment"),
        (LOOP_KEY, {"ResponseContentType": "image/png"}, "image/png", None),
        (
            LOOP_KEY,
            {"ResponseContentType": "text/xml", "ResponseContentDisposition": 'attachment; filename="o.xml"'},
            "text/xml",
            'attachment; filename="o.xml"',
        ),
        ("big.bin", {}, "application/octet-stream", "attachment"),
    ],
)
def test_objects_are_served_inert(
    aws: AwsServer, objects: Path, key: str, overrides: dict[str, str], content_type: str, disposition: str | None
) -> None:
    for operation, method in (("get_object", "GET"), ("head_object", "HEAD")):
        url = aws.client("s3").generate_presigned_url(operation, Params={"Bucket": BUCKET, "Key": key, **overrides})
        with urllib.request.urlopen(urllib.request.Request(url, method=method)) as reply:
            assert reply.headers["Content-Type"] == content_type
            assert reply.headers["Content-Disposition"] == disposition
            assert reply.headers["X-Content-Type-Options"] == "nosniff"
            assert reply.headers["Content-Security-Policy"].startswith("sandbox; default-src 'none';")


@pytest.mark.parametrize("key", ["ctl\x01\x1f.json", "nul\x00.json", "bad\ufffe.json"])
def test_error_documents_are_valid_xml_whatever_the_key(aws: AwsServer, objects: Path, key: str) -> None:
    status, headers, body = aws.request("GET", f"/{BUCKET}/{urllib.parse.quote(key)}", service="s3")
    assert status == 404
    parsed = create_parser("rest-xml").parse(
        {"status_code": status, "headers": headers, "body": body}, _S3.operation_model("GetObject").output_shape
    )
    assert parsed["Error"]["Code"] == "NoSuchKey"
    assert ElementTree.fromstring(body).findtext("Key") == key.replace("\x00", "\ufffd").replace(
        "\x01", "\ufffd"
    ).replace("\x1f", "\ufffd").replace("\ufffe", "\ufffd")


def test_listing_keys_with_control_characters_is_valid_xml(aws: AwsServer, objects: Path) -> None:
    (objects / "ctl").mkdir(exist_ok=True)
    (objects / "ctl" / "a\x01b.json").write_bytes(b"{}")
    try:
        status, _, body = aws.request("GET", f"/{BUCKET}?list-type=2&prefix=ctl%2F", service="s3")
        assert status == 200
        keys = [key.text for key in ElementTree.fromstring(body).iter(f"{{{XMLNS}}}Key")]
        assert keys == ["ctl/a\ufffdb.json"]
        listed = aws.client("s3").list_objects_v2(Bucket=BUCKET, Prefix="ctl/")  # boto3 asks for encoding-type=url
        assert [item["Key"] for item in listed["Contents"]] == ["ctl/a\x01b.json"]
    finally:
        shutil.rmtree(objects / "ctl")


@pytest.mark.parametrize("name", ["b" * 300, "x" * 5000])
def test_names_the_file_system_refuses_are_missing(aws: AwsServer, objects: Path, name: str) -> None:
    for path, code in [
        (f"/{name}?list-type=2", "NoSuchBucket"),
        (f"/{BUCKET}/a2i/{name}/x.json", "NoSuchKey"),
        (f"/{name}/x.json", "NoSuchBucket"),
    ]:
        status, _, body = aws.request("GET", path, service="s3")
        assert (status, ElementTree.fromstring(body).findtext("Code")) == (404, code), body[:300]
    status, _, body = aws.request("GET", f"/{BUCKET}?list-type=2&prefix={name}%2F", service="s3")
    assert status == 200 and ElementTree.fromstring(body).findtext(f"{{{XMLNS}}}KeyCount") == "0"
