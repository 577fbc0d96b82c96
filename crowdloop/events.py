"""Status-change event documents (docs/events.md; spec: shared/spec/events.md §1 and §2).

Pure builders: plain values in, one event (a dict in the EventBridge envelope's key order) out, and
`encode` for the bytes that are stored, signed and sent. Nothing here reads the store or the clock; the
outbox wiring passes the loop's values and the time of the transition.

* `human_loop_status_change` — AWS's "SageMaker A2I HumanLoop Status Change" (source `aws.sagemaker`),
  for a loop that became Completed, Failed or Stopped.
* `human_loop_started`, `answer_submitted`, `worker_paused` — crowdloop's own events, with the configurable
  source (`Settings.events_source`), which may not begin with `aws.` (`check_source`).

Every event's `id` is a UUID5 of what identifies the change (the loop's ARN and creation time, which tell
apart two loops that carried the same name one after the other, and the change itself), so the same change
always gets the same id: a redelivery carries the id of the first delivery and consumers can dedupe on it.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import orjson

from crowdloop import arns
from crowdloop.errors import InvalidInput
from crowdloop.model import HumanLoopStatus

AWS_SOURCE = "aws.sagemaker"
STATUS_CHANGE = "SageMaker A2I HumanLoop Status Change"
LOOP_STARTED = "crowdloop HumanLoop Started"
ANSWER_SUBMITTED = "crowdloop Answer Submitted"
WORKER_PAUSED = "crowdloop Worker Paused"
PAUSE_REASONS = ("gold-accuracy",)
ANNOUNCED_STATUSES = (HumanLoopStatus.COMPLETED, HumanLoopStatus.FAILED, HumanLoopStatus.STOPPED)
FAILURE_CODES = ("ValidationError", "Expired", "InternalError")  # the A2I model's values
SOURCE_MAX = 256  # PutEvents' limit on an entry's Source

# Fixed forever: the ids of events already delivered must not change with a new version.
_NAMESPACE = uuid.UUID("6f1d3c2a-5b7e-5d4f-9a61-3e0c8b2d7f15")

Event = dict[str, Any]


def human_loop_status_change(
    *,
    human_loop_arn: str,
    flow_definition_arn: str,
    status: str,
    created_at: datetime,
    changed_at: datetime,
    output_s3_uri: str,
    failure_code: str | None = None,
    failure_reason: str | None = None,
) -> Event:
    """The event AWS sends when a loop's status becomes Completed, Failed or Stopped. Account, region and
    loop name come from the loop's ARN; `changed_at` is the time of the transition (the envelope's `time`);
    failure_code and failure_reason are given for a Failed loop only (null in the event otherwise)."""
    loop = arns.parse(human_loop_arn, "human-loop", "humanLoopArn")
    _check_flow(flow_definition_arn, loop)
    if status not in ANNOUNCED_STATUSES:
        raise InvalidInput(
            f"Value '{status}' at 'humanLoopStatus' is not announced: only "
            f"{', '.join(ANNOUNCED_STATUSES)} produce a status change event.",
            "humanLoopStatus",
        )
    if status != HumanLoopStatus.FAILED and (failure_code is not None or failure_reason is not None):
        raise InvalidInput(f"A {status} loop has no failureCode or failureReason; only a Failed one.", "failureReason")
    if failure_code is not None and failure_code not in FAILURE_CODES:
        raise InvalidInput(
            f"Value '{failure_code}' at 'failureCode' is not one of {', '.join(FAILURE_CODES)}.", "failureCode"
        )
    if not output_s3_uri.startswith("s3://") or len(output_s3_uri) <= len("s3://"):
        raise InvalidInput(f"Value '{output_s3_uri}' at 'outputS3Uri' is not an s3:// URI.", "outputS3Uri")
    creation_time = _millis(created_at, "creationTime")
    return _envelope(
        loop_arn=human_loop_arn,
        change=(creation_time, str(status)),
        detail_type=STATUS_CHANGE,
        source=AWS_SOURCE,
        loop=loop,
        moment=changed_at,
        detail={
            "creationTime": creation_time,
            "failureCode": failure_code,
            "failureReason": failure_reason,
            "flowDefinitionArn": flow_definition_arn,
            "humanLoopArn": human_loop_arn,
            "humanLoopName": loop.name,
            "humanLoopOutput": {"outputS3Uri": output_s3_uri},
            "humanLoopStatus": str(status),
        },
    )


def human_loop_started(*, source: str, human_loop_arn: str, flow_definition_arn: str, created_at: datetime) -> Event:
    """crowdloop's event for a loop that StartHumanLoop created (not for an idempotent repeat of the call):
    the status change AWS does not announce. Its `time` is the loop's creation time."""
    check_source(source, "source")
    loop = arns.parse(human_loop_arn, "human-loop", "humanLoopArn")
    _check_flow(flow_definition_arn, loop)
    creation_time = _millis(created_at, "creationTime")
    return _envelope(
        loop_arn=human_loop_arn,
        change=(creation_time,),
        detail_type=LOOP_STARTED,
        source=source,
        loop=loop,
        moment=created_at,
        detail={
            "creationTime": creation_time,
            "flowDefinitionArn": flow_definition_arn,
            "humanLoopArn": human_loop_arn,
            "humanLoopName": loop.name,
            "humanLoopStatus": str(HumanLoopStatus.IN_PROGRESS),
        },
    )


def answer_submitted(
    *,
    source: str,
    human_loop_arn: str,
    flow_definition_arn: str,
    created_at: datetime,
    worker_id: str,
    accepted_at: datetime,
    submitted_at: datetime,
    time_spent_seconds: float,
) -> Event:
    """crowdloop's event for one worker's answer to a loop's task, whether or not it completes the loop.
    The answer's fields are named as in the loop's output.json `humanAnswers`; the answer content itself is
    not in the event (read it from the output once the loop is Completed). `time` is the submission time."""
    check_source(source, "source")
    loop = arns.parse(human_loop_arn, "human-loop", "humanLoopArn")
    _check_flow(flow_definition_arn, loop)
    if not worker_id:
        raise InvalidInput("The workerId of a submitted answer must not be empty.", "workerId")
    if not 0 <= time_spent_seconds < float("inf"):
        raise InvalidInput(
            f"Value '{time_spent_seconds}' at 'timeSpentInSeconds' is not a number of seconds.", "timeSpentInSeconds"
        )
    creation_time = _millis(created_at, "creationTime")
    submission_time = _millis(submitted_at, "submissionTime")
    return _envelope(
        loop_arn=human_loop_arn,
        change=(creation_time, worker_id, submission_time),
        detail_type=ANSWER_SUBMITTED,
        source=source,
        loop=loop,
        moment=submitted_at,
        detail={
            "acceptanceTime": _millis(accepted_at, "acceptanceTime"),
            "creationTime": creation_time,
            "flowDefinitionArn": flow_definition_arn,
            "humanLoopArn": human_loop_arn,
            "humanLoopName": loop.name,
            "submissionTime": submission_time,
            "timeSpentInSeconds": round(float(time_spent_seconds), 3),
            "workerId": worker_id,
        },
    )


def worker_paused(
    *,
    source: str,
    flow_definition_arn: str,
    worker_id: str,
    paused_at: datetime,
    gold_answered: int,
    gold_accuracy: float,
    min_accuracy: float,
    reason: str = "gold-accuracy",
) -> Event:
    """crowdloop's event for a worker paused for a flow definition: their accuracy on its gold items fell
    below crowdloop:gold-min-accuracy (docs/quality.md). `time` is when the pause began; the flow definition is
    the event's resource (the pause concerns no loop)."""
    check_source(source, "source")
    flow = arns.parse(flow_definition_arn, "flow-definition", "flowDefinitionArn")
    if not worker_id:
        raise InvalidInput("The workerId of a paused worker must not be empty.", "workerId")
    if reason not in PAUSE_REASONS:
        raise InvalidInput(f"Value '{reason}' at 'reason' is not one of {', '.join(PAUSE_REASONS)}.", "reason")
    if gold_answered < 1:
        raise InvalidInput(f"Value '{gold_answered}' at 'goldAnswered' must be at least 1.", "goldAnswered")
    for field, value in (("goldAccuracy", gold_accuracy), ("minAccuracy", min_accuracy)):
        if not 0.0 <= value <= 1.0:
            raise InvalidInput(f"Value '{value}' at '{field}' must be a number from 0 to 1.", field)
    moment = _millis(paused_at, "time")
    return {
        "version": "0",
        "id": event_id(WORKER_PAUSED, flow_definition_arn, worker_id, moment),
        "detail-type": WORKER_PAUSED,
        "source": source,
        "account": flow.account,
        "time": _utc(paused_at, "time").strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": flow.region,
        "resources": [flow_definition_arn],
        "detail": {
            "flowDefinitionArn": flow_definition_arn,
            "workerId": worker_id,
            "goldAnswered": gold_answered,
            "goldAccuracy": round(float(gold_accuracy), 4),
            "minAccuracy": float(min_accuracy),
            "reason": reason,
        },
    }


def with_source(event: Event, source: str) -> Event:
    """The same event (same id) under another source: for a real EventBridge bus, where only AWS may
    publish `aws.*` sources."""
    check_source(source, "source")
    return {key: source if key == "source" else value for key, value in event.items()}


def check_source(source: str, field: str) -> None:
    """A source crowdloop may publish its own events with: 1 to 256 characters, no white space, not `aws.…`
    (real EventBridge refuses those from anyone but AWS: NotAuthorizedForSourceException)."""
    if not source or len(source) > SOURCE_MAX or any(c.isspace() or not c.isprintable() for c in source):
        raise InvalidInput(
            f"Value '{source}' at '{field}' must be 1 to {SOURCE_MAX} printable characters without spaces.", field
        )
    if source.lower().startswith("aws."):
        raise InvalidInput(
            f"Value '{source}' at '{field}' begins with 'aws.': only AWS services may publish such sources.", field
        )


LABELING_JOB_STATE_CHANGE = "SageMaker Ground Truth Labeling Job State Change"
LABELING_JOB_ANNOUNCED = ("Completed", "Failed", "Stopped")


def labeling_job_state_change(*, labeling_job_arn: str, status: str, changed_at: datetime) -> Event:
    """The event AWS sends when a labeling job becomes Completed, Failed or Stopped (events.md §3): its detail
    is only {"LabelingJobStatus": ...}; the job is named by `resources[0]`, its ARN (lower-cased name)."""
    job = arns.parse(labeling_job_arn, "labeling-job", "labelingJobArn")
    if status not in LABELING_JOB_ANNOUNCED:
        raise InvalidInput(
            f"Value '{status}' at 'labelingJobStatus' is not announced: only "
            f"{', '.join(LABELING_JOB_ANNOUNCED)} produce a state change event.",
            "labelingJobStatus",
        )
    return _envelope(
        loop_arn=labeling_job_arn,
        change=(status,),
        detail_type=LABELING_JOB_STATE_CHANGE,
        source=AWS_SOURCE,
        loop=job,
        moment=changed_at,
        detail={"LabelingJobStatus": status},
    )


LABELING_TASK_STATUS_CHANGE = "SageMaker Ground Truth Labeling Job Task Status Change"
LABELING_TASK_STATES = ("Accepted", "Submitted", "Declined", "Returned")


def labeling_task_status_change(
    *, labeling_job_arn: str, workteam_arn: str, state: str, changed_at: datetime, task: str
) -> Event:
    """The opt-in event of a labeling job's task (events.md §4; no AWS sample exists): `detail` as the
    EventBridge schema registry names its fields; `task` tells this task apart (its id is part of the event's)."""
    job = arns.parse(labeling_job_arn, "labeling-job", "labelingJobArn")
    if state not in LABELING_TASK_STATES:
        raise InvalidInput(f"Value '{state}' at 'State' is not one of {', '.join(LABELING_TASK_STATES)}.", "State")
    return _envelope(
        loop_arn=labeling_job_arn,
        change=(task, state),
        detail_type=LABELING_TASK_STATUS_CHANGE,
        source=AWS_SOURCE,
        loop=job,
        moment=changed_at,
        detail={"labeling-job-arn": labeling_job_arn, "workteam-team-arn": workteam_arn, "State": state},
    )


def encode(event: Event) -> bytes:
    """Compact UTF-8 JSON in the event's own key order (the spec's): the bytes to store, sign and send."""
    try:
        return orjson.dumps(event)
    except orjson.JSONEncodeError as exc:
        raise InvalidInput(f"The event cannot be written as JSON: {exc}.", "event") from None


def event_id(*parts: str) -> str:
    """The stable id of the change the parts name."""
    return str(uuid.uuid5(_NAMESPACE, "\n".join(parts)))


def _envelope(
    *,
    loop_arn: str,
    change: tuple[str, ...],
    detail_type: str,
    source: str,
    loop: arns.Arn,
    moment: datetime,
    detail: Event,
) -> Event:
    """The envelope around a loop's event; `change` tells this change of the loop from its others."""
    return {
        "version": "0",
        "id": event_id(detail_type, loop_arn, *change),
        "detail-type": detail_type,
        "source": source,
        "account": loop.account,
        "time": _utc(moment, "time").strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": loop.region,
        "resources": [loop_arn],
        "detail": detail,
    }


def _check_flow(flow_definition_arn: str, loop: arns.Arn) -> None:
    flow = arns.parse(flow_definition_arn, "flow-definition", "flowDefinitionArn")
    if (flow.account, flow.region) != (loop.account, loop.region):
        raise InvalidInput(
            f"Value '{flow_definition_arn}' at 'flowDefinitionArn' is not in the loop's account and region "
            f"({loop.account}, {loop.region}).",
            "flowDefinitionArn",
        )


def _utc(moment: datetime, field: str) -> datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise InvalidInput(f"The time at '{field}' has no time zone; give an aware (UTC) time.", field)
    return moment.astimezone(UTC)


def _millis(moment: datetime, field: str) -> str:
    """YYYY-MM-DDTHH:MM:SS.mmmZ, as DescribeHumanLoop's CreationTime and output.json show times."""
    utc = _utc(moment, field)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"
