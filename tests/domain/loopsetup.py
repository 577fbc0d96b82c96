"""Setting up what human loops need (a work team, a task UI, an Active flow definition, workers) through the
domain calls, for the loop, queue and output tests."""

from __future__ import annotations

import itertools
import json
from typing import Any

from crowdloop import flows, loops, workers, workforce
from crowdloop.model import Worker
from crowdloop.runtime import Caller, Services

CALLER = Caller(account="123456789012", region="us-east-1")
TEMPLATE = "<crowd-form><p>{{ task.input.text }}</p></crowd-form>"
_names = itertools.count(1)


def make_flow(
    svc: Services,
    name: str | None = None,
    *,
    task_count: int = 1,
    time_limit: int = 600,
    lifetime: int = 3600,
    groups: tuple[str, ...] = ("raters",),
    output_path: str = "s3://bucket/out",
    caller: Caller = CALLER,
    activate: bool = True,
    template: str = TEMPLATE,
    **extra: Any,
) -> flows.FlowDefinition:
    """A work team selecting `groups`, a task UI (`template`) and a flow definition (made Active unless told
    not to)."""
    n = next(_names)
    name = name or f"fd-{n}"
    team = workforce.create_workteam(
        svc,
        caller,
        f"team-{n}",
        description="raters",
        member_definitions=[{"OidcMemberDefinition": {"Groups": list(groups)}}],
    )
    ui = flows.create_human_task_ui(svc, caller, f"ui-{n}", template)
    config = {
        "WorkteamArn": team.arn,
        "HumanTaskUiArn": ui.arn,
        "TaskCount": task_count,
        "TaskTitle": f"Title {name}",
        "TaskDescription": f"Description {name}",
        "TaskTimeLimitInSeconds": time_limit,
        "TaskAvailabilityLifetimeInSeconds": lifetime,
        "TaskKeywords": ["rank", "text"],
    }
    flow = flows.create_flow_definition(
        svc,
        caller,
        name,
        role_arn="arn:aws:iam::123456789012:role/a2i",
        output_config={"S3OutputPath": output_path},
        human_loop_config=config,
        **extra,
    )
    if activate:
        flows.describe_flow_definition(svc, caller, name)
    return flow


def make_worker(svc: Services, email: str | None = None, groups: tuple[str, ...] = ("raters",)) -> Worker:
    return workers.add_worker(svc, email or f"worker{next(_names)}@example.org", groups=groups)


def start(
    svc: Services, flow: flows.FlowDefinition, name: str | None = None, content: Any = None, caller: Caller = CALLER
) -> str:
    """Start a loop with a JSON-object input; returns the loop name."""
    name = name or f"loop-{next(_names)}"
    loops.start_human_loop(svc, caller, name, flow.arn, json.dumps(content or {"text": name}))
    return name
