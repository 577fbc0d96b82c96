"""The export's problem report names what the flow definition's template did wrong (crowdloop.export.
templatechecks): the seed notebook's template never shows taskObject.responses[2], so response_3_ranking is
paired with a text no worker saw. The rows are the same; no loop or answer is dropped for it."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from crowdloop.cli import main
from crowdloop.export.api import export, run
from crowdloop.runtime import Services
from tests.domain.test_templatecheck import FIXED, SEED
from tests.export.helpers import SEED as SEED_LOOPS
from tests.export.helpers import fill_store, read_jsonl

NEVER_SHOWN = "template never shows taskObject.responses[2] (response_3_ranking)"
TWICE = "template shows taskObject.responses[1] 2 times"


def by_reason(card: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {entry["reason"]: entry for entry in card["problems"]["by_reason"]}


def test_the_seed_templates_slip_is_in_the_report(services: Services, tmp_path: Path) -> None:
    fill_store(services, SEED_LOOPS, "fd-slip", template=SEED)
    fill_store(services, [replace(loop, name=f"{loop.name}-fixed") for loop in SEED_LOOPS], "fd-fixed", template=FIXED)
    slipped = export(run("fd-slip", store=services.store, jobs=1), tmp_path / "slip.jsonl", "jsonl")
    fixed = export(run("fd-fixed", store=services.store, jobs=1), tmp_path / "fixed.jsonl", "jsonl")
    reasons = by_reason(slipped.card)
    assert NEVER_SHOWN in reasons and TWICE in reasons
    assert NEVER_SHOWN not in by_reason(fixed.card) and TWICE not in by_reason(fixed.card)
    [example] = reasons[NEVER_SHOWN]["examples"]
    assert reasons[NEVER_SHOWN]["count"] == 1 and example["item_id"] == "fd-slip" and example["annotator"] is None
    assert "the export pairs response_3_ranking with a text no worker saw" in example["detail"]
    assert "(template line 39)" in example["detail"] and "checked with the input of loop seed-1" in example["detail"]
    # nothing more is dropped: the same rows and the same counts, two problems more
    problems, clean = slipped.card["problems"], fixed.card["problems"]
    assert problems["total"] == clean["total"] + 2
    for dropped in ("loops_dropped", "answers_dropped"):
        assert problems[dropped] == clean[dropped]
    assert slipped.card["counts"] == fixed.card["counts"]
    assert len(read_jsonl(slipped.path)) == len(read_jsonl(fixed.path)) == slipped.card["counts"]["rows"] > 0
    markdown = slipped.card_markdown.read_text()
    assert f"| {NEVER_SHOWN} | 1 | fd-slip/-: taskObject.responses[2] is never shown" in markdown


def test_report_and_parallel_export_say_it_too(services: Services, tmp_path: Path) -> None:
    fill_store(services, SEED_LOOPS, "fd-slip", template=SEED)
    flags = ["--data-dir", str(tmp_path), "--database-url", services.settings.resolved_database_url]
    report = CliRunner().invoke(main, ["report", "--source", "fd-slip", "--no-progress", *flags])
    assert report.exit_code == 0, report.output
    assert f"1  {NEVER_SHOWN}" in report.output and "e.g. fd-slip / -: taskObject.responses[2]" in report.output
    job = run("fd-slip", store=services.store, jobs=2)
    job.chunk_loops = 1  # a chunk per loop, read by two processes
    rows = list(job.rows())
    assert rows and job.card()["problems"] == job.card()["problems"]  # checked once, counted once
    assert by_reason(job.card())[NEVER_SHOWN]["count"] == 1
