"""Running a labeling job's custom pre-/post-annotation Lambdas here (spec ground-truth-api.md §7).

A job names its Lambdas by ARN; the operator maps each ARN (exactly, or by a pattern with `*`) to a target
in the `labeling_lambdas` setting:

* `python:package.module:function` — a callable in this process, imported on first use and kept; it gets
  a copy of the event and returns the response (anything JSON can carry);
* `http://…` or `https://…` — the event is POSTed as JSON; a 2xx answer's body is the JSON response.

The built-in `PRE-*`/`ACS-*` functions never come here (they run in-process by task type).

What an invocation guarantees (AWS documents none of it, §16; these are our choices, docs/api.md):

* one deadline per HTTP attempt, `timeout_seconds`, for connecting, sending and the whole answer; redirects
  are never followed (a 3xx is a failure); at most `MAX_RESPONSE_BYTES` (6 MiB, Lambda's own limit for a
  synchronous response) are read;
* `attempts` tries in all, with short doubling waits, for what may pass: a timeout, a connection error,
  HTTP 5xx or 429. Never again: an unmapped ARN, a target that cannot be imported, HTTP 3xx/4xx, a body
  that is not JSON, a callable that raised (its code ran; a Lambda function error is not retried by a
  synchronous invoke either). A python target has no deadline: it is the operator's own code, in-process;
* every failure is a `LambdaFailed` whose message, "ClientError: …" naming the ARN, is fit for a job's
  FailureReason (at most 1,024 characters).

Messages show a URL without its query string, which may hold a token (FailureReason is visible to API
callers). The webhook SSRF rules (crowdloop.webhook_targets) do not apply: these URLs come from the operator's
settings, not from API callers, and a Lambda stand-in on localhost or a private network is the usual case.
"""

from __future__ import annotations

import http.client
import importlib
import json
import re
import ssl
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from crowdloop.errors import LambdaFailed

if TYPE_CHECKING:
    from crowdloop.config import Settings

__all__ = [
    "LambdaFailed",
    "LambdaInvoker",
    "LambdaTarget",
    "PreAnnotation",
    "consolidation_event",
    "parse_lambda_mapping",
    "pre_annotation_event",
    "read_consolidation_response",
    "read_pre_annotation_response",
]

EVENT_VERSION = "2018-10-06"  # every captured real event (the docs print 2018-10-16), §7.1
MAX_RESPONSE_BYTES = 6 * 1024 * 1024
MAX_REASON_CHARS = 1024  # FailureReason's model maximum
EXCERPT_CHARS = 200
BACKOFF_SECONDS = 0.25  # before the 2nd attempt; doubled for each further one, at most MAX_BACKOFF_SECONDS
MAX_BACKOFF_SECONDS = 2.0
SETTING = "labeling_lambdas (CROWDLOOP_LABELING_LAMBDAS)"

_PYTHON = re.compile(
    r"python:(?P<module>[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*):(?P<function>[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*)"
)


def _failed(message: str, arn: str = "") -> LambdaFailed:
    if len(message) > MAX_REASON_CHARS:
        message = message[: MAX_REASON_CHARS - 1] + "…"
    return LambdaFailed(message, arn)


def _excerpt(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= EXCERPT_CHARS else text[: EXCERPT_CHARS - 1] + "…"


# --- the mapping ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LambdaTarget:
    """Where an ARN runs: kind "python" (value "module:function") or "http" (value the URL)."""

    kind: str
    value: str

    @classmethod
    def parse(cls, text: str) -> LambdaTarget:
        """A target as written in the setting; ValueError says what is wrong with it."""
        if text.startswith("python:"):
            if not _PYTHON.fullmatch(text):
                raise ValueError(f"{text!r} is not python:package.module:function")
            return cls("python", text.removeprefix("python:"))
        if text.startswith(("http://", "https://")):
            parts = urlsplit(text)
            if not parts.hostname or parts.username is not None or parts.fragment:
                raise ValueError(f"{text!r} is not an http(s) URL with a host (and no credentials or #fragment)")
            try:
                parts.port  # noqa: B018 (raises ValueError for a bad port)
            except ValueError:
                raise ValueError(f"{text!r} has an invalid port") from None
            return cls("http", text)
        raise ValueError(f"target {text!r} must start with python:, http:// or https://")

    def __str__(self) -> str:
        """The target as messages show it: an URL without its query (it may hold a token)."""
        if self.kind == "python":
            return f"python:{self.value}"
        return self.value.partition("?")[0]


def parse_lambda_mapping(text: str) -> dict[str, str]:
    """The `labeling_lambdas` setting: "" (none), a JSON object {ARN or pattern: target}, or `@/path/file.json`
    naming a file that holds one. ValueError (one line) when it or any target is invalid."""
    text = text.strip()
    if not text:
        return {}
    where = "the value"
    if text.startswith("@"):
        where = text[1:]
        try:
            text = Path(where).expanduser().read_text(encoding="utf-8")
        except OSError as exc:
            raise ValueError(f"cannot read {where}: {exc.strerror or exc}") from None
    try:
        mapping = json.loads(text)
    except ValueError as exc:
        raise ValueError(
            f"{where} is not JSON ({exc}); give a JSON object {{ARN: target}} or @/path/file.json"
        ) from None
    if not isinstance(mapping, dict):
        raise ValueError(f"{where} must be a JSON object {{ARN: target}}, not {type(mapping).__name__}")
    for arn, target in mapping.items():
        if not arn.startswith("arn:") or any(c.isspace() for c in arn):
            raise ValueError(f"key {arn!r} is not a Lambda ARN (arn:aws:lambda:…; * matches any text)")
        if not isinstance(target, str):
            raise ValueError(f"the target of {arn} must be a string, not {json.dumps(target)}")
        LambdaTarget.parse(target)
    return dict(mapping)


def _pattern(arn_glob: str) -> re.Pattern[str]:
    return re.compile(".*".join(re.escape(part) for part in arn_glob.split("*")))


# --- invoking -------------------------------------------------------------------------------------------


class _Retry(Exception):
    """An attempt that failed in a way another attempt may not (the message says how)."""


class LambdaInvoker:
    """Runs Lambda ARNs through the targets the operator mapped them to. Thread-safe."""

    def __init__(
        self,
        mapping: Mapping[str, str],
        *,
        timeout_seconds: float,
        attempts: int,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if not 0 < timeout_seconds < float("inf") or attempts < 1:
            raise ValueError("timeout_seconds must be positive and attempts at least 1")
        self._exact: dict[str, LambdaTarget] = {}
        self._globs: list[tuple[re.Pattern[str], LambdaTarget]] = []
        for arn, text in mapping.items():
            target = LambdaTarget.parse(text)
            if "*" in arn:
                self._globs.append((_pattern(arn), target))
            else:
                self._exact[arn] = target
        self.timeout_seconds = timeout_seconds
        self.attempts = attempts
        self._sleep = sleep
        self._callables: dict[str, Callable[[dict[str, Any]], Any]] = {}

    @classmethod
    def from_settings(cls, settings: Settings) -> LambdaInvoker:
        """The invoker of labeling_lambdas, labeling_lambda_timeout_seconds and labeling_lambda_attempts."""
        return cls(
            settings.labeling_lambda_map,
            timeout_seconds=settings.labeling_lambda_timeout_seconds,
            attempts=settings.labeling_lambda_attempts,
        )

    def target_for(self, arn: str) -> LambdaTarget | None:
        """The exact entry, else the first pattern (in the setting's order) that matches the whole ARN."""
        if arn in self._exact:
            return self._exact[arn]
        return next((target for pattern, target in self._globs if pattern.fullmatch(arn)), None)

    def resolves(self, arn: str) -> bool:
        return self.target_for(arn) is not None

    def invoke(self, arn: str, event: dict[str, Any]) -> Any:
        """The function's response, decoded JSON; LambdaFailed when it cannot be had (module docstring)."""
        target = self.target_for(arn)
        if target is None:
            raise _failed(
                f"ClientError: Lambda function {arn} is not mapped to a target here: add it to the setting {SETTING}.",
                arn,
            )
        if target.kind == "python":
            return self._call(arn, target, event)
        body = json.dumps(event, ensure_ascii=False).encode()
        for attempt in range(1, self.attempts + 1):
            try:
                return self._post(arn, target, body)
            except _Retry as exc:
                if attempt == self.attempts:
                    tries = "1 attempt" if attempt == 1 else f"{attempt} attempts"
                    raise _failed(f"ClientError: Lambda function {arn} ({target}) {exc} ({tries}).", arn) from None
                self._sleep(min(BACKOFF_SECONDS * 2 ** (attempt - 1), MAX_BACKOFF_SECONDS))
        raise AssertionError("unreachable")

    def _call(self, arn: str, target: LambdaTarget, event: dict[str, Any]) -> Any:
        function = self._callables.get(target.value)
        if function is None:
            module_name, _, path = target.value.partition(":")
            try:
                found: Any = importlib.import_module(module_name)
                for name in path.split("."):
                    found = getattr(found, name)
            except Exception as exc:  # ImportError, AttributeError, or the module's own code failing
                raise _failed(
                    f"ClientError: cannot import {target} for Lambda function {arn}: {type(exc).__name__}: {exc}", arn
                ) from exc
            if not callable(found):
                raise _failed(f"ClientError: {target} for Lambda function {arn} is not callable.", arn)
            function = self._callables.setdefault(target.value, found)
        try:
            response = function(json.loads(json.dumps(event)))  # a copy: the function may change its event
        except Exception as exc:
            raise _failed(
                f"ClientError: Lambda function {arn} ({target}) raised {type(exc).__name__}: {_excerpt(str(exc))}",
                arn,
            ) from exc
        try:
            return json.loads(json.dumps(response, allow_nan=False))
        except (TypeError, ValueError) as exc:
            raise _failed(
                f"ClientError: Lambda function {arn} ({target}) returned a value JSON cannot carry: {exc}", arn
            ) from None

    def _post(self, arn: str, target: LambdaTarget, body: bytes) -> Any:
        parts = urlsplit(target.value)
        url = str(target)
        deadline = time.monotonic() + self.timeout_seconds
        connection: http.client.HTTPConnection
        if parts.scheme == "https":
            connection = http.client.HTTPSConnection(
                parts.hostname or "", parts.port, timeout=self.timeout_seconds, context=ssl.create_default_context()
            )
        else:
            connection = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=self.timeout_seconds)
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        headers = {"Content-Type": "application/json", "Accept": "application/json", "User-Agent": "crowdloop"}
        response: http.client.HTTPResponse | None = None
        try:
            connection.connect()
            _time_left(connection, deadline)
            connection.request("POST", path, body=body, headers=headers)
            _time_left(connection, deadline)
            response = connection.getresponse()
            data = bytearray()
            while chunk := _read(connection, response, deadline):
                data += chunk
                if len(data) > MAX_RESPONSE_BYTES:
                    raise _failed(
                        f"ClientError: Lambda function {arn} ({url}) answered more than "
                        f"{MAX_RESPONSE_BYTES // 1024**2} MiB.",
                        arn,
                    )
        except TimeoutError:
            raise _Retry(f"timed out after {self.timeout_seconds:g} s") from None
        except (OSError, http.client.HTTPException) as exc:
            raise _Retry(f"could not be reached: {type(exc).__name__}: {exc}") from None
        finally:
            if response is not None:
                response.close()  # read1 leaves it open when the body ends exactly at Content-Length
            connection.close()
        status = response.status
        text = bytes(data).decode("utf-8", errors="replace")
        if status >= 500 or status == 429:
            raise _Retry(f"answered HTTP {status}: {_excerpt(text)}")
        if not 200 <= status < 300:
            redirect = " (redirects are not followed)" if 300 <= status < 400 else ""
            raise _failed(
                f"ClientError: Lambda function {arn} ({url}) answered HTTP {status}{redirect}: {_excerpt(text)}", arn
            )
        try:
            return json.loads(data)
        except ValueError:
            raise _failed(
                f"ClientError: Lambda function {arn} ({url}) answered a body that is not JSON: {_excerpt(text)!r}", arn
            ) from None


def _time_left(connection: http.client.HTTPConnection, deadline: float) -> None:
    """Give the socket's next operation only the time left of this attempt."""
    left = deadline - time.monotonic()
    if left <= 0:
        raise TimeoutError("timed out")
    if connection.sock is not None:
        connection.sock.settimeout(left)


def _read(connection: http.client.HTTPConnection, response: http.client.HTTPResponse, deadline: float) -> bytes:
    _time_left(connection, deadline)
    return response.read1(64 * 1024)


# --- events and responses -------------------------------------------------------------------------------


def pre_annotation_event(job_arn: str, data_object: dict[str, Any]) -> dict[str, Any]:
    """The pre-annotation event (§7.1): `data_object` is the whole manifest line or SNS message object."""
    return {"version": EVENT_VERSION, "labelingJobArn": job_arn, "dataObject": data_object}


@dataclass(frozen=True)
class PreAnnotation:
    task_input: Any  # becomes task.input in the worker template
    human_annotation_required: bool


_HUMAN_KEYS = ("isHumanAnnotationRequired", "humanAnnotationRequired")  # documented key first; AWS's recipe


def read_pre_annotation_response(response: Any, *, arn: str = "") -> PreAnnotation:
    """A pre-annotation Lambda's response. Its flag comes as either key, a bool or "true"/"false" in any case;
    anything else, or no flag, means true. No object, or no (or a null) taskInput: LambdaFailed."""
    which = f"Pre-annotation Lambda {arn}" if arn else "The pre-annotation Lambda"
    if not isinstance(response, dict):
        raise _failed(
            f"ClientError: {which} returned an invalid response: expected a JSON object with taskInput, "
            f"got {_json_kind(response)}.",
            arn,
        )
    if response.get("taskInput") is None:
        raise _failed(f"ClientError: {which} returned an invalid response: it has no taskInput.", arn)
    required = True
    for key in _HUMAN_KEYS:
        if key in response:
            required = _flag(response[key])
            break
    return PreAnnotation(response["taskInput"], required)


def _flag(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    return not (isinstance(value, str) and value.strip().lower() == "false")  # "true", or anything else: true


def _json_kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    return "an array" if isinstance(value, list) else "an object"


def consolidation_event(
    *,
    job_arn: str,
    payload_s3_uri: str,
    label_attribute_name: str,
    role_arn: str,
    output_config: str,
    max_workers: int,
    label_categories: list[str] | None,
    kms_key_id: str | None,
) -> dict[str, Any]:
    """The post-annotation event (§7.2) in the captured events' key order; labelCategories only when the
    job has a label file (not None), kmsKeyId only when the job's OutputConfig.KmsKeyId is not empty.
    `output_config` is the string `<S3OutputPath>/<JobName>/annotations`."""
    event: dict[str, Any] = {"version": EVENT_VERSION, "labelingJobArn": job_arn}
    if label_categories is not None:
        event["labelCategories"] = list(label_categories)
    event["payload"] = {"s3Uri": payload_s3_uri}
    event["labelAttributeName"] = label_attribute_name
    event["roleArn"] = role_arn
    event["outputConfig"] = output_config
    if kms_key_id:
        event["kmsKeyId"] = kms_key_id
    event["maxHumanWorkersPerDataObject"] = max_workers
    return event


def read_consolidation_response(
    response: Any, requested_ids: set[str], *, arn: str = ""
) -> tuple[dict[str, dict[str, Any]], list[str]]:
    """({datasetObjectId: consolidatedAnnotation.content}, problems) of a post-annotation Lambda's response.

    Only well-formed items for requested ids are kept (the first, if an id comes twice). Each problem is a
    sentence: an item that is not {datasetObjectId, consolidatedAnnotation: {content: {…}}}, an id that was
    not asked for or came twice, the requested ids the response left out. A non-array: LambdaFailed."""
    which = f"Post-annotation Lambda {arn}" if arn else "The post-annotation Lambda"
    if not isinstance(response, list):
        raise _failed(
            f"ClientError: {which} returned an invalid response: expected a JSON array, got {_json_kind(response)}.",
            arn,
        )
    found: dict[str, dict[str, Any]] = {}
    problems: list[str] = []
    for index, item in enumerate(response):
        object_id = item.get("datasetObjectId") if isinstance(item, dict) else None
        if isinstance(object_id, int) and not isinstance(object_id, bool):
            object_id = str(object_id)
        annotation = item.get("consolidatedAnnotation") if isinstance(item, dict) else None
        content = annotation.get("content") if isinstance(annotation, dict) else None
        if not isinstance(object_id, str) or not isinstance(content, dict):
            problems.append(
                f"item {index} is not {{datasetObjectId, consolidatedAnnotation: {{content: {{…}}}}}}: "
                f"{_excerpt(json.dumps(item))}"
            )
        elif object_id not in requested_ids:
            problems.append(f"item {index} has datasetObjectId {object_id!r}, which was not in the request")
        elif object_id in found:
            problems.append(f"item {index} repeats datasetObjectId {object_id!r}; the first one is used")
        else:
            found[object_id] = content
    missing = sorted(requested_ids - set(found), key=_id_order)
    if missing:
        shown = ", ".join(repr(i) for i in missing[:20]) + (
            f" and {len(missing) - 20} more" if len(missing) > 20 else ""
        )
        problems.append(f"no consolidated annotation for datasetObjectId {shown}")
    return found, problems


def _id_order(object_id: str) -> tuple[int, int, str]:
    return (0, int(object_id), "") if object_id.isdigit() else (1, 0, object_id)
