"""The SQLite write-ahead log stays bounded under sustained load and is empty after a clean stop (it grew
to gigabytes when checkpoints could never restart it while writes continued)."""

from __future__ import annotations

import json
import threading
import time
import uuid
from pathlib import Path

import pytest

from crowdloop.store.engine import WAL_LIMIT_BYTES
from tests.conftest import RunningServer, start_server, stop_server

LOAD_BYTES = 4 * WAL_LIMIT_BYTES  # the load writes far more than the WAL may hold ...
LOAD_SECONDS_AT_MOST = 300  # ... however slow the machine is today
CLIENTS = 4
PADDING = 200_000  # bytes of InputContent per loop


def _flow(server: RunningServer) -> str:
    sm = server.client("sagemaker")
    team = sm.create_workteam(
        WorkteamName="wal-team", Description="wal", MemberDefinitions=[{"OidcMemberDefinition": {"Groups": ["wal"]}}]
    )
    ui = sm.create_human_task_ui(HumanTaskUiName="wal-ui", UiTemplate={"Content": "<p>{{ task.input.n }}</p>"})
    flow = sm.create_flow_definition(
        FlowDefinitionName="wal-fd",
        RoleArn="arn:aws:iam::123456789012:role/wal",
        HumanLoopConfig={
            "WorkteamArn": team["WorkteamArn"],
            "HumanTaskUiArn": ui["HumanTaskUiArn"],
            "TaskCount": 1,
            "TaskTitle": "wal",
            "TaskDescription": "wal",
        },
        OutputConfig={"S3OutputPath": "s3://wal/out"},
    )
    return str(flow["FlowDefinitionArn"])


def _start_loops(server: RunningServer, flow_arn: str, stop: threading.Event, written: list[int]) -> None:
    a2i = server.client("sagemaker-a2i-runtime")
    padding = "x" * PADDING
    while not stop.is_set():
        name = "loop-" + uuid.uuid4().hex[:12]
        content = json.dumps({"n": name, "pad": padding})
        a2i.start_human_loop(HumanLoopName=name, FlowDefinitionArn=flow_arn, HumanLoopInput={"InputContent": content})
        written.append(len(content))


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return 0


@pytest.mark.slow
def test_wal_stays_bounded_under_load_and_is_empty_after_stop(tmp_path: Path) -> None:
    database = tmp_path / "crowdloop.db"
    wal = tmp_path / "crowdloop.db-wal"
    server = start_server(tmp_path, f"sqlite:///{database}", "sqlite")
    stopped = False
    try:
        flow_arn = _flow(server)
        stop = threading.Event()
        written: list[int] = []
        clients = [
            threading.Thread(target=_start_loops, args=(server, flow_arn, stop, written)) for _ in range(CLIENTS)
        ]
        for client in clients:
            client.start()
        samples = []
        deadline = time.monotonic() + LOAD_SECONDS_AT_MOST
        while sum(written) < LOAD_BYTES and time.monotonic() < deadline:
            samples.append(_size(wal))
            time.sleep(0.05)
        stop.set()
        for client in clients:
            client.join(timeout=60)
        print(f"wrote {sum(written)} bytes in {len(written)} loops; largest WAL {max(samples)} bytes")
        assert sum(written) > 3 * WAL_LIMIT_BYTES, f"the load wrote only {sum(written)} bytes"
        assert max(samples) < 2 * WAL_LIMIT_BYTES, f"the WAL reached {max(samples)} bytes"
        stop_server(server)
        stopped = True
        assert _size(wal) == 0
    finally:
        if not stopped:
            stop_server(server)
