"""The overview over HTTP (SQLite and PostgreSQL): the empty state, a flow definition's numbers on the
page and in /console/api/overview, and the numbers following an answer submitted through the portal."""

from __future__ import annotations

from collections.abc import Callable

from crowdloop.app import CrowdloopApp
from crowdloop.runtime import Services
from tests.console.kit import ConsoleBrowser
from tests.portal.kit import Browser, add_worker, make_job, start_loop


def test_an_empty_store_says_how_to_begin(console: ConsoleBrowser) -> None:
    page = console.get("/console")
    assert page.status_code == 200
    assert "No flow definitions yet" in page.text and "create_flow_definition" in page.text
    assert console.get("/console/api/overview").json()["flows"] == []


def test_the_overview_follows_the_answers(console: ConsoleBrowser, services: Services, root_app: CrowdloopApp) -> None:
    job = make_job(services, task_count=2)
    start_loop(services, job)
    start_loop(services, job)
    body = console.get("/console/api/overview").json()
    [flow] = body["flows"]
    assert flow["name"] == job.name and flow["status"] == "Active"
    assert flow["loops"] == {"InProgress": 2, "Completed": 0, "Stopping": 0, "Stopped": 0, "Failed": 0}
    assert (flow["answers_received"], flow["answers_needed"], flow["percent"]) == (0, 4, 0.0)
    assert flow["progress_text"] == "0 of 4 answers (0%)" and flow["eta_text"] == "—"
    assert len(flow["hours"]) == 7 * 24 and len(flow["charts"]["day"]["rows"]) == 24
    assert flow["charts"]["day"]["summary"] == "No answers in the last 24 hours."

    add_worker(services, "rater@example.com")
    worker = Browser(root_app)
    try:
        worker.sign_in("rater@example.com")
        assert worker.submit(worker.open_task(job.id), {"label": "cat"}, 30).status_code == 200
    finally:
        worker.close()

    [flow] = console.get("/console/api/overview").json()["flows"]
    assert (flow["answers_received"], flow["answers_needed"], flow["percent"]) == (1, 4, 25.0)
    assert flow["answers_last_hour"] == 1 and flow["hours"][-1][1] == 1
    assert flow["workers_active"] == 1 and flow["median_seconds"] is not None
    assert flow["eta_text"] not in ("—", "done")
    assert flow["charts"]["day"]["summary"].startswith("1 answer in the last 24 hours")
    page = console.get("/console").text
    assert "1 of 4 answers (25%)" in page and job.name in page
    assert 'data-poll-url="/console/api/overview"' in page


def test_the_overview_needs_a_session(open_console: Callable[[], ConsoleBrowser]) -> None:
    browser = open_console()
    assert browser.get("/console").status_code == 303
    assert browser.get("/console/api/overview").status_code == 401
