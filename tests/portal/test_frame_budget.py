"""The task frame within the render budget (SQLite and PostgreSQL): a template that exceeds it gets the
frame's error message instead of a page, quickly, and the portal keeps answering while a frame renders."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from crowdloop.runtime import Services
from tests.portal.kit import Browser, add_worker, make_job, start_loop
from tests.timing import steady_heap

EIGHT_LOOPS = "<p>before</p>" + "{% for i in (1..1000000) %}{% endfor %}" * 8


def _frame(services: Services, open_browser: Callable[[], Browser], template: str) -> tuple[Browser, str]:
    job = make_job(services, template=template)
    start_loop(services, job)
    add_worker(services, "budget@example.org")
    browser = open_browser()
    browser.sign_in("budget@example.org")
    return browser, browser.frame_url(browser.open_task(job.id))


def test_a_template_over_budget_shows_the_error_instead_of_the_task(
    services: Services, open_browser: Callable[[], Browser]
) -> None:
    browser, url = _frame(services, open_browser, EIGHT_LOOPS)
    frame = browser.client.get(url)
    assert frame.status_code == 200
    assert 'class="crowdloop-render-errors" role="alert"' in frame.text
    assert (
        "ResourceLimitExceeded: The template exceeded the render budget: a range of 1,000,000 steps, "
        "with 0 of the 1,000,000 steps left"
    ) in frame.text
    assert "<p>before</p>" not in frame.text  # no half-rendered task to submit


def test_the_portal_answers_while_a_frame_renders(services: Services, open_browser: Callable[[], Browser]) -> None:
    browser, url = _frame(services, open_browser, EIGHT_LOOPS)
    outcome: dict[str, Any] = {}
    with steady_heap(), browser.client:  # one event loop for every request, as under uvicorn

        def render_frame() -> None:
            started = time.monotonic()
            outcome["frame"] = browser.client.get(url)
            outcome["seconds"] = time.monotonic() - started

        renderer = threading.Thread(target=render_frame)
        renderer.start()
        time.sleep(0.1)  # the render has started
        latencies = []
        while renderer.is_alive():
            started = time.monotonic()
            assert browser.client.get("/").status_code == 200
            latencies.append(time.monotonic() - started)
        renderer.join()
    assert "exceeded the render budget" in outcome["frame"].text
    # before: on SQLite the frame rendered on the event loop and the job list waited for all of it
    assert len(latencies) >= 3, (latencies, outcome["seconds"])
    assert max(latencies) < outcome["seconds"] / 3, (latencies, outcome["seconds"])
