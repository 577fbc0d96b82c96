"""S3 writes of buckets and whole objects: CreateBucket, DeleteBucket, PutObject, CopyObject, DeleteObject,
DeleteObjects (multipart uploads: crowdloop.aws.s3multipart). Blocking: run in a worker thread.

Every authenticated key of the account may write every bucket, as an administrator's keys would on AWS.
Headers asking for what the store does not do (encryption, tagging, object lock, conditional writes...)
answer NotImplemented rather than being ignored; ACL headers are ignored (objects are private to the
account's keys, whatever they ask).
"""

from __future__ import annotations

import mimetypes
from email.utils import formatdate
from urllib.parse import unquote

from crowdloop.aws import s3xml, wire
from crowdloop.aws.s3body import Received
from crowdloop.aws.s3errors import S3Error, invalid_argument, invalid_request, malformed_xml, not_implemented
from crowdloop.aws.s3names import check_bucket_name, key_segments
from crowdloop.aws.s3store import ObjectMeta, ObjectStore
from crowdloop.runtime import Caller

Headers = list[tuple[bytes, bytes]]

STORED_HEADERS = ("cache-control", "content-disposition", "content-encoding", "content-language", "expires")
MAX_METADATA_BYTES = 2048
MAX_DELETE_KEYS = 1000
UNSUPPORTED_HEADERS = (
    "x-amz-server-side-encryption",
    "x-amz-server-side-encryption-customer-algorithm",
    "x-amz-server-side-encryption-aws-kms-key-id",
    "x-amz-tagging",
    "x-amz-object-lock-mode",
    "x-amz-object-lock-retain-until-date",
    "x-amz-object-lock-legal-hold",
    "x-amz-website-redirect-location",
    "x-amz-copy-source-if-match",
    "x-amz-copy-source-if-none-match",
    "x-amz-copy-source-if-modified-since",
    "x-amz-copy-source-if-unmodified-since",
    "x-amz-copy-source-server-side-encryption-customer-algorithm",
    "if-match",
    "if-none-match",
    "x-amz-write-offset-bytes",
)


def refuse_unsupported(request: wire.Request) -> None:
    """NotImplemented for a write asking for something the store would silently not do."""
    for name in UNSUPPORTED_HEADERS:
        if name in request.headers:
            raise not_implemented(f"the {name} header")
    storage_class = request.header("x-amz-storage-class")
    if storage_class and storage_class != "STANDARD":
        raise not_implemented(f"storage class {storage_class} (only STANDARD)")


# --- buckets -------------------------------------------------------------------------------------------


def create_bucket(
    store: ObjectStore, request: wire.Request, caller: Caller, bucket: str, headers: Headers
) -> wire.Response:
    check_bucket_name(bucket)
    if request.body.strip():
        s3xml.parse(request.body, "CreateBucketConfiguration")
    if not store.create_bucket(bucket) and caller.region != "us-east-1":
        # us-east-1 answers 200 to its owner's repeated CreateBucket; every other region this error
        raise S3Error(
            "BucketAlreadyOwnedByYou",
            409,
            "Your previous request to create the named bucket succeeded and you already own it.",
            BucketName=bucket,
        )
    return wire.Response(200, [*headers, (b"location", b"/" + bucket.encode())])


def delete_bucket(store: ObjectStore, bucket: str, headers: Headers) -> wire.Response:
    store.delete_bucket(bucket)
    return wire.Response(204, headers)


# --- objects -------------------------------------------------------------------------------------------


def meta_from_request(request: wire.Request, etag: str, received: Received | None = None) -> ObjectMeta:
    """An object's metadata from the headers of its PutObject / CreateMultipartUpload / CopyObject."""
    stored = {}
    for name in STORED_HEADERS:
        value = request.header(name)
        if name == "content-encoding":
            value = ",".join(v.strip() for v in value.split(",") if v.strip() and v.strip() != "aws-chunked")
        if value:
            stored[name] = value
    metadata = {name[11:]: value for name, value in request.headers.items() if name.startswith("x-amz-meta-")}
    size = sum(len(name) + len(value) for name, value in metadata.items())
    if size > MAX_METADATA_BYTES:
        raise S3Error(
            "MetadataTooLarge",
            400,
            "Your metadata headers exceed the maximum allowed metadata size",
            Size=str(size),
            MaxSizeAllowed=str(MAX_METADATA_BYTES),
        )
    meta = ObjectMeta(etag, request.header("content-type") or "binary/octet-stream", stored, metadata)
    if received is not None and received.checksum:
        meta.checksum_algorithm, meta.checksum, meta.checksum_type = (
            received.checksum_algorithm,
            received.checksum,
            "FULL_OBJECT",
        )
    return meta


def checksum_headers(meta: ObjectMeta) -> Headers:
    if not meta.checksum:
        return []
    return [
        (f"x-amz-checksum-{meta.checksum_algorithm.lower()}".encode(), meta.checksum.encode()),
        (b"x-amz-checksum-type", meta.checksum_type.encode()),
    ]


def put_object(
    store: ObjectStore, request: wire.Request, bucket: str, key: str, received: Received, headers: Headers
) -> wire.Response:
    meta = meta_from_request(request, received.md5, received)
    store.put(bucket, key, key_segments(key), received.path, meta)
    return wire.Response(200, [*headers, (b"etag", f'"{meta.etag}"'.encode()), *checksum_headers(meta)])


def copy_object(store: ObjectStore, request: wire.Request, bucket: str, key: str, headers: Headers) -> wire.Response:
    segments = key_segments(key)
    source = request.header("x-amz-copy-source")
    path_part, _, query = source.partition("?")
    if query:
        raise not_implemented("copying a version of an object (versioning is not supported)")
    source_bucket, _, source_key = unquote(path_part).lstrip("/").partition("/")
    if not source_bucket or not source_key:
        raise invalid_argument(
            "x-amz-copy-source", source, "Copy Source must mention the source bucket and key: sourcebucket/sourcekey"
        )
    directive = request.header("x-amz-metadata-directive") or "COPY"
    if directive not in ("COPY", "REPLACE"):
        raise invalid_argument("x-amz-metadata-directive", directive, "Unknown metadata directive.")
    if (source_bucket, source_key) == (bucket, key) and directive == "COPY":
        raise invalid_request(
            "This copy request is illegal because it is trying to copy an object to itself without changing the "
            "object's metadata, storage class, website redirect location or encryption attributes."
        )
    store.bucket_dir(bucket)
    source_path, source_segments = store.find(source_bucket, source_key)
    source_meta = store.read_meta(source_bucket, source_segments, source_path.stat())
    tmp, md5 = store.copy_to_temp(source_path)
    try:
        if directive == "REPLACE":
            meta = meta_from_request(request, md5)
        elif source_meta is not None:
            meta = source_meta
            meta.etag = md5
            if meta.checksum_type != "FULL_OBJECT":
                meta.checksum_algorithm = meta.checksum = meta.checksum_type = ""
        else:
            meta = ObjectMeta(md5, mimetypes.guess_type(source_key)[0] or "binary/octet-stream")
        stat = store.put(bucket, key, segments, tmp, meta)
    finally:
        tmp.unlink(missing_ok=True)
    result = (
        f'<CopyObjectResult xmlns="{s3xml.XMLNS}"><LastModified>{s3xml.iso(stat.st_mtime)}</LastModified>'
        f"<ETag>&quot;{meta.etag}&quot;</ETag></CopyObjectResult>"
    )
    return s3xml.response(200, [*headers, (b"last-modified", formatdate(stat.st_mtime, usegmt=True).encode())], result)


def delete_object(store: ObjectStore, bucket: str, key: str, headers: Headers) -> wire.Response:
    _delete(store, bucket, key)
    return wire.Response(204, headers)


def _delete(store: ObjectStore, bucket: str, key: str) -> None:
    store.bucket_dir(bucket)
    try:
        segments = key_segments(key)
    except S3Error:
        return  # a key that cannot be stored is not there: S3 answers success for a missing key
    store.delete(bucket, segments)


def delete_objects(store: ObjectStore, request: wire.Request, bucket: str, headers: Headers) -> wire.Response:
    if "content-md5" not in request.headers and not any(n.startswith("x-amz-checksum-") for n in request.headers):
        raise invalid_request("Missing required header for this request: Content-MD5")
    document = s3xml.parse(request.body, "Delete")
    quiet = (s3xml.child_text(document, "Quiet") or "").strip().lower() == "true"
    objects = document.findall("Object")
    if not objects or len(objects) > MAX_DELETE_KEYS:
        raise malformed_xml()
    store.bucket_dir(bucket)
    parts = [f'<DeleteResult xmlns="{s3xml.XMLNS}">']
    for item in objects:
        key = s3xml.child_text(item, "Key")
        if key is None:
            raise malformed_xml()
        if s3xml.child_text(item, "VersionId") is not None:
            parts.append(
                f"<Error><Key>{s3xml.text(key)}</Key><Code>NotImplemented</Code>"
                "<Message>Versioning is not supported.</Message></Error>"
            )
            continue
        _delete(store, bucket, key)
        if not quiet:
            parts.append(f"<Deleted><Key>{s3xml.text(key)}</Key></Deleted>")
    parts.append("</DeleteResult>")
    return s3xml.response(200, headers, "".join(parts))
