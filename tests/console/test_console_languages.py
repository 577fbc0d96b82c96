"""The console in Korean: Accept-Language (or the portal's switcher cookie, shared by both) chooses the
pages' language, numbers and times are written for it, the JSON the pages poll follows, and console.js gets
its texts as a data block."""

from __future__ import annotations

import json
import re
from collections.abc import Callable

from crowdloop import i18n
from crowdloop.runtime import Services
from tests.console.kit import ConsoleBrowser
from tests.portal.kit import make_job, start_loop

KOREAN = {"Accept-Language": "ko-KR,ko;q=0.9,en;q=0.5"}


def test_the_sign_in_page_follows_accept_language(open_console: Callable[[], ConsoleBrowser]) -> None:
    browser = open_console()
    english = browser.get("/console/signin")
    assert '<html lang="en">' in english.text and "<h1>Sign in to the console</h1>" in english.text
    korean = browser.get("/console/signin", headers=KOREAN)
    assert '<html lang="ko">' in korean.text and "<h1>콘솔에 로그인</h1>" in korean.text
    link = re.search(r'<a href="([^"]+)" lang="en"', korean.text)
    assert link and link.group(1).replace("&amp;", "&") == "/language?to=en&next=%2Fconsole%2Fsignin"


def test_a_korean_requester_sees_korean_pages_and_numbers(console: ConsoleBrowser, services: Services) -> None:
    job = make_job(services, task_count=2)
    for _ in range(3):
        start_loop(services, job)
    console.client.headers.update(KOREAN)
    page = console.get("/console")
    assert '<html lang="ko">' in page.text and "<h1>개요</h1>" in page.text and ">작업자</a>" in page.text
    block = re.search(r'<script type="application/json" id="crowdloop-messages">(.*?)</script>', page.text)
    assert block and json.loads(block.group(1))["console.live"] == "실시간: {seconds}초마다 갱신합니다."
    [flow] = console.get("/console/api/overview").json()["flows"]
    assert flow["progress_text"] == "답변 6개 중 0개 (0%)"
    assert flow["charts"]["day"]["summary"] == "최근 24시간 동안 답변이 없습니다."
    flow_page = console.get(f"/console/flows/{job.name}")
    assert '<h2 id="loops-h">루프</h2>' in flow_page.text and "생성 시각 (UTC)" in flow_page.text
    assert re.search(
        r"<time datetime=\"[^\"]+\">\d{4}\. \d{1,2}\. \d{1,2}\. (오전|오후) \d{1,2}:\d\d:\d\d</time>", flow_page.text
    )
    live = console.get(f"/console/api/flows/{job.name}").json()
    computed = live["agreement"]["computed_at"]
    korean_minute = r"\d{4}\. \d{1,2}\. \d{1,2}\. (오전|오후) \d{1,2}:\d\d UTC"
    assert computed == "아직 계산되지 않음" or re.fullmatch(korean_minute, computed)
    assert live["fields"]["answers"] == "0 / 6"
    missing = console.get("/console/nothing-here")
    assert missing.status_code == 404 and "<h1>찾을 수 없음</h1>" in missing.text


def test_the_portals_switcher_cookie_chooses_the_console_language(console: ConsoleBrowser) -> None:
    switched = console.client.get("/language?to=ko&next=/console/workers")
    assert switched.status_code == 303 and switched.headers["location"] == "/console/workers"
    assert f"{i18n.COOKIE}=ko" in switched.headers["set-cookie"]
    page = console.get("/console/workers")  # no Accept-Language asks for Korean: the cookie does
    assert '<html lang="ko">' in page.text and "<h1>작업자</h1>" in page.text
