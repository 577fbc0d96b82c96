"""S3 multipart uploads: CreateMultipartUpload, UploadPart, CompleteMultipartUpload, AbortMultipartUpload,
ListParts, ListMultipartUploads. Blocking: run in a worker thread.

An upload lives in <output>/.s3-uploads/<UploadId>/ (upload.json: bucket, key, the object's metadata and
checksum algorithm; `<n>.part` and `<n>.json` per part, each written durably), outside every bucket, so no
listing shows it. Completing checks the part list as S3 does (ascending part numbers: InvalidPartOrder;
every part uploaded with that ETag and checksum: InvalidPart; every part but the last at least 5 MiB:
EntityTooSmall), joins the parts into the object and removes the upload. The object's ETag is S3's
`<MD5 of the parts' MD5s>-<number of parts>`; its checksum is COMPOSITE (the checksum of the parts'
checksums, `-<n>` appended) or, for CRC32 asked with `x-amz-checksum-type: FULL_OBJECT`, the whole
object's CRC32. Uploads are never expired by the server: abort the ones you give up.
"""

from __future__ import annotations

import base64
import hashlib
import itertools
import json
import re
import secrets
import shutil
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

from crowdloop.aws import s3xml, wire
from crowdloop.aws.s3body import Received, new_digest
from crowdloop.aws.s3errors import (
    S3Error,
    invalid_argument,
    invalid_request,
    malformed_xml,
    no_such_upload,
    not_implemented,
)
from crowdloop.aws.s3names import key_segments
from crowdloop.aws.s3store import UPLOADS, ObjectMeta, ObjectStore
from crowdloop.aws.s3write import checksum_headers, meta_from_request, refuse_unsupported
from crowdloop.blobs import replace_durably, sync_folder

Headers = list[tuple[bytes, bytes]]

MIN_PART_BYTES = 5 * 1024 * 1024
MAX_PARTS = 10000
MAX_LISTED = 1000
_UPLOAD_ID = re.compile(r"[A-Za-z0-9_-]{16,128}")
_ALGORITHMS = ("CRC32", "SHA1", "SHA256")


def create_multipart_upload(
    store: ObjectStore, request: wire.Request, bucket: str, key: str, headers: Headers
) -> wire.Response:
    key_segments(key)
    store.bucket_dir(bucket)
    refuse_unsupported(request)
    algorithm = request.header("x-amz-checksum-algorithm").upper()
    if algorithm in ("CRC32C", "CRC64NVME"):
        raise not_implemented(f"the {algorithm} checksum (crowdloop verifies CRC32, SHA1 and SHA256)")
    if algorithm and algorithm not in _ALGORITHMS:
        raise invalid_request(
            "Checksum algorithm provided is unsupported. Please try again with any of the valid types"
        )
    checksum_type = request.header("x-amz-checksum-type").upper() or ("COMPOSITE" if algorithm else "")
    if checksum_type not in ("", "COMPOSITE", "FULL_OBJECT") or (checksum_type and not algorithm):
        raise invalid_request("Value for x-amz-checksum-type header is invalid.")
    if checksum_type == "FULL_OBJECT" and algorithm != "CRC32":
        raise invalid_request(
            f"The FULL_OBJECT checksum type cannot be used with the {algorithm.lower()} checksum algorithm."
        )
    meta = meta_from_request(request, "")
    meta.checksum_algorithm, meta.checksum_type = algorithm, checksum_type
    upload_id = secrets.token_urlsafe(48)
    folder = store.root / UPLOADS / upload_id
    folder.mkdir(parents=True)
    sync_folder(folder.parent)
    record = {"bucket": bucket, "key": key, "initiated": time.time(), "meta": asdict(meta)}
    _write_json(store, folder / "upload.json", record)
    result = (
        f'<InitiateMultipartUploadResult xmlns="{s3xml.XMLNS}"><Bucket>{s3xml.text(bucket)}</Bucket>'
        f"<Key>{s3xml.text(key)}</Key><UploadId>{upload_id}</UploadId></InitiateMultipartUploadResult>"
    )
    extra = [(b"x-amz-checksum-algorithm", algorithm.encode()), (b"x-amz-checksum-type", checksum_type.encode())]
    return s3xml.response(200, [*headers, *(extra if algorithm else [])], result)


def check_part(store: ObjectStore, bucket: str, key: str, params: dict[str, str]) -> None:
    """UploadPart's part number and upload, checked before its body is read."""
    _part_number(params.get("partNumber", ""))
    _upload(store, params.get("uploadId", ""), bucket, key)


def upload_part(
    store: ObjectStore,
    request: wire.Request,
    bucket: str,
    key: str,
    params: dict[str, str],
    received: Received,
    headers: Headers,
) -> wire.Response:
    number = _part_number(params.get("partNumber", ""))
    folder, upload = _upload(store, params["uploadId"], bucket, key)
    expected = upload["meta"]["checksum_algorithm"]
    if expected and received.checksum_algorithm != expected:
        raise invalid_request(
            "Checksum Type mismatch occurred, expected checksum Type: "
            f"{expected.lower()}, actual checksum Type: {received.checksum_algorithm.lower() or 'null'}"
        )
    record = {"etag": received.md5, "size": received.size, "checksum": received.checksum if expected else ""}
    _write_json(store, folder / f"{number}.json", record)
    replace_durably(received.path, folder / f"{number}.part")
    found = [(b"etag", f'"{received.md5}"'.encode())]
    if received.checksum:
        found.append((f"x-amz-checksum-{received.checksum_algorithm.lower()}".encode(), received.checksum.encode()))
    return wire.Response(200, [*headers, *found])


def complete_multipart_upload(
    store: ObjectStore, request: wire.Request, bucket: str, key: str, upload_id: str, headers: Headers
) -> wire.Response:
    segments = key_segments(key)
    folder, upload = _upload(store, upload_id, bucket, key)
    meta = ObjectMeta.from_json(upload["meta"])
    document = s3xml.parse(request.body, "CompleteMultipartUpload")
    listed = [_listed_part(part) for part in document.findall("Part")]
    if not listed:
        raise malformed_xml()
    numbers = [number for number, _, _ in listed]
    if any(b <= a for a, b in itertools.pairwise(numbers)):
        raise S3Error(
            "InvalidPartOrder",
            400,
            "The list of parts was not in ascending order. Parts must be ordered by part number.",
            UploadId=upload_id,
        )
    parts = []
    for index, (number, etag, checksums) in enumerate(listed):
        stored = _read_part(folder, number)
        sent_checksum = checksums.get(meta.checksum_algorithm) if meta.checksum_algorithm else None
        if stored is None or stored["etag"] != etag or (sent_checksum and sent_checksum != stored["checksum"]):
            raise S3Error(
                "InvalidPart",
                400,
                "One or more of the specified parts could not be found.  The part may not have been uploaded, "
                "or the specified entity tag may not match the part's entity tag.",
                UploadId=upload_id,
                PartNumber=str(number),
                ETag=etag,
            )
        if index < len(listed) - 1 and stored["size"] < MIN_PART_BYTES:
            raise S3Error(
                "EntityTooSmall",
                400,
                "Your proposed upload is smaller than the minimum allowed object size.",
                ProposedSize=str(stored["size"]),
                MinSizeAllowed=str(MIN_PART_BYTES),
                PartNumber=str(number),
                ETag=etag,
            )
        parts.append((number, stored))
    tmp, full_checksum = _join(store, folder, [number for number, _ in parts], meta)
    try:
        md5s = b"".join(bytes.fromhex(stored["etag"]) for _, stored in parts)
        meta.etag = f"{hashlib.md5(md5s, usedforsecurity=False).hexdigest()}-{len(parts)}"
        if meta.checksum_type == "FULL_OBJECT":
            meta.checksum = full_checksum
            declared = request.header(f"x-amz-checksum-{meta.checksum_algorithm.lower()}")
            if declared and declared != full_checksum:
                raise S3Error(
                    "BadDigest",
                    400,
                    f"The {meta.checksum_algorithm} you specified did not match the calculated checksum.",
                )
        elif meta.checksum_type == "COMPOSITE":
            composite = new_digest(meta.checksum_algorithm.lower())
            for _, stored in parts:
                composite.update(base64.b64decode(stored["checksum"]))
            meta.checksum = f"{base64.b64encode(composite.digest()).decode()}-{len(parts)}"
        store.put(bucket, key, segments, tmp, meta)
    finally:
        tmp.unlink(missing_ok=True)
    shutil.rmtree(folder, ignore_errors=True)
    checksum = ""
    if meta.checksum:
        name = f"Checksum{meta.checksum_algorithm}"
        checksum = f"<{name}>{meta.checksum}</{name}><ChecksumType>{meta.checksum_type}</ChecksumType>"
    result = (
        f'<CompleteMultipartUploadResult xmlns="{s3xml.XMLNS}"><Location>/{s3xml.text(bucket)}/{s3xml.text(key)}'
        f"</Location><Bucket>{s3xml.text(bucket)}</Bucket><Key>{s3xml.text(key)}</Key>"
        f"<ETag>&quot;{meta.etag}&quot;</ETag>{checksum}</CompleteMultipartUploadResult>"
    )
    return s3xml.response(200, [*headers, *checksum_headers(meta)], result)


def abort_multipart_upload(
    store: ObjectStore, bucket: str, key: str, upload_id: str, headers: Headers
) -> wire.Response:
    folder, _ = _upload(store, upload_id, bucket, key)
    shutil.rmtree(folder)
    return wire.Response(204, headers)


def list_parts(store: ObjectStore, bucket: str, key: str, params: dict[str, str], headers: Headers) -> wire.Response:
    upload_id = params["uploadId"]
    folder, upload = _upload(store, upload_id, bucket, key)
    marker = _integer(params.get("part-number-marker", "0"), "part-number-marker")
    max_parts = min(_integer(params.get("max-parts", str(MAX_LISTED)), "max-parts"), MAX_LISTED)
    numbers = sorted(int(p.stem) for p in folder.glob("*.part") if p.stem.isdigit() and int(p.stem) > marker)
    page, truncated = numbers[:max_parts], len(numbers) > max_parts
    algorithm = upload["meta"]["checksum_algorithm"]
    items = []
    for number in page:
        stored = _read_part(folder, number)
        if stored is None:
            continue
        checksum = f"<Checksum{algorithm}>{stored['checksum']}</Checksum{algorithm}>" if stored["checksum"] else ""
        modified = (folder / f"{number}.part").stat().st_mtime
        items.append(
            f"<Part><PartNumber>{number}</PartNumber><LastModified>{s3xml.iso(modified)}</LastModified>"
            f"<ETag>&quot;{stored['etag']}&quot;</ETag><Size>{stored['size']}</Size>{checksum}</Part>"
        )
    next_marker = f"<NextPartNumberMarker>{page[-1]}</NextPartNumberMarker>" if page else ""
    result = (
        f'<ListPartsResult xmlns="{s3xml.XMLNS}"><Bucket>{s3xml.text(bucket)}</Bucket><Key>{s3xml.text(key)}</Key>'
        f"<UploadId>{upload_id}</UploadId><PartNumberMarker>{marker}</PartNumberMarker>{next_marker}"
        f"<MaxParts>{max_parts}</MaxParts><IsTruncated>{'true' if truncated else 'false'}</IsTruncated>"
        f"<StorageClass>STANDARD</StorageClass>{''.join(items)}</ListPartsResult>"
    )
    return s3xml.response(200, headers, result)


def list_multipart_uploads(store: ObjectStore, bucket: str, params: dict[str, str], headers: Headers) -> wire.Response:
    """The bucket's uploads under `prefix`, oldest key first (the first 1000; no markers)."""
    store.bucket_dir(bucket)
    prefix = params.get("prefix", "")
    found = []
    root = store.root / UPLOADS
    for folder in root.iterdir() if root.is_dir() else []:
        record = _read_json(folder / "upload.json")
        if record is not None and record["bucket"] == bucket and record["key"].startswith(prefix):
            found.append((record["key"], record["initiated"], folder.name))
    found.sort()
    items = [
        f"<Upload><Key>{s3xml.text(key)}</Key><UploadId>{upload_id}</UploadId>"
        f"<Initiated>{s3xml.iso(initiated)}</Initiated><StorageClass>STANDARD</StorageClass></Upload>"
        for key, initiated, upload_id in found[:MAX_LISTED]
    ]
    result = (
        f'<ListMultipartUploadsResult xmlns="{s3xml.XMLNS}"><Bucket>{s3xml.text(bucket)}</Bucket>'
        f"<KeyMarker></KeyMarker><UploadIdMarker></UploadIdMarker><Prefix>{s3xml.text(prefix)}</Prefix>"
        f"<MaxUploads>{MAX_LISTED}</MaxUploads>"
        f"<IsTruncated>{'true' if len(found) > MAX_LISTED else 'false'}</IsTruncated>{''.join(items)}"
        "</ListMultipartUploadsResult>"
    )
    return s3xml.response(200, headers, result)


# --- helpers ---------------------------------------------------------------------------------------


def _upload(store: ObjectStore, upload_id: str, bucket: str, key: str) -> tuple[Path, dict[str, Any]]:
    """The upload's folder and record; NoSuchUpload unless it is an upload of bucket/key."""
    if not _UPLOAD_ID.fullmatch(upload_id):
        raise no_such_upload(upload_id)
    store.bucket_dir(bucket)
    folder = store.root / UPLOADS / upload_id
    record = _read_json(folder / "upload.json")
    if record is None or record.get("bucket") != bucket or record.get("key") != key:
        raise no_such_upload(upload_id)
    return folder, record


def _listed_part(part: Any) -> tuple[int, str, dict[str, str]]:
    number_text = s3xml.child_text(part, "PartNumber")
    etag = s3xml.child_text(part, "ETag")
    if number_text is None or etag is None or not number_text.strip().isdigit():
        raise malformed_xml()
    checksums = {}
    for algorithm in _ALGORITHMS:
        value = s3xml.child_text(part, f"Checksum{algorithm}")
        if value is not None:
            checksums[algorithm] = value.strip()
    return int(number_text), etag.strip().strip('"'), checksums


def _part_number(text: str) -> int:
    if not text.isdigit() or not 1 <= int(text) <= MAX_PARTS:
        raise invalid_argument(
            "partNumber", text, f"Part number must be an integer between 1 and {MAX_PARTS}, inclusive"
        )
    return int(text)


def _integer(text: str, name: str) -> int:
    if not text.isdigit():
        raise invalid_argument(name, text, f"Provided {name} not an integer or within integer range")
    return int(text)


def _read_part(folder: Path, number: int) -> dict[str, Any] | None:
    record = _read_json(folder / f"{number}.json")
    if record is None or not (folder / f"{number}.part").is_file():
        return None
    return record


def _read_json(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_bytes())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _write_json(store: ObjectStore, path: Path, record: dict[str, Any]) -> None:
    tmp = store.temp_path()
    try:
        tmp.write_bytes(json.dumps(record).encode())
        replace_durably(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def _join(store: ObjectStore, folder: Path, numbers: list[int], meta: ObjectMeta) -> tuple[Path, str]:
    """The parts joined in a temporary file, and its whole CRC32 (base64) when the upload wants it."""
    crc = new_digest("crc32") if meta.checksum_type == "FULL_OBJECT" else None
    tmp = store.temp_path()
    try:
        with tmp.open("xb") as writer:
            for number in numbers:
                with (folder / f"{number}.part").open("rb") as reader:
                    while chunk := reader.read(1024 * 1024):
                        if crc is not None:
                            crc.update(chunk)
                        writer.write(chunk)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return tmp, base64.b64encode(crc.digest()).decode() if crc is not None else ""
