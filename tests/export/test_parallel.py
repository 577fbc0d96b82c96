"""Store exports in chunks on worker processes (--jobs) give the same dataset and card as in one process.

The store has two flow definitions filled through start/claim/submit: fd-par-a with ties, bad answers
(missing rank, rank out of range, a word), loops started at the same instant and responses that name their
model; fd-par-b whose first loops have answers no convention recognises (so its mapping is only detected in
its second chunk) and four responses ranked by two workers."""

from __future__ import annotations

import json
import os
import random
from collections.abc import Iterator
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

from crowdloop.export.api import Export, export, run
from crowdloop.export.model import ProblemLog, RawLoop
from crowdloop.export.parallel import shareable
from crowdloop.runtime import Services
from tests.export.helpers import Loop, fill_store, ranks

CHUNK = 20
LOOPS_A, UNRECOGNISED_B, LOOPS_B = 130, 25, 45
# Stopped loops of fd-par-a, left out of the export: its chunks (cut over all loops) hold fewer loops to read,
# so their pages reach past the chunk's last loop.
STOPPED_A = frozenset({3, 19, 20, 21, 44, 60, 61, 99, 119})


def flow_a() -> list[Loop]:
    rng = random.Random(5)
    loops = []
    for i in range(LOOPS_A):
        responses: list[Any] = [f"a{i}-{k} " + "word " * rng.randint(1, 30) for k in range(3)]
        if i % 3 == 0:
            responses = [{"text": text, "model": rng.choice(["m1", "m2", "m3"])} for text in responses]
        answers = []
        for key in rng.sample(["w1", "w2", "w3", "w4", "w5"], 3):
            given: list[Any] = [str(rng.randint(1, 3)) for _ in range(3)]
            damage = rng.random()
            if damage < 0.04:
                given[2] = None  # incomplete answer
            elif damage < 0.08:
                given[0] = "4"  # rank out of range
            elif damage < 0.1:
                given[1] = "first"  # not a number
            answers.append((key, ranks(*given)))
        loops.append(Loop(f"a-{i:03d}", f"Question {i}?", responses, [] if i in STOPPED_A else answers))
    return loops


def flow_b() -> list[Loop]:
    rng = random.Random(6)
    loops = [
        Loop(f"b-{i:03d}", f"Odd {i}?", ["x", "y"], [("v1", {"verdict": "fine"}), ("v2", {"verdict": "no"})])
        for i in range(UNRECOGNISED_B)
    ]
    for i in range(LOOPS_B):
        answers = [(key, ranks(*(rng.randint(1, 4) for _ in range(4)))) for key in ("v1", "v2")]
        loops.append(Loop(f"b-{UNRECOGNISED_B + i:03d}", f"Prompt {i}?", [f"b{i}-{k}" for k in range(4)], answers))
    return loops


@pytest.fixture
def filled(services: Services) -> Services:
    a = flow_a()
    gaps = [0.0 if i % 7 in (1, 2) else 1.0 for i in range(len(a))]  # runs of loops started at one instant
    fill_store(services, a, "fd-par-a", seconds_between=gaps, stopped=frozenset(a[i].name for i in STOPPED_A))
    fill_store(services, flow_b(), "fd-par-b", task_count=2)
    return services


class OnePass:
    """A store source read in one pass, as folders and S3 prefixes are (no chunks)."""

    def __init__(self, source: Any) -> None:
        self.source = source
        self.store = source.store  # the card names workers from it

    def loops(self, problems: ProblemLog) -> Iterator[RawLoop]:
        return self.source.loops(problems)  # type: ignore[no-any-return]

    def describe(self) -> dict[str, Any]:
        return self.source.describe()  # type: ignore[no-any-return]


def exported(
    services: Services,
    folder: Path,
    output_format: str,
    jobs: int | None,
    dataset: str,
    options: dict[str, Any],
    one_pass: bool = False,
) -> tuple[Export, bytes, dict[str, Any], int]:
    job = run(["fd-par-a", "fd-par-b"], dataset, store=services.store, jobs=jobs, **options)
    job.chunk_loops = CHUNK
    if one_pass:
        job.sources = [OnePass(source) for source in job.sources]
    seen = [0]

    def tick() -> None:
        seen[0] += 1

    job.on_loop = tick
    suffix = {"jsonl": ".jsonl", "parquet": ".parquet"}[output_format]
    result = export(job, folder / f"out-{jobs}-{one_pass}{suffix}", output_format)
    card = dict(result.card)
    card.pop("created_at")
    card["output"] = {k: v for k, v in card["output"].items() if k != "path"}
    return job, result.path.read_bytes(), card, seen[0]


CASES = [
    ("preferences", {}),
    ("preferences", {"policy": "best-vs-rest", "ties": True}),
    ("preferences", {"consensus": "majority", "policy": "adjacent", "conversational": True}),
    ("rankings", {"consensus": "mean-rank"}),
    ("kto", {"min_agreement": 0.3}),
]


@pytest.mark.parametrize(("dataset", "options"), CASES)
def test_workers_give_the_same_dataset_and_card(
    filled: Services, tmp_path: Path, dataset: str, options: dict[str, Any]
) -> None:
    serial, serial_rows, serial_card, serial_ticks = exported(filled, tmp_path, "jsonl", 1, dataset, options)
    parallel, parallel_rows, parallel_card, parallel_ticks = exported(filled, tmp_path, "jsonl", 2, dataset, options)
    assert serial.workers_used == 0 and not serial.worker_peaks
    expected_workers = 2 if shareable(filled.store.url) else 0
    assert parallel.workers_used == expected_workers and len(parallel.worker_peaks) == expected_workers
    assert parallel_rows == serial_rows and serial_rows.count(b"\n") == serial_card["output"]["rows"] > 0
    assert parallel_card == serial_card
    loops = LOOPS_A - len(STOPPED_A) + UNRECOGNISED_B + LOOPS_B
    assert serial_ticks == parallel_ticks == serial_card["counts"]["loops_read"] == loops
    assert [s["loops_read"] for s in serial_card["sources"]] == [LOOPS_A - len(STOPPED_A), UNRECOGNISED_B + LOOPS_B]
    items = {json.loads(line)["item_id"] for line in serial_rows.splitlines()}
    assert not items & {f"a-{i:03d}" for i in STOPPED_A} and "b-069" in items
    problems = {p["reason"]: p["count"] for p in serial_card["problems"]["by_reason"]}
    assert problems["answer format not recognised"] == UNRECOGNISED_B
    assert {"incomplete answer", "rank out of range", "not a number"} <= set(problems)
    assert [m["flow_definition"] for m in serial_card["mapping"]] == ["fd-par-a", "fd-par-b"]
    if dataset == "preferences" and not options:
        assert serial_card["agreement"]["models"]["items"] > 0  # bootstrap weights drawn in item order

    # One pass without chunks (as folder sources are read): the same rows, counts and problems; agreement
    # figures are sums over other batches, equal up to rounding (bootstrap intervals included).
    _, one_pass_rows, one_pass_card, _ = exported(filled, tmp_path, "jsonl", 1, dataset, options, one_pass=True)
    assert one_pass_rows == serial_rows
    for key in ("counts", "problems", "mapping", "sources", "output"):
        assert one_pass_card[key] == serial_card[key]
    one_pass_figures, figures = _flat(one_pass_card["agreement"]), _flat(serial_card["agreement"])
    assert one_pass_figures.keys() == figures.keys()
    assert {k: v for k, v in one_pass_figures.items() if type(v) is not float} == {
        k: v for k, v in figures.items() if type(v) is not float
    }
    assert {k: v for k, v in one_pass_figures.items() if type(v) is float} == pytest.approx(
        {k: v for k, v in figures.items() if type(v) is float}, rel=1e-9
    )


def _flat(value: Any, prefix: str = "") -> dict[str, Any]:
    """Nested dicts and lists as one dict of leaves (pytest.approx compares flat mappings)."""
    if isinstance(value, dict):
        return {k: v for key, item in value.items() for k, v in _flat(item, f"{prefix}{key}.").items()}
    if isinstance(value, list):
        return {k: v for i, item in enumerate(value) for k, v in _flat(item, f"{prefix}{i}.").items()}
    return {prefix: value}


def test_parquet_tables_are_equal(filled: Services, tmp_path: Path) -> None:
    *_, serial_card, _ = exported(filled, tmp_path, "parquet", 1, "preferences", {})
    parallel, *_, parallel_card, _ = exported(filled, tmp_path, "parquet", 3, "preferences", {})
    serial_table = pq.read_table(tmp_path / "out-1-False.parquet")
    parallel_table = pq.read_table(tmp_path / "out-3-False.parquet")
    assert serial_table.num_rows == serial_card["output"]["rows"] > 0
    assert parallel_table.equals(serial_table)
    assert parallel_card == serial_card
    assert parallel.workers_used == (3 if shareable(filled.store.url) else 0)


def test_an_error_in_a_worker_reaches_the_caller(filled: Services, tmp_path: Path) -> None:
    # Chat prompts in a later chunk: the worker that meets them refuses as the single process would.
    from crowdloop.errors import InvalidInput

    chat = [
        Loop(
            f"c-{i:02d}",
            "Hi?" if i < 2 * CHUNK else [{"role": "user", "content": "Hi?"}],
            ["a", "b"],
            [("w1", ranks(1, 2))],
        )
        for i in range(3 * CHUNK)
    ]
    fill_store(filled, chat, "fd-par-chat", task_count=1)
    for jobs in (1, 2):
        job = run("fd-par-chat", "preferences", store=filled.store, jobs=jobs)
        job.chunk_loops = CHUNK
        with pytest.raises(InvalidInput, match="c-40 is a list of chat messages"):
            export(job, tmp_path / f"chat-{jobs}.jsonl", "jsonl")


def test_command_line_jobs_and_progress(filled: Services, tmp_path: Path) -> None:
    from click.testing import CliRunner

    from crowdloop.export.commands import export as export_command

    outputs = []
    for jobs in ("1", "2"):
        out = tmp_path / f"cli-{jobs}.jsonl"
        result = CliRunner().invoke(
            export_command,
            [
                "preferences",
                "--source",
                "fd-par-a",
                "--source",
                "fd-par-b",
                "--output",
                str(out),
                "--jobs",
                jobs,
                "--database-url",
                filled.store.url,
                "--data-dir",
                str(tmp_path),
                "--progress",
            ],
        )
        assert result.exit_code == 0, result.output
        loops = LOOPS_A - len(STOPPED_A) + UNRECOGNISED_B + LOOPS_B
        assert f"{loops}/{loops}" in result.stderr  # the progress bar reached the end
        outputs.append(out.read_bytes())
    assert outputs[0] == outputs[1] and outputs[0]
    refused = CliRunner().invoke(
        export_command, ["preferences", "--source", "fd-par-a", "--output", str(tmp_path / "x.jsonl"), "--jobs", "0"]
    )
    assert refused.exit_code == 2 and "--jobs" in refused.output


def test_label_statistics_add_up_across_chunks(services: Services, tmp_path: Path) -> None:
    rng = random.Random(8)
    labels = ["cat", "dog", "bird"]
    loops = [
        Loop(
            f"l-{i:02d}",
            f"Photo {i}",
            ["x"],
            [(key, {"animal": {"label": rng.choice(labels)}}) for key in rng.sample(["w1", "w2", "w3", "w4"], 3)],
        )
        for i in range(3 * CHUNK + 5)
    ]
    fill_store(services, loops, "fd-par-labels")
    cards, outputs = [], []
    for jobs, one_pass in ((1, False), (2, False), (1, True)):
        job = run("fd-par-labels", "labels", store=services.store, jobs=jobs)
        job.chunk_loops = CHUNK
        if one_pass:
            job.sources = [OnePass(source) for source in job.sources]
        result = export(job, tmp_path / f"labels-{jobs}-{one_pass}.jsonl", "jsonl")
        card = dict(result.card)
        card.pop("created_at")
        card["output"].pop("path")
        cards.append(card)
        outputs.append(result.path.read_bytes())
    assert outputs[0] == outputs[1] == outputs[2] and outputs[0].count(b"\n") == 3 * len(loops)
    assert cards[0] == cards[1]
    agreement = cards[0]["agreement"]
    assert agreement["items"] == len(loops) and set(agreement["labels"]) == set(labels)
    assert sum(agreement["labels"].values()) == 3 * len(loops)
    # One pass: Dawid-Skene sees the same (unit, worker, label) codes in the same order.
    assert agreement["dawid_skene"] == cards[2]["agreement"]["dawid_skene"]
    assert agreement["labels"] == cards[2]["agreement"]["labels"]
    alpha = cards[2]["agreement"]["krippendorff_alpha"]["value"]
    assert agreement["krippendorff_alpha"]["value"] == pytest.approx(alpha)


def _die(task: Any, path: str) -> None:
    """A worker that is killed (as by the OOM killer) while it makes a chunk."""
    os._exit(9)


def test_a_worker_that_dies_stops_the_export(filled: Services, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("crowdloop.export.parallel.run_in_worker", _die)
    job = run("fd-par-a", "preferences", store=filled.store, jobs=2)
    job.chunk_loops = CHUNK
    with pytest.raises(BrokenProcessPool):
        export(job, tmp_path / "dead.jsonl", "jsonl")
