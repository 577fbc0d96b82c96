"""Bucket names and object keys the built-in store accepts for writing.

Buckets follow S3's general-purpose naming rules (InvalidBucketName otherwise). A key is stored as a file,
one folder per `/`, so besides S3's own limit (KeyTooLongError above 1024 bytes of UTF-8) a key is refused
with InvalidArgument when a file could not hold it or when it could reach outside its bucket: an empty
key segment (`a//b`, a trailing `/`), a `.` or `..` segment, NUL or a backslash, a segment longer than the
file system allows, and names of the store's own temporary files (`.tmp-*.part`).
"""

from __future__ import annotations

import ipaddress
import re

from crowdloop.aws.s3errors import S3Error, invalid_argument

MAX_KEY_BYTES = 1024
MAX_SEGMENT_BYTES = 255  # NAME_MAX of the usual file systems

_BUCKET = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")
_RESERVED_PREFIXES = ("xn--", "sthree-", "amzn-s3-demo-")
_RESERVED_SUFFIXES = ("-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3")


def check_bucket_name(bucket: str) -> None:
    """InvalidBucketName unless `bucket` is a valid S3 general-purpose bucket name."""
    if (
        not _BUCKET.fullmatch(bucket)
        or ".." in bucket
        or ".-" in bucket
        or "-." in bucket
        or bucket.startswith(_RESERVED_PREFIXES)
        or bucket.endswith(_RESERVED_SUFFIXES)
        or _is_ip_address(bucket)
    ):
        raise S3Error("InvalidBucketName", 400, "The specified bucket is not valid.", BucketName=bucket)


def key_segments(key: str) -> list[str]:
    """The folders and file name a key is stored under; KeyTooLongError / InvalidArgument as above."""
    size = len(key.encode("utf-8", "surrogatepass"))
    if size > MAX_KEY_BYTES:
        raise S3Error("KeyTooLongError", 400, "Your key is too long", Size=str(size), MaxSizeAllowed=str(MAX_KEY_BYTES))
    if not key:
        raise invalid_argument("key", key, "An object key must not be empty.")
    segments = key.split("/")
    for segment in segments:
        if segment in ("", ".", ".."):
            raise invalid_argument(
                "key",
                key,
                "crowdloop's object store keeps each key as a file, so a key may not have an empty, '.' or '..' "
                "segment (no leading, trailing or doubled '/').",
            )
        if "\0" in segment or "\\" in segment:
            raise invalid_argument("key", key, "A key may not contain NUL or a backslash in crowdloop's object store.")
        if len(segment.encode("utf-8", "surrogatepass")) > MAX_SEGMENT_BYTES:
            raise invalid_argument(
                "key", key, f"Each '/'-separated part of a key may be at most {MAX_SEGMENT_BYTES} bytes long here."
            )
    if is_temporary(segments[-1]):
        raise invalid_argument("key", key, "Keys ending in '.tmp-*.part' are reserved for files being written.")
    return segments


def is_temporary(name: str) -> bool:
    """A write in progress (LocalBlobStore once wrote `.tmp-*.part` files next to their target)."""
    return name.startswith(".tmp-") and name.endswith(".part")


def _is_ip_address(name: str) -> bool:
    try:
        ipaddress.IPv4Address(name)
    except ValueError:
        return False
    return True
