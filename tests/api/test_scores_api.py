"""Fast-answer flags through real boto3 against `crowdloop serve` (SQLite and PostgreSQL): crowdloop:min-seconds
set with CreateFlowDefinition's Tags flags a spammer's answers in the export and the worker scores, and a
threshold changed later with AddTags counts at the next export (flags are computed when answers are read)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from click.testing import CliRunner

from crowdloop import queue, workers
from crowdloop.cli import main
from crowdloop.runtime import Services
from crowdloop.store.tables import flow_definitions
from tests.api.sagemaker_helpers import ROLE, human_loop_config, unique
from tests.api.test_a2i_runtime import Region
from tests.conftest import RunningServer

ITEM = {"taskObject": {"prompt": "Which is best?", "responses": ["a", "b", "c"]}}
RANKING = {"response_1_ranking": "1", "response_2_ranking": "2", "response_3_ranking": "3"}
LOOPS = 3
SECONDS = {"careful-a": 30.0, "careful-b": 12.0, "spammer": 1.0}


def _answer_all(svc: Services, flow_arn: str) -> dict[str, str]:
    """Three workers answer every loop, each taking their own time; returns email prefix -> worker id."""
    with svc.store.read() as conn:
        flow_id = conn.execute(sa.select(flow_definitions.c.id).where(flow_definitions.c.arn == flow_arn)).scalar_one()
    ids = {}
    for who, seconds in SECONDS.items():
        worker = workers.add_worker(svc, f"{who}-{unique('w')}@example.org", groups=["raters"])
        ids[who] = worker.worker_id
        for _ in range(LOOPS):
            lease = queue.claim(svc, worker.id, flow_id)
            assert lease is not None
            queue.submit(svc, lease.assignment_id, worker.id, RANKING, seconds)
    return ids


def _cli(server: RunningServer, *args: str) -> Any:
    result = CliRunner().invoke(main, [*args, "--database-url", server.database_url])
    assert result.exit_code == 0, result.output
    return result


def test_min_seconds_from_boto3_flags_answers(server: RunningServer, server_services: Services, tmp_path: Path) -> None:
    region = Region(server)
    name = unique("fd")
    flow_arn = region.sm.create_flow_definition(
        FlowDefinitionName=name,
        RoleArn=ROLE,
        OutputConfig={"S3OutputPath": "s3://a2i-bucket/scores"},
        HumanLoopConfig=human_loop_config(region.sm, TaskCount=3),
        Tags=[{"Key": "crowdloop:min-seconds", "Value": "5"}],
    )["FlowDefinitionArn"]
    for _ in range(LOOPS):
        region.start(flow_arn, content=ITEM)
    ids = _answer_all(server_services, flow_arn)

    out = tmp_path / "p.jsonl"
    _cli(server, "export", "preferences", "--source", name, "-o", str(out), "--jobs", "1")
    annotators = {json.loads(line)["annotator"] for line in out.read_text().splitlines()}
    assert annotators == {ids["careful-a"], ids["careful-b"]}
    assert json.loads((tmp_path / "p.jsonl.card.json").read_text())["counts"]["answers_excluded_flagged"] == LOOPS

    scores = [
        json.loads(line) for line in _cli(server, "workers", "quality", "--flow", name, "--json").output.splitlines()
    ]
    fast = {s["worker_id"]: s["fast_share"] for s in scores}
    assert fast == {ids["careful-a"]: 0.0, ids["careful-b"]: 0.0, ids["spammer"]: 1.0}

    # a stricter threshold, set later with AddTags, counts at the next export: careful-b's 12 s are now fast
    region.sm.add_tags(ResourceArn=flow_arn, Tags=[{"Key": "crowdloop:min-seconds", "Value": "20"}])
    again = tmp_path / "again.jsonl"
    _cli(server, "export", "preferences", "--source", name, "-o", str(again), "--jobs", "1")
    assert {json.loads(line)["annotator"] for line in again.read_text().splitlines()} == {ids["careful-a"]}
