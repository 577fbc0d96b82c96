"""The console for a requester whose browser asks for Korean (ko-KR), in Chromium against a running server:
the sign-in form, the overview's texts and numbers (also those overview.js writes as it polls), a worker's
answer arriving; then the switcher back to English. Screenshot: /tmp/crowdloop-ko-console.png."""

from __future__ import annotations

import shutil
from pathlib import Path

from playwright.sync_api import Browser, expect

from tests.browser.portal_site import PASSWORD, Site, open_worker, site  # noqa: F401
from tests.conftest import RunningServer
from tests.portal.kit import HttpBrowser

TEMPLATE = """<script src="https://assets.crowd.aws/crowd-html-elements.js"></script>
<crowd-form><p>{{ task.input.text }}</p><crowd-input name="label" label="Label" required></crowd-input></crowd-form>"""


def test_a_korean_requester_sees_korean(site: Site, server: RunningServer, browser: Browser, tmp_path: Path) -> None:  # noqa: F811
    flow, group = site.job(TEMPLATE, title="한국어 작업", task_count=2)
    site.start_loop(flow, {"text": "고양이"})
    email = site.worker(group)
    with open_worker(browser, site, locale="ko-KR") as tab:
        page = tab.page
        page.goto(site.url + "/console/signin")
        expect(page.get_by_role("heading", name="콘솔에 로그인")).to_be_visible()
        page.get_by_label("액세스 키 ID").fill(server.access_key_id)
        page.get_by_label("비밀 액세스 키").fill(server.secret_access_key)
        page.get_by_role("button", name="로그인").click()
        expect(page.get_by_role("heading", name="개요", exact=True)).to_be_visible()
        expect(page.locator("#live-status")).to_have_text("실시간: 5초마다 갱신합니다.")  # written by overview.js
        card = page.locator("li.flow").filter(has=page.get_by_role("heading", name=flow.name))
        expect(card.locator('[data-field="progress_text"]')).to_have_text("답변 2개 중 0개 (0%)")

        worker = HttpBrowser(server.endpoint_url)
        try:
            assert worker.sign_in(email, PASSWORD).status_code == 303
            assert worker.submit(worker.open_task(flow.id), {"label": "cat"}, 7).status_code == 200
        finally:
            worker.close()
        expect(card.locator('[data-field="progress_text"]')).to_have_text("답변 2개 중 1개 (50%)", timeout=15_000)
        expect(card.locator('[data-field="chart_summary"]')).to_contain_text("최근 24시간 동안 답변 1개.")
        page.screenshot(path=str(tmp_path / "ko-console.png"), full_page=True)
        shutil.copy(tmp_path / "ko-console.png", "/tmp/crowdloop-ko-console.png")

        page.get_by_role("link", name="English").click()
        expect(page.get_by_role("heading", name="Overview", exact=True)).to_be_visible()
        expect(page.locator("html")).to_have_attribute("lang", "en")
        tab.check()
