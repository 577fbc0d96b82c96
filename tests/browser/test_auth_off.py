"""auth=off in Chromium: a web page of another origin cannot start human loops on a server without
signatures, even with a "simple" cross-site request (no CORS preflight), while SDK clients still can."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore import UNSIGNED
from botocore.config import Config
from playwright.sync_api import Browser

from tests.conftest import RunningServer, start_server, stop_server

FLOW = "fd-auth-off"


@pytest.fixture(scope="module")
def open_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    data_dir: Path = tmp_path_factory.mktemp("auth-off")
    server = start_server(data_dir, f"sqlite:///{data_dir / 'crowdloop.db'}", extra_env={"CROWDLOOP_AUTH": "off"})
    yield server
    stop_server(server)


def _client(server: RunningServer, service: str) -> Any:
    return boto3.client(
        service,
        endpoint_url=server.endpoint_url,
        region_name="us-east-1",
        config=Config(signature_version=UNSIGNED, retries={"max_attempts": 1}),
    )


def _flow_arn(server: RunningServer) -> str:
    sm = _client(server, "sagemaker")
    team = sm.create_workteam(
        WorkteamName="off-team",
        Description="auth off",
        MemberDefinitions=[{"OidcMemberDefinition": {"Groups": ["off"]}}],
    )
    ui = sm.create_human_task_ui(HumanTaskUiName="off-ui", UiTemplate={"Content": "<crowd-form></crowd-form>"})
    return str(
        sm.create_flow_definition(
            FlowDefinitionName=FLOW,
            RoleArn="arn:aws:iam::123456789012:role/a2i",
            HumanLoopConfig={
                "WorkteamArn": team["WorkteamArn"],
                "HumanTaskUiArn": ui["HumanTaskUiArn"],
                "TaskCount": 1,
                "TaskTitle": "t",
                "TaskDescription": "d",
            },
            OutputConfig={"S3OutputPath": "s3://off/out"},
        )["FlowDefinitionArn"]
    )


def test_pages_of_other_origins_cannot_start_loops(open_server: RunningServer, browser: Browser) -> None:
    flow_arn = _flow_arn(open_server)
    body = json.dumps(
        {"HumanLoopName": "from-a-web-page", "FlowDefinitionArn": flow_arn, "HumanLoopInput": {"InputContent": "{}"}}
    )
    context = browser.new_context()
    try:
        page = context.new_page()
        page.goto(f"http://localhost:{open_server.port}/_crowdloop/health")  # another origin (name), no CSP
        sent = page.evaluate(
            """([url, body]) => fetch(url, {method: "POST", mode: "no-cors", body: body})
            .then(() => "sent", (e) => "failed: " + e)""",
            [f"{open_server.endpoint_url}/human-loops", body],
        )
        assert sent == "sent"  # the browser sent it (an opaque answer): the server must have refused it
    finally:
        context.close()
    a2i = _client(open_server, "sagemaker-a2i-runtime")
    assert a2i.list_human_loops(FlowDefinitionArn=flow_arn)["HumanLoopSummaries"] == []
    a2i.start_human_loop(
        HumanLoopName="from-the-sdk", FlowDefinitionArn=flow_arn, HumanLoopInput={"InputContent": "{}"}
    )
    names = [s["HumanLoopName"] for s in a2i.list_human_loops(FlowDefinitionArn=flow_arn)["HumanLoopSummaries"]]
    assert names == ["from-the-sdk"]
