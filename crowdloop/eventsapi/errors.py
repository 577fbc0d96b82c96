"""The events API's one error renderer: every failure, from any endpoint, becomes the same JSON shape.

    {"__type": "ValidationException", "message": "... names the field ...", "field": "pattern"}

    ApiError (this package)          its own status and code (CSRF refused, too many streams, ...)
    aws.errors.WireError             its status and code (auth = off: a foreign Host or Origin)
    errors.MissingAuthentication     401 MissingAuthenticationTokenException (no signature, no session)
    other errors.AuthFailure         403 with the AWS API's code (aws.errors.AUTH_CODES)
    errors.InvalidInput              400 ValidationException (+ "field")
    errors.NotFound                  404 ResourceNotFoundException
    Conflict / InUse / AlreadyExists 409 ConflictException
    LimitExceeded / QuotaExceeded    429 LimitExceededException
    errors.Unavailable               503 ServiceUnavailable + Retry-After
    bodylimit.BodyTooLarge           413 RequestEntityTooLargeException
    Starlette's HTTPException        its status (no such route 404, wrong method 405)
    anything else                    500 InternalFailure, logged, without its traceback

Every response (errors too) carries RESPONSE_HEADERS: JSON, never cached, never sniffed.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

import orjson
from starlette.exceptions import HTTPException
from starlette.responses import Response

from crowdloop import errors
from crowdloop.aws.errors import AUTH_CODES, WireError
from crowdloop.aws.wire import iso_ms
from crowdloop.bodylimit import BodyTooLarge

log = logging.getLogger("crowdloop.eventsapi")

JSON = "application/json"
MAX_BODY_BYTES = 64 * 1024  # a request body (a subscription) is far smaller; the root app stops larger ones too
RESPONSE_HEADERS = {"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"}


class ApiError(Exception):
    """An answer the events API gives on purpose (status, AWS-style code, message)."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    """`body` as JSON (times as ISO-8601 UTC with milliseconds, None kept as null) with the API's headers."""
    if status == 204:
        return Response(status_code=204, headers=RESPONSE_HEADERS)
    content = orjson.dumps(body, default=_encode, option=orjson.OPT_PASSTHROUGH_DATETIME)
    return Response(content, status_code=status, media_type=JSON, headers={**RESPONSE_HEADERS, **(headers or {})})


def _encode(value: Any) -> Any:
    if isinstance(value, datetime):  # orjson would write +00:00 and microseconds; the API writes ...123Z
        return iso_ms(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def render_error(exc: BaseException) -> Response:
    """The module's one error renderer (see the module docstring)."""
    status, code, message = describe(exc)
    body: dict[str, Any] = {"__type": code, "message": message}
    if isinstance(exc, errors.InvalidInput) and exc.field:
        body["field"] = exc.field
    headers = {"Retry-After": str(exc.retry_after_seconds)} if isinstance(exc, errors.Unavailable) else None
    if status == 401:
        headers = {"WWW-Authenticate": 'AWS4-HMAC-SHA256 realm="crowdloop"'}
    return json_response(body, status, headers)


def describe(exc: BaseException) -> tuple[int, str, str]:
    """(HTTP status, code, message) for an exception escaping an events API request."""
    if isinstance(exc, ApiError | WireError):
        return exc.status, exc.code, exc.message
    if isinstance(exc, errors.MissingAuthentication):
        return 401, "MissingAuthenticationTokenException", exc.message
    if isinstance(exc, errors.AuthFailure):
        code = next((code for cls, code in AUTH_CODES.items() if isinstance(exc, cls)), "UnrecognizedClientException")
        return 403, code, exc.message
    if isinstance(exc, errors.InvalidInput):
        return 400, "ValidationException", exc.message
    if isinstance(exc, errors.NotFound):
        return 404, "ResourceNotFoundException", exc.message
    if isinstance(exc, errors.Conflict | errors.InUse | errors.AlreadyExists):
        return 409, "ConflictException", exc.message
    if isinstance(exc, errors.LimitExceeded | errors.QuotaExceeded):
        return 429, "LimitExceededException", exc.message
    if isinstance(exc, errors.Unavailable):
        return 503, "ServiceUnavailable", exc.message
    if isinstance(exc, BodyTooLarge):
        return 413, "RequestEntityTooLargeException", f"The request body is larger than {MAX_BODY_BYTES} bytes."
    if isinstance(exc, HTTPException):
        if exc.status_code == 405:
            return 405, "MethodNotAllowedException", "This address does not take that method."
        return exc.status_code, "NotFoundException", "There is no events API endpoint at this address."
    log.error("internal error in the events API", exc_info=exc)
    return 500, "InternalFailure", "An internal error occurred. Try again."
