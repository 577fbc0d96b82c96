"""A worker paused for a flow definition (gold accuracy below crowdloop:gold-min-accuracy): every answer of
theirs is flagged when read, left out of exports by default (the card says why), kept with --include-flagged;
their gold accuracy shows in `crowdloop workers quality`. Both databases, the real CLI through click."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from crowdloop import gold, queue
from crowdloop.cli import main
from crowdloop.config import SETTINGS
from crowdloop.export.scores import worker_scores
from crowdloop.flows import FlowDefinition
from crowdloop.model import Worker
from crowdloop.runtime import Services
from crowdloop.tags import Tag
from tests.domain.loopsetup import CALLER, make_flow, make_worker, start
from tests.export.helpers import ranks

ITEM = {"taskObject": {"prompt": "Q", "responses": ["A", "B", "C"]}}
LOOPS = 3


@pytest.fixture(autouse=True)
def _no_crowdloop_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for setting in SETTINGS:
        monkeypatch.delenv(setting.env, raising=False)


def _answer_loops(svc: Services, flow: FlowDefinition, worker: Worker) -> None:
    """The worker answers every loop; gold items offered meanwhile are given back unanswered."""
    answered = 0
    for _ in range(500):
        lease = queue.claim(svc, worker.id, flow.id)
        assert lease is not None
        if lease.gold:
            queue.release(svc, lease.assignment_id, worker.id, gold_item=True)
            continue
        queue.submit(svc, lease.assignment_id, worker.id, ranks("1", "2", "3"), 10.0)
        answered += 1
        if answered == LOOPS:
            return
    raise AssertionError("the loops were not all offered")


def _answer_gold(svc: Services, flow: FlowDefinition, worker: Worker, best: int) -> None:
    lease = queue.claim(svc, worker.id, flow.id)
    for _ in range(500):
        if lease is not None and lease.gold:
            break
        lease = queue.claim(svc, worker.id, flow.id)
    assert lease is not None and lease.gold
    order = [best] + [k for k in range(3) if k != best]  # best first, the others after it
    answer = ranks(*[str(order.index(k) + 1) for k in range(3)])
    queue.submit(svc, lease.assignment_id, worker.id, answer, 5.0, gold_item=True)


def test_a_paused_workers_answers_are_flagged(services: Services, tmp_path: Path) -> None:
    tags = [
        Tag("crowdloop:gold-rate", "0.5"),
        Tag("crowdloop:gold-min-accuracy", "1"),
        Tag("crowdloop:gold-min-items", "1"),
    ]
    flow = make_flow(services, "fd-gold", task_count=3, tags=tags)
    lines = [json.dumps({"input": ITEM, "answer": {"best": 0}}) for _ in range(400)]
    gold.add_items(services, CALLER, flow.name, lines)
    for i in range(LOOPS):
        start(services, flow, f"item-{i}", ITEM)
    people = [make_worker(services, f"w{n}@example.org") for n in range(3)]
    for worker in people:
        _answer_loops(services, flow, worker)
    _answer_gold(services, flow, people[0], best=0)  # right
    _answer_gold(services, flow, people[2], best=2)  # wrong: paused
    paused = people[2].worker_id
    flags = ["--data-dir", str(tmp_path), "--database-url", services.settings.resolved_database_url]
    out = tmp_path / "prefs.jsonl"
    result = CliRunner().invoke(main, ["export", "preferences", "--source", "fd-gold", "-o", str(out), *flags])
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert rows and paused not in {row["annotator"] for row in rows}
    card = json.loads((tmp_path / "prefs.jsonl.card.json").read_text())
    assert card["counts"]["answers_excluded_flagged"] == LOOPS and card["sources"][0]["paused_workers"] == 1
    assert "given by 1 worker paused for low gold accuracy" in (tmp_path / "prefs.jsonl.card.md").read_text()
    kept = tmp_path / "all.jsonl"
    args = ["export", "preferences", "--source", "fd-gold", "-o", str(kept), "--include-flagged", *flags]
    assert CliRunner().invoke(main, args).exit_code == 0
    flagged = {row["annotator"] for row in map(json.loads, kept.read_text().splitlines()) if row["worker_flagged"]}
    assert flagged == {paused}
    scores = {s.worker_id: s for s in worker_scores(services.store, "fd-gold").workers}
    assert (scores[paused].gold_accuracy, scores[paused].paused, scores[paused].gold_answered) == (0.0, True, 1)
    assert scores[people[0].worker_id].gold_accuracy == 1.0 and not scores[people[0].worker_id].paused
    assert scores[people[1].worker_id].gold_accuracy is None
    assert scores[paused].fast_share is None  # no min-seconds: the pause is not a fast answer
    quality = CliRunner().invoke(main, ["workers", "quality", "--flow", "fd-gold", *flags])
    line = next(line.split("\t") for line in quality.output.splitlines() if line.startswith(paused))
    assert line[7] == "0.000 paused"
    scored = tmp_path / "scored.jsonl"
    args = ["export", "preferences", "--source", "fd-gold", "-o", str(scored), "--include-flagged", "--worker-scores"]
    assert CliRunner().invoke(main, [*args, *flags]).exit_code == 0
    gold_by_worker = {
        row["annotator"]: row["worker_gold_accuracy"] for row in map(json.loads, scored.read_text().splitlines())
    }
    assert gold_by_worker == {people[0].worker_id: 1.0, people[1].worker_id: None, paused: 0.0}
