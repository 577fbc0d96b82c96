"""sagemaker-a2i-runtime operations (spec §4). Inputs were validated against botocore's model by the
protocol layer; these handlers apply the semantic rules through crowdloop.loops and shape the replies.
Datetimes in replies are serialised by the protocol layer (ISO-8601); None members are dropped."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from crowdloop import loops
from crowdloop.runtime import Caller, Services

Handler = Callable[[Services, Caller, dict[str, Any]], dict[str, Any]]


def start_human_loop(svc: Services, caller: Caller, params: dict[str, Any]) -> dict[str, Any]:
    arn = loops.start_human_loop(
        svc,
        caller,
        params["HumanLoopName"],
        params["FlowDefinitionArn"],
        params["HumanLoopInput"]["InputContent"],
        params.get("DataAttributes"),
    )
    return {"HumanLoopArn": arn}


def describe_human_loop(svc: Services, caller: Caller, params: dict[str, Any]) -> dict[str, Any]:
    loop = loops.describe_human_loop(svc, caller, params["HumanLoopName"])
    return {
        "CreationTime": loop.created_at,
        "FailureReason": loop.failure_reason,
        "FailureCode": loop.failure_code,
        "HumanLoopStatus": loop.status.value,
        "HumanLoopName": loop.name,
        "HumanLoopArn": loop.arn,
        "FlowDefinitionArn": loop.flow_definition_arn,
        "HumanLoopOutput": {"OutputS3Uri": loop.output_uri},
    }


def list_human_loops(svc: Services, caller: Caller, params: dict[str, Any]) -> dict[str, Any]:
    page, token = loops.list_human_loops(
        svc,
        caller,
        params["FlowDefinitionArn"],
        created_after=params.get("CreationTimeAfter"),
        created_before=params.get("CreationTimeBefore"),
        sort_order=params.get("SortOrder") or "Descending",
        max_results=params.get("MaxResults"),
        next_token=params.get("NextToken"),
    )
    return {
        "HumanLoopSummaries": [
            {
                "HumanLoopName": loop.name,
                "HumanLoopStatus": loop.status.value,
                "CreationTime": loop.created_at,
                "FailureReason": loop.failure_reason,
                "FlowDefinitionArn": loop.flow_definition_arn,
            }
            for loop in page
        ],
        "NextToken": token,
    }


def stop_human_loop(svc: Services, caller: Caller, params: dict[str, Any]) -> dict[str, Any]:
    loops.stop_human_loop(svc, caller, params["HumanLoopName"])
    return {}


def delete_human_loop(svc: Services, caller: Caller, params: dict[str, Any]) -> dict[str, Any]:
    loops.delete_human_loop(svc, caller, params["HumanLoopName"])
    return {}


OPERATIONS: dict[str, Handler] = {
    "StartHumanLoop": start_human_loop,
    "DescribeHumanLoop": describe_human_loop,
    "ListHumanLoops": list_human_loops,
    "StopHumanLoop": stop_human_loop,
    "DeleteHumanLoop": delete_human_loop,
}
