"""Formats (JSONL, Parquet, Hugging Face datasets), the conversational style, the card, the report, the
Python API and the commands."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import datasets
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from crowdloop.export import iter_rows, to_dataset
from crowdloop.export.commands import export as export_command
from crowdloop.export.commands import report as report_command
from tests.export.helpers import SEED, Loop, ranks, read_jsonl, write_outputs


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    write_outputs(tmp_path / "a2i", SEED)
    return tmp_path / "a2i"


def invoke(command: Any, *args: str) -> Any:
    result = CliRunner().invoke(command, list(args))
    assert result.exit_code == 0, result.output
    return result


def test_the_three_formats_hold_the_same_rows(folder: Path, tmp_path: Path) -> None:
    for suffix in ("jsonl", "parquet", "hf"):
        invoke(
            export_command,
            "preferences",
            "--source",
            str(folder),
            "--output",
            str(tmp_path / f"p.{suffix}"),
            "--format",
            suffix,
            "--no-progress",
        )
    from_jsonl = read_jsonl(tmp_path / "p.jsonl")
    table = pq.read_table(tmp_path / "p.parquet")
    assert [str(t) for t in table.schema.types] == [
        "string",
        "string",
        "string",
        "double",
        "string",
        "string",
        "double",
        "bool",
    ]
    assert table.to_pylist() == from_jsonl
    dataset = datasets.load_from_disk(str(tmp_path / "p.hf"))
    assert dataset.to_list() == from_jsonl and len(from_jsonl) == 17
    assert (tmp_path / "p.hf" / "README.md").read_text().startswith("---\ntags:\n- crowdloop")
    assert json.loads((tmp_path / "p.hf" / "crowdloop-card.json").read_text())["output"]["format"] == "hf"


def test_format_from_the_suffix_and_a_folder_that_is_not_a_dataset(folder: Path, tmp_path: Path) -> None:
    invoke(export_command, "preferences", "--source", str(folder), "--output", str(tmp_path / "p.parquet"))
    assert pq.read_table(tmp_path / "p.parquet").num_rows == 17
    occupied = tmp_path / "occupied"
    occupied.mkdir()
    (occupied / "keep.txt").write_text("mine")
    result = CliRunner().invoke(export_command, ["preferences", "--source", str(folder), "--output", str(occupied)])
    assert result.exit_code == 1 and "is not a saved dataset" in result.output
    assert (occupied / "keep.txt").exists()


def test_consensus_and_policies_from_the_command_line(folder: Path, tmp_path: Path) -> None:
    out = tmp_path / "c.jsonl"
    invoke(export_command, "preferences", "--source", str(folder), "--output", str(out), "--consensus")
    rows = read_jsonl(out)
    # seed-1 mean ranks 4/3 4/3 3 (first two tied); seed-2 only w1; seed-3 mean ranks 1.5 1.5 3.
    assert [(r["item_id"], r["chosen"], r["rejected"], round(r["margin"], 4), r["agreement"]) for r in rows] == [
        ("seed-1", "Rayleigh scattering.", "It is not.", 1.6667, 1.0),
        ("seed-1", "Because of the sea.", "It is not.", 1.6667, 1.0),
        ("seed-2", "6", "4", 1.0, None),
        ("seed-2", "7", "4", 2.0, None),
        ("seed-2", "7", "6", 1.0, None),
        ("seed-3", "Hello.", "Go away.", 1.5, 1.0),
        ("seed-3", "Hi!", "Go away.", 1.5, 1.0),
    ]
    assert rows[0]["annotator"] == ["w1", "w2", "w3"] and rows[5]["annotator"] == ["w2", "w3"]
    invoke(
        export_command,
        "preferences",
        "--source",
        str(folder),
        "--output",
        str(out),
        "--policy",
        "best-vs-rest",
        "--keep-ties",
    )
    first = [(r["annotator"], r["chosen"], r["rejected"], r["margin"]) for r in read_jsonl(out)[:5]]
    assert first == [
        ("w1", "Rayleigh scattering.", "Because of the sea.", 1.0),
        ("w1", "Rayleigh scattering.", "It is not.", 2.0),
        ("w2", "Because of the sea.", "Rayleigh scattering.", 1.0),
        ("w2", "Because of the sea.", "It is not.", 2.0),
        ("w3", "Rayleigh scattering.", "Because of the sea.", 0.0),
    ]


def test_filters(folder: Path, tmp_path: Path) -> None:
    out = tmp_path / "f.jsonl"
    invoke(export_command, "preferences", "--source", str(folder), "--output", str(out), "--min-agreement", "0.5")
    # seed-1 agreement: pairs (1,2) +,-,0 -> 0 of 3 annotator pairs; (1,3) and (2,3) 3 of 3 -> 6/9 = 0.67.
    # seed-2 has one usable annotator (no figure: dropped); seed-3 (2 annotators): 2 of 3 pairs agree.
    assert sorted({r["item_id"] for r in read_jsonl(out)}) == ["seed-1", "seed-3"]
    card = json.loads((tmp_path / "f.jsonl.card.json").read_text())
    assert card["counts"]["items_below_min_agreement"] == 1
    invoke(export_command, "preferences", "--source", str(folder), "--output", str(out), "--min-annotators", "3")
    assert {r["item_id"] for r in read_jsonl(out)} == {"seed-1"}
    invoke(export_command, "preferences", "--source", str(folder), "--output", str(out), "--exclude-worker", "w1")
    assert {r["annotator"] for r in read_jsonl(out)} == {"w2", "w3"}


def test_conversational_style(folder: Path, tmp_path: Path) -> None:
    out = tmp_path / "conv.parquet"
    invoke(export_command, "preferences", "--source", str(folder), "--output", str(out), "--conversational")
    first = pq.read_table(out).to_pylist()[0]
    assert first["prompt"] == [{"role": "user", "content": "Why is the sky blue?"}]
    assert first["chosen"] == [{"role": "assistant", "content": "Rayleigh scattering."}]
    assert first["rejected"] == [{"role": "assistant", "content": "Because of the sea."}]
    kto = tmp_path / "kto.jsonl"
    invoke(export_command, "kto", "--source", str(folder), "--output", str(kto), "--conversational")
    assert read_jsonl(kto)[0]["completion"] == [{"role": "assistant", "content": "Rayleigh scattering."}]


def test_other_datasets(folder: Path, tmp_path: Path) -> None:
    for dataset in ("kto", "rankings"):
        invoke(export_command, dataset, "--source", str(folder), "--output", str(tmp_path / f"{dataset}.parquet"))
    kto = pq.read_table(tmp_path / "kto.parquet").to_pylist()
    assert kto[:2] == [
        {
            "prompt": "Why is the sky blue?",
            "completion": "Rayleigh scattering.",
            "label": True,
            "item_id": "seed-1",
            "annotator": "w1",
        },
        {
            "prompt": "Why is the sky blue?",
            "completion": "It is not.",
            "label": False,
            "item_id": "seed-1",
            "annotator": "w1",
        },
    ]
    rankings = pq.read_table(tmp_path / "rankings.parquet").to_pylist()
    assert rankings[1]["responses"] == ["Because of the sea.", "Rayleigh scattering.", "It is not."]
    result = CliRunner().invoke(
        export_command, ["ratings", "--source", str(folder), "--output", str(tmp_path / "r.jsonl")]
    )
    assert result.exit_code == 1 and "The answers are rankings" in result.output


def test_card(folder: Path, tmp_path: Path) -> None:
    invoke(export_command, "preferences", "--source", str(folder), "--output", str(tmp_path / "p.jsonl"))
    card = json.loads((tmp_path / "p.jsonl.card.json").read_text())
    assert card["output"] == {
        "dataset": "preferences",
        "rows": 17,
        "path": "p.jsonl",  # the file's name: a card never names a folder of this machine
        "format": "jsonl",
        "style": "standard",
        "columns": ["prompt", "chosen", "rejected", "margin", "item_id", "annotator", "agreement", "worker_flagged"],
    }
    assert card["options"]["policy"] == "all" and card["options"]["ties"] is False
    assert card["sources"][0]["kind"] == "folder" and card["mapping"][0]["field"] == "response_{i}_ranking"
    assert card["problems"]["total"] == 3
    assert card["agreement"]["krippendorff_alpha"]["level"] == "ordinal"
    assert card["created_at"].endswith("Z")
    markdown = (tmp_path / "p.jsonl.card.md").read_text()
    for expected in (
        "## Sources",
        "fd-files",
        "not recorded in output.json",
        "response_{i}_ranking",
        "| rank out of range | 1 |",
        "Krippendorff's alpha (ordinal)",
        "Kendall's W",
    ):
        assert expected in markdown


def test_report(folder: Path, tmp_path: Path) -> None:
    html = tmp_path / "report.html"
    result = invoke(report_command, "--source", str(folder), "--html", str(html), "--json", str(tmp_path / "r.json"))
    assert "Krippendorff's alpha (ordinal)" in result.output and "first shown preferred" in result.output
    assert "3 problems" in result.output
    page = html.read_text()
    assert page.count("<svg") == 3 and "Agreement per item" in page and "<script" not in page
    figures = json.loads((tmp_path / "r.json").read_text())
    assert figures["agreement"]["items"] == 3


def test_report_on_models(tmp_path: Path) -> None:
    loops = [
        Loop(
            f"m{k}",
            "P",
            [{"text": "a", "model": "big"}, {"text": "b", "model": "small"}],
            [("w1", ranks("1", "2") if k < 8 else ranks("2", "1"))],
        )
        for k in range(10)
    ]
    write_outputs(tmp_path / "a2i", loops)
    result = invoke(report_command, "--source", str(tmp_path / "a2i"))
    assert "Bradley-Terry strength" in result.output and "big" in result.output


def test_python_api(folder: Path, tmp_path: Path) -> None:
    rows = list(iter_rows(str(folder), policy="adjacent"))
    assert rows[0]["annotator"] == "w1" and len(rows) == 12
    dataset = to_dataset(str(folder), "rankings", consensus="mean-rank", cache_dir=tmp_path / "cache")
    assert isinstance(dataset, datasets.Dataset) and dataset.num_rows == 3
    assert dataset[0]["responses"][2] == "It is not."


def test_missing_extra_is_named(folder: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    monkeypatch.setitem(sys.modules, "pyarrow", None)  # as if the package were not installed
    result = CliRunner().invoke(
        export_command, ["preferences", "--source", str(folder), "--output", str(tmp_path / "p.jsonl")]
    )
    assert result.exit_code == 1
    assert "needs the Python package 'pyarrow'" in result.output and "pip install 'crowdloop[export]'" in result.output
