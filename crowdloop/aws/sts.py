"""STS GetCallerIdentity (query protocol) so `boto3.client("sts").get_caller_identity()` works.

The caller is the account that owns the access key; it is reported as that account's root principal
(`arn:aws:iam::<account>:root`, UserId = the account id), which is what AWS answers for root keys.
"""

from __future__ import annotations

import logging

from crowdloop import errors as domain
from crowdloop.aws import wire
from crowdloop.aws.errors import WireError, retry_after
from crowdloop.runtime import Caller

log = logging.getLogger("crowdloop.aws")

XMLNS = "https://sts.amazonaws.com/doc/2011-06-15/"
VERSION = "2011-06-15"


class StsError(Exception):
    def __init__(self, code: str, status: int, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.status = status
        self.message = message


def parameters(request: wire.Request) -> dict[str, str]:
    """Query-string and form-body parameters (the body wins)."""
    params = dict(request.query_pairs())
    if request.body:
        try:
            text = request.body.decode()
        except UnicodeDecodeError:
            raise StsError("MalformedInput", 400, "The request body is not UTF-8 form data.") from None
        params.update(wire.parse_query(text.replace("+", "%20")))
    return params


def handle(request: wire.Request, caller: Caller, request_id: bytes) -> wire.Response:
    action = parameters(request).get("Action", "")
    if action != "GetCallerIdentity":
        raise StsError("InvalidAction", 400, f"Could not find operation {action} for version {VERSION}")
    account = wire.xml_text(caller.account)
    body = (
        f'<GetCallerIdentityResponse xmlns="{XMLNS}"><GetCallerIdentityResult>'
        f"<Arn>arn:aws:iam::{account}:root</Arn><UserId>{account}</UserId><Account>{account}</Account>"
        f"</GetCallerIdentityResult><ResponseMetadata><RequestId>{request_id.decode()}</RequestId>"
        "</ResponseMetadata></GetCallerIdentityResponse>"
    )
    return _xml(200, request_id, body)


def error_response(exc: BaseException, request_id: bytes) -> wire.Response:
    error = _sts_error(exc)
    kind = "Receiver" if error.status >= 500 else "Sender"
    body = (
        f'<ErrorResponse xmlns="{XMLNS}"><Error><Type>{kind}</Type><Code>{error.code}</Code>'
        f"<Message>{wire.xml_text(error.message)}</Message></Error><RequestId>{request_id.decode()}</RequestId>"
        "</ErrorResponse>"
    )
    return _xml(error.status, request_id, body, retry_after(exc))


def _sts_error(exc: BaseException) -> StsError:
    if isinstance(exc, StsError):
        return exc
    if isinstance(exc, domain.MissingAuthentication):
        return StsError("MissingAuthenticationToken", 403, "Request is missing Authentication Token")
    if isinstance(exc, domain.UnknownAccessKey):
        return StsError("InvalidClientTokenId", 403, "The security token included in the request is invalid.")
    if isinstance(exc, domain.IncompleteSignature):
        return StsError("IncompleteSignature", 403, exc.message)
    if isinstance(exc, domain.AuthFailure):  # bad or expired signature
        return StsError("SignatureDoesNotMatch", 403, exc.message)
    if isinstance(exc, WireError):
        if exc.status in (403, 421):  # refused before reading the request (crowdloop.aws.unsigned)
            return StsError(exc.code.removesuffix("Exception"), exc.status, exc.message)
        return StsError("ValidationError", 400, exc.message)
    if isinstance(exc, domain.Unavailable):
        return StsError("ServiceUnavailable", 503, exc.message)
    log.error("internal error in STS request", exc_info=exc)
    return StsError("InternalFailure", 500, "An internal error occurred. Try again.")


def _xml(
    status: int, request_id: bytes, body: str, extra_headers: list[tuple[bytes, bytes]] | None = None
) -> wire.Response:
    return wire.Response(
        status,
        [(b"content-type", b"text/xml"), (b"x-amzn-requestid", request_id), *(extra_headers or [])],
        body.encode(),
    )
