"""AWS Signature Version 4 verification: Authorization header (every service) and presigned URLs (S3).

Flavours, as botocore signs them:
  * sagemaker / sts (and A2I, whose signing name is also `sagemaker`): the canonical URI is the received,
    already-encoded path encoded once more (dot segments and double slashes removed); the payload hash is
    computed here from the body.
  * s3: the canonical URI is the path exactly as received; the payload hash is the value of the
    `x-amz-content-sha256` header (`UNSIGNED-PAYLOAD` allowed). Presigned URLs carry the signature in the
    query string and always use `UNSIGNED-PAYLOAD`. Legacy SigV2 presigned URLs (`AWSAccessKeyId`,
    `Signature`, `Expires`: what boto3's `generate_presigned_url` makes for us-east-1 unless the client is
    configured with signature_version="s3v4") are accepted too; their Caller region is settings.region.

Every signature must cover `host` and whatever else routes the request (`x-amz-target` for SageMaker),
as botocore always signs them: otherwise a captured signature could be replayed as another operation or
against another host (IncompleteSignature).

crowdloop serves one account (settings.account_id): a key of any other account is refused like an unknown
key. Secrets come from crowdloop.keys; KeyCache keeps them in svc.caches[ACCESS_KEYS] (re-read after a miss
and after keys.KEY_CACHE_SECONDS, 5 s: keys added by the CLI work at once, keys deleted by it stop working
within 5 s).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, NamedTuple, Protocol, TypeVar
from urllib.parse import quote, unquote

from botocore.utils import normalize_url_path

from crowdloop import keys
from crowdloop.caches import CacheSpec
from crowdloop.clock import Clock, SystemClock
from crowdloop.errors import (
    BadSignature,
    IncompleteSignature,
    MissingAuthentication,
    SignatureExpired,
    UnknownAccessKey,
)
from crowdloop.runtime import Caller, Services

if TYPE_CHECKING:
    from crowdloop.aws.wire import Request
    from crowdloop.config import Settings

ALGORITHM = "AWS4-HMAC-SHA256"
UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD"
MAX_PRESIGN_EXPIRES = 604800
_EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()
_MISMATCH = (
    "The request signature we calculated does not match the signature you provided. Check your "
    "AWS Secret Access Key and signing method. Consult the service documentation for details."
)

T = TypeVar("T")


class RunSync(Protocol):
    """Runs a blocking callable off the event loop (a thread pool) and awaits its result."""

    def __call__(self, fn: Callable[[], T], /) -> Awaitable[T]: ...


@dataclass(frozen=True, slots=True)
class Credential:
    """What a request claims: parsed from the Authorization header or the presigned query string."""

    access_key_id: str
    date: str  # YYYYMMDD of the credential scope
    region: str
    service: str
    signed_headers: str
    signature: str
    amz_date: str  # YYYYMMDDTHHMMSSZ
    expires_seconds: int | None = None  # presigned only


class AccessKey(NamedTuple):
    secret: str
    account: str


# --- parsing ----------------------------------------------------------------------------------------


def credential_service(authorization: str, query_string: str) -> str | None:
    """The service named in the credential scope (cheap; used for routing, not for trust)."""
    if authorization.startswith(ALGORITHM):
        start = authorization.find("Credential=")
        if start >= 0:
            parts = authorization[start + 11 :].split(",", 1)[0].strip().split("/")
            return parts[3] if len(parts) == 5 else None
    if "X-Amz-Credential=" in query_string:
        start = query_string.find("X-Amz-Credential=")
        parts = unquote(query_string[start + 17 :].split("&", 1)[0]).split("/")
        return parts[3] if len(parts) == 5 else None
    return None


def credential_region(authorization: str) -> str | None:
    """The region of the Authorization header's credential scope, without verifying anything."""
    if authorization.startswith(ALGORITHM):
        start = authorization.find("Credential=")
        if start >= 0:
            parts = authorization[start + 11 :].split(",", 1)[0].strip().split("/")
            if len(parts) == 5 and parts[2]:
                return parts[2]
    return None


def is_presigned(request: Request) -> bool:
    return "X-Amz-Signature=" in request.query_string and "X-Amz-Credential=" in request.query_string


def is_presigned_v2(request: Request) -> bool:
    """A legacy (SigV2) presigned S3 URL, what boto3 still generates for us-east-1 by default."""
    query = request.query_string
    return "AWSAccessKeyId=" in query and "Signature=" in query and "Expires=" in query


# Query arguments that are part of a SigV2 canonical resource (botocore's HmacV1Auth.QSAOfInterest).
_V2_SUBRESOURCES = frozenset(
    {
        "accelerate",
        "acl",
        "cors",
        "defaultObjectAcl",
        "location",
        "logging",
        "partNumber",
        "policy",
        "requestPayment",
        "torrent",
        "versioning",
        "versionId",
        "versions",
        "website",
        "uploads",
        "uploadId",
        "response-content-type",
        "response-content-language",
        "response-expires",
        "response-cache-control",
        "response-content-disposition",
        "response-content-encoding",
        "delete",
        "lifecycle",
        "tagging",
        "restore",
        "storageClass",
        "notification",
        "replication",
        "analytics",
        "metrics",
        "inventory",
        "select",
        "select-type",
        "object-lock",
    }
)


def string_to_sign_v2(request: Request, resource: str) -> str:
    """SigV2 query-string auth: VERB, Content-MD5, Content-Type, Expires, x-amz-* params, resource."""
    params: dict[str, str] = {}
    subresources = []
    for part in request.query_string.split("&"):
        name, eq, value = part.partition("=")
        name = unquote(name)
        if name in _V2_SUBRESOURCES:
            subresources.append((name, f"{name}={unquote(value)}" if eq else name))
        else:
            params[name.lower()] = unquote(value)
    lines = [request.method, params.get("content-md5", ""), params.get("content-type", ""), params.get("expires", "")]
    lines += [f"{name}:{params[name].strip()}" for name in sorted(params) if name.startswith("x-amz-")]
    if subresources:
        subresources.sort(key=lambda item: item[0])
        resource += "?" + "&".join(text for _, text in subresources)
    return "\n".join([*lines, resource])


def parse_authorization(request: Request) -> Credential:
    header = request.header("authorization")
    if not header:
        raise MissingAuthentication("Missing Authentication Token")
    algorithm, _, rest = header.partition(" ")
    if algorithm != ALGORITHM:
        raise BadSignature(f"Unsupported authorization algorithm {algorithm!r}; use {ALGORITHM}.")
    fields: dict[str, str] = {}
    for part in rest.split(","):
        name, _, value = part.strip().partition("=")
        fields[name] = value
    try:
        scope, signed, signature = fields["Credential"], fields["SignedHeaders"], fields["Signature"]
    except KeyError as exc:
        raise BadSignature(f"Authorization header requires '{exc.args[0]}' parameter. Authorization={header}") from None
    amz_date = request.header("x-amz-date")
    if not amz_date:
        raise BadSignature("Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.")
    return _credential(scope, signed, signature, amz_date, None)


def parse_presigned(request: Request) -> Credential:
    params = dict(request.query_pairs())
    try:
        algorithm = params["X-Amz-Algorithm"]
        scope, signed = params["X-Amz-Credential"], params["X-Amz-SignedHeaders"]
        signature, amz_date = params["X-Amz-Signature"], params["X-Amz-Date"]
        expires = int(params["X-Amz-Expires"])
    except (KeyError, ValueError):
        raise BadSignature(
            "Query-string authentication requires the X-Amz-Algorithm, X-Amz-Credential, "
            "X-Amz-Signature, X-Amz-Date, X-Amz-SignedHeaders, and X-Amz-Expires "
            "parameters."
        ) from None
    if algorithm != ALGORITHM:
        raise BadSignature(f"X-Amz-Algorithm only supports '{ALGORITHM}'.")
    if not 0 < expires <= MAX_PRESIGN_EXPIRES:
        raise BadSignature(f"X-Amz-Expires must be between 1 and {MAX_PRESIGN_EXPIRES} seconds.")
    return _credential(scope, signed, signature, amz_date, expires)


def _credential(scope: str, signed: str, signature: str, amz_date: str, expires: int | None) -> Credential:
    parts = scope.split("/")
    if len(parts) != 5 or parts[4] != "aws4_request" or not all(parts[:4]):
        raise BadSignature(
            f"Credential should be scoped to a valid region, service and terminal 'aws4_request'. Credential={scope}"
        )
    akid, date, region, service, _ = parts
    if len(region) > 32:
        raise BadSignature(f"Credential should be scoped to a valid region. Credential={scope}")
    if not amz_date.startswith(date):
        raise BadSignature(
            f"Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date "
            f"from HTTP: '{date}' != '{amz_date[:8]}', from '{amz_date}'."
        )
    return Credential(akid, date, region, service, signed, signature, amz_date, expires)


def require_signed(credential: Credential, headers: tuple[str, ...]) -> None:
    """IncompleteSignature unless every header of `headers` (lower case) is in SignedHeaders."""
    signed = credential.signed_headers.split(";")
    for name in headers:
        if name not in signed:
            raise IncompleteSignature(f"'{name.title()}' must be a 'SignedHeader' in the AWS Authorization.", name)


def _parse_amz_date(text: str) -> datetime:
    try:
        if len(text) != 16 or text[8] != "T" or text[15] != "Z":
            raise ValueError(text)
        return datetime(
            int(text[0:4]),
            int(text[4:6]),
            int(text[6:8]),
            int(text[9:11]),
            int(text[11:13]),
            int(text[13:15]),
            tzinfo=UTC,
        )
    except ValueError:
        raise BadSignature(
            f"X-Amz-Date must be in the ISO8601 Long Format \"yyyyMMdd'T'HHmmss'Z'\", not '{text}'."
        ) from None


def _stamp(value: datetime) -> str:
    return value.strftime("%Y%m%dT%H%M%SZ")


# --- canonical request ------------------------------------------------------------------------------


def canonical_query(query_string: str, *, drop_signature: bool = False) -> str:
    pairs = []
    for part in query_string.split("&"):
        if not part:
            continue
        name, _, value = part.partition("=")
        name = quote(unquote(name), safe="-_.~")
        if drop_signature and name == "X-Amz-Signature":
            continue
        pairs.append((name, quote(unquote(value), safe="-_.~")))
    pairs.sort()
    return "&".join(f"{k}={v}" for k, v in pairs)


def canonical_request(request: Request, credential: Credential, payload_hash: str, *, s3: bool) -> str:
    if s3:
        uri = request.raw_path or "/"
    else:
        path = request.raw_path
        if "//" in path or "/." in path:
            path = normalize_url_path(path)
        uri = quote(path, safe="/~") or "/"
    query = canonical_query(request.query_string, drop_signature=credential.expires_seconds is not None)
    headers = request.headers
    lines = [request.method, uri, query]
    for name in credential.signed_headers.split(";"):
        lines.append(f"{name}:{' '.join(headers.get(name, '').split())}")
    lines.append("")
    lines.append(credential.signed_headers)
    lines.append(payload_hash)
    return "\n".join(lines)


class SigningKeys:
    """Derived signing keys, cached per (secret, date, region, service): four HMACs saved per request."""

    def __init__(self, max_entries: int = 4096) -> None:
        self._keys: dict[tuple[str, str, str, str], bytes] = {}
        self._max = max_entries

    def get(self, secret: str, credential: Credential) -> bytes:
        cache_key = (secret, credential.date, credential.region, credential.service)
        key = self._keys.get(cache_key)
        if key is None:
            key = ("AWS4" + secret).encode()
            for part in (credential.date, credential.region, credential.service, "aws4_request"):
                key = hmac.new(key, part.encode(), hashlib.sha256).digest()
            if len(self._keys) >= self._max:
                self._keys.clear()
            self._keys[cache_key] = key
        return key


def signature_matches(
    request: Request, credential: Credential, signing_key: bytes, payload_hash: str, *, s3: bool
) -> bool:
    creq = canonical_request(request, credential, payload_hash, s3=s3)
    string_to_sign = "\n".join(
        [
            ALGORITHM,
            credential.amz_date,
            f"{credential.date}/{credential.region}/{credential.service}/aws4_request",
            hashlib.sha256(creq.encode("latin-1")).hexdigest(),
        ]
    )
    expected = hmac.new(signing_key, string_to_sign.encode(), hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, credential.signature)


# --- access keys ---------------------------------------------------------------------------------------


ACCESS_KEYS: CacheSpec[str, AccessKey] = CacheSpec(
    "access keys",
    "time to live keys.KEY_CACHE_SECONDS: a key deleted by any process stops working within it; "
    "an unknown key is read again on every request",
    max_entries=10000,
    ttl_seconds=keys.KEY_CACHE_SECONDS,
)


class KeyCache:
    """access_key_id -> (secret, account), read from the store on a miss and after its time to live."""

    def __init__(self, services: Services) -> None:
        self._store = services.store
        self._keys = services.caches[ACCESS_KEYS]

    def cached(self, access_key_id: str) -> AccessKey | None:
        return self._keys.get(access_key_id)

    def load(self, access_key_id: str) -> AccessKey | None:
        """Read one key from the store (blocking: call from a worker thread)."""
        stored = keys.get_key(self._store, access_key_id)
        if stored is None:
            self._keys.discard(access_key_id)
            return None
        key = AccessKey(stored.secret_access_key, stored.account_id)
        self._keys.put(access_key_id, key)
        return key


# --- the whole check ---------------------------------------------------------------------------------


class Authenticator:
    """Turns a signed request into a Caller, or raises one of the AuthFailure errors."""

    def __init__(self, settings: Settings, keys: KeyCache, clock: Clock | None = None) -> None:
        self.enabled = settings.auth != "off"
        self._account = settings.account_id
        self._default_region = settings.region
        self._window = timedelta(seconds=settings.signature_window_seconds)
        self._keys = keys
        self._signing_keys = SigningKeys()
        self._clock = clock or SystemClock()

    async def authenticate(
        self,
        request: Request,
        service: str,
        run_sync: RunSync,
        *,
        s3_resource: str | None = None,
        routed_by: tuple[str, ...] = (),
    ) -> Caller:
        """`s3_resource` (S3 only) is "/bucket/key" as encoded in the request, for legacy presigned URLs;
        `routed_by` names the headers besides `host` that select the operation (they must be signed)."""
        s3 = s3_resource is not None
        presigned = s3 and is_presigned(request)
        if not self.enabled:
            return self._anonymous(request, presigned)
        if s3_resource is not None and is_presigned_v2(request):
            return await self._authenticate_v2(request, s3_resource, run_sync)
        credential = parse_presigned(request) if presigned else parse_authorization(request)
        if credential.service != service:
            raise BadSignature(f"Credential should be scoped to correct service: '{service}'. ")
        require_signed(credential, ("host", *routed_by))
        akid = credential.access_key_id
        key = await self._key(akid, run_sync)
        self._check_time(credential)
        if presigned:
            payload_hash = UNSIGNED_PAYLOAD
        elif s3 and request.header("x-amz-content-sha256"):
            payload_hash = request.header("x-amz-content-sha256")
        elif not request.body:
            payload_hash = _EMPTY_SHA256
        elif len(request.body) > 262144:
            body = request.body
            payload_hash = await run_sync(lambda: hashlib.sha256(body).hexdigest())
        else:
            payload_hash = hashlib.sha256(request.body).hexdigest()
        signing_key = self._signing_keys.get(key.secret, credential)
        if not signature_matches(request, credential, signing_key, payload_hash, s3=s3):
            raise BadSignature(_MISMATCH)
        return Caller(account=key.account, region=credential.region, access_key_id=akid)

    async def _key(self, access_key_id: str, run_sync: RunSync) -> AccessKey:
        key = self._keys.cached(access_key_id)
        if key is None:
            key = await run_sync(lambda: self._keys.load(access_key_id))
        if key is None or key.account != self._account:
            raise UnknownAccessKey("The security token included in the request is invalid.")
        return key

    async def _authenticate_v2(self, request: Request, resource: str, run_sync: RunSync) -> Caller:
        params = dict(request.query_pairs())
        try:
            akid, signature, expires = params["AWSAccessKeyId"], params["Signature"], int(params["Expires"])
        except (KeyError, ValueError):
            raise BadSignature(
                "Query-string authentication requires the Signature, Expires and AWSAccessKeyId parameters"
            ) from None
        key = await self._key(akid, run_sync)
        if self._clock.now().timestamp() > expires:
            raise SignatureExpired("Request has expired")
        string_to_sign = string_to_sign_v2(request, resource).encode()
        digest = hmac.new(key.secret.encode(), string_to_sign, hashlib.sha1).digest()
        expected = base64.b64encode(digest).decode()
        if not hmac.compare_digest(expected, signature):
            raise BadSignature(_MISMATCH)
        return Caller(account=key.account, region=self._default_region, access_key_id=akid)

    def _anonymous(self, request: Request, presigned: bool) -> Caller:
        """auth = off: trust whatever the request says; account from settings."""
        region, akid = None, ""
        scope = ""
        if presigned:
            scope = dict(request.query_pairs()).get("X-Amz-Credential", "")
        elif is_presigned_v2(request):
            akid = dict(request.query_pairs()).get("AWSAccessKeyId", "")
        elif request.header("authorization").startswith(ALGORITHM):
            header = request.header("authorization")
            start = header.find("Credential=")
            scope = header[start + 11 :].split(",", 1)[0].strip() if start >= 0 else ""
        parts = scope.split("/")
        if len(parts) == 5:
            akid, region = parts[0], parts[2] or None
        return Caller(account=self._account, region=region or self._default_region, access_key_id=akid)

    def _check_time(self, credential: Credential) -> None:
        signed_at = _parse_amz_date(credential.amz_date)
        now = self._clock.now()
        if credential.expires_seconds is not None:  # presigned URL
            if now > signed_at + timedelta(seconds=credential.expires_seconds):
                raise SignatureExpired("Request has expired")
            if signed_at > now + self._window:
                raise SignatureExpired("Request is not yet valid")
            return
        minutes = int(self._window.total_seconds() // 60)
        if signed_at < now - self._window:
            raise SignatureExpired(
                f"Signature expired: {credential.amz_date} is now earlier than "
                f"{_stamp(now - self._window)} ({_stamp(now)} - {minutes} min.)"
            )
        if signed_at > now + self._window:
            raise SignatureExpired(
                f"Signature not yet current: {credential.amz_date} is still later than "
                f"{_stamp(now + self._window)} ({_stamp(now)} + {minutes} min.)"
            )
