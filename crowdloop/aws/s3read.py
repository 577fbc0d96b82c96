"""GetObject and HeadObject of the built-in store (crowdloop.aws.s3 routes them here): stored metadata
and checksum, `Range`, `partNumber`, `response-*` overrides, and the headers that keep served bytes inert
(crowdloop.served)."""

from __future__ import annotations

import hashlib
import mimetypes
import os
import threading
from collections.abc import Iterator
from email.utils import formatdate
from pathlib import Path

from crowdloop import served
from crowdloop.aws import s3write, wire
from crowdloop.aws.s3errors import S3Error, not_implemented
from crowdloop.aws.s3multipart import MAX_PARTS
from crowdloop.aws.s3store import ObjectMeta, ObjectStore

CHUNK_BYTES = 1024 * 1024
_OVERRIDES = {
    "response-content-type": b"content-type",
    "response-content-language": b"content-language",
    "response-expires": b"expires",
    "response-cache-control": b"cache-control",
    "response-content-disposition": b"content-disposition",
    "response-content-encoding": b"content-encoding",
}


class ObjectReader:
    def __init__(self, store: ObjectStore) -> None:
        self.store = store
        self._etags: dict[tuple[str, int, int], str] = {}  # (path, mtime, size) -> MD5: memo of a pure function
        self._lock = threading.Lock()

    def get_object(
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
            self.etag(path, stat), mimetypes.guess_type(key)[0] or "binary/octet-stream"
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

    def etag(self, path: Path, stat: os.stat_result) -> str:
        """The MD5 of a file written without metadata (by the output writer, or by hand), memoized."""
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


def _check_part_number(text: str, meta: ObjectMeta) -> None:
    """GetObject's partNumber: part 1 of an object uploaded whole is the object (as S3 answers); one part of
    a multipart object is not implemented."""
    if not text.isdigit() or not 1 <= int(text) <= MAX_PARTS:
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
