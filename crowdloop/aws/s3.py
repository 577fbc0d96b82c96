"""The S3 API of the built-in object store: `s3://bucket/key` is `<output_path>/<bucket>/<key>`.

Reads here: ListBuckets, HeadBucket, GetBucketLocation, ListObjectsV2, ListObjects (v1), GetObject (with
Range and response-* overrides), HeadObject. Writes: crowdloop.aws.s3write (CreateBucket, DeleteBucket,
PutObject, CopyObject, DeleteObject, DeleteObjects) and crowdloop.aws.s3multipart (multipart uploads);
the on-disk layout: crowdloop.aws.s3store; upload bodies: crowdloop.aws.s3body. Addressing: path style
(`/bucket/key`) and virtual host (`<bucket>.localhost`, `<bucket>.<host>`, `<bucket>.<public_host>`).
Auth: header SigV4 and presigned URLs (SigV4 and the legacy SigV2 form), for reads and writes. Other
sub-resources (ACLs, tagging, versioning...) answer NotImplemented.

Keys never leave the folder: `.`/`..`/empty segments and symlinks out of the folder are NoSuchKey (and
refused on writes: crowdloop.aws.s3names), and in-progress `.tmp-*.part` files are invisible. Every
authenticated caller can read and write every bucket (single-tenant folder).

Listing with delimiter "/" reads one directory; other delimiters walk the tree under the prefix. With
delimiter "/" and StartAfter inside a common prefix, that prefix is returned (S3 would check that a later
key exists under it).
"""

from __future__ import annotations

import base64
import hashlib
import ipaddress
import logging
import mimetypes
import os
import threading
from email.utils import formatdate
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import quote, unquote

from crowdloop import errors as domain
from crowdloop import served
from crowdloop.aws import s3body, s3multipart, s3write, wire
from crowdloop.aws.errors import WireError, retry_after
from crowdloop.aws.s3errors import S3Error, invalid_request, not_implemented
from crowdloop.aws.s3names import is_temporary, key_segments
from crowdloop.aws.s3store import ObjectMeta, ObjectStore
from crowdloop.aws.s3xml import XMLNS, iso
from crowdloop.aws.s3xml import response as _xml
from crowdloop.aws.sigv4 import is_presigned, is_presigned_v2

if TYPE_CHECKING:
    from collections.abc import Iterator

    from crowdloop.config import Settings
    from crowdloop.runtime import Caller

log = logging.getLogger("crowdloop.aws")

__all__ = ["XMLNS", "S3Api", "S3Error", "error_response", "request_limit"]

CHUNK_BYTES = 1024 * 1024
MAX_KEYS = 1000
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
_OVERRIDES = {
    "response-content-type": b"content-type",
    "response-content-language": b"content-language",
    "response-expires": b"expires",
    "response-cache-control": b"cache-control",
    "response-content-disposition": b"content-disposition",
    "response-content-encoding": b"content-encoding",
}


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
        self._etags: dict[tuple[str, int, int], str] = {}
        self._lock = threading.Lock()

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
        bucket_dir = self.store.bucket_dir(bucket)
        if not key:
            if "uploads" in params:
                return s3multipart.list_multipart_uploads(self.store, bucket, params, headers)
            if request.method == "HEAD":
                return wire.Response(200, [*headers, (b"x-amz-bucket-region", self.region.encode())])
            if "location" in params:
                region = "" if self.region == "us-east-1" else wire.xml_text(self.region)
                location = f'<LocationConstraint xmlns="{XMLNS}">{region}</LocationConstraint>'
                return _xml(200, headers, location)
            return self._list_objects(bucket, bucket_dir, params, headers)
        if "uploadId" in params and request.method == "GET":
            return s3multipart.list_parts(self.store, bucket, key, params, headers)
        return self._get_object(request, bucket, key, params, headers)

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

    # --- listing -------------------------------------------------------------------------------------------

    def _list_objects(
        self, bucket: str, bucket_dir: Path, params: dict[str, str], headers: list[tuple[bytes, bytes]]
    ) -> wire.Response:
        v2 = params.get("list-type") == "2"
        prefix = params.get("prefix", "")
        delimiter = params.get("delimiter", "")
        url = params.get("encoding-type") == "url"
        try:
            max_keys = min(int(params.get("max-keys", MAX_KEYS)), MAX_KEYS)
            if max_keys < 0:
                raise ValueError(max_keys)
        except ValueError:
            raise S3Error("InvalidArgument", 400, "Provided max-keys not an integer or within integer range") from None
        token = params.get("continuation-token")
        if v2:
            start_after = params.get("start-after", "")
            after = _decode_token(token) if token else ""
        else:
            start_after = params.get("marker", "")
            after = ""
        items = self._entries(bucket_dir, prefix, delimiter, start_after)
        if after:
            items = [item for item in items if item[0] > after]
        page = items[:max_keys]
        truncated = len(items) > max_keys

        def enc(value: str) -> str:
            return wire.xml_text(quote(value, safe="/") if url else value)

        parts = [
            f'<ListBucketResult xmlns="{XMLNS}"><Name>{wire.xml_text(bucket)}</Name>',
            f"<Prefix>{enc(prefix)}</Prefix>",
        ]
        if v2:
            parts.append(f"<KeyCount>{len(page)}</KeyCount>")
            if token:
                parts.append(f"<ContinuationToken>{wire.xml_text(token)}</ContinuationToken>")
            if truncated and page:
                parts.append(f"<NextContinuationToken>{_encode_token(page[-1][0])}</NextContinuationToken>")
            if "start-after" in params:
                parts.append(f"<StartAfter>{enc(start_after)}</StartAfter>")
        else:
            parts.append(f"<Marker>{enc(start_after)}</Marker>")
            if truncated and page and delimiter:
                parts.append(f"<NextMarker>{enc(page[-1][0])}</NextMarker>")
        parts.append(f"<MaxKeys>{max_keys}</MaxKeys>")
        if delimiter:
            parts.append(f"<Delimiter>{enc(delimiter)}</Delimiter>")
        if url:
            parts.append("<EncodingType>url</EncodingType>")
        parts.append(f"<IsTruncated>{'true' if truncated else 'false'}</IsTruncated>")
        for name, path in page:
            if path is None:
                parts.append(f"<CommonPrefixes><Prefix>{enc(name)}</Prefix></CommonPrefixes>")
                continue
            stat = path.stat()
            meta = self.store.read_meta(bucket, name.split("/"), stat)
            etag = meta.etag if meta is not None else self._etag(path, stat)
            parts.append(
                f"<Contents><Key>{enc(name)}</Key><LastModified>{iso(stat.st_mtime)}</LastModified>"
                f"<ETag>&quot;{etag}&quot;</ETag><Size>{stat.st_size}</Size>"
                "<StorageClass>STANDARD</StorageClass></Contents>"
            )
        parts.append("</ListBucketResult>")
        return _xml(200, headers, "".join(parts))

    def _entries(
        self, bucket_dir: Path, prefix: str, delimiter: str, start_after: str
    ) -> list[tuple[str, Path | None]]:
        """Sorted (key, file) and (common prefix, None) entries after `start_after`."""
        base = prefix[: prefix.rfind("/") + 1]
        directory = self._safe_dir(bucket_dir, base)
        if directory is None:
            return []
        entries: list[tuple[str, Path | None]] = []
        if delimiter == "/":
            with os.scandir(directory) as scan:
                for entry in scan:
                    name = base + entry.name
                    if not name.startswith(prefix):
                        continue
                    if entry.is_file(follow_symlinks=False):
                        if name > start_after and not is_temporary(entry.name):
                            entries.append((name, Path(entry.path)))
                    elif entry.is_dir(follow_symlinks=False) and _has_files(entry.path):
                        common = name + "/"
                        if common > start_after or start_after.startswith(common):
                            entries.append((common, None))
        else:
            seen: set[str] = set()
            for name, path in _walk(directory, base):
                if not name.startswith(prefix) or name <= start_after:
                    continue
                cut = name.find(delimiter, len(prefix)) if delimiter else -1
                if cut < 0:
                    entries.append((name, path))
                else:
                    common = name[: cut + len(delimiter)]
                    if common not in seen:
                        seen.add(common)
                        entries.append((common, None))
        entries.sort(key=lambda item: item[0])
        return entries

    def _safe_dir(self, bucket_dir: Path, base: str) -> Path | None:
        if not base:
            return bucket_dir
        segments = base[:-1].split("/")
        if any(s in ("", ".", "..") or "\0" in s for s in segments):
            return None
        directory = bucket_dir.joinpath(*segments)
        if not _is_dir(directory) or directory.is_symlink():
            return None
        return directory

    # --- objects -------------------------------------------------------------------------------------------

    def _get_object(
        self,
        request: wire.Request,
        bucket: str,
        key: str,
        params: dict[str, str],
        headers: list[tuple[bytes, bytes]],
    ) -> wire.Response:
        path, segments = self.store.find(bucket, key)
        stat = path.stat()
        size = stat.st_size
        meta = self.store.read_meta(bucket, segments, stat) or ObjectMeta(
            self._etag(path, stat), mimetypes.guess_type(key)[0] or "binary/octet-stream"
        )
        if "partNumber" in params:
            _check_part_number(params["partNumber"], meta)
        headers += [
            (b"content-type", meta.content_type.encode("latin-1", "replace")),
            (b"etag", f'"{meta.etag}"'.encode()),
            (b"last-modified", formatdate(stat.st_mtime, usegmt=True).encode()),
            (b"accept-ranges", b"bytes"),
        ]
        headers += [(name.encode(), value.encode("latin-1", "replace")) for name, value in meta.headers.items()]
        headers += [
            (b"x-amz-meta-" + name.encode("latin-1", "replace"), value.encode("latin-1", "replace"))
            for name, value in meta.metadata.items()
        ]
        for name, header in _OVERRIDES.items():
            if name in params:
                headers = [h for h in headers if h[0] != header]
                headers.append((header, _header_value(name, params[name])))
        headers = served.inert(headers)
        status, start, end = 200, 0, size - 1
        byte_range = _parse_range(request.header("range"), size)
        if byte_range is not None:
            status, (start, end) = 206, byte_range
            headers.append((b"content-range", f"bytes {start}-{end}/{size}".encode()))
        elif request.header("x-amz-checksum-mode").upper() == "ENABLED":
            headers += s3write.checksum_headers(meta)
        length = max(end - start + 1, 0)
        headers.append((b"content-length", str(length).encode()))
        if request.method == "HEAD":
            return wire.Response(status, headers)
        if length <= CHUNK_BYTES:
            with path.open("rb") as handle:
                handle.seek(start)
                return wire.Response(status, headers, handle.read(length))
        return wire.Response(status, headers, stream=_chunks(path, start, length))

    def _etag(self, path: Path, stat: os.stat_result) -> str:
        cache_key = (str(path), stat.st_mtime_ns, stat.st_size)
        etag = self._etags.get(cache_key)
        if etag is None:
            digest = hashlib.md5(usedforsecurity=False)
            with path.open("rb") as handle:
                for chunk in iter(lambda: handle.read(CHUNK_BYTES), b""):
                    digest.update(chunk)
            etag = digest.hexdigest()
            with self._lock:
                if len(self._etags) > 10000:
                    self._etags.clear()
                self._etags[cache_key] = etag
        return etag


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


def _check_part_number(text: str, meta: ObjectMeta) -> None:
    """GetObject's partNumber: part 1 of an object uploaded whole is the object (as S3 answers); one part of
    a multipart object is not implemented."""
    if not text.isdigit() or not 1 <= int(text) <= s3multipart.MAX_PARTS:
        raise S3Error(
            "InvalidArgument",
            400,
            "Part number must be an integer between 1 and 10000, inclusive",
            ArgumentName="partNumber",
            ArgumentValue=text,
        )
    if "-" in meta.etag:
        raise not_implemented("GetObject of one part of a multipart object (partNumber)")
    if text != "1":
        raise S3Error("InvalidPartNumber", 416, "The requested partnumber is not satisfiable", PartNumberRequested=text)


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


def _encode_token(name: str) -> str:
    return base64.urlsafe_b64encode(name.encode()).decode()


def _decode_token(token: str) -> str:
    try:
        return base64.urlsafe_b64decode(token.encode()).decode()
    except (ValueError, UnicodeDecodeError):
        raise S3Error(
            "InvalidArgument", 400, "The continuation token provided is incorrect", ArgumentName="continuation-token"
        ) from None


def _walk(directory: Path, base: str) -> Iterator[tuple[str, Path]]:
    """(key, path) of every regular file under `directory` (symlinks are not followed)."""
    stack = [(str(directory), base)]
    while stack:
        folder, prefix = stack.pop()
        with os.scandir(folder) as scan:
            for entry in scan:
                if entry.is_file(follow_symlinks=False):
                    if not is_temporary(entry.name):
                        yield prefix + entry.name, Path(entry.path)
                elif entry.is_dir(follow_symlinks=False):
                    stack.append((entry.path, prefix + entry.name + "/"))


def _is_dir(path: Path) -> bool:
    """Path.is_dir, but False for names the file system refuses (too long, ...) instead of OSError."""
    try:
        return path.is_dir()
    except OSError:
        return False


def _has_files(folder: str) -> bool:
    return any(True for _ in _walk(Path(folder), ""))


def _parse_range(header: str, size: int) -> tuple[int, int] | None:
    """(first, last) byte for a single `bytes=` range; None means the whole object (as S3 does for
    unparsable or multi-range headers); S3Error InvalidRange when it cannot be satisfied."""
    if not header.startswith("bytes=") or "," in header:
        return None
    first, sep, last = header[6:].strip().partition("-")
    try:
        if not sep:
            return None
        if not first:
            count = int(last)
            if count <= 0:
                raise ValueError(count)
            if size == 0:
                raise _unsatisfiable(size)
            return max(size - count, 0), size - 1
        start = int(first)
        end = int(last) if last else size - 1
        if start < 0 or end < start:
            return None
    except ValueError:
        return None
    if start >= size:
        raise _unsatisfiable(size)
    return start, min(end, size - 1)


def _header_value(name: str, value: str) -> bytes:
    """A response-* override as a header value; S3's InvalidArgument for control characters (CR/LF would
    end the header and let the URL's author write headers of their own)."""
    if any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in value):
        raise S3Error("InvalidArgument", 400, f"Header value of {name} contains control characters.", ArgumentName=name)
    return value.encode("latin-1", "replace")


def _unsatisfiable(size: int) -> S3Error:
    return S3Error("InvalidRange", 416, "The requested range is not satisfiable", ActualObjectSize=str(size))


def _chunks(path: Path, start: int, length: int) -> Iterator[bytes]:
    with path.open("rb") as handle:
        handle.seek(start)
        while length > 0:
            chunk = handle.read(min(CHUNK_BYTES, length))
            if not chunk:
                return
            length -= len(chunk)
            yield chunk
