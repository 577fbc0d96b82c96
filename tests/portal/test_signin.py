"""Signing in and out: sessions, cookies, CSRF, rate limits, disabled workers (SQLite and PostgreSQL)."""

from __future__ import annotations

import re
import statistics
import time
import urllib.parse
from collections.abc import Callable
from datetime import timedelta

import pytest
import sqlalchemy as sa
from starlette.applications import Starlette

from crowdloop import signin, workers
from crowdloop.clock import ManualClock
from crowdloop.model import WorkerStatus
from crowdloop.passwords import PasswordHasher
from crowdloop.runtime import Services
from crowdloop.sessions import SESSION_IDLE
from crowdloop.store.tables import portal_sessions
from tests.portal.kit import ORIGIN, PASSWORD, Browser, add_worker

OpenBrowser = Callable[[], Browser]


def _sessions(svc: Services) -> int:
    with svc.store.read() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(portal_sessions)).scalar_one())


def test_sign_in_page_has_the_named_fields(open_browser: OpenBrowser) -> None:
    page = open_browser().get("/signin")
    assert page.status_code == 200
    assert re.search(r'<label for="email">Email</label>\s*<input id="email" name="email" type="email"', page.text)
    assert re.search(
        r'<label for="password">Password</label>\s*<input id="password" name="password" '
        r'type="password"',
        page.text,
    )
    assert '<button class="button primary" type="submit">Sign in</button>' in page.text
    assert "default-src 'none'" in page.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]


def test_signed_out_visitors_are_sent_to_sign_in(open_browser: OpenBrowser) -> None:
    browser = open_browser()
    assert browser.get("/").headers["location"] == "/signin?next=/"
    assert browser.get("/tasks/1").headers["location"] == "/signin?next=/tasks/1"
    assert browser.client.post("/tasks/1/submit", json={"answer": {}}).status_code == 401


def test_sign_in_sets_a_server_side_session_cookie(services: Services, open_browser: OpenBrowser) -> None:
    add_worker(services, "ann@example.org")
    browser = open_browser()
    browser.get("/signin")
    response = browser.post("/signin", {"email": " Ann@Example.org ", "password": PASSWORD, "next": "/jobs/9/empty"})
    assert response.status_code == 303
    assert response.headers["location"] == "/jobs/9/empty"
    cookie = response.headers["set-cookie"]
    assert cookie.startswith("crowdloop_session=")
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Path=/" in cookie
    assert "Secure" not in cookie  # plain http
    token = cookie.split(";")[0].split("=", 1)[1]
    with services.store.read() as conn:
        stored = conn.execute(sa.select(portal_sessions.c.token_sha256)).scalars().all()
    assert len(stored) == 1 and token not in stored  # only the hash is kept
    jobs = browser.get("/")
    assert jobs.status_code == 200 and "ann@example.org" in jobs.text


def test_cookie_is_secure_behind_https(services: Services, portal_app: Starlette) -> None:
    add_worker(services, "sec@example.org")
    from starlette.testclient import TestClient

    with TestClient(portal_app, base_url="https://portal.test", follow_redirects=False) as client:
        page = client.get("/signin")
        assert "Secure" in page.headers["set-cookie"]
        token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
        assert token
        response = client.post(
            "/signin", data={"csrf_token": token.group(1), "email": "sec@example.org", "password": PASSWORD}
        )
        assert response.status_code == 303
        assert "Secure" in response.headers["set-cookie"]


OFF_SITE = [
    "//evil.example/x",
    "/\\evil.example",
    "/\t/evil.example/",
    "/%09/x\n",
    "https://evil.example/",
    "evil.example",
    "/a\\b",
    "/\r\nSet-Cookie: x=1",
    "/\x00",
    "/ /evil.example",
    "/\u2028x",
    "/" + "a" * 1024,
]


def test_next_must_be_a_path_on_this_site(services: Services, open_browser: OpenBrowser) -> None:
    add_worker(services, "red@example.org")
    browser = open_browser()
    for target in OFF_SITE:
        assert browser.client.get("/signin", params={"next": target}).status_code == 400, repr(target)
        browser.get("/signin")
        response = browser.post("/signin", {"email": "red@example.org", "password": PASSWORD, "next": target})
        assert response.status_code == 400, repr(target)
        assert "This link is not valid" in response.text and "location" not in response.headers
    assert _sessions(services) == 0  # refused before the password is checked
    for target, location in (
        ("/jobs/3/empty?x=1#y", "/jobs/3/empty?x=1#y"),
        ("/%09/x", "/%09/x"),
        ("/caf\u00e9", "/caf%C3%A9"),
        ("", "/"),
    ):
        browser = open_browser()
        assert (
            'name="next" value="' + location.replace("&", "&amp;")
            in browser.get("/signin?next=" + urllib.parse.quote(target)).text
        )
        response = browser.post("/signin", {"email": "red@example.org", "password": PASSWORD, "next": target})
        assert response.headers["location"] == location


def test_wrong_password_and_unknown_email(services: Services, open_browser: OpenBrowser) -> None:
    add_worker(services, "bob@example.org")
    browser = open_browser()
    for email, password in (("bob@example.org", "wrong password"), ("nobody@example.org", PASSWORD)):
        response = browser.sign_in(email, password)
        assert response.status_code == 401
        assert "The email or password is not right." in response.text
        assert "crowdloop_session" not in response.headers.get("set-cookie", "")
    assert _sessions(services) == 0


def test_sign_in_needs_the_form_token(services: Services, open_browser: OpenBrowser) -> None:
    add_worker(services, "csrf@example.org")
    browser = open_browser()
    browser.get("/signin")
    form = {"email": "csrf@example.org", "password": PASSWORD}
    assert browser.post("/signin", form, csrf="forged").status_code == 403
    assert browser.post("/signin", form, csrf="").status_code == 403
    fresh = open_browser()  # no cookie at all: the token cannot be matched
    assert fresh.post("/signin", form, csrf=browser.csrf).status_code == 403
    cross = browser.client.post(
        "/signin", data={**form, "csrf_token": browser.csrf}, headers={"Origin": "http://evil.example"}
    )
    assert cross.status_code == 403
    assert _sessions(services) == 0
    assert browser.post("/signin", form).status_code == 303


def test_rate_limit_per_email(services: Services, open_browser: OpenBrowser, clock: ManualClock) -> None:
    add_worker(services, "guess@example.org")
    browser = open_browser()
    for _ in range(signin.MAX_FAILURES_PER_EMAIL):
        assert browser.sign_in("guess@example.org", "nope nope").status_code == 401
    limited = browser.sign_in("guess@example.org", PASSWORD)  # even the right password waits
    assert limited.status_code == 429
    assert "Too many failed sign-in attempts" in limited.text
    assert 0 < int(limited.headers["retry-after"]) <= signin.WINDOW.total_seconds()
    assert open_browser().sign_in("other@example.org", "x" * 9).status_code == 401  # others are not blocked
    clock.advance(signin.WINDOW.total_seconds() + 1)
    assert browser.sign_in("guess@example.org", PASSWORD).status_code == 303


def test_rate_limit_per_ip(services: Services, open_browser: OpenBrowser) -> None:
    add_worker(services, "target@example.org")
    browser = open_browser()
    for n in range(signin.MAX_FAILURES_PER_IP):
        result = signin.sign_in(services, f"spray{n}@example.org", "wrong", "testclient")
        assert result.outcome is signin.Outcome.WRONG
    assert browser.sign_in("target@example.org", PASSWORD).status_code == 429
    other_ip = signin.sign_in(services, "target@example.org", PASSWORD, "10.0.0.9")
    assert other_ip.outcome is signin.Outcome.SIGNED_IN


def test_disabled_worker_cannot_sign_in_and_their_sessions_end(services: Services, open_browser: OpenBrowser) -> None:
    add_worker(services, "dis@example.org")
    browser = open_browser()
    assert browser.sign_in("dis@example.org").status_code == 303
    assert browser.get("/").status_code == 200
    workers.set_status(services, "dis@example.org", WorkerStatus.DISABLED)
    assert browser.get("/").headers["location"] == "/signin?next=/"
    assert _sessions(services) == 0
    response = open_browser().sign_in("dis@example.org")
    assert response.status_code == 403 and "disabled" in response.text
    workers.set_status(services, "dis@example.org", WorkerStatus.ACTIVE)
    assert open_browser().sign_in("dis@example.org").status_code == 303


def test_sign_out_ends_the_session(services: Services, open_browser: OpenBrowser) -> None:
    add_worker(services, "out@example.org")
    browser = open_browser()
    browser.sign_in("out@example.org")
    cookie = browser.client.cookies["crowdloop_session"]
    assert browser.post("/signout", csrf="wrong").status_code == 403
    response = browser.post("/signout")
    assert response.status_code == 303 and response.headers["location"] == "/signin"
    assert _sessions(services) == 0
    replay = open_browser()
    replay.client.cookies.set("crowdloop_session", cookie)
    assert replay.get("/").status_code == 303


def test_sessions_expire_when_idle(services: Services, open_browser: OpenBrowser, clock: ManualClock) -> None:
    add_worker(services, "idle@example.org")
    browser = open_browser()
    browser.sign_in("idle@example.org")
    for _ in range(3):  # requests keep it alive past the idle limit
        clock.advance(SESSION_IDLE.total_seconds() * 0.75)
        assert browser.get("/").status_code == 200
    clock.advance((SESSION_IDLE + timedelta(seconds=1)).total_seconds())
    assert browser.get("/").status_code == 303


def test_origin_header_is_checked_on_signed_in_posts(services: Services, open_browser: OpenBrowser) -> None:
    add_worker(services, "orig@example.org")
    browser = open_browser()
    browser.sign_in("orig@example.org")
    response = browser.client.post(
        "/signout", data={"csrf_token": browser.csrf}, headers={"Origin": "http://evil.example"}
    )
    assert response.status_code == 403
    response = browser.client.post("/signout", data={"csrf_token": browser.csrf}, headers={"Referer": ORIGIN + "/"})
    assert response.status_code == 303


@pytest.mark.parametrize("password_hasher", [PasswordHasher()], ids=["production-cost"])
def test_unknown_emails_take_as_long_as_wrong_passwords(
    services: Services, open_browser: OpenBrowser, clock: ManualClock
) -> None:
    """Both check one argon2 hash (a dummy one for unknown emails, made by the same hasher), so timing
    tells no email apart. Measured with production parameters, where the hash is most of the time."""
    add_worker(services, "known@example.org")
    workers.add_worker(services, "invited@example.org", groups=["raters"])  # no password yet: dummy hash
    browser = open_browser()
    browser.get("/signin")
    times: dict[str, list[float]] = {"known@example.org": [], "nobody@example.org": [], "invited@example.org": []}
    for _ in range(7):
        for email, spent in times.items():
            started = time.perf_counter()
            response = browser.post("/signin", {"email": email, "password": "not the password"})
            spent.append(time.perf_counter() - started)
            assert response.status_code == 401
            clock.advance(signin.WINDOW.total_seconds() + 1)  # no rate limit in the way
    known = statistics.median(times["known@example.org"])
    for email in ("nobody@example.org", "invited@example.org"):
        ratio = statistics.median(times[email]) / known
        assert 0.5 < ratio < 2, (email, times)
