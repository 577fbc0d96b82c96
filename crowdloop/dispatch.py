"""Which part of the server answers a request, decided once: `destination(scope)` runs when the request
reaches the root app (crowdloop.app), which keeps the answer in the ASGI scope (scope[DESTINATION]); the
AWS API (crowdloop.aws.app) reads it from there instead of classifying again.

The rules, in order:
  1. on the task frame's host name (task_frame_origin) only task frames (the portal's and the console's),
     static files, signed blobs and the health check are served; anything else there   -> REFUSED (404)
  2. a path under /_crowdloop/v1/, /events/stream or /console/events/stream         -> EVENTS
     any other path under /_crowdloop/                                             -> INTERNAL
  3. credential scope names `s3` / `sts` (Authorization header or presigned X-Amz-Credential), or a
     legacy presigned URL (AWSAccessKeyId + Signature)                               -> S3 / STS
  4. `POST /` with `X-Amz-Target`                                                    -> SAGEMAKER
  5. path `/human-loops` or `/human-loops/...`                                       -> A2I
  6. any other request signed for `sagemaker`                                        -> SAGEMAKER (`/`) or A2I
  7. `POST /` with a form body, or `?Action=GetCallerIdentity`                       -> STS
     a `PUT` not signed at all (S3 answers AccessDenied; nothing else takes a PUT)   -> S3
  8. path /metrics (answered 404 by the portal when metrics_token is not set)         -> METRICS
  9. a path /console or under /console/                                             -> CONSOLE
  10. everything else                                                                -> PORTAL
"""

from __future__ import annotations

import re
from collections.abc import MutableMapping
from typing import Any
from urllib.parse import urlsplit

from crowdloop import urls
from crowdloop.aws.sigv4 import credential_service

DESTINATION = "crowdloop.destination"  # the ASGI scope key holding the decision
OPERATION = "crowdloop.operation"  # the AWS operation the API found for the request (for the metrics)

SAGEMAKER = "sagemaker"
A2I = "sagemaker-a2i-runtime"
S3 = "s3"
STS = "sts"
AWS_APIS = frozenset({SAGEMAKER, A2I, S3, STS})
INTERNAL = "internal"
EVENTS = "events"  # the events API and the live stream (crowdloop.eventsapi)
METRICS = "metrics"
PORTAL = "portal"
CONSOLE = "console"
REFUSED = "refused"

SIGNING_NAME = "sagemaker"  # both SageMaker and the A2I runtime sign as "sagemaker"

_FRAME_HOST_PATHS = re.compile(
    f"{urls.pattern(urls.TASK_FRAME)}$|{re.escape(urls.STATIC_PREFIX)}|{re.escape(urls.BLOBS_PREFIX)}"
    f"|{re.escape(urls.HEALTH)}$|{re.escape(urls.READY)}$|{re.escape(urls.CONSOLE_FRAMES_PREFIX)}"
)


def frame_host(frame_origin: str) -> bytes:
    """The Host header value of task_frame_origin, as `destination` compares it (b"" when not set)."""
    return urlsplit(frame_origin).netloc.lower().encode() if frame_origin else b""


def destination(scope: MutableMapping[str, Any], frame_host: bytes = b"") -> str:
    """Which part of the server answers this HTTP request (see the module docstring)."""
    path: str = scope["path"]
    if frame_host and _header(scope, b"host").lower() == frame_host and not _FRAME_HOST_PATHS.match(path):
        return REFUSED
    if urls.is_events_api(path):
        return EVENTS
    if path.startswith(urls.INTERNAL_PREFIX):
        return INTERNAL
    if path == urls.METRICS:
        return aws_api(scope) or METRICS
    return aws_api(scope) or (CONSOLE if urls.is_console(path) else PORTAL)


def aws_api(scope: MutableMapping[str, Any]) -> str | None:
    """Which AWS API a request is for (rules 3 to 7), or None when it is not an AWS request."""
    if scope.get("type") != "http":
        return None
    authorization = target = content_type = ""
    for name, value in scope["headers"]:
        if name == b"authorization":
            authorization = value.decode("latin-1")
        elif name == b"x-amz-target":
            target = value.decode("latin-1")
        elif name == b"content-type":
            content_type = value.decode("latin-1")
    query = scope.get("query_string", b"").decode("latin-1")
    service = credential_service(authorization, query) if (authorization or query) else None
    if service == "s3" or ("AWSAccessKeyId=" in query and "Signature=" in query):
        return S3
    if service == "sts":
        return STS
    path, method = scope["path"], scope["method"]
    if target and method == "POST" and path == "/":
        return SAGEMAKER
    if path == urls.HUMAN_LOOPS or path.startswith(urls.HUMAN_LOOPS + "/"):
        return A2I
    if service == SIGNING_NAME:
        return SAGEMAKER if path == "/" else A2I
    if path == "/" and method == "POST" and content_type.startswith("application/x-www-form-urlencoded"):
        return STS
    if "Action=GetCallerIdentity" in query:
        return STS
    if method == "PUT" and service is None:
        return S3
    return None


def _header(scope: MutableMapping[str, Any], wanted: bytes) -> bytes:
    for name, value in scope["headers"]:
        if name == wanted:
            return bytes(value)
    return b""
