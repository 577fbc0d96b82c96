"""Deliveries to an Amazon EventBridge bus or an Amazon SNS topic (real AWS, or an emulator at endpoint_url).

Pure I/O: no store, no Services. The dispatcher gives each lane its own `BusPublisher` (one boto3 client)
and hands it encoded events (crowdloop.events.encode, docs/events.md); each event gets an `Attempt`
(webhook_http's), in order. botocore retries nothing (total_max_attempts 1): the delivery's own retry
schedule (webhook_retry) does, so a receiver that is down is not hit twice per attempt.

* EventBridge: PutEvents, 10 entries a call. Only AWS may publish `aws.*` sources on a real bus, so those
  events go under the publisher's `source` (events.with_source); detail-type, detail, resources and time
  are the event's own.
* SNS: PublishBatch, 10 entries a call; the message is the event document exactly as webhooks get it, with
  its `detail-type` and `source` as message attributes for subscription filter policies. A FIFO topic
  gets the loop's ARN as the message group and the event id as the deduplication id.

A failed entry (FailedEntryCount, Failed) fails its own Attempt; a refused call (throttling, a missing bus
or topic, a server error) or no answer at all fails every entry of the call, and the calls after it are
not made: the next attempt comes at the retry time.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal
from urllib.parse import urlsplit

import boto3
import orjson
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from crowdloop.errors import InvalidInput
from crowdloop.events import check_source
from crowdloop.webhook_http import Attempt

BATCH_ENTRIES = 10  # the most PutEvents and PublishBatch take in one call
_REGION = r"[a-z]{2}(?:-[a-z]+)+-\d{1,2}"
_BUS_NAME = r"[.\-_A-Za-z0-9]{1,256}"
_BUS = re.compile(rf"(?:arn:aws[\w-]*:events:(?P<region>{_REGION}):\d{{12}}:event-bus/)?{_BUS_NAME}")
_TOPIC = re.compile(rf"arn:aws[\w-]*:sns:(?P<region>{_REGION}):\d{{12}}:[A-Za-z0-9_-]{{1,251}}(?:\.fifo)?")
_KEY_ID = re.compile(r"\w{1,128}")


@dataclass(frozen=True)
class BusTarget:
    kind: Literal["eventbridge", "sns"]
    arn: str  # EventBridge: event bus name or ARN; SNS: topic ARN
    region: str
    endpoint_url: str | None  # None: AWS's own endpoint
    access_key_id: str | None  # None: boto3's default credential chain
    secret_access_key: str | None = field(repr=False)


def check_bus_target(target: BusTarget) -> None:
    """Refuse (InvalidInput naming the subscription's field: kind, target, region, endpoint_url,
    access_key_id, secret_access_key) a target no call could reach."""
    if target.kind not in ("eventbridge", "sns"):
        raise InvalidInput(f"The kind '{target.kind}' is not a bus kind: use eventbridge or sns.", "kind")
    if not re.fullmatch(_REGION, target.region):
        raise InvalidInput(f"The region '{target.region}' is not an AWS region such as us-east-1.", "region")
    shape = _BUS if target.kind == "eventbridge" else _TOPIC
    found = shape.fullmatch(target.arn)
    if found is None:
        wanted = (
            "an event bus name or arn:aws:events:<region>:<account>:event-bus/<name>"
            if target.kind == "eventbridge"
            else "a topic ARN, arn:aws:sns:<region>:<account>:<topic>"
        )
        raise InvalidInput(f"The target '{target.arn}' is not {wanted}.", "target")
    if found["region"] and found["region"] != target.region:
        raise InvalidInput(
            f"The region '{target.region}' is not the region of the target's ARN ({found['region']}).", "region"
        )
    _check_endpoint(target.endpoint_url)
    _check_keys(target.access_key_id, target.secret_access_key)


def _check_endpoint(endpoint_url: str | None) -> None:
    if endpoint_url is None:
        return
    try:
        parts = urlsplit(endpoint_url)
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError:
        parts = None
    if parts is None or parts.scheme not in ("http", "https") or not parts.hostname or parts.username is not None:
        raise InvalidInput(
            f"The endpoint_url '{endpoint_url}' must be http(s)://host[:port] (without credentials).", "endpoint_url"
        )


def _check_keys(access_key_id: str | None, secret_access_key: str | None) -> None:
    if access_key_id is None and secret_access_key is None:
        return
    if access_key_id is None:
        raise InvalidInput("A secret_access_key needs its access_key_id.", "access_key_id")
    if secret_access_key is None:
        raise InvalidInput("An access_key_id needs its secret_access_key.", "secret_access_key")
    if not _KEY_ID.fullmatch(access_key_id):
        raise InvalidInput("The access_key_id must be 1 to 128 letters and digits.", "access_key_id")
    if not secret_access_key or not secret_access_key.isprintable() or any(c.isspace() for c in secret_access_key):
        raise InvalidInput("The secret_access_key must be printable and without spaces.", "secret_access_key")


class BusPublisher:
    """boto3 client of one target (one lane)."""

    def __init__(self, target: BusTarget, *, source: str, timeout_seconds: float) -> None:
        check_bus_target(target)
        check_source(source, "source")
        self._target = target
        self._source = source
        # A session of its own: boto3's default session is not safe to share between threads.
        session = boto3.session.Session(
            aws_access_key_id=target.access_key_id,
            aws_secret_access_key=target.secret_access_key,
            region_name=target.region,
        )
        config = Config(
            connect_timeout=timeout_seconds,
            read_timeout=timeout_seconds,
            retries={"total_max_attempts": 1, "mode": "standard"},
        )
        service = "events" if target.kind == "eventbridge" else "sns"
        self._client: Any = session.client(service, endpoint_url=target.endpoint_url, config=config)

    def publish(self, events: Sequence[bytes]) -> list[Attempt]:
        """Send the events, 10 a call; one Attempt per event, in the same order."""
        attempts: list[Attempt] = []
        for start in range(0, len(events), BATCH_ENTRIES):
            chunk_attempts, failure = self._publish_chunk(events[start : start + BATCH_ENTRIES])
            attempts.extend(chunk_attempts)
            if failure:  # the next call would most likely fail the same way, after the same wait
                skipped = Attempt(False, None, f"not sent, as the call before failed: {failure}", None, 0.0)
                attempts.extend([skipped] * (len(events) - len(attempts)))
                break
        return attempts

    def close(self) -> None:
        self._client.close()

    def _publish_chunk(self, chunk: Sequence[bytes]) -> tuple[list[Attempt], str]:
        """The chunk's Attempts (events that are no event documents fail without being sent), and why the
        call as a whole failed ("" when it did not)."""
        parsed = [_parse(body) for body in chunk]
        events = [event for event in parsed if isinstance(event, dict)]
        sent: list[Attempt] = []
        failure = ""
        if events:
            send = self._put_events if self._target.kind == "eventbridge" else self._publish_batch
            try:
                sent = send(events)
            except _CallFailed as failed:
                sent, failure = [failed.attempt] * len(events), failed.attempt.error
        answers = iter(sent)
        attempts = [
            next(answers) if isinstance(event, dict) else Attempt(False, None, f"not sent: {event}", None, 0.0)
            for event in parsed
        ]
        return attempts, failure

    def _put_events(self, events: Sequence[dict[str, Any]]) -> list[Attempt]:
        entries = [
            {
                "Source": self._source if str(event["source"]).lower().startswith("aws.") else event["source"],
                "DetailType": event["detail-type"],
                "Detail": orjson.dumps(event["detail"]).decode(),
                "Resources": event["resources"],
                "Time": datetime.fromisoformat(event["time"]),
                "EventBusName": self._target.arn,
            }
            for event in events
        ]
        started = time.perf_counter()
        answer = _call("PutEvents", lambda: self._client.put_events(Entries=entries))
        elapsed, status = _elapsed_ms(started), _status(answer)
        return [
            Attempt(False, status, f"{entry['ErrorCode']}: {entry.get('ErrorMessage', '')}", None, elapsed)
            if entry.get("ErrorCode")
            else Attempt(True, status, "", None, elapsed)
            for entry in answer["Entries"]
        ]

    def _publish_batch(self, events: Sequence[dict[str, Any]]) -> list[Attempt]:
        fifo = self._target.arn.endswith(".fifo")
        entries = [_sns_entry(str(index), event, fifo) for index, event in enumerate(events)]
        started = time.perf_counter()
        answer = _call(
            "PublishBatch",
            lambda: self._client.publish_batch(TopicArn=self._target.arn, PublishBatchRequestEntries=entries),
        )
        elapsed, status = _elapsed_ms(started), _status(answer)
        failed = {item["Id"]: f"{item.get('Code')}: {item.get('Message', '')}" for item in answer.get("Failed", [])}
        done = {item["Id"] for item in answer.get("Successful", [])}
        return [
            Attempt(True, status, "", None, elapsed)
            if entry["Id"] in done
            else Attempt(False, status, failed.get(entry["Id"], "SNS answered nothing for it"), None, elapsed)
            for entry in entries
        ]


class _CallFailed(Exception):
    """A call failed as a whole: `attempt` is the failed Attempt of each of its entries."""

    def __init__(self, attempt: Attempt) -> None:
        super().__init__(attempt.error)
        self.attempt = attempt


def _call(operation: str, call: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """The call's answer; _CallFailed when it was refused as a whole (throttled, no such bus or topic, a
    server error) or got no answer (connection, timeout, credentials)."""
    started = time.perf_counter()
    try:
        return call()
    except ClientError as exc:
        error = exc.response.get("Error", {})
        reason = f"{error.get('Code', 'Error')}: {error.get('Message', '')}"
        status = _status(dict(exc.response))
    except BotoCoreError as exc:
        reason, status = str(exc), None
    raise _CallFailed(
        Attempt(False, status, f"{operation} failed for the whole batch: {reason}", None, _elapsed_ms(started))
    )


def _sns_entry(entry_id: str, event: dict[str, Any], fifo: bool) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "Id": entry_id,
        "Message": orjson.dumps(event).decode(),
        "MessageAttributes": {
            "detail-type": {"DataType": "String", "StringValue": str(event["detail-type"])},
            "source": {"DataType": "String", "StringValue": str(event["source"])},
        },
    }
    if fifo:
        resources = event["resources"] or [event["source"]]
        entry["MessageGroupId"] = str(resources[0])  # the loop: its events stay in order
        entry["MessageDeduplicationId"] = str(event["id"])  # a redelivery is dropped by SNS itself
    return entry


def _parse(body: bytes) -> dict[str, Any] | str:
    """The event document, or why it is none (a delivery of something else is refused, not sent)."""
    try:
        event = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        return f"the event is not JSON ({exc})"
    if not isinstance(event, dict):
        return "the event is not a JSON object"
    missing = [key for key in ("id", "source", "detail-type", "detail", "resources", "time") if key not in event]
    if missing:
        return f"the event has no {', '.join(missing)}"
    try:
        datetime.fromisoformat(str(event["time"]))
    except ValueError:
        return f"the event's time '{event['time']}' is not an ISO 8601 time"
    return event


def _status(answer: dict[str, Any]) -> int | None:
    status = answer.get("ResponseMetadata", {}).get("HTTPStatusCode")
    return int(status) if status is not None else None


def _elapsed_ms(started: float) -> float:
    return (time.perf_counter() - started) * 1000
