"""A worker whose browser asks for Korean (ko-KR) works on a task of the Korean seed notebook's template:
the portal's pages and the crowd elements' own texts (the instructions panel, Submit, the message of an
empty submit) are Korean, durations are written the Korean way; the requester's template stays as written.
Screenshots: /tmp/crowdloop-ko-jobs.png, /tmp/crowdloop-ko-task.png (and the tmp_path copies)."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

from playwright.sync_api import Browser, expect

from tests.browser.portal_site import PASSWORD, Site, open_worker, site  # noqa: F401
from tests.shared import SEED_KO, seed_template

TITLE = "답변 순위 매기기"
PROMPT = "거울에 내 모습이 보이는 이유를 16살이 이해할 수 있게 설명하세요"
RESPONSES = ["빛이 거울에 반사되어 눈으로 들어오기 때문입니다.", "거울은 빛을 같은 각도로 반사합니다."]


def test_a_korean_worker_sees_korean(site: Site, browser: Browser, tmp_path: Path) -> None:  # noqa: F811
    flow, group = site.job(seed_template(SEED_KO), title=TITLE, time_limit=5400)
    loop = site.start_loop(flow, {"taskObject": {"prompt": PROMPT, "responses": RESPONSES}})
    email = site.worker(group)
    with open_worker(browser, site, locale="ko-KR") as worker:
        page = worker.page
        page.goto(site.url + "/")
        expect(page.locator("html")).to_have_attribute("lang", "ko")
        expect(page.get_by_role("heading", name="로그인", exact=True)).to_be_visible()
        page.get_by_label("이메일").fill(email)
        page.get_by_label("비밀번호").fill(PASSWORD)
        page.get_by_role("button", name="로그인").click()
        expect(page.get_by_role("heading", name="작업 목록", exact=True)).to_be_visible()
        card = page.get_by_role("listitem").filter(has=page.get_by_role("heading", name=TITLE))
        expect(card).to_contain_text("작업당 1시간 30분")  # the time limit, written by Babel for ko
        expect(card).to_contain_text("남은 작업")
        page.screenshot(path=str(tmp_path / "ko-jobs.png"))
        card.get_by_role("button", name="작업 시작").click()
        worker.wait_for_task()
        expect(page.locator(".timer-label")).to_have_text("남은 시간")
        expect(page.locator("[data-countdown]")).to_have_text(re.compile(r"^1:(30|29):\d\d$"))
        expect(page.get_by_role("button", name="작업 반환")).to_be_visible()

        frame = worker.frame
        expect(frame.locator("html")).to_have_attribute("lang", "ko")
        expect(frame.get_by_text(PROMPT).first).to_be_visible()
        expect(frame.get_by_role("heading", name="지침")).to_be_visible()  # the instructions panel (ours)
        expect(frame.get_by_role("button", name="전체 지침 보기")).to_be_visible()
        expect(frame.get_by_text("Select the correct ranking from the dropdown").first).to_be_visible()  # theirs
        submit = frame.get_by_role("button", name="제출")
        expect(submit).to_be_visible()
        submit.click()  # nothing chosen: the required selects block it, in Korean
        message = frame.locator("crowd-form").locator(".form-message")
        expect(message).to_contain_text("제출하기 전에 작업을 완료하세요.")
        expect(message).to_contain_text("목록에서 항목을 선택하세요.")
        expect(page.locator("[data-status]")).to_contain_text("제출하기 전에 작업을 완료하세요.")
        page.screenshot(path=str(tmp_path / "ko-task.png"), full_page=True)
        for name, target in (
            ("ko-jobs.png", "/tmp/crowdloop-ko-jobs.png"),
            ("ko-task.png", "/tmp/crowdloop-ko-task.png"),
        ):
            shutil.copy(tmp_path / name, target)

        frame.locator('select[name="response_1_ranking"]').select_option("1")
        frame.locator('select[name="response_2_ranking"]').select_option("2")
        submit.click()
        expect(page.get_by_role("heading", name="남은 작업 없음")).to_be_visible()
        assert site.output(loop)["humanAnswers"][0]["answerContent"] == {
            "response_1_ranking": "1",
            "response_2_ranking": "2",
        }
        worker.check()
