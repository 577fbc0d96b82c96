"""A worker sees and acts only on their own leases and their own teams' jobs; every POST needs the
session's CSRF token (SQLite and PostgreSQL)."""

from __future__ import annotations

from collections.abc import Callable

from crowdloop import queue, workers
from crowdloop.runtime import Services
from tests.portal.kit import ORIGIN, Browser, add_worker, make_job, start_loop

OpenBrowser = Callable[[], Browser]


def _signed_in(
    open_browser: OpenBrowser, services: Services, email: str, groups: tuple[str, ...] = ("raters",)
) -> Browser:
    add_worker(services, email, groups)
    browser = open_browser()
    assert browser.sign_in(email).status_code == 303
    return browser


def test_other_workers_assignments_are_404(services: Services, open_browser: OpenBrowser) -> None:
    job = make_job(services)
    start_loop(services, job)
    start_loop(services, job)
    owner = _signed_in(open_browser, services, "owner@example.org")
    snoop = _signed_in(open_browser, services, "snoop@example.org")
    theirs = owner.open_task(job.id)
    own = snoop.open_task(job.id)
    frame_url = owner.frame_url(theirs)
    page = snoop.get(f"/tasks/{theirs}")
    assert page.status_code == 404 and "owner@example.org" not in page.text
    assert snoop.submit(theirs, {"x": "stolen"}).status_code == 404
    assert snoop.post(f"/tasks/{theirs}/release").status_code == 404
    assert snoop.post(f"/tasks/{theirs}/decline").status_code == 404
    assert snoop.get("/tasks/999999").status_code == 410  # unknown ids say nothing about others
    forged = frame_url.replace(f"/tasks/{theirs}/", f"/tasks/{own}/")  # owner's token, snoop's task
    assert snoop.client.get(forged).status_code == 403
    owner_pk = workers.get_worker(services, "owner@example.org").id
    assert queue.get_lease(services, theirs, owner_pk).assignment_id == theirs  # untouched


def test_other_teams_jobs_are_404(services: Services, open_browser: OpenBrowser) -> None:
    theirs = make_job(services, groups=("other-team",))
    start_loop(services, theirs)
    browser = _signed_in(open_browser, services, "outsider@example.org")
    assert theirs.task_title not in browser.get("/").text
    assert browser.start(theirs.id).status_code == 404
    assert browser.get(f"/jobs/{theirs.id}/empty").status_code == 404
    assert browser.start(424242).status_code == 404
    member = _signed_in(open_browser, services, "member@example.org", ("other-team",))
    assert member.open_task(theirs.id)


def test_task_posts_need_the_session_csrf_token(services: Services, open_browser: OpenBrowser) -> None:
    job = make_job(services)
    start_loop(services, job)
    start_loop(services, job)
    browser = _signed_in(open_browser, services, "csrf2@example.org")
    other = _signed_in(open_browser, services, "csrf3@example.org")
    assignment_id = browser.open_task(job.id)
    assert browser.submit(assignment_id, {"x": "1"}, csrf="").status_code == 403
    assert browser.submit(assignment_id, {"x": "1"}, csrf=other.csrf).status_code == 403  # not this session's
    assert browser.post(f"/tasks/{assignment_id}/release", csrf="nope").status_code == 403
    assert browser.post(f"/tasks/{assignment_id}/decline", csrf="").status_code == 403
    assert browser.post(f"/jobs/{job.id}/start", csrf="").status_code == 403
    cross = browser.client.post(
        f"/tasks/{assignment_id}/submit",
        json={"answer": {"x": "1"}},
        headers={"X-CSRF-Token": browser.csrf, "Origin": "http://evil.example"},
    )
    assert cross.status_code == 403
    assert browser.get(f"/tasks/{assignment_id}").status_code == 200  # nothing happened to the lease
    assert browser.submit(assignment_id, {"x": "1"}).status_code == 200
    assert ORIGIN.startswith("http://")
