"""A read-only S3 API over the built-in output folder: `s3://bucket/key` is `<output_path>/<bucket>/<key>`.

Supported: ListBuckets, HeadBucket, GetBucketLocation, ListObjectsV2, ListObjects (v1), GetObject (with
Range and response-* overrides), HeadObject. Addressing: path style (`/bucket/key`) and virtual host
(`<bucket>.localhost`, `<bucket>.<host>`, `<bucket>.<public_host>`). Auth: header SigV4 and presigned URLs
(SigV4 and the legacy SigV2 form). Writes answer AccessDenied, other sub-resources NotImplemented.

Keys never leave the folder: `.`/`..`/empty segments and symlinks out of the folder are NoSuchKey, and
in-progress `.tmp-*.part` files of LocalBlobStore are invisible. Every authenticated caller can read
every bucket (single-tenant folder).

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
from datetime import UTC, datetime
from email.utils import formatdate
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import quote, unquote

from crowdloop import errors as domain
from crowdloop import served
from crowdloop.aws import wire
from crowdloop.aws.errors import WireError, retry_after
from crowdloop.aws.sigv4 import is_presigned, is_presigned_v2

if TYPE_CHECKING:
    from collections.abc import Iterator

    from crowdloop.config import Settings
    from crowdloop.runtime import Caller

log = logging.getLogger("crowdloop.aws")

XMLNS = "http://s3.amazonaws.com/doc/2006-03-01/"
CHUNK_BYTES = 1024 * 1024
MAX_KEYS = 1000

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
        "uploadId",
        "uploads",
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


class S3Error(Exception):
    def __init__(self, code: str, status: int, message: str, **extra: str) -> None:
        super().__init__(message)
        self.code = code
        self.status = status
        self.message = message
        self.extra = extra


class S3Api:
    def __init__(self, settings: Settings) -> None:
        self.root = settings.output_path
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

    def handle(self, request: wire.Request, caller: Caller, request_id: bytes) -> wire.Response:
        """Answer one authenticated S3 request (blocking file-system work: run in a worker thread)."""
        if request.method not in ("GET", "HEAD"):
            raise S3Error("AccessDenied", 403, "Access Denied (crowdloop's S3 API is read-only).")
        bucket, key = self.address(request)
        params = dict(request.query_pairs())
        sub = _SUBRESOURCES.intersection(params)
        if sub:
            raise S3Error("NotImplemented", 501, f"The '{sorted(sub)[0]}' sub-resource is not implemented.")
        headers = [(b"x-amz-request-id", request_id)]
        if bucket is None:
            if request.method == "HEAD":
                raise S3Error("MethodNotAllowed", 405, "The specified method is not allowed.")
            return self._list_buckets(caller, headers)
        bucket_dir = self._bucket_dir(bucket)
        if not key:
            if request.method == "HEAD":
                return wire.Response(200, [*headers, (b"x-amz-bucket-region", self.region.encode())])
            if "location" in params:
                region = "" if self.region == "us-east-1" else wire.xml_text(self.region)
                location = f'<LocationConstraint xmlns="{XMLNS}">{region}</LocationConstraint>'
                return _xml(200, headers, location)
            return self._list_objects(bucket, bucket_dir, params, headers)
        return self._get_object(request, bucket_dir, key, params, headers)

    def _bucket_dir(self, bucket: str) -> Path:
        if not bucket or bucket in (".", "..") or "/" in bucket or "\\" in bucket or "\0" in bucket:
            raise S3Error("NoSuchBucket", 404, "The specified bucket does not exist.", BucketName=bucket)
        path = self.root / bucket
        if not _is_dir(path):
            raise S3Error("NoSuchBucket", 404, "The specified bucket does not exist.", BucketName=bucket)
        return path

    # --- buckets -------------------------------------------------------------------------------------------

    def _list_buckets(self, caller: Caller, headers: list[tuple[bytes, bytes]]) -> wire.Response:
        entries = []
        if self.root.is_dir():
            for entry in sorted(os.scandir(self.root), key=lambda e: e.name):
                if entry.is_dir(follow_symlinks=False) and not entry.name.startswith("."):
                    created = _iso(entry.stat(follow_symlinks=False).st_mtime)
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
            parts.append(
                f"<Contents><Key>{enc(name)}</Key><LastModified>{_iso(stat.st_mtime)}</LastModified>"
                f"<ETag>&quot;{self._etag(path, stat)}&quot;</ETag><Size>{stat.st_size}</Size>"
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
                        if name > start_after and not _is_temporary(entry.name):
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

    def _object_path(self, bucket_dir: Path, key: str) -> Path:
        segments = key.split("/")
        missing = S3Error("NoSuchKey", 404, "The specified key does not exist.", Key=key)
        if _is_temporary(segments[-1]) or any(s in ("", ".", "..") or "\0" in s or "\\" in s for s in segments):
            raise missing
        path = bucket_dir.joinpath(*segments)
        try:
            resolved = path.resolve(strict=True)
        except (OSError, RuntimeError):
            raise missing from None
        if not resolved.is_relative_to(bucket_dir.resolve()) or not resolved.is_file():
            raise missing
        return resolved

    def _get_object(
        self,
        request: wire.Request,
        bucket_dir: Path,
        key: str,
        params: dict[str, str],
        headers: list[tuple[bytes, bytes]],
    ) -> wire.Response:
        path = self._object_path(bucket_dir, key)
        stat = path.stat()
        size = stat.st_size
        content_type = mimetypes.guess_type(key)[0] or "binary/octet-stream"
        headers += [
            (b"content-type", content_type.encode()),
            (b"etag", f'"{self._etag(path, stat)}"'.encode()),
            (b"last-modified", formatdate(stat.st_mtime, usegmt=True).encode()),
            (b"accept-ranges", b"bytes"),
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


def _xml(status: int, headers: list[tuple[bytes, bytes]], body: str) -> wire.Response:
    return wire.Response(
        status,
        [*headers, (b"content-type", b"application/xml")],
        ('<?xml version="1.0" encoding="UTF-8"?>\n' + body).encode(),
    )


def _iso(timestamp: float) -> str:
    return wire.iso_ms(datetime.fromtimestamp(timestamp, UTC))


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
                    if not _is_temporary(entry.name):
                        yield prefix + entry.name, Path(entry.path)
                elif entry.is_dir(follow_symlinks=False):
                    stack.append((entry.path, prefix + entry.name + "/"))


def _is_dir(path: Path) -> bool:
    """Path.is_dir, but False for names the file system refuses (too long, ...) instead of OSError."""
    try:
        return path.is_dir()
    except OSError:
        return False


def _is_temporary(name: str) -> bool:
    """A blob store write in progress (LocalBlobStore writes `.tmp-*.part` and renames it)."""
    return name.startswith(".tmp-") and name.endswith(".part")


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
