"""The A2I runtime handlers called in-process (no HTTP): reply shapes per spec §4 on both backends."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from crowdloop import reaper
from crowdloop.aws.a2i_runtime import OPERATIONS
from crowdloop.clock import ManualClock
from crowdloop.runtime import Services
from tests.domain.loopsetup import CALLER, make_flow


def _call(svc: Services, operation: str, **params: Any) -> dict[str, Any]:
    return OPERATIONS[operation](svc, CALLER, dict(params))


def test_operations_are_the_five_a2i_operations() -> None:
    assert set(OPERATIONS) == {
        "StartHumanLoop",
        "DescribeHumanLoop",
        "ListHumanLoops",
        "StopHumanLoop",
        "DeleteHumanLoop",
    }


def test_reply_shapes(services: Services) -> None:
    flow = make_flow(services, "shape-fd", lifetime=60)
    started = _call(
        services,
        "StartHumanLoop",
        HumanLoopName="shape",
        FlowDefinitionArn=flow.arn,
        HumanLoopInput={"InputContent": json.dumps({"a": 1})},
        DataAttributes={"ContentClassifiers": ["FreeOfAdultContent"]},
    )
    assert started == {"HumanLoopArn": "arn:aws:sagemaker:us-east-1:123456789012:human-loop/shape"}
    described = _call(services, "DescribeHumanLoop", HumanLoopName="shape")
    assert isinstance(described["CreationTime"], datetime)
    assert {k: v for k, v in described.items() if v is not None} == {
        "CreationTime": described["CreationTime"],
        "HumanLoopStatus": "InProgress",
        "HumanLoopName": "shape",
        "HumanLoopArn": started["HumanLoopArn"],
        "FlowDefinitionArn": flow.arn,
        "HumanLoopOutput": {"OutputS3Uri": "s3://bucket/out/shape-fd/2026/01/01/00/00/00/shape/output.json"},
    }
    listed = _call(services, "ListHumanLoops", FlowDefinitionArn=flow.arn)
    assert listed == {
        "HumanLoopSummaries": [
            {
                "HumanLoopName": "shape",
                "HumanLoopStatus": "InProgress",
                "CreationTime": described["CreationTime"],
                "FailureReason": None,
                "FlowDefinitionArn": flow.arn,
            }
        ],
        "NextToken": None,
    }

    assert isinstance(services.clock, ManualClock)
    services.clock.advance(61)
    reaper.reap(services)
    failed = _call(services, "DescribeHumanLoop", HumanLoopName="shape")
    assert failed["HumanLoopStatus"] == "Failed" and failed["FailureCode"] == "Expired"
    assert failed["FailureReason"]
    [summary] = _call(services, "ListHumanLoops", FlowDefinitionArn=flow.arn)["HumanLoopSummaries"]
    assert summary["FailureReason"] == failed["FailureReason"]
    assert _call(services, "DeleteHumanLoop", HumanLoopName="shape") == {}


def test_stop_reply_and_paging(services: Services) -> None:
    flow = make_flow(services)
    for i in range(3):
        _call(
            services,
            "StartHumanLoop",
            HumanLoopName=f"p{i}",
            FlowDefinitionArn=flow.arn,
            HumanLoopInput={"InputContent": "{}"},
        )
    assert _call(services, "StopHumanLoop", HumanLoopName="p0") == {}
    first = _call(services, "ListHumanLoops", FlowDefinitionArn=flow.arn, MaxResults=2, SortOrder="Ascending")
    assert [s["HumanLoopName"] for s in first["HumanLoopSummaries"]] == ["p0", "p1"]
    assert isinstance(first["NextToken"], str)
    rest = _call(
        services,
        "ListHumanLoops",
        FlowDefinitionArn=flow.arn,
        MaxResults=2,
        SortOrder="Ascending",
        NextToken=first["NextToken"],
    )
    assert [s["HumanLoopName"] for s in rest["HumanLoopSummaries"]] == ["p2"]
    assert rest["NextToken"] is None
