"""`crowdloop gold add|list|delete` and `crowdloop workers resume` through click's runner on a real store
(both databases)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from crowdloop import gold, queue
from crowdloop.cli import main
from crowdloop.config import SETTINGS
from crowdloop.runtime import Services
from crowdloop.tags import Tag
from tests.domain.loopsetup import CALLER, make_flow, make_worker

ITEM = {"taskObject": {"prompt": "Which is best?", "responses": ["a", "b"]}}


@pytest.fixture(autouse=True)
def _no_crowdloop_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for setting in SETTINGS:
        monkeypatch.delenv(setting.env, raising=False)
    monkeypatch.chdir(tmp_path)


def _cli(services: Services, *args: str) -> Result:
    return CliRunner().invoke(main, [*args, "--database-url", services.store.url])


def test_add_list_and_delete(services: Services, tmp_path: Path) -> None:
    flow = make_flow(services)
    good = tmp_path / "gold.jsonl"
    good.write_text(
        json.dumps({"id": "g1", "input": ITEM, "answer": {"best": 1}})
        + "\n"
        + json.dumps({"input": ITEM, "answer": {"ranking": [1, 0]}})
        + "\n",
        encoding="utf-8",
    )
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps({"input": ITEM, "answer": {"best": 5}}) + "\n{\n", encoding="utf-8")
    refused = _cli(services, "gold", "add", "--flow", flow.name, str(bad))
    assert refused.exit_code == 1
    assert "line 1:" in refused.output and "line 2: not a JSON object" in refused.output
    added = _cli(services, "gold", "add", "--flow", flow.name, str(good))
    assert added.exit_code == 0, added.output
    assert added.output.strip() == f"added 2 gold items to {flow.name}"
    listed = _cli(services, "gold", "list", "--flow", flow.name)
    assert listed.output.splitlines() == ['g1\t{"best": 1}\t0\t-\tactive', 'gold-2\t{"ranking": [1, 0]}\t0\t-\tactive']
    assert _cli(services, "gold", "delete", "--flow", flow.name, "g1").exit_code == 0
    as_json = [
        json.loads(line) for line in _cli(services, "gold", "list", "--flow", flow.name, "--json").output.splitlines()
    ]
    assert [(row["id"], row["retired"]) for row in as_json] == [("g1", True), ("gold-2", False)]
    again = _cli(services, "gold", "delete", "--flow", flow.name, "g1")
    assert again.exit_code == 1 and "no active gold item g1" in again.output
    missing = _cli(services, "gold", "add", "--flow", flow.name, str(tmp_path / "nope.jsonl"))
    assert missing.exit_code == 1 and "cannot read" in missing.output


def test_workers_resume(services: Services) -> None:
    tags = [Tag("crowdloop:qualification", "1"), Tag("crowdloop:gold-min-accuracy", "1")]
    flow = make_flow(services, tags=tags)
    gold.add_items(services, CALLER, flow.name, [json.dumps({"input": ITEM, "answer": {"best": 1}})])
    worker = make_worker(services)
    lease = queue.claim(services, worker.id, flow.id)
    assert lease is not None and lease.gold
    wrong = {"response_1_ranking": "1", "response_2_ranking": "2"}
    queue.submit(services, lease.assignment_id, worker.id, wrong, 1.0, gold_item=True)
    assert gold.standings(services, worker.id, [flow.id])[flow.id].failed
    result = _cli(services, "workers", "resume", "--flow", flow.name, worker.email)
    assert result.exit_code == 0, result.output
    standing = gold.standings(services, worker.id, [flow.id])[flow.id]
    assert not standing.failed and standing.gold_answered == 0
    unknown = _cli(services, "workers", "resume", "--flow", flow.name, "nobody@example.org")
    assert unknown.exit_code == 1
