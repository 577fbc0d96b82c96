"""Helpers shared by the SageMaker API tests: isolated regions, error assertions, small resources."""

from __future__ import annotations

import uuid
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

TEMPLATE = "<crowd-form><p>{{ task.input.text }}</p><crowd-input name='x'></crowd-input></crowd-form>"
ROLE = "arn:aws:iam::123456789012:role/a2i"


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def regional_client(server: Any, service: str = "sagemaker", region: str | None = None) -> Any:
    """A client signed for a region no other test uses, so lists and the workforce start empty."""
    return boto3.client(
        service,
        endpoint_url=server.endpoint_url,
        region_name=region or f"t-{uuid.uuid4().hex[:12]}",
        aws_access_key_id=server.access_key_id,
        aws_secret_access_key=server.secret_access_key,
        config=Config(retries={"max_attempts": 1}),
    )


def expect_error(call: Any, code: str, message: str, **kwargs: Any) -> dict[str, Any]:
    """Call, expecting an HTTP 400 with this error code whose message contains `message`."""
    with pytest.raises(ClientError) as caught:
        call(**kwargs)
    response: dict[str, Any] = caught.value.response
    assert response["Error"]["Code"] == code, response
    assert message in response["Error"]["Message"], response
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 400
    return response


def oidc_members(*groups: str) -> list[dict[str, Any]]:
    return [{"OidcMemberDefinition": {"Groups": list(groups)}}]


def make_workteam(sm: Any, name: str | None = None, groups: tuple[str, ...] = ("raters",)) -> str:
    arn: str = sm.create_workteam(
        WorkteamName=name or unique("team"), Description="RLHF raters", MemberDefinitions=oidc_members(*groups)
    )["WorkteamArn"]
    return arn


def make_task_ui(sm: Any, name: str | None = None, content: str = TEMPLATE) -> str:
    arn: str = sm.create_human_task_ui(HumanTaskUiName=name or unique("ui"), UiTemplate={"Content": content})[
        "HumanTaskUiArn"
    ]
    return arn


def human_loop_config(sm: Any, **extra: Any) -> dict[str, Any]:
    return {
        "WorkteamArn": make_workteam(sm),
        "HumanTaskUiArn": make_task_ui(sm),
        "TaskTitle": "Rank responses",
        "TaskDescription": "Pick the better answer",
        "TaskCount": 1,
        **extra,
    }
