"""The seed convention end to end from every source: the store (SQLite and PostgreSQL, filled through
start/claim/submit), the folder of output.json files crowdloop wrote, and the same files under an S3 prefix
(moto). Expected rows are worked out by hand in the comments."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from crowdloop.errors import InvalidInput, NotFound
from crowdloop.export.api import export, run
from crowdloop.export.commands import export as export_command
from crowdloop.runtime import Services
from tests.conftest import MotoS3
from tests.export.helpers import SEED, Loop, fill_store, ranks, read_jsonl, write_outputs

THIRD = pytest.approx(1 / 3)


def expected_pairs(w: dict[str, str]) -> list[dict[str, Any]]:
    """All pairs, ties left out, one row per annotator, in loop / answer / pair order.

    seed-1  w1 1,2,3   w2 2,1,3   w3 1,1,3 (tie of the first two)
    seed-2  w1 3,2,1   w2 misses response 3, w3 gives rank 4: only w1 counts, so no agreement figure
    seed-3  w1 "best" is not a number; w2 2,1,3; w3 1,2,3
    agreement = share of the item's usable annotators ordering the pair the row's way."""
    sky, sea, no = "Rayleigh scattering.", "Because of the sea.", "It is not."
    hello, hi, away = "Hello.", "Hi!", "Go away."

    def row(
        item: str, prompt: str, chosen: str, rejected: str, margin: float, who: str, agreement: Any
    ) -> dict[str, Any]:
        return {
            "prompt": prompt,
            "chosen": chosen,
            "rejected": rejected,
            "margin": margin,
            "item_id": item,
            "annotator": w[who],
            "agreement": agreement,
            "worker_flagged": False,
        }

    p1, p2, p3 = "Why is the sky blue?", "Name a prime.", "Say hello."
    return [
        row("seed-1", p1, sky, sea, 1.0, "w1", THIRD),
        row("seed-1", p1, sky, no, 2.0, "w1", 1.0),
        row("seed-1", p1, sea, no, 1.0, "w1", 1.0),
        row("seed-1", p1, sea, sky, 1.0, "w2", THIRD),
        row("seed-1", p1, sky, no, 1.0, "w2", 1.0),
        row("seed-1", p1, sea, no, 2.0, "w2", 1.0),
        row("seed-1", p1, sky, no, 2.0, "w3", 1.0),
        row("seed-1", p1, sea, no, 2.0, "w3", 1.0),
        row("seed-2", p2, "6", "4", 1.0, "w1", None),
        row("seed-2", p2, "7", "4", 2.0, "w1", None),
        row("seed-2", p2, "7", "6", 1.0, "w1", None),
        row("seed-3", p3, hi, hello, 1.0, "w2", 0.5),
        row("seed-3", p3, hello, away, 1.0, "w2", 1.0),
        row("seed-3", p3, hi, away, 2.0, "w2", 1.0),
        row("seed-3", p3, hello, hi, 1.0, "w3", 0.5),
        row("seed-3", p3, hello, away, 2.0, "w3", 1.0),
        row("seed-3", p3, hi, away, 1.0, "w3", 1.0),
    ]


def expected_problems() -> dict[str, int]:
    return {"incomplete answer": 1, "rank out of range": 1, "not a number": 1}


def check_seed_export(rows: list[dict[str, Any]], card: dict[str, Any], workers: dict[str, str]) -> None:
    assert rows == expected_pairs(workers)
    assert {p["reason"]: p["count"] for p in card["problems"]["by_reason"]} == expected_problems()
    examples = {p["reason"]: p["examples"][0] for p in card["problems"]["by_reason"]}
    assert examples["incomplete answer"] == {
        "item_id": "seed-2",
        "annotator": workers["w2"],
        "reason": "incomplete answer",
        "detail": "missing response_3_ranking",
    }
    assert examples["rank out of range"]["detail"] == "rank 4 for 3 responses (ranks are 1..3)"
    assert examples["not a number"]["detail"] == "response_1_ranking = 'best'"
    assert card["counts"]["items_exported"] == 3 and card["output"]["rows"] == 17
    assert card["mapping"][0]["convention"] == "seed"


def test_store_source(services: Services, tmp_path: Path) -> None:
    workers = fill_store(services, SEED)
    job = run("fd-seed", store=services.store)
    result = export(job, tmp_path / "prefs.jsonl", "jsonl")
    check_seed_export(read_jsonl(result.path), result.card, workers)
    source = result.card["sources"][0]
    assert source["kind"] == "store" and source["flow_definition"] == "fd-seed" and source["loops_read"] == 3
    assert len(source["template_sha256"]) == 64 and source["loop_template_sha256"] == [source["template_sha256"]]


def test_store_source_reads_only_completed_loops_of_the_flow(services: Services) -> None:
    fill_store(services, SEED)
    other = [Loop("other-1", "Other?", ["a", "b"], [("w9", ranks("1", "2"))])]
    fill_store(services, other, flow_name="fd-other", task_count=1)
    # A loop still in progress (one answer of three) is not exported.
    fill_store(services, [Loop("open-1", "Open?", ["a", "b"], [("w1", ranks("1", "2"))])], flow_name="fd-open")
    assert [r["item_id"] for r in run("fd-other", store=services.store).rows()] == ["other-1"]
    assert list(run("fd-open", store=services.store).rows()) == []
    assert {r["item_id"] for r in run("fd-seed", store=services.store).rows()} == {"seed-1", "seed-2", "seed-3"}


def test_store_source_pages_through_many_loops(services: Services, monkeypatch: pytest.MonkeyPatch) -> None:
    from crowdloop.export import sources

    monkeypatch.setattr(sources, "PAGE_LOOPS", 2)
    loops = [Loop(f"many-{i}", f"Q{i}", ["a", "b"], [("w1", ranks("2", "1"))]) for i in range(5)]
    fill_store(services, loops, flow_name="fd-many", task_count=1)
    rows = list(run("fd-many", store=services.store).rows())
    assert [r["item_id"] for r in rows] == [f"many-{i}" for i in range(5)]
    assert all(r["chosen"] == "b" for r in rows)


def test_store_source_pages_through_loops_created_at_the_same_instant(
    services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A bulk start gives many loops one created_at: pages continue within that instant by id, then go on
    to the loops created later (a page may hold both)."""
    from crowdloop.export import sources

    monkeypatch.setattr(sources, "PAGE_LOOPS", 2)
    names = ["a0", "a1", "a2", "a3", "a4", "b0", "b1", "c0"]
    loops = [Loop(name, f"Q {name}", ["x", "y"], [("w1", ranks("1", "2"))]) for name in names]
    # a0..a4 at t, b0 and b1 at t + 1 s, c0 at t + 2 s.
    fill_store(services, loops, flow_name="fd-bulk", task_count=1, seconds_between=[0, 0, 0, 0, 1, 0, 1, 1])
    job = run("fd-bulk", store=services.store)
    assert [r["item_id"] for r in job.rows()] == names
    assert job.card()["sources"][0]["loops_read"] == 8


def test_unknown_flow_definition(services: Services) -> None:
    with pytest.raises(NotFound, match="No flow definition named 'nope'"):
        run("nope", store=services.store)


def test_output_folder_written_by_crowdloop_gives_the_same_rows(services: Services, tmp_path: Path) -> None:
    workers = fill_store(services, SEED)
    job = run(str(services.settings.output_path), store=services.store)
    result = export(job, tmp_path / "prefs.jsonl", "jsonl")
    check_seed_export(read_jsonl(result.path), result.card, workers)
    assert result.card["sources"][0]["kind"] == "folder"
    assert result.card["sources"][0]["flow_definitions"] == ["fd-seed"]


def test_folder_source(tmp_path: Path) -> None:
    workers = write_outputs(tmp_path / "a2i", SEED)
    (tmp_path / "a2i" / "notes.txt").write_text("not an output file")
    job = run(str(tmp_path / "a2i"))
    result = export(job, tmp_path / "prefs.jsonl", "jsonl")
    check_seed_export(read_jsonl(result.path), result.card, workers)


def test_folder_source_reports_broken_files(tmp_path: Path) -> None:
    write_outputs(tmp_path / "a2i", SEED[:1])
    broken = tmp_path / "a2i" / "zz" / "output.json"
    broken.parent.mkdir()
    broken.write_text("{not json")
    job = run(str(tmp_path / "a2i"))
    assert len(list(job.rows())) == 8
    problems = job.card()["problems"]
    assert problems["by_reason"][0]["reason"] == "unreadable output.json"
    assert problems["loops_dropped"] == 1


def test_s3_source(moto_s3: MotoS3, tmp_path: Path) -> None:
    client = moto_s3.client()
    client.create_bucket(Bucket="results")
    write_outputs(tmp_path / "a2i", SEED)
    workers = {k: k for k in ("w1", "w2", "w3")}
    for path in sorted((tmp_path / "a2i").rglob("output.json")):
        key = "a2i-results/" + path.relative_to(tmp_path / "a2i").as_posix()
        client.put_object(Bucket="results", Key=key, Body=path.read_bytes())
    client.put_object(Bucket="results", Key="a2i-results/readme.txt", Body=b"skip me")
    client.put_object(Bucket="results", Key="elsewhere/x/output.json", Body=b"{}")  # outside the prefix
    job = run("s3://results/a2i-results/", s3_client=client)
    result = export(job, tmp_path / "prefs.jsonl", "jsonl")
    check_seed_export(read_jsonl(result.path), result.card, workers)
    assert result.card["sources"][0] == {
        "kind": "s3",
        "location": "s3://results/a2i-results/",
        "flow_definitions": ["fd-files"],
        "template_sha256": None,
        "loops_read": 3,
    }


def test_cli_with_store_options(services: Services, tmp_path: Path) -> None:
    workers = fill_store(services, SEED)
    out = tmp_path / "prefs.jsonl"
    result = CliRunner().invoke(
        export_command,
        [
            "preferences",
            "--source",
            "fd-seed",
            "--output",
            str(out),
            "--format",
            "jsonl",
            "--database-url",
            services.store.url,
            "--data-dir",
            str(tmp_path),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "wrote 17 rows (3 items)" in result.output
    assert "3 problems: 0 loops and 3 answers not used" in result.output
    card = json.loads((tmp_path / "prefs.jsonl.card.json").read_text())
    check_seed_export(read_jsonl(out), card, workers)
    strict = CliRunner().invoke(
        export_command,
        ["preferences", "--source", "fd-seed", "--output", str(out), "--database-url", services.store.url, "--strict"],
    )
    assert strict.exit_code == 1


def test_mixing_kinds_is_refused(tmp_path: Path) -> None:
    loops = [Loop("label-1", "P", ["a", "b"], [("w1", {"category": {"label": "toxic"}})])]
    write_outputs(tmp_path / "a2i", loops)
    with pytest.raises(InvalidInput, match="The answers are labels"):
        list(run(str(tmp_path / "a2i")).rows())


def test_the_library_reads_no_store_setting_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The export library opens the store it is told to (data_dir, database_url, crowdloop.config's default):
    CROWDLOOP_DATABASE_URL and CROWDLOOP_DATA_DIR are the commands' to read."""
    from crowdloop.export import api

    monkeypatch.setenv("CROWDLOOP_DATABASE_URL", "postgresql://elsewhere/db")
    monkeypatch.setenv("CROWDLOOP_DATA_DIR", str(tmp_path / "from-env"))
    opened: list[str] = []

    def open_existing_store(url: str) -> Any:
        opened.append(url)
        raise NotFound("store", url)

    monkeypatch.setattr(api, "open_existing_store", open_existing_store)
    for given in ({"data_dir": str(tmp_path / "given")}, {"database_url": "sqlite:///given.db"}, {}):
        with pytest.raises(NotFound):
            api.open_sources("fd-seed", **given)
    assert opened == [
        f"sqlite:///{(tmp_path / 'given').resolve() / 'crowdloop.db'}",
        "sqlite:///given.db",
        f"sqlite:///{Path('./crowdloop-data').resolve() / 'crowdloop.db'}",
    ]


def test_cli_reads_the_store_from_the_environment(
    services: Services, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fill_store(services, SEED)
    monkeypatch.setenv("CROWDLOOP_DATABASE_URL", services.store.url)
    out = tmp_path / "prefs.jsonl"
    result = CliRunner().invoke(export_command, ["preferences", "--source", "fd-seed", "--output", str(out)])
    assert result.exit_code == 0, result.output
    assert "wrote 17 rows (3 items)" in result.output
