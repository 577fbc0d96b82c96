"""Bad input to the portal is a page or a JSON error, never a 500 (SQLite and PostgreSQL): ids beyond the
INTEGER columns, NUL in the sign-in email, unpaired surrogates in a task's input."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from crowdloop import loops
from crowdloop.runtime import Services
from tests.portal.kit import CALLER, Browser, add_worker, make_job

OpenBrowser = Callable[[], Browser]
TOO_BIG = ["2147483648", "9223372036854775808", "99999999999999999999999999", "0002147483648"]


def _signed_in(open_browser: OpenBrowser, services: Services, email: str) -> Browser:
    add_worker(services, email)
    browser = open_browser()
    assert browser.sign_in(email).status_code == 303
    return browser


@pytest.mark.parametrize("number", TOO_BIG)
def test_ids_beyond_the_id_columns_are_not_found(services: Services, open_browser: OpenBrowser, number: str) -> None:
    browser = _signed_in(open_browser, services, f"ids-{number[:6]}@example.org")
    for method, path in [
        ("GET", f"/tasks/{number}"),
        ("GET", f"/tasks/{number}/frame?token=x"),
        ("POST", f"/tasks/{number}/release"),
        ("POST", f"/tasks/{number}/decline"),
        ("POST", f"/jobs/{number}/start"),
        ("GET", f"/jobs/{number}/empty"),
        ("GET", f"/signin/oidc/{number}"),
    ]:
        response = browser.get(path) if method == "GET" else browser.post(path)
        assert response.status_code == 404, (path, response.status_code, response.text[:300])
        assert "There is nothing here" in response.text
    submit = browser.submit(int(number), {"x": 1})
    assert submit.status_code == 404


def test_largest_id_is_looked_up(services: Services, open_browser: OpenBrowser) -> None:
    browser = _signed_in(open_browser, services, "largest@example.org")
    page = browser.get("/tasks/2147483647")
    assert page.status_code == 410 and "no longer available" in page.text  # the task view's own answer


def test_nul_in_the_sign_in_email_is_a_wrong_email(services: Services, open_browser: OpenBrowser) -> None:
    add_worker(services, "nul@example.org")
    browser = open_browser()
    browser.get("/signin")
    for email in ("nul@example.org\x00", "\x00", "a\x00@b"):
        response = browser.post("/signin", {"email": email, "password": "whatever"})
        assert response.status_code == 401, response.text[:300]
        assert "The email or password is not right." in response.text
    assert browser.sign_in("nul@example.org").status_code == 303


def test_unpaired_surrogates_in_the_input_render_as_replacement_characters(
    services: Services, open_browser: OpenBrowser
) -> None:
    job = make_job(services)
    loops.start_human_loop(services, CALLER, "lone", job.arn, '{"text": "x\\ud800y", "\\udc00": 1}')
    browser = _signed_in(open_browser, services, "lone@example.org")
    assignment = browser.open_task(job.id)
    frame = browser.client.get(browser.frame_url(assignment))
    assert frame.status_code == 200
    assert "x\ufffdy" in frame.text
