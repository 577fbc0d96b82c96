"""The adaptive worker count through real boto3 against `crowdloop serve` (SQLite and PostgreSQL): a flow
definition created with the crowdloop:task-count-min and crowdloop:agreement-target tags completes its loops
after fewer than TaskCount answers when they agree."""

from __future__ import annotations

import json
from typing import Any

from crowdloop.runtime import Services
from tests.api.sagemaker_helpers import ROLE, human_loop_config, unique
from tests.api.test_a2i_runtime import Region, _answer
from tests.conftest import RunningServer

ITEM = {"taskObject": {"prompt": "Which is best?", "responses": ["a", "b", "c"]}}
RANKING = {"response_1_ranking": "2", "response_2_ranking": "1", "response_3_ranking": "3"}


def _adaptive_flow(region: Region) -> str:
    arn: str = region.sm.create_flow_definition(
        FlowDefinitionName=unique("fd"),
        RoleArn=ROLE,
        OutputConfig={"S3OutputPath": "s3://a2i-bucket/adaptive"},
        HumanLoopConfig=human_loop_config(region.sm, TaskCount=5),
        Tags=[
            {"Key": "crowdloop:task-count-min", "Value": "2"},
            {"Key": "crowdloop:agreement-target", "Value": "0.9"},
        ],
    )["FlowDefinitionArn"]
    return arn


def _status(region: Region, name: str) -> Any:
    return region.a2i.describe_human_loop(HumanLoopName=name)


def test_agreeing_answers_complete_the_loop_before_task_count(
    server: RunningServer, server_services: Services, s3: Any
) -> None:
    region = Region(server)
    flow_arn = _adaptive_flow(region)
    name = region.start(flow_arn, content=ITEM)
    _answer(server_services, flow_arn, [RANKING])
    assert _status(region, name)["HumanLoopStatus"] == "InProgress"
    _answer(server_services, flow_arn, [RANKING])
    described = _status(region, name)
    assert described["HumanLoopStatus"] == "Completed"
    bucket, key = described["HumanLoopOutput"]["OutputS3Uri"].removeprefix("s3://").split("/", 1)
    document = json.loads(s3.get_object(Bucket=bucket, Key=key)["Body"].read())
    assert [a["answerContent"] for a in document["humanAnswers"]] == [RANKING, RANKING]


def test_disagreeing_answers_go_to_more_workers(server: RunningServer, server_services: Services) -> None:
    region = Region(server)
    flow_arn = _adaptive_flow(region)
    name = region.start(flow_arn, content=ITEM)
    reverse = {"response_1_ranking": "2", "response_2_ranking": "3", "response_3_ranking": "1"}
    _answer(server_services, flow_arn, [RANKING, reverse])
    assert _status(region, name)["HumanLoopStatus"] == "InProgress"
    _answer(server_services, flow_arn, [RANKING, RANKING, RANKING])  # agreement 0.6 at most: TaskCount
    assert _status(region, name)["HumanLoopStatus"] == "Completed"
