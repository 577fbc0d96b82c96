"""The one domain error tree. Domain code raises these; the web layers map them to wire errors.

    CrowdloopError
    ├── InvalidInput        a request value is wrong (field names the lowerCamelCase member path)
    ├── NotFound            the named resource does not exist (kind says which resource)
    ├── AlreadyExists       a resource with that name exists already
    ├── InUse               the resource is in a state that forbids the operation
    ├── Conflict            same name, different content (idempotency clash)
    ├── LimitExceeded       a per-account resource limit (e.g. one workforce per region)
    ├── QuotaExceeded       a usage quota (e.g. concurrent human loops)
    ├── TaskUnavailable     the task/lease a worker refers to is gone, expired or not theirs
    ├── Unavailable         the store or the object store cannot serve right now (disk full, database
    │                       down or overloaded): retry the same request later
    ├── StoreNotReady       a command that never creates a store found none, or one not yet migrated
    ├── LambdaFailed        a labeling job's pre-/post-annotation Lambda could not be run or answered
    │                       wrongly (the message is the job's FailureReason: "ClientError: ...")
    └── AuthFailure         the caller could not be authenticated
        ├── MissingAuthentication
        ├── UnknownAccessKey
        ├── BadSignature
        │   └── IncompleteSignature   a header that routes the request is not covered by the signature
        └── SignatureExpired

No class here knows about HTTP or AWS error codes.
"""

from __future__ import annotations


class CrowdloopError(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidInput(CrowdloopError):
    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class NotFound(CrowdloopError):
    def __init__(self, kind: str, name: str, message: str | None = None) -> None:
        super().__init__(message or f"Could not find {kind} '{name}'.")
        self.kind = kind
        self.name = name


class AlreadyExists(CrowdloopError):
    def __init__(self, kind: str, name: str, message: str | None = None) -> None:
        super().__init__(message or f"Cannot create {kind} '{name}': a resource with that name exists already.")
        self.kind = kind
        self.name = name


class InUse(CrowdloopError):
    pass


class Conflict(CrowdloopError):
    pass


class LimitExceeded(CrowdloopError):
    pass


class QuotaExceeded(CrowdloopError):
    pass


class TaskUnavailable(CrowdloopError):
    """reason is one of: 'expired', 'gone', 'not-yours'."""

    def __init__(self, message: str, reason: str = "gone") -> None:
        super().__init__(message)
        self.reason = reason


class Unavailable(CrowdloopError):
    """An outage, not a fault of the request: retry after retry_after_seconds."""

    def __init__(
        self, message: str = "The service is temporarily unavailable. Try again shortly.", retry_after_seconds: int = 5
    ) -> None:
        super().__init__(message)
        self.retry_after_seconds = retry_after_seconds


class StoreNotReady(CrowdloopError):
    """reason: 'missing' (no store there), 'outdated' (behind the newest migration), 'newer' (migrated by a
    newer crowdloop) or 'unreachable' (the database could not be opened). where: the file or masked URL."""

    def __init__(self, message: str, reason: str, where: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.where = where


class LambdaFailed(CrowdloopError):
    """A Ground Truth Lambda (crowdloop.labeling.lambdas) failed; `arn` names it ("" when unknown)."""

    def __init__(self, message: str, arn: str = "") -> None:
        super().__init__(message)
        self.arn = arn


class AuthFailure(CrowdloopError):
    pass


class MissingAuthentication(AuthFailure):
    pass


class UnknownAccessKey(AuthFailure):
    pass


class BadSignature(AuthFailure):
    pass


class IncompleteSignature(BadSignature):
    """`header` (lower case) is sent or needed but missing from SignedHeaders."""

    def __init__(self, message: str, header: str) -> None:
        super().__init__(message)
        self.header = header


class SignatureExpired(AuthFailure):
    pass
