"""Event documents (crowdloop.events) against the spec's example (shared/spec/events.md §1 and §2)."""

from __future__ import annotations

import json
import re
import uuid
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from crowdloop import events
from crowdloop.config import load_settings
from crowdloop.errors import InvalidInput
from crowdloop.output import format_time

LOOP = "arn:aws:sagemaker:us-east-1:111111111111:human-loop/humanloop-nov-14-1"
FLOW = "arn:aws:sagemaker:us-east-1:111111111111:flow-definition/flowdef-nov-12"
OUTPUT = (
    "s3://customer-output-bucket-specified-in-flow-definition/flowdef-nov-12/2019/11/14/17/37/36/"
    "humanloop-nov-14-1/output.json"
)
CREATED = datetime(2019, 11, 14, 17, 37, 36, 740_512, tzinfo=UTC)
CHANGED = datetime(2019, 11, 14, 17, 49, 25, 912_000, tzinfo=UTC)

# The documented example (dg:a2i-cloudwatch-events.md, account normalised to 12 digits), as JSON text so
# that its key order is checked too.
SPEC_EXAMPLE = """{
    "version":"0",
    "id":"12345678-1111-2222-3333-12345EXAMPLE",
    "detail-type":"SageMaker A2I HumanLoop Status Change",
    "source":"aws.sagemaker",
    "account":"111111111111",
    "time":"2019-11-14T17:49:25Z",
    "region":"us-east-1",
    "resources":["arn:aws:sagemaker:us-east-1:111111111111:human-loop/humanloop-nov-14-1"],
    "detail":{
        "creationTime":"2019-11-14T17:37:36.740Z",
        "failureCode":null,
        "failureReason":null,
        "flowDefinitionArn":"arn:aws:sagemaker:us-east-1:111111111111:flow-definition/flowdef-nov-12",
        "humanLoopArn":"arn:aws:sagemaker:us-east-1:111111111111:human-loop/humanloop-nov-14-1",
        "humanLoopName":"humanloop-nov-14-1",
        "humanLoopOutput":{
            "outputS3Uri":"s3://customer-output-bucket-specified-in-flow-definition/flowdef-nov-12/2019/11/14/17/37/36/humanloop-nov-14-1/output.json"
        },
        "humanLoopStatus":"Completed"
    }
}"""


def _change(**overrides: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "human_loop_arn": LOOP,
        "flow_definition_arn": FLOW,
        "status": "Completed",
        "created_at": CREATED,
        "changed_at": CHANGED,
        "output_s3_uri": OUTPUT,
    }
    values.update(overrides)
    return events.human_loop_status_change(**values)


def _keys_in_order(value: Any) -> list[Any]:
    """Every key of a JSON document, depth first, in document order."""
    if isinstance(value, dict):
        return [item for key, child in value.items() for item in (key, *_keys_in_order(child))]
    if isinstance(value, list):
        return [item for child in value for item in _keys_in_order(child)]
    return []


def test_the_spec_example_is_reproduced_field_by_field() -> None:
    expected = json.loads(SPEC_EXAMPLE)
    event = _change()
    assert uuid.UUID(event["id"]).version == 5  # the example's id is a placeholder; ours is a real UUID
    assert {**event, "id": expected["id"]} == expected
    assert _keys_in_order(event) == _keys_in_order(expected)
    assert event["detail"]["humanLoopArn"] == event["resources"][0]
    assert event["detail"]["creationTime"] == format_time(CREATED)  # DescribeHumanLoop's and output.json's form


def test_encode_is_compact_utf8_json_in_the_spec_key_order() -> None:
    event = _change()
    body = events.encode(event)
    compact = json.dumps({**json.loads(SPEC_EXAMPLE), "id": event["id"]}, separators=(",", ":"))
    assert body == compact.encode()
    assert body.startswith(b'{"version":"0","id":"') and b", " not in body and b": " not in body
    reason = "Ablaufdatum überschritten — 期限切れ"
    failed = events.encode(_change(status="Failed", failure_code="Expired", failure_reason=reason))
    assert reason.encode() in failed  # UTF-8, not \\u escapes
    assert json.loads(failed)["detail"]["failureReason"] == reason


def test_a_failed_loop_carries_its_failure_and_the_others_carry_nulls() -> None:
    failed = _change(status="Failed", failure_code="Expired", failure_reason="The human loop expired.")["detail"]
    assert (failed["humanLoopStatus"], failed["failureCode"], failed["failureReason"]) == (
        "Failed",
        "Expired",
        "The human loop expired.",
    )
    assert failed["humanLoopOutput"] == {"outputS3Uri": OUTPUT}
    for status in ("Completed", "Stopped"):
        detail = _change(status=status)["detail"]
        assert detail["humanLoopStatus"] == status
        assert "failureCode" in detail and detail["failureCode"] is None
        assert "failureReason" in detail and detail["failureReason"] is None
        assert detail["humanLoopOutput"] == {"outputS3Uri": OUTPUT}
    assert _change(status="Failed")["detail"]["failureReason"] is None  # a Failed loop without a recorded reason


def test_time_is_the_transition_in_utc_to_the_second() -> None:
    paris = timezone(timedelta(hours=1))
    event = _change(changed_at=datetime(2019, 11, 14, 18, 49, 25, 999_999, tzinfo=paris))
    assert event["time"] == "2019-11-14T17:49:25Z"
    assert _change(created_at=CREATED.astimezone(paris))["detail"]["creationTime"] == "2019-11-14T17:37:36.740Z"


def test_ids_are_stable_and_differ_between_changes() -> None:
    first = _change()
    assert _change()["id"] == first["id"]
    assert _change(changed_at=CHANGED + timedelta(minutes=5))["id"] == first["id"]  # a redelivery's clock
    other_loop = LOOP.replace("nov-14-1", "nov-14-2")
    others = {
        _change(status="Stopped")["id"],
        _change(status="Failed")["id"],
        _change(human_loop_arn=other_loop)["id"],
        _change(created_at=CREATED + timedelta(days=1))["id"],  # the name reused by a later loop
        events.human_loop_started(
            source="crowdloop", human_loop_arn=LOOP, flow_definition_arn=FLOW, created_at=CREATED
        )["id"],
    }
    assert len(others) == 5 and first["id"] not in others


def test_the_id_derivation_never_changes() -> None:
    """Ids of events stored by an older version must match a redelivery built by a newer one."""
    assert events.event_id("a", "b") == str(uuid.uuid5(uuid.UUID("6f1d3c2a-5b7e-5d4f-9a61-3e0c8b2d7f15"), "a\nb"))
    assert _change()["id"] == events.event_id(events.STATUS_CHANGE, LOOP, "2019-11-14T17:37:36.740Z", "Completed")
    assert _change()["id"] == "6284aacb-8d28-50aa-b989-5ddbac548379"


def test_loop_started_is_crowdloops_own_event() -> None:
    event = events.human_loop_started(
        source="crowdloop", human_loop_arn=LOOP, flow_definition_arn=FLOW, created_at=CREATED
    )
    assert event == {
        "version": "0",
        "id": event["id"],
        "detail-type": "crowdloop HumanLoop Started",
        "source": "crowdloop",
        "account": "111111111111",
        "time": "2019-11-14T17:37:36Z",
        "region": "us-east-1",
        "resources": [LOOP],
        "detail": {
            "creationTime": "2019-11-14T17:37:36.740Z",
            "flowDefinitionArn": FLOW,
            "humanLoopArn": LOOP,
            "humanLoopName": "humanloop-nov-14-1",
            "humanLoopStatus": "InProgress",
        },
    }
    again = events.human_loop_started(
        source="crowdloop", human_loop_arn=LOOP, flow_definition_arn=FLOW, created_at=CREATED
    )
    assert again["id"] == event["id"]
    assert list(event) == list(_change())


def _answer(**overrides: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "source": "acme.labelling",
        "human_loop_arn": LOOP,
        "flow_definition_arn": FLOW,
        "created_at": CREATED,
        "worker_id": "f2ac4c1c-9e73-4e0b-8d0a-1f2e3d4c5b6a",
        "accepted_at": CREATED + timedelta(minutes=2),
        "submitted_at": CREATED + timedelta(minutes=3, seconds=10),
        "time_spent_seconds": 70.12345,
    }
    values.update(overrides)
    return events.answer_submitted(**values)


def test_answer_submitted_is_crowdloops_own_event() -> None:
    event = _answer()
    assert event == {
        "version": "0",
        "id": event["id"],
        "detail-type": "crowdloop Answer Submitted",
        "source": "acme.labelling",
        "account": "111111111111",
        "time": "2019-11-14T17:40:46Z",
        "region": "us-east-1",
        "resources": [LOOP],
        "detail": {
            "acceptanceTime": "2019-11-14T17:39:36.740Z",
            "creationTime": "2019-11-14T17:37:36.740Z",
            "flowDefinitionArn": FLOW,
            "humanLoopArn": LOOP,
            "humanLoopName": "humanloop-nov-14-1",
            "submissionTime": "2019-11-14T17:40:46.740Z",
            "timeSpentInSeconds": 70.123,
            "workerId": "f2ac4c1c-9e73-4e0b-8d0a-1f2e3d4c5b6a",
        },
    }
    assert _answer()["id"] == event["id"]
    assert _answer(worker_id="another")["id"] != event["id"]
    assert _answer(submitted_at=CREATED + timedelta(minutes=4))["id"] != event["id"]


def test_with_source_keeps_the_event_and_its_id() -> None:
    event = _change()
    moved = events.with_source(event, "crowdloop.sagemaker")
    assert moved == {**event, "source": "crowdloop.sagemaker"}
    assert list(moved) == list(event) and event["source"] == "aws.sagemaker"


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"status": "InProgress"}, "humanLoopStatus"),
        ({"status": "Stopping"}, "humanLoopStatus"),
        ({"status": "completed"}, "humanLoopStatus"),
        ({"status": "Completed", "failure_reason": "no"}, "failureReason"),
        ({"status": "Stopped", "failure_code": "Expired"}, "failureReason"),
        ({"status": "Failed", "failure_code": "Boom"}, "failureCode"),
        ({"human_loop_arn": "humanloop-nov-14-1"}, "humanLoopArn"),
        ({"human_loop_arn": FLOW}, "humanLoopArn"),
        ({"flow_definition_arn": LOOP}, "flowDefinitionArn"),
        ({"flow_definition_arn": FLOW.replace("us-east-1", "eu-west-1")}, "flowDefinitionArn"),
        ({"flow_definition_arn": FLOW.replace("111111111111", "222222222222")}, "flowDefinitionArn"),
        ({"output_s3_uri": "https://bucket/output.json"}, "outputS3Uri"),
        ({"output_s3_uri": "s3://"}, "outputS3Uri"),
        ({"created_at": CREATED.replace(tzinfo=None)}, "creationTime"),
        ({"changed_at": CHANGED.replace(tzinfo=None)}, "time"),
    ],
)
def test_invalid_status_changes_are_refused(overrides: dict[str, Any], field: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        _change(**overrides)
    assert caught.value.field == field
    assert field in caught.value.message


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"source": "aws.sagemaker"}, "source"),
        ({"source": "AWS.custom"}, "source"),
        ({"source": ""}, "source"),
        ({"source": "my source"}, "source"),
        ({"source": "x" * 257}, "source"),
        ({"worker_id": ""}, "workerId"),
        ({"time_spent_seconds": -1.0}, "timeSpentInSeconds"),
        ({"time_spent_seconds": float("nan")}, "timeSpentInSeconds"),
        ({"submitted_at": CHANGED.replace(tzinfo=None)}, "submissionTime"),
        ({"accepted_at": CHANGED.replace(tzinfo=None)}, "acceptanceTime"),
    ],
)
def test_invalid_own_events_are_refused(overrides: dict[str, Any], field: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        _answer(**overrides)
    assert caught.value.field == field
    with pytest.raises(InvalidInput):
        events.with_source(_change(), "aws.events")


def test_the_events_source_setting() -> None:
    assert load_settings({}, env={}).events_source == "crowdloop"
    assert load_settings({}, env={"CROWDLOOP_EVENTS_SOURCE": "acme.a2i"}).events_source == "acme.a2i"
    for bad in ("aws.sagemaker", "", "two words"):
        with pytest.raises(ValueError, match="CROWDLOOP_EVENTS_SOURCE"):
            load_settings({"events_source": bad}, env={})


_NAMES = st.from_regex(r"[a-z0-9](-*[a-z0-9]){0,62}", fullmatch=True)
_TIMES = st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC))


@given(
    name=_NAMES,
    status=st.sampled_from(events.ANNOUNCED_STATUSES),
    created=_TIMES,
    changed=_TIMES,
    reason=st.none() | st.text(),
)
def test_any_status_change_encodes_to_its_own_document(
    name: str, status: str, created: datetime, changed: datetime, reason: str | None
) -> None:
    arn = f"arn:aws:sagemaker:eu-west-1:123456789012:human-loop/{name}"
    flow = "arn:aws:sagemaker:eu-west-1:123456789012:flow-definition/f"
    event = events.human_loop_status_change(
        human_loop_arn=arn,
        flow_definition_arn=flow,
        status=status,
        created_at=created,
        changed_at=changed,
        output_s3_uri=f"s3://b/f/{name}/output.json",
        failure_reason=reason if status == "Failed" else None,
    )
    decoded = json.loads(events.encode(event))
    assert decoded == event and list(decoded) == list(event)
    assert decoded["detail"]["humanLoopName"] == name and decoded["resources"] == [arn]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", decoded["time"])
    assert decoded["detail"]["creationTime"] == format_time(created)
    assert datetime.fromisoformat(decoded["time"]) == changed.replace(microsecond=0)


def _docs_examples() -> list[dict[str, Any]]:
    text = (Path(__file__).resolve().parents[2] / "docs" / "events.md").read_text()
    start = text.index("\n## Event types")
    end = text.find("\n## ", start + 1)
    text = text[start : end if end >= 0 else len(text)]  # the event examples (other sections show patterns)
    return [json.loads(block) for block in re.findall(r"```json\n(.*?)```", text, re.DOTALL)]


def _rebuilt(example: dict[str, Any]) -> dict[str, Any]:
    """The event the builders make from the values an example in docs/events.md shows."""
    detail = example["detail"]
    if example["detail-type"] == events.WORKER_PAUSED:
        return events.worker_paused(
            source=example["source"],
            flow_definition_arn=detail["flowDefinitionArn"],
            worker_id=detail["workerId"],
            paused_at=datetime.fromisoformat(example["time"]),
            gold_answered=detail["goldAnswered"],
            gold_accuracy=detail["goldAccuracy"],
            min_accuracy=detail["minAccuracy"],
            reason=detail["reason"],
        )
    if example["detail-type"] == events.LABELING_TASK_STATUS_CHANGE:  # the docs' example is task 1's
        return events.labeling_task_status_change(
            labeling_job_arn=detail["labeling-job-arn"],
            workteam_arn=detail["workteam-team-arn"],
            state=detail["State"],
            changed_at=datetime.fromisoformat(example["time"]),
            task="1",
        )
    if example["detail-type"] == events.LABELING_JOB_STATE_CHANGE:
        return events.labeling_job_state_change(
            labeling_job_arn=example["resources"][0],
            status=detail["LabelingJobStatus"],
            changed_at=datetime.fromisoformat(example["time"]),
        )
    loop = {
        "human_loop_arn": example["resources"][0],
        "flow_definition_arn": detail["flowDefinitionArn"],
        "created_at": datetime.fromisoformat(detail["creationTime"]),
    }
    if example["detail-type"] == events.STATUS_CHANGE:
        return events.human_loop_status_change(
            **loop,
            status=detail["humanLoopStatus"],
            changed_at=datetime.fromisoformat(example["time"]),
            output_s3_uri=detail["humanLoopOutput"]["outputS3Uri"],
            failure_code=detail["failureCode"],
            failure_reason=detail["failureReason"],
        )
    if example["detail-type"] == events.LOOP_STARTED:
        return events.human_loop_started(source=example["source"], **loop)
    assert example["detail-type"] == events.ANSWER_SUBMITTED
    return events.answer_submitted(
        source=example["source"],
        **loop,
        worker_id=detail["workerId"],
        accepted_at=datetime.fromisoformat(detail["acceptanceTime"]),
        submitted_at=datetime.fromisoformat(detail["submissionTime"]),
        time_spent_seconds=detail["timeSpentInSeconds"],
    )


def test_the_examples_in_the_docs_are_what_the_builders_make() -> None:
    examples = _docs_examples()
    assert sorted(e["detail-type"] for e in examples) == sorted(
        [
            events.STATUS_CHANGE,
            events.LOOP_STARTED,
            events.ANSWER_SUBMITTED,
            events.WORKER_PAUSED,
            events.LABELING_JOB_STATE_CHANGE,
            events.LABELING_TASK_STATUS_CHANGE,
        ]
    )
    for example in examples:
        rebuilt = _rebuilt(example)
        assert rebuilt == example and _keys_in_order(rebuilt) == _keys_in_order(example)
