"""The built-in object store on disk, as the S3 API writes it (blocking: call from a worker thread).

    <output>/<bucket>/<key>         the object's bytes (one folder per `/` of the key)
    <output>/.s3-meta/<bucket>/<key> its metadata (JSON: ETag, Content-Type and the other stored headers,
                                    x-amz-meta-*, checksum), valid only for the file whose inode and size
                                    it names: a file the output writer or a person replaced has none
    <output>/.s3-uploads/<id>/      a multipart upload: upload.json and its parts (crowdloop.aws.s3multipart)
    <output>/.incoming/             files being received, renamed into place once complete

Names starting with "." are not valid bucket names, so none of these folders is ever listed as a bucket,
and nothing of them lies inside a bucket folder, so listings never show them. Every object is written to
.incoming, fsynced, and renamed over its target (crowdloop.blobs.replace_durably); its metadata is put in
place just before it, so a reader never sees metadata of another object (at worst, for an instant, none).
"""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import json
import os
import secrets
import shutil
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from crowdloop.aws.s3errors import S3Error, invalid_argument, no_such_bucket, no_such_key
from crowdloop.aws.s3names import is_temporary
from crowdloop.blobs import INCOMING, replace_durably, sync_folder

META = ".s3-meta"
UPLOADS = ".s3-uploads"
COPY_CHUNK_BYTES = 1024 * 1024
_TAG = secrets.token_hex(4)
_COUNTER = itertools.count()


@dataclass
class ObjectMeta:
    """What S3 keeps beside an object's bytes (names as in S3's headers, lower case)."""

    etag: str  # without quotes
    content_type: str = "binary/octet-stream"
    headers: dict[str, str] = field(default_factory=dict)  # content-encoding, cache-control, ... as sent
    metadata: dict[str, str] = field(default_factory=dict)  # x-amz-meta-<name> -> value, <name> lower case
    checksum_algorithm: str = ""  # "CRC32", "SHA1", "SHA256" or ""
    checksum: str = ""  # base64, "-<parts>" appended for a composite (multipart) checksum
    checksum_type: str = ""  # FULL_OBJECT or COMPOSITE

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ObjectMeta:
        names = {f for f in cls.__dataclass_fields__}
        return cls(**{k: v for k, v in data.items() if k in names})


class ObjectStore:
    def __init__(self, root: Path) -> None:
        self.root = root

    # --- buckets ---------------------------------------------------------------------------------------

    def bucket_dir(self, bucket: str) -> Path:
        """The bucket's folder; NoSuchBucket when there is none."""
        if not bucket or bucket.startswith(".") or "/" in bucket or "\\" in bucket or "\0" in bucket:
            raise no_such_bucket(bucket)
        path = self.root / bucket
        try:
            if path.is_dir():
                return path
        except OSError:
            pass
        raise no_such_bucket(bucket)

    def create_bucket(self, bucket: str) -> bool:
        """Make the bucket's folder (a valid name); False when it existed."""
        self.root.mkdir(parents=True, exist_ok=True)
        try:
            (self.root / bucket).mkdir()
        except FileExistsError:
            return False
        sync_folder(self.root)
        return True

    def delete_bucket(self, bucket: str) -> None:
        """Remove an empty bucket (folders left empty by deleted keys do not count); BucketNotEmpty else."""
        folder = self.bucket_dir(bucket)
        for _dirpath, _dirs, files in os.walk(folder):
            if files:
                raise S3Error("BucketNotEmpty", 409, "The bucket you tried to delete is not empty", BucketName=bucket)
        shutil.rmtree(folder)
        shutil.rmtree(self.root / META / bucket, ignore_errors=True)
        sync_folder(self.root)

    # --- objects ---------------------------------------------------------------------------------------

    def temp_path(self) -> Path:
        """A fresh name in .incoming (same file system as the buckets, so the final rename is atomic)."""
        folder = self.root / INCOMING
        folder.mkdir(parents=True, exist_ok=True)
        return folder / f"{os.getpid()}-{_TAG}-{next(_COUNTER)}.part"

    def find(self, bucket: str, key: str) -> tuple[Path, list[str]]:
        """The file of bucket/key and the key's segments; NoSuchBucket / NoSuchKey. Keys that could not be
        stored (`.`/`..`/empty segments, temporary names) and symbolic links leading out of the bucket are
        NoSuchKey."""
        bucket_dir = self.bucket_dir(bucket)
        segments = key.split("/")
        if is_temporary(segments[-1]) or any(s in ("", ".", "..") or "\0" in s or "\\" in s for s in segments):
            raise no_such_key(key)
        try:
            resolved = bucket_dir.joinpath(*segments).resolve(strict=True)
            if resolved.is_relative_to(bucket_dir.resolve()) and resolved.is_file():
                return resolved, segments
        except (OSError, RuntimeError):
            pass
        raise no_such_key(key)

    def read_meta(self, bucket: str, segments: list[str], stat: os.stat_result) -> ObjectMeta | None:
        """The stored metadata of the file `stat` describes, None when there is none for that file."""
        try:
            data = json.loads(self.root.joinpath(META, bucket, *segments).read_bytes())
        except (OSError, ValueError):
            return None
        if not isinstance(data, dict) or data.get("inode") != stat.st_ino or data.get("size") != stat.st_size:
            return None
        return ObjectMeta.from_json(data)

    def put(self, bucket: str, key: str, segments: list[str], tmp: Path, meta: ObjectMeta) -> os.stat_result:
        """Put the complete file `tmp` in place as bucket/key with `meta`; its stat."""
        bucket_dir = self.bucket_dir(bucket)
        stat = tmp.stat()
        record = json.dumps({**asdict(meta), "inode": stat.st_ino, "size": stat.st_size}).encode()
        meta_tmp = self.temp_path()
        try:
            meta_tmp.write_bytes(record)
            for attempt in range(3):  # a DeleteObject may remove a folder it emptied between mkdir and rename
                target = self._folder_for(bucket_dir, key, segments) / segments[-1]
                meta_target = self._folder_for(self.root / META / bucket, key, segments) / segments[-1]
                try:
                    if target.is_dir() and not target.is_symlink():
                        raise _conflict(key, key + "/...")
                    if meta_target.is_dir() and not meta_target.is_symlink():
                        shutil.rmtree(meta_target)
                    replace_durably(meta_tmp, meta_target)
                    replace_durably(tmp, target)
                    break
                except FileNotFoundError:
                    if attempt == 2 or not tmp.exists():
                        raise
        finally:
            meta_tmp.unlink(missing_ok=True)
        return stat

    def delete(self, bucket: str, segments: list[str]) -> None:
        """Remove bucket/key if it is there (S3 answers success either way), and folders it leaves empty."""
        bucket_dir = self.bucket_dir(bucket)
        for base in (bucket_dir, self.root / META / bucket):
            path = base.joinpath(*segments)
            try:
                if not path.parent.resolve().is_relative_to(base.resolve()):
                    continue  # a folder symbolic link leading out of the bucket: nothing of the bucket there
                if path.is_symlink() or path.is_file():
                    path.unlink()
            except (FileNotFoundError, NotADirectoryError):
                continue
            _remove_empty_folders(path.parent, base)
        sync_folder(bucket_dir)

    def copy_to_temp(self, source: Path) -> tuple[Path, str]:
        """A copy of `source` in .incoming and its MD5 (hex)."""
        tmp = self.temp_path()
        digest = hashlib.md5(usedforsecurity=False)
        try:
            with source.open("rb") as reader, tmp.open("xb") as writer:
                for chunk in iter(lambda: reader.read(COPY_CHUNK_BYTES), b""):
                    digest.update(chunk)
                    writer.write(chunk)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        return tmp, digest.hexdigest()

    def _folder_for(self, base: Path, key: str, segments: list[str]) -> Path:
        """The folder of key's file under `base`, made (and fsynced) when missing; InvalidArgument when a
        key's folder is another object's file or would lead out of `base` through a symbolic link."""
        folder = base.joinpath(*segments[:-1])
        missing = []
        probe = folder
        while not probe.is_dir() and probe != base.parent:
            missing.append(probe)
            probe = probe.parent
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except (FileExistsError, NotADirectoryError):
            raise _conflict(key, "/".join(segments[:-1])) from None
        if not folder.resolve().is_relative_to(base.resolve()):
            raise invalid_argument("key", key, "The key's folder leads out of its bucket.")
        for created in reversed(missing):
            sync_folder(created.parent)
        return folder


def _conflict(key: str, other: str) -> S3Error:
    return invalid_argument(
        "key",
        key,
        f"crowdloop's object store keeps each key as a file: '{key}' cannot be stored beside '{other}' "
        "(one key may not be another's folder).",
    )


def _remove_empty_folders(folder: Path, base: Path) -> None:
    while folder != base and folder.is_relative_to(base):
        with contextlib.suppress(OSError):  # not empty, or already gone: stop there
            folder.rmdir()
            folder = folder.parent
            continue
        return
