"""A one-answer job on a running `crowdloop serve`, for the end-to-end tests of the server itself (outages,
several processes, stopping): a flow definition whose work team is the demo worker's group, loops started
with boto3, the demo worker answering through the portal over HTTP, and the output.json files it leaves."""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path
from typing import Any

from tests.conftest import RunningServer
from tests.e2e.portal_connection import PortalConnection

BUCKET = "outage"


def set_up_job(server: RunningServer) -> str:
    """A flow definition whose work team is the demo worker's group (output in s3://outage/out); its ARN."""
    sm = server.client("sagemaker")
    team = sm.create_workteam(
        WorkteamName="outage-team",
        Description="outage test",
        MemberDefinitions=[{"OidcMemberDefinition": {"Groups": ["demo"]}}],
    )
    ui = sm.create_human_task_ui(
        HumanTaskUiName="outage-ui", UiTemplate={"Content": "<crowd-form><p>{{ task.input.n }}</p></crowd-form>"}
    )
    flow = sm.create_flow_definition(
        FlowDefinitionName="outage-fd",
        RoleArn="arn:aws:iam::123456789012:role/outage",
        HumanLoopConfig={
            "WorkteamArn": team["WorkteamArn"],
            "HumanTaskUiArn": ui["HumanTaskUiArn"],
            "TaskCount": 1,
            "TaskTitle": "outage",
            "TaskDescription": "outage",
        },
        OutputConfig={"S3OutputPath": f"s3://{BUCKET}/out"},
    )
    sm.describe_flow_definition(FlowDefinitionName="outage-fd")
    return str(flow["FlowDefinitionArn"])


def start_loop(a2i: Any, flow_arn: str, padding: int = 0) -> str:
    name = "loop-" + uuid.uuid4().hex[:12]
    a2i.start_human_loop(
        HumanLoopName=name,
        FlowDefinitionArn=flow_arn,
        HumanLoopInput={"InputContent": json.dumps({"n": name, "pad": "x" * padding})},
    )
    return name


def demo_worker(server: RunningServer) -> tuple[str, str]:
    email, _, password = (server.data_dir / "demo-worker.txt").read_text().strip().partition(" ")
    return email, password


def signed_in_portal(server: RunningServer, port: int | None = None) -> PortalConnection:
    portal = PortalConnection(port or server.port)
    portal.sign_in(*demo_worker(server))
    return portal


def outputs(server: RunningServer) -> list[Path]:
    return sorted((server.data_dir / "output" / BUCKET).rglob("output.json"))


def wait_for_outputs(server: RunningServer, count: int, seconds: float = 60) -> list[Path]:
    deadline = time.monotonic() + seconds
    while len(outputs(server)) < count and time.monotonic() < deadline:
        time.sleep(0.2)
    return outputs(server)
