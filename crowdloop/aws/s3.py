"""The S3 API of the built-in object store: `s3://bucket/key` is `<output_path>/<bucket>/<key>`.

Here: the routing of every request, ListBuckets, HeadBucket, GetBucketLocation, the error documents.
ListObjectsV2 / ListObjects: crowdloop.aws.s3list; GetObject / HeadObject (with Range and response-*
overrides): crowdloop.aws.s3read. Writes: crowdloop.aws.s3write (CreateBucket, DeleteBucket,
PutObject, CopyObject, DeleteObject, DeleteObjects) and crowdloop.aws.s3multipart (multipart uploads);
the on-disk layout: crowdloop.aws.s3store; upload bodies: crowdloop.aws.s3body. Addressing: path style
(`/bucket/key`) and virtual host (`<bucket>.localhost`, `<bucket>.<host>`, `<bucket>.<public_host>`).
Auth: header SigV4 and presigned URLs (SigV4 and the legacy SigV2 form), for reads and writes. Other
sub-resources (ACLs, tagging, versioning...) answer NotImplemented.

Keys never leave the folder: `.`/`..`/empty segments and symlinks out of the folder are NoSuchKey (and
refused on writes: crowdloop.aws.s3names), and in-progress `.tmp-*.part` files are invisible. Every
authenticated caller can read and write every bucket (single-tenant folder).
"""

from __future__ import annotations

import ipaddress
import logging
import os
from typing import TYPE_CHECKING
from urllib.parse import quote, unquote

from crowdloop import errors as domain
from crowdloop.aws import s3body, s3list, s3multipart, s3write, wire
from crowdloop.aws.errors import WireError, retry_after
from crowdloop.aws.s3errors import S3Error, invalid_request, not_implemented
from crowdloop.aws.s3names import key_segments
from crowdloop.aws.s3read import ObjectReader
from crowdloop.aws.s3store import ObjectStore
from crowdloop.aws.s3xml import XMLNS, iso
from crowdloop.aws.s3xml import response as _xml
from crowdloop.aws.sigv4 import is_presigned, is_presigned_v2

if TYPE_CHECKING:
    from crowdloop.config import Settings
    from crowdloop.runtime import Caller

log = logging.getLogger("crowdloop.aws")

__all__ = ["XMLNS", "S3Api", "S3Error", "error_response", "request_limit"]

MAX_XML_BODY_BYTES = 4 * 1024 * 1024
"""Bodies S3 reads as XML (DeleteObjects of 1000 keys of 1024 bytes, CompleteMultipartUpload of 10000 parts)."""
DRAIN_BYTES = 64 * 1024 * 1024
"""How much of a refused upload's body is read (and dropped) so its client gets the error; beyond, the
connection is closed after the error (clients that send `Expect: 100-continue`, as boto3 does for files,
never send the body of a refused upload)."""

_SUBRESOURCES = frozenset(
    {
        "accelerate",
        "acl",
        "analytics",
        "attributes",
        "cors",
        "encryption",
        "intelligent-tiering",
        "inventory",
        "legal-hold",
        "lifecycle",
        "logging",
        "metrics",
        "notification",
        "object-lock",
        "ownershipControls",
        "policy",
        "policyStatus",
        "publicAccessBlock",
        "replication",
        "requestPayment",
        "restore",
        "retention",
        "select",
        "tagging",
        "torrent",
        "versioning",
        "versions",
        "website",
    }
)


def request_limit(settings: Settings) -> int:
    """The root app's body limit for S3 requests: the largest upload plus room for its aws-chunked framing."""
    return settings.s3_max_object_bytes + settings.s3_max_object_bytes // 512 + MAX_XML_BODY_BYTES


class S3Api:
    def __init__(self, settings: Settings) -> None:
        self.root = settings.output_path
        self.store = ObjectStore(self.root)
        self.max_object_bytes = settings.s3_max_object_bytes
        self.region = settings.region
        hosts = {"localhost", settings.host, settings.portal_host.rsplit(":", 1)[0]}
        self._hosts = {h.lower() for h in hosts if h and not _is_ip(h)}
        self.reader = ObjectReader(self.store)

    # --- addressing ------------------------------------------------------------------------------------

    def address(self, request: wire.Request) -> tuple[str | None, str]:
        """(bucket, key) from virtual-host or path-style addressing; key "" for bucket-level requests."""
        bucket = self._virtual_host_bucket(request)
        if bucket is not None:
            return bucket, unquote(request.raw_path[1:])
        path = request.raw_path.lstrip("/")
        if not path:
            return None, ""
        bucket, _, key = path.partition("/")
        return unquote(bucket), unquote(key)

    def _virtual_host_bucket(self, request: wire.Request) -> str | None:
        host = request.header("host").rsplit(":", 1)[0].lower()
        for base in self._hosts:
            if host.endswith("." + base):
                return host[: -len(base) - 1]
        return None

    def resource_path(self, request: wire.Request) -> str:
        """ "/bucket/key" as encoded in the request, whatever the addressing style (SigV2 signs this)."""
        bucket = self._virtual_host_bucket(request)
        return request.raw_path if bucket is None else "/" + quote(bucket, safe="") + request.raw_path

    # --- dispatch --------------------------------------------------------------------------------------

    def streams_body(self, request: wire.Request) -> bool:
        """Whether the request uploads an object or a part (its body goes to a file: crowdloop.aws.s3body)
        rather than carrying a small XML document read whole."""
        if request.method != "PUT" or "x-amz-copy-source" in request.headers:
            return False
        bucket, key = self.address(request)
        params = dict(request.query_pairs())
        return bool(bucket and key) and not _SUBRESOURCES.intersection(params)

    def check_upload(self, request: wire.Request) -> None:
        """What can be refused before an upload's body is read: the bucket, the key, the headers and, for a
        part, its number and upload (blocking: run in a worker thread)."""
        bucket, key = self.address(request)
        params = dict(request.query_pairs())
        if request.header("authorization") and not request.header("x-amz-content-sha256"):
            raise invalid_request("Missing required header for this request: x-amz-content-sha256")
        assert bucket is not None
        key_segments(key)
        self.store.bucket_dir(bucket)
        s3write.refuse_unsupported(request)
        if "uploadId" in params or "partNumber" in params:
            s3multipart.check_part(self.store, bucket, key, params)

    def handle(
        self, request: wire.Request, caller: Caller, request_id: bytes, received: s3body.Received | None = None
    ) -> wire.Response:
        """Answer one authenticated S3 request (blocking file-system work: run in a worker thread).
        `received` is the body of an upload (streams_body), already in a file."""
        bucket, key = self.address(request)
        params = dict(request.query_pairs())
        sub = _SUBRESOURCES.intersection(params)
        if sub:
            raise S3Error("NotImplemented", 501, f"The '{sorted(sub)[0]}' sub-resource is not implemented.")
        headers = [(b"x-amz-request-id", request_id)]
        if bucket is None:
            if request.method != "GET":
                raise _method_not_allowed(request, "SERVICE")
            return self._list_buckets(caller, headers)
        if request.method not in ("GET", "HEAD"):
            if received is None and request.body:
                completes = request.method == "POST" and "uploadId" in params
                s3body.check_small_body(request, checksum_headers=not completes)
            return self._write(request, caller, bucket, key, params, received, headers)
        self.store.bucket_dir(bucket)  # NoSuchBucket
        if not key:
            if "uploads" in params:
                return s3multipart.list_multipart_uploads(self.store, bucket, params, headers)
            if request.method == "HEAD":
                return wire.Response(200, [*headers, (b"x-amz-bucket-region", self.region.encode())])
            if "location" in params:
                region = "" if self.region == "us-east-1" else wire.xml_text(self.region)
                location = f'<LocationConstraint xmlns="{XMLNS}">{region}</LocationConstraint>'
                return _xml(200, headers, location)
            return s3list.list_objects(self.store, self.reader.etag, bucket, params, headers)
        if "uploadId" in params and request.method == "GET":
            return s3multipart.list_parts(self.store, bucket, key, params, headers)
        return self.reader.get_object(request, bucket, key, params, headers)

    def _write(
        self,
        request: wire.Request,
        caller: Caller,
        bucket: str,
        key: str,
        params: dict[str, str],
        received: s3body.Received | None,
        headers: list[tuple[bytes, bytes]],
    ) -> wire.Response:
        store, method = self.store, request.method
        if not key:
            if method == "PUT":
                return s3write.create_bucket(store, request, caller, bucket, headers)
            if method == "DELETE":
                return s3write.delete_bucket(store, bucket, headers)
            if method == "POST" and "delete" in params:
                return s3write.delete_objects(store, request, bucket, headers)
            raise _method_not_allowed(request, "BUCKET")
        if method == "PUT":
            if "x-amz-copy-source" in request.headers:
                if "uploadId" in params:
                    raise not_implemented("UploadPartCopy")
                s3write.refuse_unsupported(request)
                return s3write.copy_object(store, request, bucket, key, headers)
            assert received is not None  # streams_body
            if "uploadId" in params or "partNumber" in params:
                return s3multipart.upload_part(store, request, bucket, key, params, received, headers)
            return s3write.put_object(store, request, bucket, key, received, headers)
        if method == "POST" and "uploads" in params:
            return s3multipart.create_multipart_upload(store, request, bucket, key, headers)
        if method == "POST" and "uploadId" in params:
            return s3multipart.complete_multipart_upload(store, request, bucket, key, params["uploadId"], headers)
        if method == "DELETE" and "uploadId" in params:
            return s3multipart.abort_multipart_upload(store, bucket, key, params["uploadId"], headers)
        if method == "DELETE":
            return s3write.delete_object(store, bucket, key, headers)
        raise _method_not_allowed(request, "OBJECT")

    # --- buckets -------------------------------------------------------------------------------------------

    def _list_buckets(self, caller: Caller, headers: list[tuple[bytes, bytes]]) -> wire.Response:
        entries = []
        if self.root.is_dir():
            for entry in sorted(os.scandir(self.root), key=lambda e: e.name):
                if entry.is_dir(follow_symlinks=False) and not entry.name.startswith("."):
                    created = iso(entry.stat(follow_symlinks=False).st_mtime)
                    entries.append(
                        f"<Bucket><Name>{wire.xml_text(entry.name)}</Name>"
                        f"<CreationDate>{created}</CreationDate></Bucket>"
                    )
        owner = f"<Owner><ID>{wire.xml_text(caller.account)}</ID><DisplayName>crowdloop</DisplayName></Owner>"
        return _xml(
            200,
            headers,
            f'<ListAllMyBucketsResult xmlns="{XMLNS}">{owner}<Buckets>'
            + "".join(entries)
            + "</Buckets></ListAllMyBucketsResult>",
        )


# --- errors -------------------------------------------------------------------------------------------------


def error_response(exc: BaseException, request: wire.Request, request_id: bytes) -> wire.Response:
    """S3's XML error document (no body for HEAD, as S3 does)."""
    error = _s3_error(exc, request)
    extra = "".join(f"<{k}>{wire.xml_text(v)}</{k}>" for k, v in error.extra.items())
    body = (
        f"<Error><Code>{error.code}</Code><Message>{wire.xml_text(error.message)}</Message>{extra}"
        f"<RequestId>{request_id.decode()}</RequestId></Error>"
    )
    return _xml(error.status, [(b"x-amz-request-id", request_id), *retry_after(exc)], body)


def _s3_error(exc: BaseException, request: wire.Request) -> S3Error:
    if isinstance(exc, S3Error):
        return exc
    if isinstance(exc, domain.MissingAuthentication):
        return S3Error("AccessDenied", 403, "Access Denied")
    if isinstance(exc, domain.UnknownAccessKey):
        return S3Error("InvalidAccessKeyId", 403, "The AWS Access Key Id you provided does not exist in our records.")
    if isinstance(exc, domain.SignatureExpired):
        if is_presigned(request) or is_presigned_v2(request):
            return S3Error("AccessDenied", 403, exc.message)
        return S3Error(
            "RequestTimeTooSkewed", 403, "The difference between the request time and the current time is too large."
        )
    if isinstance(exc, domain.IncompleteSignature):
        return S3Error(
            "AccessDenied",
            403,
            "There were headers present in the request which were not signed",
            HeadersNotSigned=exc.header,
        )
    if isinstance(exc, domain.BadSignature):
        return S3Error("SignatureDoesNotMatch", 403, exc.message)
    if isinstance(exc, WireError):
        if exc.status in (403, 421):  # refused before reading the request (crowdloop.aws.unsigned)
            return S3Error(exc.code.removesuffix("Exception"), exc.status, exc.message)
        code = "EntityTooLarge" if exc.status == 413 else "InvalidRequest"  # 400 for both, as S3 answers
        return S3Error(code, 400, exc.message)
    if isinstance(exc, domain.Unavailable):
        return S3Error("ServiceUnavailable", 503, exc.message)
    log.error("internal error in S3 request", exc_info=exc)
    return S3Error("InternalError", 500, "We encountered an internal error. Please try again.")


# --- helpers ------------------------------------------------------------------------------------------------


def _method_not_allowed(request: wire.Request, resource_type: str) -> S3Error:
    return S3Error(
        "MethodNotAllowed",
        405,
        "The specified method is not allowed against this resource.",
        Method=request.method,
        ResourceType=resource_type,
    )


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return True
