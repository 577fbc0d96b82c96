"""The portal's languages: Accept-Language chooses English or Korean, the switcher's cookie sticks, and the
task page, its frame (the crowd elements' catalog), error pages and JSON errors follow (crowdloop.i18n)."""

from __future__ import annotations

import json
import re
from collections.abc import Callable

from crowdloop import i18n
from crowdloop.runtime import Services
from tests.portal.kit import Browser, add_worker, make_job, start_loop

OpenBrowser = Callable[[], Browser]
KOREAN = {"Accept-Language": "ko-KR,ko;q=0.9,en-US;q=0.8,en;q=0.7"}


def _lang(html: str) -> str:
    match = re.search(r'<html lang="([^"]+)"', html)
    assert match, html[:200]
    return match.group(1)


def test_accept_language_chooses_the_language(open_browser: OpenBrowser) -> None:
    browser = open_browser()
    english = browser.client.get("/signin")
    assert _lang(english.text) == "en" and "<h1>Sign in</h1>" in english.text
    korean = browser.client.get("/signin", headers=KOREAN)
    assert _lang(korean.text) == "ko" and "<h1>로그인</h1>" in korean.text
    assert 'aria-current="true" lang="ko">한국어</span>' in korean.text
    other = browser.client.get("/signin", headers={"Accept-Language": "fr-FR, de;q=0.5"})
    assert _lang(other.text) == "en"  # no language of ours: English
    prefers_english = browser.client.get("/signin", headers={"Accept-Language": "ko;q=0.4, en;q=0.9"})
    assert _lang(prefers_english.text) == "en"


def test_the_switcher_sets_a_cookie_that_sticks(open_browser: OpenBrowser) -> None:
    browser = open_browser()
    page = browser.client.get("/signin?next=/tasks/1", headers=KOREAN)
    link = re.search(r'<a href="([^"]+)" lang="en"', page.text)
    assert link, page.text
    switched = browser.client.get(link.group(1).replace("&amp;", "&"), headers=KOREAN)
    assert switched.status_code == 303
    assert switched.headers["location"] == "/signin?next=/tasks/1"
    cookie = switched.headers["set-cookie"]
    assert cookie.startswith(f"{i18n.COOKIE}=en;") and "samesite=lax" in cookie.lower() and "Path=/" in cookie
    again = browser.client.get("/signin", headers=KOREAN)  # Accept-Language still asks for Korean
    assert _lang(again.text) == "en" and "<h1>Sign in</h1>" in again.text
    browser.client.get("/language?to=ko&next=/signin")
    assert _lang(browser.client.get("/signin").text) == "ko"


def test_the_switcher_only_goes_back_to_this_site(open_browser: OpenBrowser) -> None:
    browser = open_browser()
    for target in ("//evil.example/", "https://evil.example/", "/\\evil.example"):
        response = browser.client.get("/language", params={"to": "ko", "next": target})
        assert response.status_code == 303 and response.headers["location"] == "/"
    unknown = browser.client.get("/language?to=xx&next=/signin")  # an unknown language forgets the choice
    assert unknown.status_code == 303 and f'{i18n.COOKIE}=""' in unknown.headers["set-cookie"]


def test_a_korean_worker_sees_korean_pages_and_frames(services: Services, open_browser: OpenBrowser) -> None:
    job = make_job(services, title="Rank answers", time_limit=5400)
    start_loop(services, job)
    add_worker(services, "ko@example.org")
    browser = open_browser()
    browser.client.headers.update(KOREAN)
    assert browser.sign_in("ko@example.org").status_code == 303
    jobs = browser.get("/")
    assert _lang(jobs.text) == "ko"
    assert "<h1>작업 목록</h1>" in jobs.text and "작업 시작" in jobs.text
    assert "작업당 1시간 30분" in jobs.text  # the time limit, written the Korean way
    assignment_id = browser.open_task(job.id)
    page = browser.get(f"/tasks/{assignment_id}")
    assert "남은 시간" in page.text and "작업 반환" in page.text
    block = re.search(r'<script type="application/json" id="crowdloop-messages">(.*?)</script>', page.text)
    assert block and json.loads(block.group(1))["page.saving"] == "답변을 저장하는 중…"
    frame = browser.client.get(browser.frame_url(assignment_id))
    assert frame.status_code == 200 and _lang(frame.text) == "ko"
    catalog = re.search(r'<script type="application/json" id="crowdloop-messages">(.*?)</script>', frame.text)
    assert catalog and json.loads(catalog.group(1))["form.submit"] == "제출"
    assert frame.text.index("crowdloop-messages") < frame.text.index("crowd-html-elements.js")
    policy = frame.headers["content-security-policy"]
    assert "'unsafe-eval'" not in policy and "nonce" not in policy  # a data block needs no script source
    nothing = browser.get("/nothing-here")
    assert nothing.status_code == 404 and "<h1>찾을 수 없음</h1>" in nothing.text
    answer = browser.submit(assignment_id, ["not an object"])
    assert answer.status_code == 400 and answer.json()["error"] == "답변은 JSON 객체여야 합니다."


def test_an_english_frame_carries_no_catalog(services: Services, open_browser: OpenBrowser) -> None:
    job = make_job(services)
    start_loop(services, job)
    add_worker(services, "en@example.org")
    browser = open_browser()
    browser.sign_in("en@example.org")
    assignment_id = browser.open_task(job.id)
    url = browser.frame_url(assignment_id)
    assert "lang=" not in url
    frame = browser.client.get(url)
    assert _lang(frame.text) == "en" and "crowdloop-messages" not in frame.text


def test_the_frame_url_names_a_language_accept_language_would_not_choose(
    services: Services, open_browser: OpenBrowser
) -> None:
    """A frame on another origin gets no language cookie: the page's choice travels in its URL."""
    job = make_job(services)
    start_loop(services, job)
    add_worker(services, "switch@example.org")
    browser = open_browser()
    browser.sign_in("switch@example.org")
    browser.client.get("/language?to=ko&next=/")
    assignment_id = browser.open_task(job.id)
    url = browser.frame_url(assignment_id)
    assert "?lang=ko&token=" in url
    browser.client.cookies.delete(i18n.COOKIE)
    assert _lang(browser.client.get(url).text) == "ko"
