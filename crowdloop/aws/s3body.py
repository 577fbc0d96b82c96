"""An upload's body (PutObject, UploadPart) received into a file, decoded and verified as S3 does.

* aws-chunked bodies (`Content-Encoding: aws-chunked`, `x-amz-content-sha256: STREAMING-UNSIGNED-PAYLOAD-
  TRAILER`, what boto3 sends over HTTPS) are decoded, their trailing checksum read from the trailer.
  Chunks signed one by one (`STREAMING-AWS4-HMAC-SHA256-PAYLOAD...`) answer NotImplemented.
* Checked against what the request declares: `x-amz-content-sha256` when it is a hash (the signed payload
  hash: XAmzContentSHA256Mismatch), `Content-MD5` (InvalidDigest when malformed, BadDigest when wrong),
  one `x-amz-checksum-<crc32|sha1|sha256>` header or trailer (InvalidRequest when malformed, BadDigest
  when wrong), the length (IncompleteBody). CRC32C and CRC64NVME answer NotImplemented (no library for
  them is a dependency). With only `x-amz-sdk-checksum-algorithm`, the checksum is computed and kept.
* At most `limit` decoded bytes (EntityTooLarge, refused before reading when the request declares more).

The body goes to a file in .incoming, written in a worker thread a MiB at a time (never on the event loop,
never whole in memory); a failed upload's file is removed. `check_small_body` applies the same checks to a
small XML body already read (DeleteObjects, CompleteMultipartUpload).
"""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import re
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Protocol

from crowdloop.aws import wire
from crowdloop.aws.s3errors import S3Error, entity_too_large, invalid_request, not_implemented
from crowdloop.aws.sigv4 import RunSync
from crowdloop.bodylimit import BodyTooLarge

WRITE_BYTES = 1024 * 1024
SUPPORTED = ("crc32", "sha1", "sha256")
UNSUPPORTED = ("crc32c", "crc64nvme")
_HEX_SHA256 = re.compile(r"[0-9a-f]{64}")
_MAX_LINE = 4096


class Digest(Protocol):
    def update(self, data: bytes, /) -> None: ...

    def digest(self) -> bytes: ...


class Crc32:
    def __init__(self) -> None:
        self.value = 0

    def update(self, data: bytes, /) -> None:
        self.value = zlib.crc32(data, self.value)

    def digest(self) -> bytes:
        return self.value.to_bytes(4, "big")


def new_digest(algorithm: str) -> Digest:
    """A running checksum for one of SUPPORTED (lower case)."""
    if algorithm == "crc32":
        return Crc32()
    return hashlib.new(algorithm)


@dataclass
class Received:
    """A body received into `path` (not yet in place): its size, MD5 (hex) and checksum."""

    path: Path
    size: int
    md5: str
    checksum_algorithm: str = ""  # upper case, as S3 names it ("CRC32"), or ""
    checksum: str = ""  # base64

    def discard(self) -> None:
        self.path.unlink(missing_ok=True)


class _Expect:
    """What the request declares about its body, from its headers."""

    def __init__(self, request: wire.Request, *, streaming: bool, checksum_headers: bool = True) -> None:
        self.payload_sha256 = request.header("x-amz-content-sha256")
        self.chunked = streaming and (
            "aws-chunked" in request.header("content-encoding") or self.payload_sha256.startswith("STREAMING-")
        )
        if self.chunked and self.payload_sha256 not in ("STREAMING-UNSIGNED-PAYLOAD-TRAILER", ""):
            raise not_implemented(f"x-amz-content-sha256: {self.payload_sha256} (send unsigned aws-chunked payloads)")
        plain = self.payload_sha256 and not self.chunked and self.payload_sha256 != "UNSIGNED-PAYLOAD"
        if plain and not _HEX_SHA256.fullmatch(self.payload_sha256):
            raise invalid_request("x-amz-content-sha256 must be UNSIGNED-PAYLOAD, or a valid sha256 value.")
        self.content_md5 = _content_md5(request.header("content-md5"))
        self.algorithm, self.checksum = _declared_checksum(request, self.chunked) if checksum_headers else ("", None)
        length = request.header("x-amz-decoded-content-length") if self.chunked else request.header("content-length")
        self.length = int(length) if length.isdigit() else None

    def digests(self) -> dict[str, Digest]:
        found: dict[str, Digest] = {"md5": hashlib.md5(usedforsecurity=False)}
        if _HEX_SHA256.fullmatch(self.payload_sha256):
            found["payload"] = hashlib.sha256()
        if self.algorithm:
            found[self.algorithm] = new_digest(self.algorithm)
        return found

    def verify(self, digests: dict[str, Digest], size: int, trailers: dict[str, str]) -> str:
        """Raise S3's error for the first declaration the body contradicts; the checksum (base64)."""
        if self.length is not None and size != self.length:
            raise S3Error(
                "IncompleteBody",
                400,
                "You did not provide the number of bytes specified by the Content-Length HTTP header",
            )
        if "payload" in digests and digests["payload"].digest().hex() != self.payload_sha256:
            raise S3Error(
                "XAmzContentSHA256Mismatch",
                400,
                "The provided 'x-amz-content-sha256' header does not match what was computed.",
                ClientComputedContentSHA256=self.payload_sha256,
                S3ComputedContentSHA256=digests["payload"].digest().hex(),
            )
        if self.content_md5 is not None and digests["md5"].digest() != self.content_md5:
            raise S3Error("BadDigest", 400, "The Content-MD5 you specified did not match what we received.")
        if not self.algorithm:
            return ""
        computed = base64.b64encode(digests[self.algorithm].digest()).decode()
        expected = self.checksum
        if self.chunked and expected is None:
            expected = trailers.get(f"x-amz-checksum-{self.algorithm}")
            if expected is None:
                raise invalid_request(f"x-amz-checksum-{self.algorithm} was announced in x-amz-trailer but not sent.")
            _check_format(self.algorithm, expected)
        if expected is not None and expected != computed:
            raise S3Error(
                "BadDigest", 400, f"The {self.algorithm.upper()} you specified did not match the calculated checksum."
            )
        return computed


async def receive(
    receive_message: wire.Receive, request: wire.Request, tmp: Path, limit: int, run: RunSync
) -> Received:
    """Read the request body into `tmp` (created here, removed on failure) and verify it (module docstring)."""
    expect = _Expect(request, streaming=True)
    if expect.length is not None and expect.length > limit:
        raise entity_too_large(expect.length, limit)
    digests = expect.digests()
    decoder = _ChunkDecoder() if expect.chunked else None
    handle: BinaryIO = await run(lambda: tmp.open("xb"))
    size = 0
    pending = bytearray()
    try:

        def write(data: bytes) -> None:
            for digest in digests.values():
                digest.update(data)
            handle.write(data)

        while True:
            try:
                message = await receive_message()
            except BodyTooLarge:
                raise entity_too_large(expect.length or size, limit) from None
            if message["type"] == "http.disconnect":
                raise S3Error("IncompleteBody", 400, "The client disconnected before sending the whole body.")
            chunk = message.get("body", b"")
            data = decoder.feed(chunk) if decoder is not None else chunk
            size += len(data)
            if size > limit:
                raise entity_too_large(size, limit)
            pending += data
            more = message.get("more_body", False)
            if len(pending) >= WRITE_BYTES or (pending and not more):
                block = bytes(pending)
                pending.clear()
                await run(functools.partial(write, block))
            if not more:
                break
        trailers = decoder.finish() if decoder is not None else {}
        checksum = expect.verify(digests, size, trailers)
        await run(handle.close)
    except BaseException:
        await run(handle.close)
        tmp.unlink(missing_ok=True)
        raise
    algorithm = expect.algorithm.upper()
    return Received(tmp, size, digests["md5"].digest().hex(), algorithm, checksum)


def check_small_body(request: wire.Request, *, checksum_headers: bool = True) -> None:
    """The checks above for a body already in request.body (S3 XML requests). `checksum_headers=False`
    when x-amz-checksum-* describe something else (CompleteMultipartUpload: the whole object's)."""
    expect = _Expect(request, streaming=False, checksum_headers=checksum_headers)
    digests = expect.digests()
    for digest in digests.values():
        digest.update(request.body)
    expect.verify(digests, len(request.body), {})


# --- declarations --------------------------------------------------------------------------------------


def _content_md5(value: str) -> bytes | None:
    if not value:
        return None
    try:
        digest = base64.b64decode(value, validate=True)
    except binascii.Error:
        digest = b""
    if len(digest) != 16:
        raise S3Error("InvalidDigest", 400, "The Content-MD5 you specified was invalid.")
    return digest


def _declared_checksum(request: wire.Request, chunked: bool) -> tuple[str, str | None]:
    """(algorithm in lower case, its value from a header or None when it comes in the trailer / is to be
    computed); ("", None) when no checksum is asked for."""
    sent = [name[15:] for name in request.headers if name.startswith("x-amz-checksum-")]
    sent = [name for name in sent if name not in ("algorithm", "mode", "type")]
    if len(sent) > 1:
        raise invalid_request("Expecting a single x-amz-checksum- header. Multiple checksum Types are not allowed.")
    trailer = request.header("x-amz-trailer").strip().lower()
    sdk = request.header("x-amz-sdk-checksum-algorithm").strip().lower()
    if sent:
        algorithm, value = sent[0], request.header("x-amz-checksum-" + sent[0])
    elif trailer:
        if not chunked or not trailer.startswith("x-amz-checksum-"):
            raise invalid_request(f"The trailer {trailer} is not supported; send it with an aws-chunked body.")
        algorithm, value = trailer[15:], None
    elif sdk:
        algorithm, value = sdk, None
    else:
        return "", None
    if sdk and sdk != algorithm:
        raise invalid_request("Value for x-amz-sdk-checksum-algorithm header is invalid.")
    if algorithm in UNSUPPORTED:
        raise not_implemented(f"the {algorithm.upper()} checksum (crowdloop verifies CRC32, SHA1 and SHA256)")
    if algorithm not in SUPPORTED:
        raise invalid_request(f"Value for x-amz-checksum-{algorithm} header is invalid.")
    if value is not None:
        _check_format(algorithm, value)
    return algorithm, value


_SIZES = {"crc32": 4, "sha1": 20, "sha256": 32}


def _check_format(algorithm: str, value: str) -> None:
    try:
        decoded = base64.b64decode(value, validate=True)
    except binascii.Error:
        decoded = b""
    if len(decoded) != _SIZES[algorithm]:
        raise invalid_request(f"Value for x-amz-checksum-{algorithm} header is invalid.")


# --- aws-chunked ---------------------------------------------------------------------------------------


class _ChunkDecoder:
    """`<hex size>[;ext]\\r\\n<data>\\r\\n` ... `0\\r\\n<trailer lines>\\r\\n`, fed in pieces."""

    def __init__(self) -> None:
        self._buffer = bytearray()
        self._state = "size"
        self._remaining = 0
        self.trailers: dict[str, str] = {}

    def feed(self, data: bytes) -> bytes:
        self._buffer += data
        out = bytearray()
        while self._buffer:
            if self._state == "data":
                take = min(self._remaining, len(self._buffer))
                out += self._buffer[:take]
                del self._buffer[:take]
                self._remaining -= take
                if self._remaining:
                    break
                self._state = "crlf"
            elif self._state == "crlf":
                if len(self._buffer) < 2:
                    break
                if self._buffer[:2] != b"\r\n":
                    raise _bad_encoding()
                del self._buffer[:2]
                self._state = "size"
            elif self._state == "done":
                raise _bad_encoding()
            else:
                line = self._line()
                if line is None:
                    break
                if self._state == "size":
                    self._start_chunk(line)
                elif not line:
                    self._state = "done"
                else:
                    name, sep, value = line.partition(":")
                    if not sep or len(self.trailers) > 16:
                        raise _bad_encoding()
                    self.trailers[name.strip().lower()] = value.strip()
        return bytes(out)

    def finish(self) -> dict[str, str]:
        if self._state != "done":
            raise S3Error("IncompleteBody", 400, "The aws-chunked body ended before its final chunk.")
        return self.trailers

    def _line(self) -> str | None:
        end = self._buffer.find(b"\r\n")
        if end < 0:
            if len(self._buffer) > _MAX_LINE:
                raise _bad_encoding()
            return None
        line = bytes(self._buffer[:end]).decode("latin-1")
        del self._buffer[: end + 2]
        return line

    def _start_chunk(self, line: str) -> None:
        size_text = line.partition(";")[0].strip()
        try:
            size = int(size_text, 16)
        except ValueError:
            raise _bad_encoding() from None
        if size < 0:
            raise _bad_encoding()
        self._remaining = size
        self._state = "data" if size else "trailer"


def _bad_encoding() -> S3Error:
    return invalid_request("The aws-chunked body is not well formed.")
