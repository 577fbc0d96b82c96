"""Dataset cards and reports are shared: they name workers by email where the store knows them (with the id
output.json uses) and never a folder of the machine that exported (store file, source folder, output file)."""

from __future__ import annotations

import json
from pathlib import Path

from crowdloop.export.api import export, run
from crowdloop.export.report import render_html, render_text
from crowdloop.runtime import Services
from tests.export.helpers import Loop, fill_store, ranks, write_outputs

LOOPS = [
    Loop(f"l-{i}", f"Question {i}?", ["a", "b", "c"], [("w1", ranks("1", "2", "3")), ("w2", ranks("2", "1", "3"))])
    for i in range(6)
]


def _texts(card: dict[str, object], markdown: Path) -> list[str]:
    return [json.dumps(card), markdown.read_text(), render_text(card), render_html(card)]  # type: ignore[arg-type]


def test_store_export_names_workers_and_no_path(services: Services, tmp_path: Path) -> None:
    ids = fill_store(services, LOOPS, "fd-card", task_count=2)
    result = export(run("fd-card", "preferences", store=services.store, jobs=1), tmp_path / "out" / "p.jsonl", "jsonl")
    workers = {row["worker"]: row.get("email") for row in result.card["agreement"]["workers"]}
    assert workers == {ids["w1"]: "w1-fd-card@example.org", ids["w2"]: "w2-fd-card@example.org"}
    for text in _texts(result.card, result.card_markdown):
        assert str(tmp_path) not in text and services.settings.data_dir not in text
        assert "w1-fd-card@example.org" in text
    assert result.card["output"]["path"] == "p.jsonl"
    if services.store.is_sqlite:
        assert result.card["sources"][0]["location"].startswith("sqlite: ")


def test_folder_export_names_the_folder_only(tmp_path: Path) -> None:
    source = tmp_path / "deep" / "a2i-results"
    write_outputs(source, LOOPS)
    (source / "broken").mkdir()
    (source / "broken" / "output.json").write_text("{not json")
    result = export(run(str(source), "preferences"), tmp_path / "p.parquet", "parquet")
    assert result.card["sources"][0]["location"] == "a2i-results"
    examples = result.card["problems"]["by_reason"][0]["examples"]
    assert examples[0]["item_id"] == "a2i-results/broken/output.json"
    for text in _texts(result.card, result.card_markdown):
        assert str(tmp_path) not in text
        assert "w1" in text  # output.json knows workers by id only
