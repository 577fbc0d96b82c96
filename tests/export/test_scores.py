"""Worker scores and flags (docs/quality.md "Worker scores and flags"): answers faster than
crowdloop:min-seconds are flagged and left out of exports by default (the card says how many), kept with
--include-flagged; `crowdloop workers quality` ranks an always-contrary worker lowest and measures the position
bias of a worker who always prefers the response shown first. Both databases, the real CLI through click."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from crowdloop import queue
from crowdloop.cli import main
from crowdloop.clock import ManualClock
from crowdloop.config import SETTINGS
from crowdloop.export.api import run
from crowdloop.export.scores import worker_scores
from crowdloop.model import Worker
from crowdloop.runtime import Services
from crowdloop.tags import Tag
from tests.domain.loopsetup import make_flow, make_worker, start
from tests.export.helpers import ranks

RESPONSES = ["A", "B", "C"]
LOOPS = 9
HONEST, CONTRARY, FIRST, SPAMMER = "honest", "contrary", "first", "spammer"
SECONDS = {HONEST: 20.0, CONTRARY: 12.0, FIRST: 8.0, SPAMMER: 1.0}


@pytest.fixture(autouse=True)
def _no_crowdloop_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for setting in SETTINGS:
        monkeypatch.delenv(setting.env, raising=False)


def _truth(i: int) -> list[int]:
    """The rank of each response of loop i: the best response moves round (0, 1, 2, 0, ...)."""
    best = i % 3
    return [1 if k == best else (2 if k == (best + 1) % 3 else 3) for k in range(3)]


def _answer(kind: str, i: int) -> dict[str, str]:
    truth = _truth(i)
    if kind == HONEST:
        values = truth
    elif kind == CONTRARY:
        values = [4 - r for r in truth]
    elif kind == FIRST:
        values = [1, 2, 3]  # always prefers the response shown first
    else:
        values = [2, 3, 1]  # the spammer's constant answer
    return ranks(*[str(v) for v in values])


def _fill(svc: Services, min_seconds: str | None = "5") -> dict[str, Worker]:
    """A flow of LOOPS loops answered by three honest workers, a contrary one, one who always prefers the first
    response and a spammer answering in 1 s."""
    assert isinstance(svc.clock, ManualClock)
    tags = [Tag("crowdloop:min-seconds", min_seconds)] if min_seconds is not None else []
    kinds = [HONEST, HONEST, HONEST, CONTRARY, FIRST, SPAMMER]
    flow = make_flow(svc, "fd-scores", task_count=len(kinds), tags=tags)
    for i in range(LOOPS):
        start(svc, flow, f"item-{i:02d}", {"taskObject": {"prompt": f"Q{i}", "responses": RESPONSES}})
        svc.clock.advance(1)
    people: dict[str, Worker] = {}
    for n, kind in enumerate(kinds):
        worker = people[f"{kind}{n}"] = make_worker(svc, f"{kind}{n}@example.org")
        for _ in range(LOOPS):
            lease = queue.claim(svc, worker.id, flow.id)
            assert lease is not None
            i = int(lease.human_loop_name.split("-")[1])
            queue.submit(svc, lease.assignment_id, worker.id, _answer(kind, i), SECONDS[kind])
    return people


def _cli(services: Services, tmp_path: Path, *args: str) -> Result:
    flags = ["--data-dir", str(tmp_path), "--database-url", services.settings.resolved_database_url]
    return CliRunner().invoke(main, [*args, *flags])


def test_a_spammer_is_flagged_and_left_out_by_default(services: Services, tmp_path: Path) -> None:
    people = _fill(services)
    spammer = people["spammer5"].worker_id
    out = tmp_path / "prefs.jsonl"
    result = _cli(services, tmp_path, "export", "preferences", "--source", "fd-scores", "-o", str(out), "--jobs", "1")
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert rows and spammer not in {row["annotator"] for row in rows}
    assert len({row["annotator"] for row in rows}) == 5
    assert not any(row["worker_flagged"] for row in rows)
    card = json.loads((tmp_path / "prefs.jsonl.card.json").read_text())
    assert card["counts"]["answers_excluded_flagged"] == LOOPS
    assert card["options"]["include_flagged"] is False
    assert card["sources"][0]["min_seconds"] == 5.0
    markdown = (tmp_path / "prefs.jsonl.card.md").read_text()
    assert f"{LOOPS} flagged answers (faster than crowdloop:min-seconds = 5 s) were left out" in markdown

    kept = tmp_path / "all.jsonl"
    args = ["export", "preferences", "--source", "fd-scores", "-o", str(kept), "--include-flagged"]
    result = _cli(services, tmp_path, *args)
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in kept.read_text().splitlines()]
    flagged = {row["annotator"] for row in rows if row["worker_flagged"]}
    assert flagged == {spammer}
    assert sum(row["annotator"] == spammer for row in rows) == LOOPS * 3  # 3 pairs per item, no ties
    card = json.loads((tmp_path / "all.jsonl.card.json").read_text())
    assert card["counts"]["answers_excluded_flagged"] == 0 and card["counts"]["flagged_answers_kept"] == LOOPS
    assert "were kept (`--include-flagged`)" in (tmp_path / "all.jsonl.card.md").read_text()


def test_the_report_leaves_flagged_answers_out_and_says_so(services: Services, tmp_path: Path) -> None:
    people = _fill(services)
    result = _cli(services, tmp_path, "report", "--source", "fd-scores", "--no-progress")
    assert result.exit_code == 0, result.output
    assert (
        f"{LOOPS} flagged answers (faster than crowdloop:min-seconds, or by a paused worker) left out" in result.output
    )
    assert people["spammer5"].worker_id not in result.output
    kept = _cli(services, tmp_path, "report", "--source", "fd-scores", "--no-progress", "--include-flagged")
    assert kept.exit_code == 0 and people["spammer5"].worker_id in kept.output and "flagged" not in kept.output


def test_no_threshold_flags_nothing(services: Services) -> None:
    _fill(services, min_seconds=None)
    job = run("fd-scores", store=services.store, jobs=1)
    rows = list(job.rows())
    assert len({row["annotator"] for row in rows}) == 6 and not any(row["worker_flagged"] for row in rows)
    assert job.tally.counts["answers_excluded_flagged"] == 0


def test_a_threshold_nobody_is_below_flags_nothing_and_the_card_says_so(services: Services, tmp_path: Path) -> None:
    _fill(services, min_seconds="0.5")
    out = tmp_path / "prefs.jsonl"
    result = _cli(services, tmp_path, "export", "preferences", "--source", "fd-scores", "-o", str(out))
    assert result.exit_code == 0, result.output
    assert "No answer was faster than crowdloop:min-seconds = 0.5 s." in (tmp_path / "prefs.jsonl.card.md").read_text()
    assert len({json.loads(line)["annotator"] for line in out.read_text().splitlines()}) == 6


def test_output_json_answers_are_never_flagged(services: Services) -> None:
    _fill(services)
    folder = str(services.settings.output_path)  # the same loops as A2I output.json files: no tags there
    job = run(folder, dataset="rankings")
    rows = list(job.rows())
    assert len(rows) == LOOPS * 6 and not any(row["worker_flagged"] for row in rows)
    assert job.tally.counts["answers_excluded_flagged"] == 0


def test_flags_are_the_same_in_chunks_of_worker_processes(services: Services) -> None:
    _fill(services)
    one = run("fd-scores", store=services.store, dataset="rankings", jobs=1)
    one.chunk_loops = 2
    two = run("fd-scores", store=services.store, dataset="rankings", jobs=2, include_flagged=True)
    two.chunk_loops = 2
    assert len(list(one.rows())) == LOOPS * 5 and one.tally.counts["answers_excluded_flagged"] == LOOPS
    rows = list(two.rows())
    assert len(rows) == LOOPS * 6 and sum(row["worker_flagged"] for row in rows) == LOOPS


def test_worker_scores(services: Services) -> None:
    people = _fill(services)
    scores = worker_scores(services.store, "fd-scores")
    assert scores.min_seconds == 5.0
    by_id = {s.worker_id: s for s in scores.workers}
    assert len(by_id) == 6 and all(s.answers == LOOPS for s in scores.workers)
    contrary = people["contrary3"].worker_id
    assert scores.workers[0].worker_id == contrary  # lowest agreement first
    assert by_id[contrary].agreement == 0.0
    honest = [by_id[people[f"honest{n}"].worker_id] for n in range(3)]
    # others: two honest, the contrary one, the first-preferring one and the spammer: 8 of 9 pairs go their way
    assert all(s.agreement == pytest.approx(8 / 9) for s in honest)
    assert all(by_id[contrary].agreement < s.agreement for s in scores.workers if s.worker_id != contrary)  # type: ignore[operator]
    first = by_id[people["first4"].worker_id]
    assert first.position_bias == pytest.approx(1.0)
    assert all(s.position_bias == pytest.approx(0.5) for s in honest)  # the best moves round
    spammer = by_id[people["spammer5"].worker_id]
    assert spammer.fast_share == 1.0 and spammer.median_seconds == 1.0
    assert all(s.fast_share == 0.0 for s in honest) and honest[0].median_seconds == 20.0
    assert spammer.email == "spammer5@example.org" and spammer.gold_accuracy is None


def test_workers_quality_command(services: Services, tmp_path: Path) -> None:
    people = _fill(services)
    result = _cli(services, tmp_path, "workers", "quality", "--flow", "fd-scores")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].startswith("# fd-scores: crowdloop:min-seconds 5 s")
    assert lines[1].split("\t")[0] == "worker"
    first = lines[2].split("\t")
    assert first[:3] == [people["contrary3"].worker_id, "contrary3@example.org", str(LOOPS)]
    assert first[5] == "0.000" and first[7] == "-"
    spammer = next(line.split("\t") for line in lines if "spammer5@" in line)
    assert spammer[3:5] == ["1.0", "1.000"]

    as_json = _cli(services, tmp_path, "workers", "quality", "--flow", "fd-scores", "--json")
    assert as_json.exit_code == 0, as_json.output
    documents = [json.loads(line) for line in as_json.output.splitlines()]
    assert len(documents) == 6 and documents[0]["agreement"] == 0.0
    assert {d["email"]: d["position_bias"] for d in documents}["first4@example.org"] == pytest.approx(1.0)
    assert all(d["gold_accuracy"] is None for d in documents)


def test_workers_quality_of_an_unknown_flow(services: Services, tmp_path: Path) -> None:
    result = _cli(services, tmp_path, "workers", "quality", "--flow", "nope")
    assert result.exit_code == 1 and result.output.startswith("Error: No flow definition named 'nope'")


def test_worker_score_columns_are_each_rows_workers_scores(services: Services, tmp_path: Path) -> None:
    """--worker-scores: each row carries its worker's leave-one-out agreement over the whole flow (the figure
    `crowdloop workers quality` prints, flagged answers counted), on per-answer and consensus rows."""
    people = _fill(services)
    expected = {s.worker_id: s.agreement for s in worker_scores(services.store, "fd-scores").workers}
    out = tmp_path / "prefs.jsonl"
    args = ["export", "preferences", "--source", "fd-scores", "-o", str(out), "--worker-scores", "--jobs", "1"]
    result = _cli(services, tmp_path, *args)
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert rows and all(row["worker_agreement"] == pytest.approx(expected[row["annotator"]]) for row in rows)
    assert {row["worker_agreement"] for row in rows if row["annotator"] == people["contrary3"].worker_id} == {0.0}
    assert all(row["worker_gold_accuracy"] is None for row in rows)
    assert people["spammer5"].worker_id not in {row["annotator"] for row in rows}  # still left out: flagged
    card = json.loads((tmp_path / "prefs.jsonl.card.json").read_text())
    assert card["options"]["worker_scores"] is True

    consensus = run("fd-scores", store=services.store, dataset="rankings", consensus="mean-rank", worker_scores=True)
    consensus.chunk_loops = 2
    listed = list(consensus.rows())
    assert len(listed) == LOOPS
    for row in listed:
        assert row["worker_agreement"] == pytest.approx([expected[a] for a in row["annotator"]])
    assert str(consensus.schema().field("worker_agreement").type) == "list<item: double>"

    plain = run("fd-scores", store=services.store, dataset="rankings", jobs=1)
    assert "worker_agreement" not in plain.schema().names
    assert "worker_agreement" not in next(plain.rows())
