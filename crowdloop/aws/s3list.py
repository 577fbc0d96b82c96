"""ListObjectsV2 and ListObjects over a bucket's folder (crowdloop.aws.s3 routes them here).

Listing with delimiter "/" reads one directory; other delimiters walk the tree under the prefix. With
delimiter "/" and StartAfter inside a common prefix, that prefix is returned (S3 would check that a later
key exists under it). Files being written (`.tmp-*.part`) and folders without files are never listed.
"""

from __future__ import annotations

import base64
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import quote

from crowdloop.aws import wire
from crowdloop.aws.s3errors import S3Error
from crowdloop.aws.s3names import is_temporary
from crowdloop.aws.s3store import ObjectStore
from crowdloop.aws.s3xml import XMLNS, iso
from crowdloop.aws.s3xml import response as _xml

MAX_KEYS = 1000
EtagOf = Callable[[Path, os.stat_result], str]


def list_objects(
    store: ObjectStore, etag_of: EtagOf, bucket: str, params: dict[str, str], headers: list[tuple[bytes, bytes]]
) -> wire.Response:
    """ListObjectsV2 (`list-type=2`) or ListObjects of the bucket's folder."""
    bucket_dir = store.bucket_dir(bucket)
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
    items = _entries(bucket_dir, prefix, delimiter, start_after)
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
        meta = store.read_meta(bucket, name.split("/"), stat)
        etag = meta.etag if meta is not None else etag_of(path, stat)
        parts.append(
            f"<Contents><Key>{enc(name)}</Key><LastModified>{iso(stat.st_mtime)}</LastModified>"
            f"<ETag>&quot;{etag}&quot;</ETag><Size>{stat.st_size}</Size>"
            "<StorageClass>STANDARD</StorageClass></Contents>"
        )
    parts.append("</ListBucketResult>")
    return _xml(200, headers, "".join(parts))


def _entries(bucket_dir: Path, prefix: str, delimiter: str, start_after: str) -> list[tuple[str, Path | None]]:
    """Sorted (key, file) and (common prefix, None) entries after `start_after`."""
    base = prefix[: prefix.rfind("/") + 1]
    directory = _safe_dir(bucket_dir, base)
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


def _safe_dir(bucket_dir: Path, base: str) -> Path | None:
    if not base:
        return bucket_dir
    segments = base[:-1].split("/")
    if any(s in ("", ".", "..") or "\0" in s for s in segments):
        return None
    directory = bucket_dir.joinpath(*segments)
    if not _is_dir(directory) or directory.is_symlink():
        return None
    return directory


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
