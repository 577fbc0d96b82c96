"""The portal's one error renderer (crowdloop.portal.web.render_error): every error page and JSON error,
an unexpected exception's 500 included, is its answer and carries the portal's security headers."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import httpx2 as httpx
import pytest
from starlette.applications import Starlette

from crowdloop import queue
from crowdloop.errors import Unavailable
from crowdloop.i18n import Language
from crowdloop.portal import errors
from crowdloop.runtime import Services
from tests.portal.kit import Browser, add_worker, make_job, start_loop

OpenBrowser = Callable[[], Browser]


@pytest.fixture
def described(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[errors.Answer]]:
    """The answers crowdloop.portal.errors.describe gave, in order (what render_error wrote)."""
    answers: list[errors.Answer] = []
    describe = errors.describe

    def spy(exc: BaseException, path_params: dict[str, Any], language: Language | None = None) -> errors.Answer:
        answers.append(describe(exc, path_params, language))
        return answers[-1]

    monkeypatch.setattr(errors, "describe", spy)
    yield answers


def _expect(described: list[errors.Answer], status: int, send: Callable[[], httpx.Response]) -> httpx.Response:
    described.clear()
    response = send()
    assert response.status_code == status, response.text[:300]
    assert len(described) == 1, f"{status} did not come from the error renderer"
    assert status in (described[0].status, described[0].json_status)  # JSON: 409 where the page says 410
    return response


def _assert_security_headers(response: httpx.Response, portal_app: Starlette) -> None:
    if response.headers["content-type"].startswith("text/html"):
        assert response.headers["content-security-policy"] == portal_app.state.portal.page_policy
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["referrer-policy"] == "same-origin"


def test_an_unexpected_exception_in_a_view_is_a_500_page_with_the_security_headers(
    services: Services, open_browser: OpenBrowser, portal_app: Starlette, monkeypatch: pytest.MonkeyPatch
) -> None:
    add_worker(services, "boom@example.org")
    browser = open_browser()
    assert browser.sign_in("boom@example.org").status_code == 303

    def broken(*args: object) -> None:
        raise RuntimeError("secret detail of the failure")

    monkeypatch.setattr(queue, "jobs_for_worker", broken)
    page = browser.get("/")
    assert page.status_code == 500
    _assert_security_headers(page, portal_app)
    assert "Something went wrong" in page.text
    assert "secret detail" not in page.text and "Traceback" not in page.text and "RuntimeError" not in page.text

    monkeypatch.setattr(queue, "submit", broken)
    job = make_job(services)
    start_loop(services, job)
    assignment_id = browser.open_task(job.id)
    answer = browser.submit(assignment_id, {"label": "x"})
    assert answer.status_code == 500 and answer.headers["content-type"] == "application/json"
    _assert_security_headers(answer, portal_app)
    assert "secret detail" not in answer.text and "went wrong" in json.loads(answer.text)["error"]


def test_each_error_status_comes_from_the_one_renderer(
    services: Services,
    open_browser: OpenBrowser,
    portal_app: Starlette,
    described: list[errors.Answer],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    add_worker(services, "errors@example.org")
    job = make_job(services)
    start_loop(services, job)
    start_loop(services, job)
    anonymous = open_browser()
    browser = open_browser()
    assert browser.sign_in("errors@example.org").status_code == 303
    first = browser.open_task(job.id)
    assert browser.post(f"/tasks/{first}/release").status_code == 303

    answers = [
        _expect(described, 400, lambda: anonymous.get("/signin?next=//elsewhere.example")),
        _expect(described, 400, lambda: browser.submit(first, ["not", "an", "object"])),
        _expect(described, 401, lambda: anonymous.submit(first, {"label": "x"})),
        _expect(described, 403, lambda: browser.post("/signout", csrf="wrong")),
        _expect(described, 403, lambda: browser.client.get(f"/tasks/{first}/frame?token=forged")),
        _expect(described, 404, lambda: browser.get("/nowhere")),
        _expect(described, 404, lambda: anonymous.get("/invite/no-such-token")),
        _expect(described, 404, lambda: browser.get(f"/jobs/{job.id + 1000}/empty")),
        _expect(described, 405, lambda: browser.client.delete("/signin")),
        _expect(described, 409, lambda: browser.submit(first, {"label": "x"})),
        _expect(described, 410, lambda: browser.get(f"/tasks/{first}")),
        _expect(described, 413, lambda: anonymous.post("/signin", {"email": "x" * 70_000})),
    ]
    monkeypatch.setattr(queue, "jobs_for_worker", _raise(Unavailable(retry_after_seconds=3)))
    outage = _expect(described, 503, lambda: browser.get("/"))
    assert outage.headers["retry-after"] == "3"
    monkeypatch.setattr(queue, "jobs_for_worker", _raise(RuntimeError("boom")))
    answers += [outage, _expect(described, 500, lambda: browser.get("/"))]
    frame = answers[4]
    assert frame.headers["content-security-policy"] == "default-src 'none'; style-src 'unsafe-inline'; sandbox"
    for response in answers[:4] + answers[5:]:
        _assert_security_headers(response, portal_app)


def _raise(exc: Exception) -> Callable[..., Any]:
    def fail(*args: object) -> Any:
        raise exc

    return fail
