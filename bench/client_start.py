"""Benchmark: how fast crowdloop.Client starts a job (issue 14: "a 10,000-item job starts in seconds").

One `crowdloop serve` (SQLite, or `--database-url`). The baseline is the seed notebook's way, measured in the
same run on the same server: a plain boto3 loop calling start_human_loop once per item, one after another.
Then `Client.rank(items, ...)` starts the same number of items (its task UI, flow definition and the loops
on `--concurrency` threads). Prints one JSON line: seconds and loops per second of each, the client's speed
as a ratio to the baseline, and the server's CPU time per loop in each phase.

    python bench/client_start.py [--items 10000] [--concurrency 16] [--database-url URL]
"""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:] = [str(HERE.parent)] + [p for p in sys.path if Path(p or ".").resolve() != HERE]

import argparse
import json
import os
import time
import uuid
from typing import Any

from bench.common import start_server, tree_cpu_seconds
from crowdloop.client import Client


def items(count: int) -> list[dict[str, Any]]:
    return [
        {
            "prompt": f"Question {n}: explain why the sky is blue in one sentence.",
            "responses": [f"Answer A{n}: Rayleigh scattering.", f"Answer B{n}: The sea.", f"Answer C{n}: Dust."],
        }
        for n in range(count)
    ]


def sequential(client: Client, team_arn: str, batch: list[dict[str, Any]]) -> float:
    """The seed notebook's loop: one start_human_loop after another."""
    name = f"seq-{uuid.uuid4().hex[:8]}"
    ui = client.sagemaker.create_human_task_ui(HumanTaskUiName=name, UiTemplate={"Content": "<p>{{ task.input }}</p>"})
    flow = client.sagemaker.create_flow_definition(
        FlowDefinitionName=name,
        RoleArn=client.role_arn,
        HumanLoopConfig={
            "WorkteamArn": team_arn,
            "HumanTaskUiArn": ui["HumanTaskUiArn"],
            "TaskCount": 1,
            "TaskTitle": "bench",
            "TaskDescription": "bench",
        },
        OutputConfig={"S3OutputPath": client.output_path},
    )
    started = time.perf_counter()
    for n, item in enumerate(batch):
        client.a2i.start_human_loop(
            HumanLoopName=f"{name}-{n}",
            FlowDefinitionArn=flow["FlowDefinitionArn"],
            HumanLoopInput={"InputContent": json.dumps({"taskObject": item})},
        )
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--items", type=int, default=10_000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()
    server = start_server(args.database_url, extra_env={"CROWDLOOP_MAX_IN_PROGRESS_LOOPS": str(10 * args.items)})
    client = Client(
        endpoint_url=server.endpoint_url,
        region_name="us-east-1",
        aws_access_key_id=server.exports["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=server.exports["AWS_SECRET_ACCESS_KEY"],
        max_concurrency=args.concurrency,
    )
    try:
        team = client.sagemaker.create_workteam(
            WorkteamName="bench",
            Description="bench",
            MemberDefinitions=[{"OidcMemberDefinition": {"Groups": ["bench"]}}],
        )["WorkteamArn"]
        batch = items(args.items)
        cpu = tree_cpu_seconds(server.process.pid)
        baseline_s = sequential(client, team, batch)
        baseline_cpu = tree_cpu_seconds(server.process.pid) - cpu

        cpu = tree_cpu_seconds(server.process.pid)
        own = time.process_time()
        started = time.perf_counter()
        job = client.rank(batch, team="bench", workers=1, progress_bar=False)
        client_s = time.perf_counter() - started
        client_cpu = tree_cpu_seconds(server.process.pid) - cpu
        client_own_cpu = time.process_time() - own
        assert job.progress().in_progress == args.items, "not every loop started"
    finally:
        client.close()
        server.stop()
    print(
        json.dumps(
            {
                "bench": "client_start",
                "items": args.items,
                "backend": "postgresql" if args.database_url else "sqlite",
                "concurrency": args.concurrency,
                "baseline_sequential_s": round(baseline_s, 2),
                "baseline_loops_per_s": round(args.items / baseline_s, 1),
                "client_s": round(client_s, 2),
                "client_loops_per_s": round(args.items / client_s, 1),
                "client_speed_ratio": round(baseline_s / client_s, 2),
                "server_cpu_ms_per_loop": {
                    "baseline": round(1000 * baseline_cpu / args.items, 3),
                    "client": round(1000 * client_cpu / args.items, 3),
                },
                "client_process_cpu_ms_per_loop": round(1000 * client_own_cpu / args.items, 3),
                "cpus": os.cpu_count(),
                "load_1m": round(os.getloadavg()[0], 2),
            }
        ),
        flush=True,
    )


if __name__ == "__main__":
    main()
