"""Release, decline, stop-and-resume and the time limit, seen through the portal (SQLite and PostgreSQL)."""

from __future__ import annotations

from collections.abc import Callable

from crowdloop import reaper
from crowdloop.clock import ManualClock
from crowdloop.runtime import Services
from tests.portal.kit import Browser, add_worker, make_job, output_of, start_loop

OpenBrowser = Callable[[], Browser]


def _signed_in(open_browser: OpenBrowser, services: Services, email: str) -> Browser:
    add_worker(services, email)
    browser = open_browser()
    assert browser.sign_in(email).status_code == 303
    return browser


def test_release_returns_the_task_to_the_queue(services: Services, open_browser: OpenBrowser) -> None:
    job = make_job(services)
    start_loop(services, job)
    first = _signed_in(open_browser, services, "rel1@example.org")
    second = _signed_in(open_browser, services, "rel2@example.org")
    assignment_id = first.open_task(job.id)
    assert second.start(job.id).headers["location"] == f"/jobs/{job.id}/empty"
    response = first.post(f"/tasks/{assignment_id}/release")
    assert response.status_code == 303 and response.headers["location"] == "/?notice=released"
    assert "The task went back to the queue." in first.get(response.headers["location"]).text
    gone = first.get(f"/tasks/{assignment_id}")
    assert gone.status_code == 410 and "This task is no longer available" in gone.text
    assert second.open_task(job.id) != assignment_id


def test_release_lets_the_same_worker_take_it_again(services: Services, open_browser: OpenBrowser) -> None:
    job = make_job(services)
    start_loop(services, job)
    browser = _signed_in(open_browser, services, "again@example.org")
    assignment_id = browser.open_task(job.id)
    browser.post(f"/tasks/{assignment_id}/release")
    assert browser.open_task(job.id) != assignment_id  # a new assignment of the same loop


def test_decline_never_offers_the_loop_again(services: Services, open_browser: OpenBrowser) -> None:
    job = make_job(services)
    start_loop(services, job)
    decliner = _signed_in(open_browser, services, "dec@example.org")
    assignment_id = decliner.open_task(job.id)
    response = decliner.post(f"/tasks/{assignment_id}/decline")
    assert response.headers["location"] == "/?notice=declined"
    assert "will not be offered to you again" in decliner.get(response.headers["location"]).text
    assert decliner.start(job.id).headers["location"] == f"/jobs/{job.id}/empty"
    other = _signed_in(open_browser, services, "dec2@example.org")
    assert other.open_task(job.id)


def test_stop_and_resume_later_keeps_the_lease(
    services: Services, open_browser: OpenBrowser, clock: ManualClock
) -> None:
    job = make_job(services)
    start_loop(services, job)
    start_loop(services, job)
    browser = _signed_in(open_browser, services, "resume@example.org")
    assignment_id = browser.open_task(job.id)
    page = browser.get(f"/tasks/{assignment_id}")
    assert '<a class="button secondary" href="/"' in page.text  # "Stop and resume later" is a plain link
    clock.advance(60)
    jobs = browser.get("/")
    assert "You have a task of this job in progress" in jobs.text
    assert browser.open_task(job.id) == assignment_id
    assert 'data-remaining-ms="540000"' in browser.get(f"/tasks/{assignment_id}").text


def test_time_is_up_page_and_the_task_goes_back(
    services: Services, open_browser: OpenBrowser, clock: ManualClock
) -> None:
    job = make_job(services, time_limit=60)
    name = start_loop(services, job)
    slow = _signed_in(open_browser, services, "slow@example.org")
    assignment_id = slow.open_task(job.id)
    frame_url = slow.frame_url(assignment_id)
    clock.advance(61)
    page = slow.get(f"/tasks/{assignment_id}")
    assert page.status_code == 410 and "Time is up" in page.text and "Your answer was not saved" in page.text
    late = slow.submit(assignment_id, {"x": "late"})
    assert late.status_code == 409
    assert late.json()["reason"] == "expired" and late.json()["next"] == f"/tasks/{assignment_id}"
    assert slow.client.get(frame_url).status_code == 410
    assert slow.post(f"/tasks/{assignment_id}/release").status_code == 410
    reaper.reap(services)
    assert "Time is up" in slow.get(f"/tasks/{assignment_id}").text  # still after the reaper ran
    quick = _signed_in(open_browser, services, "quick@example.org")
    retry = quick.open_task(job.id)
    assert quick.submit(retry, {"x": "in time"}).status_code == 200
    assert [a["answerContent"] for a in output_of(services, name)["humanAnswers"]] == [{"x": "in time"}]
