"""The console's agreement statistics: the export's own figures (equal to `crowdloop report`'s), computed in
the background and read from the store (crowdloop.insights), never computed by a page view."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner

from crowdloop import insights, stats, urls
from crowdloop.app import CrowdloopApp
from crowdloop.clock import ManualClock
from crowdloop.console import agreement
from crowdloop.errors import NotFound
from crowdloop.export.commands import report as report_command
from crowdloop.loops import delete_human_loop
from crowdloop.runtime import Services
from tests.console.kit import ConsoleBrowser
from tests.domain.loopsetup import CALLER
from tests.export.helpers import SEED, Loop, fill_store, ranks

EXTRA = [
    Loop(
        "extra-1",
        "Pick a colour.",
        ["Red.", "Blue.", "Green."],
        [("w1", ranks("1", "2", "3")), ("w2", ranks("1", "3", "2")), ("w3", ranks("2", "1", "3"))],
    )
]


def _report(services: Services, tmp_path: Path, flow: str) -> dict[str, object]:
    out = tmp_path / "report.json"
    args = ["--source", flow, "--database-url", services.settings.resolved_database_url, "--json", str(out)]
    result = CliRunner().invoke(report_command, [*args, "--no-progress"])
    assert result.exit_code == 0, result.output
    document: dict[str, object] = json.loads(out.read_text())
    return document


def _refresh(services: Services, flow: str = "fd-seed") -> insights.AgreementSummary | None:
    """A page view, then the background refresh it started (if any) run to its end."""
    summary = agreement.summary_for(services, CALLER, flow)
    assert agreement.refreshes(services).wait()
    return summary


def _rates(*values: float) -> dict[str, float]:
    return {f"response_{i}_rating": v for i, v in enumerate(values, start=1)}


RATINGS = [
    Loop(
        f"rated-{n}",
        f"Rate answer set {n}.",
        ["Short.", "Long and careful.", "Wrong."],
        [("w1", _rates(60, 90, 10 + n)), ("w2", _rates(55, 80, 30)), ("w3", _rates(70 - n, 95, 5))],
    )
    for n in range(4)
]
LABELS = [
    Loop(
        f"labelled-{n}",
        f"Is text {n} polite?",
        ["Text."],
        [("w1", {"polite": {"label": "yes"}}), ("w2", {"polite": {"label": "yes" if n % 2 else "no"}})],
    )
    for n in range(4)
]


@pytest.mark.parametrize(
    ("loops", "kind", "level"),
    [(SEED, "ranking", "ordinal"), (RATINGS, "rating", "interval"), (LABELS, "label", "nominal")],
    ids=["ranking", "rating", "label"],
)
def test_the_consoles_figures_are_crowdloop_reports(
    services: Services, tmp_path: Path, loops: list[Loop], kind: str, level: str
) -> None:
    task_count = len(loops[0].answers)
    workers = fill_store(services, loops, task_count=task_count)
    assert _refresh(services) is None  # never computed: the view starts the computation and shows nothing yet
    summary = insights.cached(services, CALLER, "fd-seed")
    assert summary is not None and not summary.stale
    figures = _report(services, tmp_path, "fd-seed")["agreement"]
    assert isinstance(figures, dict)
    assert (summary.kind, summary.level) == (kind, level)
    assert summary.alpha == figures["krippendorff_alpha"]["value"] and summary.alpha is not None
    assert summary.kendall_w == figures.get("kendall_w_mean")
    assert summary.items == figures["items"] == len(loops)
    assert set(summary.workers) == set(workers.values())
    for row in figures["workers"]:
        mine = summary.workers[row["worker"]]
        assert (mine.agreement, mine.position_bias, mine.items) == (
            row["agreement_with_others"],
            row.get("first_shown_preferred"),
            row["answers"],
        )
    if kind == "ranking":
        assert summary.kendall_w is not None
        assert summary.note is not None and "could not be used" in summary.note  # the seed's broken answers


def test_a_view_reads_the_cache_and_a_stale_one_is_refreshed_in_the_background(services: Services) -> None:
    assert isinstance(services.clock, ManualClock)
    fill_store(services, SEED)
    refreshes = agreement.refreshes(services)
    _refresh(services)
    first = insights.cached(services, CALLER, "fd-seed")
    assert first is not None and refreshes.computations == 1
    for _ in range(5):  # views of an unchanged flow: read, never compute
        assert _refresh(services) == first
    assert refreshes.computations == 1

    fill_store(
        services, [dataclasses.replace(EXTRA[0], name="other-1")], flow_name="fd-seed-more"
    )  # another flow's answers change nothing here
    assert _refresh(services) == first and refreshes.computations == 1

    _add_answers(services)
    stale = _refresh(services)
    assert stale is not None and stale.stale and stale.alpha == first.alpha  # too soon: the old figures
    assert refreshes.computations == 1
    services.clock.advance(services.settings.console_agreement_interval_seconds)
    assert _refresh(services) == stale  # the view shows the stale figures and starts a refresh
    assert refreshes.computations == 2
    fresh = insights.cached(services, CALLER, "fd-seed")
    assert fresh is not None and not fresh.stale and fresh.items == 4 and fresh.answers_seen > first.answers_seen
    assert _refresh(services) == fresh and refreshes.computations == 2

    delete_human_loop(services, CALLER, EXTRA[0].name)  # fewer answers than seen: stale too
    services.clock.advance(services.settings.console_agreement_interval_seconds)
    assert _refresh(services) == dataclasses.replace(fresh, stale=True) and refreshes.computations == 3
    after = insights.cached(services, CALLER, "fd-seed")
    assert after is not None and not after.stale and after.items == 3 and after.alpha == first.alpha


def test_one_process_at_a_time_computes_a_flows_figures(services: Services) -> None:
    """Two processes on one store (two Services: each its own refreshes, the claims in the store): while one
    holds the flow's claim the other's views compute nothing; a claim whose holder died expires with its lease;
    a finished refresh lets go of it."""
    assert isinstance(services.clock, ManualClock)
    fill_store(services, SEED)
    other = dataclasses.replace(services)  # its own caches, so its own Refreshes
    flow_id = stats.progress(services, CALLER, "fd-seed").flow_definition_id
    assert insights.claim_refresh(other, flow_id, "died-mid-refresh", agreement.CLAIM_SECONDS)
    assert not insights.claim_refresh(services, flow_id, "second", agreement.CLAIM_SECONDS)

    refreshes = agreement.refreshes(services)
    assert _refresh(services) is None
    assert (refreshes.computations, refreshes.computed) == (1, 0)  # started, found the flow claimed, stopped
    assert insights.cached(services, CALLER, "fd-seed") is None

    services.clock.advance(agreement.CLAIM_SECONDS - 1)
    assert _refresh(services) is None and refreshes.computed == 0  # the lease still runs
    services.clock.advance(1)
    assert _refresh(services) is None and (refreshes.computations, refreshes.computed) == (3, 1)
    assert insights.cached(services, CALLER, "fd-seed") is not None
    assert insights.claim_refresh(other, flow_id, "next", agreement.CLAIM_SECONDS)  # let go after computing


def test_a_refresh_that_lost_its_claim_gives_up(services: Services, monkeypatch: pytest.MonkeyPatch) -> None:
    """A refresh that stalled past its lease finds another process holding the flow when it renews: it stops
    (it would store figures beside that process's) and its let-go leaves the other's claim alone."""
    assert isinstance(services.clock, ManualClock)
    fill_store(services, SEED)
    other = dataclasses.replace(services)
    flow_id = stats.progress(services, CALLER, "fd-seed").flow_definition_id
    monkeypatch.setattr(agreement, "CLAIM_SECONDS", 0.0)  # renew on every loop read
    assert insights.claim_refresh(services, flow_id, "stalled", 60)
    check = agreement.refreshes(services)._checker(services, flow_id, "stalled")
    check()  # renewed: still its own
    services.clock.advance(61)
    assert insights.claim_refresh(other, flow_id, "took-over", 60)
    with pytest.raises(agreement.Stopped):
        check()
    insights.let_go(services, flow_id, "stalled")
    assert not insights.claim_refresh(services, flow_id, "third", 60)  # "took-over" still holds it
    assert insights.renew_claim(other, flow_id, "took-over", 60)


def _add_answers(services: Services) -> None:
    """A fourth loop on fd-seed, answered by three workers."""
    from crowdloop import flows, queue
    from tests.domain.loopsetup import make_worker, start

    flow = flows.describe_flow_definition(services, CALLER, "fd-seed")
    start(services, flow, EXTRA[0].name, EXTRA[0].input)
    for number, (_, answer) in enumerate(EXTRA[0].answers):
        worker = make_worker(services, f"extra{number}@example.org")
        lease = queue.claim(services, worker.id, flow.id)
        assert lease is not None
        queue.submit(services, lease.assignment_id, worker.id, answer, 1.0)


def test_a_flow_without_answers_has_nothing_to_measure(services: Services) -> None:
    fill_store(services, [], flow_name="fd-empty")
    _refresh(services, "fd-empty")
    summary = insights.cached(services, CALLER, "fd-empty")
    assert summary is not None and summary.kind is None and summary.alpha is None and summary.items == 0
    assert summary.note == "No completed loop with answers to measure yet."
    with pytest.raises(NotFound):
        agreement.summary_for(services, CALLER, "fd-none")


def test_the_agreement_endpoint_reads_the_cache_and_never_computes_in_the_request(
    services: Services, root_app: CrowdloopApp, console: ConsoleBrowser, open_console: Callable[[], ConsoleBrowser]
) -> None:
    fill_store(services, SEED)
    refreshes = agreement.refreshes(root_app.services)  # the server's (the app has Services of its own)
    url = urls.fill(urls.CONSOLE_AGREEMENT_API, flow="fd-seed")
    first = console.get(url)
    assert first.status_code == 200 and first.json() == {"computed": False}
    assert refreshes.wait() and refreshes.computations == 1
    bodies = [console.get(url).json() for _ in range(5)]
    assert refreshes.computations == 1 and all(body == bodies[0] for body in bodies)
    body = bodies[0]
    stored = insights.cached(services, CALLER, "fd-seed")
    assert stored is not None and body["computed"] and not body["stale"]
    assert (body["kind"], body["alpha"], body["kendall_w"], body["items"]) == (
        "ranking",
        stored.alpha,
        stored.kendall_w,
        3,
    )
    assert {w["worker_id"] for w in body["workers"]} == set(stored.workers)

    assert console.get(urls.fill(urls.CONSOLE_AGREEMENT_API, flow="fd-none")).status_code == 404
    assert console.get(urls.fill(urls.CONSOLE_AGREEMENT_API, flow="Bad_Name")).status_code == 400
    assert console.get(urls.fill(urls.CONSOLE_AGREEMENT_API, flow="x" * 64)).status_code == 400
    stranger = open_console()
    assert stranger.get(url).status_code == 401  # an /api/ path answers JSON: no redirect
    assert refreshes.computations == 1
