"""The flow page's worker table shows the worker scores the background agreement refresh computed: the share
of answers faster than crowdloop:min-seconds next to agreement and position bias, gold accuracy as — (no gold
answers in these flows)."""

from __future__ import annotations

from crowdloop.app import CrowdloopApp
from crowdloop.console import agreement
from crowdloop.runtime import Services
from tests.console.kit import ConsoleBrowser
from tests.export.test_scores import _fill

HEADERS = ["Worker id", "Email", "Answers", "Median time", "Fast", "Agreement", "Position bias", "Gold accuracy"]


def test_the_worker_table_shows_fast_share_and_scores(
    console: ConsoleBrowser, services: Services, root_app: CrowdloopApp
) -> None:
    people = _fill(services)
    first = console.get("/console/flows/fd-scores")
    assert first.status_code == 200
    assert all(header in first.text for header in HEADERS)
    assert agreement.refreshes(root_app.services).wait()  # the refresh the page view started
    body = console.get("/console/api/flows/fd-scores").json()
    rows = {row[1]: row for row in body["workers"]}
    assert len(rows) == 6 and all(len(row) == 9 for row in rows.values())
    spammer, contrary, first_shown = (
        rows["spammer5@example.org"],
        rows["contrary3@example.org"],
        rows["first4@example.org"],
    )
    assert spammer[0] == people["spammer5"].worker_id
    assert spammer[4] == "1.00" and rows["honest0@example.org"][4] == "0.00"
    assert contrary[5] == "0.00" and rows["honest0@example.org"][5] == "0.89"
    assert first_shown[6] == "1.00"
    assert all(row[7] == "—" for row in rows.values())
