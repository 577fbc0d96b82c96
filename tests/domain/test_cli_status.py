"""`crowdloop status` and `crowdloop loops list` on a store with loops and answers (both databases; the real
CLI through click's runner)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from crowdloop import queue
from crowdloop.cli import _duration, main
from crowdloop.clock import ManualClock
from crowdloop.config import SETTINGS
from crowdloop.runtime import Services
from tests.domain.loopsetup import make_flow, make_worker, start


@pytest.fixture(autouse=True)
def _no_crowdloop_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for setting in SETTINGS:
        monkeypatch.delenv(setting.env, raising=False)
    monkeypatch.chdir(tmp_path)


def _cli(services: Services, *args: str) -> Result:
    return CliRunner().invoke(main, [*args, "--database-url", services.store.url], catch_exceptions=False)


def _answer(svc: Services, worker_pk: int, flow_id: int) -> None:
    lease = queue.claim(svc, worker_pk, flow_id)
    assert lease is not None
    queue.submit(svc, lease.assignment_id, worker_pk, {"ok": True}, 12.0)


def test_status_prints_a_line_per_flow(services: Services) -> None:
    clock = services.clock
    assert isinstance(clock, ManualClock)
    clock.advance((datetime.now(UTC) - clock.now()).total_seconds())  # the CLI reads the system clock
    busy, idle = make_flow(services, "busy-flow", task_count=2), make_flow(services, "idle-flow")
    worker = make_worker(services)
    for _ in range(3):
        start(services, busy)
    _answer(services, worker.id, busy.id)
    _answer(services, make_worker(services).id, busy.id)  # the first loop completes

    result = _cli(services, "status")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines == [
        "busy-flow\tActive\tInProgress=2 Completed=1\t2/6 answers (33%)\t2/h\tETA 2h00m",
        "idle-flow\tActive\tno loops\t0/0 answers (-)\t0/h\tETA -",
    ]
    assert idle.name in lines[1]

    documents = [json.loads(line) for line in _cli(services, "status", "--json").output.splitlines()]
    assert [d["name"] for d in documents] == ["busy-flow", "idle-flow"]
    first = documents[0]
    assert first["loops"]["InProgress"] == 2 and first["answers_received"] == 2 and first["answers_needed"] == 6
    assert first["tasks_waiting"] == 4 and first["arn"] == busy.arn and first["eta_seconds"] == 7200
    assert datetime.fromisoformat(first["created_at"]) == busy.created_at


def test_status_of_an_empty_store(services: Services) -> None:
    result = CliRunner().invoke(main, ["status", "--database-url", services.store.url])
    assert result.exit_code == 0 and result.stdout == "" and "no flow definitions" in result.stderr


def test_loops_list_newest_first_with_status_and_limit(services: Services) -> None:
    flow = make_flow(services, "the-flow", task_count=1)
    worker = make_worker(services)
    names = []
    for i in range(5):
        names.append(start(services, flow, f"loop-{i}"))
        services.clock.advance(1)  # type: ignore[attr-defined]
    _answer(services, worker.id, flow.id)  # loop-0 (FIFO) completes

    rows = [line.split("\t") for line in _cli(services, "loops", "list", "--flow", "the-flow").output.splitlines()]
    assert [r[0] for r in rows] == names[::-1]
    assert rows[-1] == ["loop-0", "Completed", "2026-01-01 00:00:00", "1/1"]
    assert rows[0][1:] == ["InProgress", "2026-01-01 00:00:04", "0/1"]

    done = _cli(services, "loops", "list", "--flow", "the-flow", "--status", "Completed").output.splitlines()
    assert [line.split("\t")[0] for line in done] == ["loop-0"]
    two = _cli(services, "loops", "list", "--flow", "the-flow", "--status", "InProgress", "--limit", "2").output
    assert [line.split("\t")[0] for line in two.splitlines()] == ["loop-4", "loop-3"]


def test_loops_list_limits_and_unknown_flow(services: Services) -> None:
    runner = CliRunner()
    missing = runner.invoke(main, ["loops", "list", "--flow", "nope", "--database-url", services.store.url])
    assert missing.exit_code == 1 and "Flow definition nope does not exist" in missing.stderr
    for bad in (["--limit", "0"], ["--limit", "10001"], ["--status", "Done"]):
        result = runner.invoke(main, ["loops", "list", "--flow", "x", *bad, "--database-url", services.store.url])
        assert result.exit_code == 2, bad


def test_loops_list_pages_past_one_search_page(services: Services) -> None:
    flow = make_flow(services, "big-flow")
    for i in range(205):
        start(services, flow, f"loop-{i:03d}")
        services.clock.advance(0.001)  # type: ignore[attr-defined]
    out = _cli(services, "loops", "list", "--flow", "big-flow", "--limit", "203").output.splitlines()
    assert len(out) == 203 and out[0].startswith("loop-204\t") and out[-1].startswith("loop-002\t")


def test_durations() -> None:
    assert [_duration(s) for s in (0, 40, 720, 3600 * 3 + 300, 86400 * 2 + 3 * 3600)] == [
        "0s",
        "40s",
        "12m",
        "3h05m",
        "2d03h",
    ]
