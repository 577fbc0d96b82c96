"""Domain error -> AWS error code and HTTP status, per protocol, and the JSON error bodies.

    crowdloop.errors.CrowdloopError   (domain; see that module)      -> table below
    crowdloop.errors.Unavailable      (an outage)                    -> ServiceUnavailable 503 + Retry-After
    WireError                          (protocol-level, this package) -> its own code and status
    anything else                      -> InternalFailure / InternalServerException 500, logged

WireError is only for failures that happen before a handler runs (unknown operation, unreadable body,
body too large); the domain never sees it. S3 and STS render their own XML errors (s3.py, sts.py) but
take the code for authentication failures from AUTH_CODES here.
"""

from __future__ import annotations

import logging

import orjson

from crowdloop import errors as domain

log = logging.getLogger("crowdloop.aws")

SAGEMAKER_JSON = b"application/x-amz-json-1.1"
A2I_JSON = b"application/json"


class WireError(Exception):
    def __init__(self, code: str, status: int, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.status = status
        self.message = message


# (code, status) for the SageMaker awsJson1_1 API. Modeled codes have no "Exception" suffix.
_SAGEMAKER: dict[type[domain.CrowdloopError], tuple[str, int]] = {
    domain.InvalidInput: ("ValidationException", 400),
    domain.NotFound: ("ResourceNotFound", 400),
    domain.AlreadyExists: ("ResourceInUse", 400),
    domain.InUse: ("ResourceInUse", 400),
    domain.Conflict: ("ConflictException", 400),
    domain.LimitExceeded: ("ResourceLimitExceeded", 400),
    domain.QuotaExceeded: ("ResourceLimitExceeded", 400),
    domain.TaskUnavailable: ("ValidationException", 400),
    domain.Unavailable: ("ServiceUnavailable", 503),
}

# (code, status) for the A2I runtime restJson1 API: real statuses, 402 for quota.
_A2I: dict[type[domain.CrowdloopError], tuple[str, int]] = {
    domain.InvalidInput: ("ValidationException", 400),
    domain.NotFound: ("ResourceNotFoundException", 404),
    domain.AlreadyExists: ("ConflictException", 409),
    domain.Conflict: ("ConflictException", 409),
    domain.QuotaExceeded: ("ServiceQuotaExceededException", 402),
    domain.LimitExceeded: ("ServiceQuotaExceededException", 402),
    domain.InUse: ("ValidationException", 400),
    domain.TaskUnavailable: ("ValidationException", 400),
    domain.Unavailable: ("ServiceUnavailable", 503),
}

# Authentication failures are the same for both JSON APIs (403, never retried by botocore).
AUTH_CODES: dict[type[domain.AuthFailure], str] = {
    domain.MissingAuthentication: "MissingAuthenticationTokenException",
    domain.UnknownAccessKey: "UnrecognizedClientException",
    domain.IncompleteSignature: "IncompleteSignatureException",  # before its parent BadSignature
    domain.BadSignature: "InvalidSignatureException",
    domain.SignatureExpired: "InvalidSignatureException",
}

# SageMaker answers "not found" for these kinds with ValidationException (Terraform matches the text).
# So does Ground Truth for a labeling job (the AWS-written Kubernetes controller keys on it; spec §11.1).
_VALIDATION_NOT_FOUND_KINDS = frozenset({"workteam", "workforce", "labeling job"})


def sagemaker_code(exc: BaseException) -> tuple[str, int, str]:
    """(code, HTTP status, message) for an exception escaping a SageMaker request."""
    if isinstance(exc, WireError):
        return exc.code, exc.status, exc.message
    if isinstance(exc, domain.NotFound) and exc.kind in _VALIDATION_NOT_FOUND_KINDS:
        return "ValidationException", 400, exc.message
    if isinstance(exc, domain.CrowdloopError):
        found = _lookup(_SAGEMAKER, exc)
        if found is not None:
            return found[0], found[1], exc.message
    log.error("internal error in SageMaker request", exc_info=exc)
    return "InternalFailure", 500, "An internal error occurred. Try again."


def a2i_code(exc: BaseException) -> tuple[str, int, str]:
    """(code, HTTP status, message) for an exception escaping an A2I runtime request."""
    if isinstance(exc, WireError):
        return exc.code, exc.status, exc.message
    if isinstance(exc, domain.CrowdloopError):
        found = _lookup(_A2I, exc)
        if found is not None:
            return found[0], found[1], exc.message
    log.error("internal error in A2I runtime request", exc_info=exc)
    return "InternalServerException", 500, "An internal error occurred. Try again."


def _lookup(
    table: dict[type[domain.CrowdloopError], tuple[str, int]], exc: domain.CrowdloopError
) -> tuple[str, int] | None:
    if isinstance(exc, domain.AuthFailure):
        for auth_class, code in AUTH_CODES.items():
            if isinstance(exc, auth_class):
                return code, 403
        return "UnrecognizedClientException", 403
    for cls, found in table.items():
        if isinstance(exc, cls):
            return found
    return None


def retry_after(exc: BaseException) -> list[tuple[bytes, bytes]]:
    """The Retry-After header for an outage (botocore retries any 503 by itself), else nothing."""
    if isinstance(exc, domain.Unavailable):
        return [(b"retry-after", str(exc.retry_after_seconds).encode())]
    return []


def sagemaker_error(exc: BaseException, request_id: bytes) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
    """awsJson1_1 error reply: botocore reads the code only from the body `__type`."""
    code, status, message = sagemaker_code(exc)
    body = orjson.dumps({"__type": code, "message": message, "Message": message})
    return status, [(b"content-type", SAGEMAKER_JSON), (b"x-amzn-requestid", request_id), *retry_after(exc)], body


def a2i_error(exc: BaseException, request_id: bytes) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
    """restJson1 error reply: code in the x-amzn-ErrorType header and in the body."""
    code, status, message = a2i_code(exc)
    body = orjson.dumps({"__type": code, "message": message})
    headers = [
        (b"content-type", A2I_JSON),
        (b"x-amzn-requestid", request_id),
        (b"x-amzn-errortype", code.encode()),
        *retry_after(exc),
    ]
    return status, headers, body
