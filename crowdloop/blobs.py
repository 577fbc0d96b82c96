"""Blob stores: where output.json objects go, addressed by `s3://bucket/key` URIs.

    BlobStore (protocol)
    ├── LocalBlobStore   s3://bucket/key at <root>/bucket/key (served, and written to, by aws/s3.py)
    └── S3BlobStore      a real S3-compatible service through boto3

An S3BlobStore never creates buckets: a missing S3 bucket is reported as NotFound naming it. The built-in
store makes the bucket folder of a flow definition's output path when the flow definition is created
(make_bucket), so the bucket exists before its first object, as a real bucket would. An outage of
the store (a full disk or an I/O error under the local folder; S3 unreachable, timing out or answering
5xx / SlowDown) is reported as Unavailable.
"""

from __future__ import annotations

import errno
import hashlib
import hmac
import itertools
import os
import secrets
import tempfile
import time
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from crowdloop.errors import InvalidInput, NotFound, Unavailable
from crowdloop.keyfiles import load_key
from crowdloop.urls import PublicUrls

if TYPE_CHECKING:
    from crowdloop.config import Settings

_DISK_OUTAGES = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EIO, errno.EROFS, errno.EFBIG})
_S3_OUTAGE_CODES = frozenset(
    {"ServiceUnavailable", "SlowDown", "InternalError", "RequestTimeout", "Throttling", "ThrottlingException"}
)


class BlobStore(Protocol):
    def put(self, uri: str, data: bytes, content_type: str = "application/json") -> None:
        """Store data at uri atomically: a reader sees the old object, the new one, or none."""
        ...

    def put_stream(self, uri: str, chunks: Iterable[bytes], content_type: str = "application/json") -> None:
        """Store the concatenation of `chunks` at uri as put does, without holding it in memory (big objects:
        a labeling job's output manifest). An exception raised by `chunks` leaves the old object or none."""
        ...

    def get(self, uri: str) -> bytes:
        """The object's bytes; NotFound when there is none."""
        ...

    def exists(self, uri: str) -> bool: ...

    def url_for(self, uri: str, expires_seconds: int) -> str:
        """A short-lived URL a browser can load the object from."""
        ...


def replace_durably(tmp: Path, target: Path) -> None:
    """Move the complete file `tmp` onto `target` so that a crash of the machine leaves the old file or the
    whole new one: fsync the data, rename (atomic within one file system), fsync the target's folder."""
    with open(tmp, "rb") as handle:
        os.fsync(handle.fileno())
    os.replace(tmp, target)
    sync_folder(target.parent)


def sync_folder(folder: Path) -> None:
    """fsync a folder, so the names created or renamed in it survive a crash of the machine."""
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def make_bucket(blobs: BlobStore, bucket: str) -> None:
    """The built-in store's bucket folder (nothing for other stores: crowdloop never creates S3 buckets).
    Unavailable when the disk refuses."""
    if isinstance(blobs, LocalBlobStore):
        blobs.make_bucket(bucket)


def split_uri(uri: str) -> tuple[str, str]:
    """`s3://bucket/key` -> (bucket, key); InvalidInput for anything else."""
    bucket, sep, key = uri.removeprefix("s3://").partition("/")
    if not uri.startswith("s3://") or not bucket or not sep or not key:
        raise InvalidInput(f"'{uri}' is not an s3://bucket/key URI.", "uri")
    return bucket, key


# Partly written objects live here (same filesystem, so the final rename is atomic) and never inside a
# bucket folder, where a listing would show them. A name starting with "." is not a valid bucket name.
INCOMING = ".incoming"
_PROCESS_TAG = secrets.token_hex(4)  # tells this process from an earlier one that had the same pid
_COUNTER = itertools.count()


class LocalBlobStore:
    """Objects as files under root. Each write goes to a temporary file in root/.incoming that is then
    renamed over the target, so a reader sees the old object or the whole new one, even if the process
    is killed mid-write. (No fsync: that guarantee is for a crash of the process, like the database's
    synchronous=NORMAL; an operating-system crash may lose the newest objects. The outbox rewrites any
    object whose loop is not marked written.)"""

    def __init__(
        self, root: Path, *, signing_key: bytes | None = None, portal_url: str = "http://127.0.0.1:8080"
    ) -> None:
        self.root = Path(root)
        self.signing_key = signing_key or secrets.token_bytes(32)
        self.portal_url = portal_url

    def path_for(self, uri: str) -> Path:
        bucket, key = split_uri(uri)
        parts = [bucket, *key.split("/")]
        if any(part in ("", ".", "..") or "\\" in part or "\x00" in part for part in parts):
            raise InvalidInput(f"'{uri}' cannot be stored as a local file.", "uri")
        return self.root.joinpath(*parts)

    def put(self, uri: str, data: bytes, content_type: str = "application/json") -> None:
        self.put_stream(uri, [data], content_type)

    def put_stream(self, uri: str, chunks: Iterable[bytes], content_type: str = "application/json") -> None:
        target = self.path_for(uri)
        try:
            self._write(target, chunks)
        except OSError as exc:
            if exc.errno in _DISK_OUTAGES:
                raise Unavailable(
                    f"The output folder cannot be written to now ({exc.strerror}). Try again shortly."
                ) from exc
            raise

    def _write(self, target: Path, chunks: Iterable[bytes]) -> None:
        tmp = self._incoming_path()
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)
        try:
            fd = os.open(tmp, flags, 0o644)
        except FileNotFoundError:
            tmp.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(tmp, flags, 0o644)
        try:
            with os.fdopen(fd, "wb") as f:
                for chunk in chunks:
                    f.write(chunk)
            try:
                os.replace(tmp, target)
            except FileNotFoundError:
                target.parent.mkdir(parents=True, exist_ok=True)
                os.replace(tmp, target)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise

    def _incoming_path(self) -> Path:
        """A name no other writer uses: process id, a random part drawn once per process, a counter.
        (tempfile.mkstemp draws a random name per file, which costs more than writing the file.)"""
        return self.root / INCOMING / f"{os.getpid()}-{_PROCESS_TAG}-{next(_COUNTER)}.part"

    def discard_stale_incoming(self, older_than_seconds: float = 3600) -> int:
        """Delete temporary files a killed process left in root/.incoming (other live processes may be
        writing there, hence the age limit)."""
        cutoff = time.time() - older_than_seconds
        removed = 0
        for path in (self.root / INCOMING).glob("*.part"):
            try:
                if path.stat().st_mtime < cutoff:
                    path.unlink()
                    removed += 1
            except FileNotFoundError:
                continue
        return removed

    def make_bucket(self, bucket: str) -> None:
        """The folder of `bucket` (a valid S3 bucket name), made durably if it is missing."""
        folder = self.path_for(f"s3://{bucket}/-").parent
        if folder.is_dir():
            return
        try:
            folder.mkdir(parents=True, exist_ok=True)
            sync_folder(self.root)
        except OSError as exc:
            if exc.errno in _DISK_OUTAGES:
                raise Unavailable(f"The output folder cannot be written to now ({exc.strerror}).") from exc
            raise

    def get(self, uri: str) -> bytes:
        try:
            return self.path_for(uri).read_bytes()
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            raise NotFound("object", uri, f"No object at {uri}.") from None

    def exists(self, uri: str) -> bool:
        return self.path_for(uri).is_file()

    def url_for(self, uri: str, expires_seconds: int) -> str:
        bucket, key = split_uri(uri)
        self.path_for(uri)  # rejects keys that could not be served
        expires = int(time.time()) + expires_seconds
        signature = self.signature(bucket, key, expires)
        return PublicUrls(self.portal_url).blob(bucket, key, expires, signature)

    def signature(self, bucket: str, key: str, expires: int) -> str:
        message = f"{bucket}\n{key}\n{expires}".encode()
        return hmac.new(self.signing_key, message, hashlib.sha256).hexdigest()

    def verify(self, bucket: str, key: str, expires: int, signature: str, now: float | None = None) -> bool:
        """True when (bucket, key, expires, signature) came from url_for and has not expired."""
        if expires < (time.time() if now is None else now):
            return False
        return hmac.compare_digest(self.signature(bucket, key, expires), signature)


class S3BlobStore:
    """Objects in an S3-compatible service (path-style addressing, so MinIO and moto work)."""

    def __init__(self, endpoint_url: str, access_key_id: str, secret_access_key: str, region: str) -> None:
        import boto3
        from botocore.config import Config

        self.endpoint_url = endpoint_url
        self._client: Any = boto3.client(
            "s3",
            endpoint_url=endpoint_url,
            aws_access_key_id=access_key_id or None,
            aws_secret_access_key=secret_access_key or None,
            region_name=region,
            config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 3, "mode": "standard"}),
        )

    def put(self, uri: str, data: bytes, content_type: str = "application/json") -> None:
        bucket, key = split_uri(uri)
        self._call(
            "put", uri, lambda: self._client.put_object(Bucket=bucket, Key=key, Body=data, ContentType=content_type)
        )

    def put_stream(self, uri: str, chunks: Iterable[bytes], content_type: str = "application/json") -> None:
        """Spooled to a temporary file, then sent as one PutObject streaming from that file (S3 takes up to
        5 GiB so; botocore rewinds the file to retry). One request rather than boto3's upload_fileobj, whose
        multipart upload would wrap S3's errors in S3UploadFailedError and leave parts behind on a failure."""
        bucket, key = split_uri(uri)
        with tempfile.TemporaryFile(prefix="crowdloop-upload-") as spool:
            for chunk in chunks:
                spool.write(chunk)
            spool.seek(0)
            self._call(
                "put",
                uri,
                lambda: self._client.put_object(Bucket=bucket, Key=key, Body=spool, ContentType=content_type),
            )

    def get(self, uri: str) -> bytes:
        bucket, key = split_uri(uri)
        response = self._call("get", uri, lambda: self._client.get_object(Bucket=bucket, Key=key))
        body: bytes = response["Body"].read()
        return body

    def exists(self, uri: str) -> bool:
        bucket, key = split_uri(uri)
        try:
            self._call("head", uri, lambda: self._client.head_object(Bucket=bucket, Key=key))
        except NotFound as exc:
            if exc.kind == "bucket":
                raise
            return False
        return True

    def url_for(self, uri: str, expires_seconds: int) -> str:
        bucket, key = split_uri(uri)
        url: str = self._client.generate_presigned_url(
            "get_object", Params={"Bucket": bucket, "Key": key}, ExpiresIn=expires_seconds
        )
        return url

    def _call(self, action: str, uri: str, fn: Any) -> Any:
        from botocore.exceptions import ClientError, HTTPClientError
        from botocore.exceptions import ConnectionError as BotoConnectionError

        try:
            return fn()
        except (BotoConnectionError, HTTPClientError) as exc:  # unreachable, refused, timed out, reset
            raise Unavailable(f"S3 at {self.endpoint_url} cannot be reached now. Try again shortly.") from exc
        except ClientError as exc:
            code = str(exc.response.get("Error", {}).get("Code", ""))
            status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0)
            if status >= 500 or code in _S3_OUTAGE_CODES:
                raise Unavailable(
                    f"S3 at {self.endpoint_url} is unavailable now ({code or status}). Try again shortly."
                ) from exc
            bucket = split_uri(uri)[0]
            if code == "NoSuchBucket":
                raise self._no_bucket(bucket) from exc
            if code in ("NoSuchKey", "404", "NotFound"):
                if action == "head" and not self._bucket_exists(bucket):
                    raise self._no_bucket(bucket) from exc
                raise NotFound("object", uri, f"No object at {uri}.") from exc
            raise

    def _no_bucket(self, bucket: str) -> NotFound:
        return NotFound(
            "bucket",
            bucket,
            f"S3 bucket '{bucket}' does not exist at {self.endpoint_url}; "
            "create it (crowdloop does not create buckets).",
        )

    def _bucket_exists(self, bucket: str) -> bool:
        from botocore.exceptions import ClientError

        try:
            self._client.head_bucket(Bucket=bucket)
        except ClientError:
            return False
        return True


def blob_store_for(settings: Settings) -> BlobStore:
    """S3BlobStore when settings.s3_endpoint_url is set, else a LocalBlobStore at settings.output_path."""
    if settings.s3_endpoint_url:
        return S3BlobStore(
            settings.s3_endpoint_url,
            settings.s3_access_key_id,
            settings.s3_secret_access_key.reveal(),
            settings.s3_region,
        )
    return LocalBlobStore(
        settings.output_path, signing_key=load_key(settings.data_path, "blob-url.key"), portal_url=settings.portal_url
    )
