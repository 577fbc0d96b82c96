"""Benchmark: signed StartHumanLoop over HTTP against `crowdloop serve` on SQLite.

32 concurrent connections replay pre-signed requests with wrk (a native load generator: a Python
client tops out near 500-600 requests/s here, far below the server). In the same run a no-op
endpoint of the same server gives the ceiling of the HTTP stack. Prints one JSON line: loops/s,
p50/p99, the ratio to the ceiling, and the server process's CPU time per loop (from /proc).

    python bench/start_loops.py [--seconds 8] [--connections 32]
"""

from __future__ import annotations

import sys
from pathlib import Path

# bench/queue.py is named like the standard library's `queue`: keep this folder off the import path. The
# repository goes first: a dependency of the test extra (smdebug_rulesconfig) installs a top-level `tests`.
HERE = Path(__file__).resolve().parent
sys.path[:] = [str(HERE.parent)] + [p for p in sys.path if Path(p or ".").resolve() != HERE]

import argparse
import json
import tempfile
import uuid

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from bench.common import Server, raw_request, run_wrk, start_server

PROMPT = {
    "taskObject": {
        "prompt": "Explain why you can see yourself in a mirror to a 16 year old.",
        "responses": [
            "Light reflects off you, then off the mirror, into your eyes." * 3,
            "Because of a series of light reflections." * 4,
            "Light travels from a source, reflects twice, reaches your eyes." * 3,
        ],
    }
}


def set_up(server: Server) -> str:
    sm = server.client("sagemaker")
    team = sm.create_workteam(
        WorkteamName="bench-team",
        Description="benchmark",
        MemberDefinitions=[{"OidcMemberDefinition": {"Groups": ["bench"]}}],
    )
    ui = sm.create_human_task_ui(
        HumanTaskUiName="bench-ui",
        UiTemplate={"Content": "<crowd-form><p>{{ task.input.taskObject.prompt }}</p></crowd-form>"},
    )
    flow = sm.create_flow_definition(
        FlowDefinitionName="bench-fd",
        RoleArn="arn:aws:iam::123456789012:role/bench",
        HumanLoopConfig={
            "WorkteamArn": team["WorkteamArn"],
            "HumanTaskUiArn": ui["HumanTaskUiArn"],
            "TaskCount": 1,
            "TaskTitle": "bench",
            "TaskDescription": "bench",
        },
        OutputConfig={"S3OutputPath": "s3://bench/out"},
    )
    sm.describe_flow_definition(FlowDefinitionName="bench-fd")
    return str(flow["FlowDefinitionArn"])


def write_requests(path: Path, server: Server, count: int, flow_arn: str, *, noop: bool) -> None:
    credentials = Credentials(server.exports["AWS_ACCESS_KEY_ID"], server.exports["AWS_SECRET_ACCESS_KEY"])
    signer = SigV4Auth(credentials, "sagemaker", "us-east-1")
    host = f"127.0.0.1:{server.port}"
    input_content = json.dumps(PROMPT)
    run = uuid.uuid4().hex[:8]
    with path.open("wb") as out:
        for i in range(count):
            body = json.dumps(
                {
                    "HumanLoopName": f"bench-{run}-{i}",
                    "FlowDefinitionArn": flow_arn,
                    "HumanLoopInput": {"InputContent": input_content},
                }
            ).encode()
            target = "/_crowdloop/noop" if noop else "/human-loops"
            request = AWSRequest(
                "POST", f"http://{host}{target}", data=body, headers={"Content-Type": "application/json", "Host": host}
            )
            signer.add_auth(request)
            headers = {k: str(v) for k, v in request.headers.items()}
            out.write(raw_request("POST", target, headers, body) + b"\0")


def measure(server: Server, requests_file: Path, connections: int, seconds: float) -> tuple[dict[str, float], float]:
    before = server.cpu_seconds()
    result = run_wrk(requests_file, server.endpoint_url + "/", connections=connections, seconds=seconds)
    return result, server.cpu_seconds() - before


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--requests", type=int, default=40000, help="pre-signed requests to prepare")
    args = parser.parse_args()

    server = start_server()
    try:
        flow_arn = set_up(server)
        work = Path(tempfile.mkdtemp(prefix="crowdloop-bench-"))
        noop_file, loops_file = work / "noop.bin", work / "loops.bin"
        write_requests(noop_file, server, 20000, flow_arn, noop=True)
        write_requests(loops_file, server, args.requests, flow_arn, noop=False)
        ceiling, ceiling_cpu = measure(server, noop_file, args.connections, args.seconds)
        loops, loops_cpu = measure(server, loops_file, args.connections, args.seconds)
    finally:
        server.stop()

    def rate(result: dict[str, float]) -> float:
        return result["requests"] / (result["duration_us"] / 1e6)

    print(
        json.dumps(
            {
                "bench": "start_loops",
                "backend": "sqlite",
                "connections": args.connections,
                "loops_per_s": round(rate(loops), 1),
                "p50_ms": round(loops["p50_us"] / 1000, 2),
                "p99_ms": round(loops["p99_us"] / 1000, 2),
                "ceiling_noop_per_s": round(rate(ceiling), 1),
                "ratio_to_ceiling": round(rate(loops) / rate(ceiling), 3),
                "server_cpu_ms_per_loop": round(1000 * loops_cpu / max(loops["requests"], 1), 3),
                "server_cpu_ms_per_noop": round(1000 * ceiling_cpu / max(ceiling["requests"], 1), 3),
                "errors": int(loops["non_2xx"] + loops["socket_errors"]),
                "replayed_requests": int(loops["replayed"]),
            }
        )
    )


if __name__ == "__main__":
    main()
