"""Console sign-in over HTTP through the real root app, on SQLite and PostgreSQL: access key pairs, rate
limits, one-time links, sessions kept apart from the portal's, CSRF, headers, body limits."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator

from crowdloop import consoleauth, keys, sessions
from crowdloop.clock import ManualClock
from crowdloop.keys import AccessKey
from crowdloop.runtime import Services
from crowdloop.signin import MAX_FAILURES_PER_EMAIL, MAX_FAILURES_PER_IP
from tests.console.kit import ORIGIN, ConsoleBrowser
from tests.portal.kit import add_worker

Open = Callable[[], ConsoleBrowser]


def test_signing_in_with_the_right_secret_opens_the_overview(open_console: Open, admin_key: AccessKey) -> None:
    browser = open_console()
    first = browser.get("/console")
    assert first.status_code == 303 and first.headers["location"] == "/console/signin"
    response = browser.sign_in(admin_key)
    assert response.status_code == 303 and response.headers["location"] == "/console"
    cookie = next(c for c in response.headers.get_list("set-cookie") if c.startswith("crowdloop_console="))
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Path=/console" in cookie
    page = browser.get("/console")
    assert page.status_code == 200 and "Overview" in page.text and admin_key.access_key_id in page.text


def test_a_wrong_secret_or_an_unknown_key_is_refused(open_console: Open, admin_key: AccessKey) -> None:
    browser = open_console()
    wrong = browser.sign_in(admin_key, secret="not-the-secret")
    assert wrong.status_code == 401 and "do not match" in wrong.text
    assert not any(c.startswith("crowdloop_console=") for c in wrong.headers.get_list("set-cookie"))
    unknown = browser.sign_in(AccessKey("AKCLNOSUCHKEY0000000", admin_key.secret_access_key, "123456789012"))
    assert unknown.status_code == 401
    assert browser.get("/console").status_code == 303


def test_failures_are_rate_limited_per_key(open_console: Open, admin_key: AccessKey, clock: ManualClock) -> None:
    browser = open_console()
    for _ in range(MAX_FAILURES_PER_EMAIL):
        assert browser.sign_in(admin_key, secret="guess").status_code == 401
    limited = browser.sign_in(admin_key)  # even the right secret, until the window has passed
    assert limited.status_code == 429 and int(limited.headers["retry-after"]) > 0
    assert "Too many failed attempts" in limited.text
    clock.advance(16 * 60)
    assert browser.sign_in(admin_key).status_code == 303


def test_failures_are_rate_limited_per_address(open_console: Open, admin_key: AccessKey) -> None:
    browser = open_console()
    for n in range(MAX_FAILURES_PER_IP):  # a different key id each time: only the address is limited
        unknown = AccessKey(f"AKCLGUESS{n:011d}", "guess", admin_key.account_id)
        assert browser.sign_in(unknown).status_code == 401
    assert browser.sign_in(admin_key).status_code == 429


def test_next_is_kept_and_must_be_a_console_path(open_console: Open, admin_key: AccessKey) -> None:
    browser = open_console()
    redirect = browser.get("/console?chart=week")
    assert redirect.status_code == 303
    assert redirect.headers["location"] == "/console/signin?next=/console%3Fchart%3Dweek"
    browser.get(redirect.headers["location"])
    response = browser.post(
        redirect.headers["location"],
        {"access_key_id": admin_key.access_key_id, "secret_access_key": admin_key.secret_access_key},
    )
    assert response.status_code == 303 and response.headers["location"] == "/console?chart=week"
    for target in ("//evil.test/console", "/signin", "https://evil.test/console", "/console\\x"):
        assert browser.get("/console/signin", params={"next": target}).status_code == 400


def test_json_requests_without_a_session_get_401(open_console: Open) -> None:
    response = open_console().get("/console/api/overview")
    assert response.status_code == 401 and response.json() == {"error": "Your session has ended. Sign in again."}


def test_a_link_signs_in_once(open_console: Open, admin_key: AccessKey, services: Services) -> None:
    token = consoleauth.create_link(services, admin_key.access_key_id)
    browser = open_console()
    page = browser.get(f"/console/link?token={token}")
    assert page.status_code == 200 and "Continue to the console" in page.text
    assert browser.get("/console").status_code == 303  # showing the page did not use the link
    redeemed = browser.post("/console/link", {"token": token})
    assert redeemed.status_code == 303 and redeemed.headers["location"] == "/console"
    assert browser.get("/console").status_code == 200
    again = open_console()
    again.get(f"/console/link?token={token}")
    refused = again.post("/console/link", {"token": token})
    assert refused.status_code == 410 and "has been used already" in refused.text
    assert again.get("/console").status_code == 303
    unknown = again.post("/console/link", {"token": "x" * 43})
    assert unknown.status_code == 410 and "not valid" in unknown.text


def test_a_link_expires_after_24_hours(
    open_console: Open, admin_key: AccessKey, services: Services, clock: ManualClock
) -> None:
    token = consoleauth.create_link(services, admin_key.access_key_id)
    clock.advance(24 * 3600 + 1)
    browser = open_console()
    browser.get(f"/console/link?token={token}")
    refused = browser.post("/console/link", {"token": token})
    assert refused.status_code == 410 and "expired" in refused.text


def test_changes_need_the_csrf_token_and_our_origin(console: ConsoleBrowser) -> None:
    assert console.post("/console/signout", csrf="").status_code == 403
    assert console.post("/console/signout", csrf="forged-token-forged-token").status_code == 403
    assert console.post("/console/signout", origin="http://evil.test").status_code == 403
    foreign = console.client.post(
        "/console/signout", data={"csrf_token": console.csrf}, headers={"Referer": "http://evil.test/page"}
    )
    assert foreign.status_code == 403
    assert console.get("/console").status_code == 200  # still signed in
    by_header = console.client.post("/console/signout", headers={"X-CSRF-Token": console.csrf, "Origin": ORIGIN})
    assert by_header.status_code == 303 and by_header.headers["location"] == "/console/signin"
    assert console.get("/console").status_code == 303


def test_the_signin_form_needs_its_double_submit_token(open_console: Open, admin_key: AccessKey) -> None:
    browser = open_console()
    browser.get("/console/signin")
    form = {"access_key_id": admin_key.access_key_id, "secret_access_key": admin_key.secret_access_key}
    assert browser.post("/console/signin", form, csrf="").status_code == 403
    assert browser.post("/console/signin", form, origin="http://evil.test").status_code == 403
    assert browser.post("/console/signin", form).status_code == 303


def test_a_portal_session_never_opens_the_console(open_console: Open, root_app: object, services: Services) -> None:
    add_worker(services, "worker@example.com")
    worker_token, _ = sessions.start_session(services, sessions_worker_pk(services, "worker@example.com"))
    browser = open_console()
    browser.client.cookies.set("crowdloop_session", worker_token, domain="console.test", path="/")
    assert browser.get("/").status_code == 200  # the portal knows the worker
    assert browser.get("/console").status_code == 303  # the console does not
    browser.client.cookies.set("crowdloop_console", worker_token, domain="console.test", path="/console")
    response = browser.get("/console")
    assert response.status_code == 303 and response.headers["location"] == "/console/signin"
    assert browser.get("/console/api/overview").status_code == 401


def test_a_console_session_never_opens_the_portal(console: ConsoleBrowser) -> None:
    token = console.client.cookies.get("crowdloop_console")
    assert token
    console.client.cookies.set("crowdloop_session", token, domain="console.test", path="/")
    response = console.get("/")
    assert response.status_code == 303 and response.headers["location"].startswith("/signin")


def test_deleting_the_key_ends_its_sessions(console: ConsoleBrowser, admin_key: AccessKey, services: Services) -> None:
    assert console.get("/console").status_code == 200
    assert keys.delete_key(services.store, admin_key.access_key_id)
    assert console.get("/console").status_code == 303


def test_sessions_end_when_idle(console: ConsoleBrowser, clock: ManualClock) -> None:
    clock.advance(consoleauth.SESSION_IDLE.total_seconds() - 60)
    assert console.get("/console").status_code == 200  # a request refreshes the session
    clock.advance(consoleauth.SESSION_IDLE.total_seconds() - 60)
    assert console.get("/console").status_code == 200
    clock.advance(consoleauth.SESSION_IDLE.total_seconds() + 1)
    assert console.get("/console").status_code == 303


def test_every_answer_has_the_security_headers(console: ConsoleBrowser, open_console: Open) -> None:
    answers = [
        console.get("/console"),
        console.get("/console/api/overview"),
        console.get("/console/no-such-page"),
        console.post("/console/signout", csrf=""),
        open_console().get("/console/signin"),
        open_console().get("/console"),
    ]
    for response in answers:
        policy = response.headers["content-security-policy"]
        assert "script-src 'self';" in policy and "unsafe-inline" not in policy and "unsafe-eval" not in policy
        assert "default-src 'none'" in policy and "frame-ancestors 'none'" in policy
        assert "http" not in policy  # nothing from another origin
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["cache-control"] == "no-store"
    page = answers[0].text
    # no inline script (a JSON data block, the page's texts for console.js, is not run)
    assert re.findall(r"<script(?![^>]*\s(?:src=|type=\"application/json\"))[^>]*>", page) == []
    assert " style=" not in page and "<style" not in page


def test_static_files_are_versioned_and_vendored(console: ConsoleBrowser) -> None:
    page = console.get("/console").text
    for name in ("console.css", "console.js"):
        url = re.search(rf'"(/console/static/{re.escape(name)}\?v=[0-9a-f]+)"', page)
        assert url, name
        response = console.get(url.group(1))
        assert response.status_code == 200 and "immutable" in response.headers["cache-control"]
    uplot = console.get("/console/static/vendor/uplot.min.js")
    assert uplot.status_code == 200 and uplot.headers["content-type"].startswith("text/javascript")
    assert console.get("/console/static/../../app.py").status_code == 404


def test_bodies_are_limited(console: ConsoleBrowser, open_console: Open) -> None:
    anonymous = open_console()
    anonymous.get("/console/signin")
    big_form = anonymous.post("/console/signin", {"access_key_id": "x" * (17 * 1024), "secret_access_key": "y"})
    assert big_form.status_code == 413
    # a signed-in route: a client without a session never gets more than the anonymous limit read
    without_session = anonymous.post("/console/signout", {"padding": "x" * (64 * 1024)})
    assert without_session.status_code == 401
    too_big = console.post("/console/signout", {"padding": "x" * (2 * 1024 * 1024)})
    assert too_big.status_code == 413

    def chunks(count: int) -> Iterator[bytes]:  # no Content-Length: the limits apply as the body arrives
        yield b"padding="
        for _ in range(count):
            yield b"x" * (64 * 1024)

    form = {"Content-Type": "application/x-www-form-urlencoded", "Origin": ORIGIN}
    assert anonymous.client.post("/console/signout", content=chunks(10), headers=form).status_code == 401
    assert console.client.post("/console/signout", content=chunks(40), headers=form).status_code == 413
    assert console.get("/console").status_code == 200  # the refused POST changed nothing


def test_the_secret_is_never_in_an_answer(open_console: Open, admin_key: AccessKey) -> None:
    browser = open_console()
    seen = [browser.sign_in(admin_key, secret=admin_key.secret_access_key + "x")]  # wrong: the form comes back
    seen.append(browser.sign_in(admin_key))
    seen += [browser.get("/console"), browser.get("/console/api/overview"), browser.get("/console/signin")]
    for response in seen:
        assert admin_key.secret_access_key not in response.text
        assert admin_key.secret_access_key not in str(response.headers)


def sessions_worker_pk(services: Services, email: str) -> int:
    from crowdloop import workers

    found = workers.credentials_of(services, email)
    assert found is not None
    return found.worker_pk


def test_console_paths_go_to_the_console(console: ConsoleBrowser) -> None:
    from crowdloop import dispatch

    scope = {"type": "http", "method": "GET", "path": "/console", "headers": [], "query_string": b""}
    assert dispatch.destination(scope) == dispatch.CONSOLE
    assert dispatch.destination({**scope, "path": "/console/x"}) == dispatch.CONSOLE
    assert dispatch.destination({**scope, "path": "/consoles"}) == dispatch.PORTAL


def test_revoking_a_key_ends_its_console_sessions(open_console: Open, admin_key: AccessKey, services: Services) -> None:
    other = keys.create_key(services.store, services.clock, admin_key.account_id)
    revoked, kept = open_console(), open_console()
    assert revoked.sign_in(other).status_code == 303 and kept.sign_in(admin_key).status_code == 303
    assert revoked.get("/console").status_code == 200
    assert keys.delete_key(services.store, other.access_key_id)  # what `crowdloop keys revoke` does
    assert revoked.get("/console").status_code == 303
    assert revoked.get("/console/api/overview").status_code == 401
    assert kept.get("/console").status_code == 200
