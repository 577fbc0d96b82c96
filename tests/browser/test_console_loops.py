"""The flow page, the loop page and the templates pages in Chromium against a running crowdloop server
(SQLite and PostgreSQL): a 1,000-loop flow paged to its end, a worker's answer shown inside the task's own
template, Stop and Delete through their confirmation pages, and a template's live preview."""

from __future__ import annotations

import json

from playwright.sync_api import Browser, Page, expect

from crowdloop import loopsearch
from tests.browser.portal_site import CALLER, PASSWORD, PHONE, Site, site  # noqa: F401
from tests.browser.test_console_overview import console_link, console_page
from tests.conftest import RunningServer
from tests.portal.kit import HttpBrowser

TEMPLATE = """<script src="https://assets.crowd.aws/crowd-html-elements.js"></script>
<crowd-form>
  <p class="question">{{ task.input.text }}</p>
  <crowd-input name="label" label="Label" required></crowd-input>
  <label><input type="radio" name="side" value="left"> Left</label>
  <label><input type="radio" name="side" value="right"> Right</label>
  <crowd-checkbox name="sure" value="yes">Sure</crowd-checkbox>
</crowd-form>"""


def _sign_in(page: Page, server: RunningServer) -> None:
    page.goto(console_link(server))
    page.get_by_role("button", name="Continue to the console").click()
    expect(page.get_by_role("heading", name="Overview")).to_be_visible()


def _answer(site: Site, server: RunningServer, group: str, flow_id: int, answer: dict[str, object]) -> None:  # noqa: F811
    email = site.worker(group)
    worker = HttpBrowser(server.endpoint_url)
    try:
        assert worker.sign_in(email, PASSWORD).status_code == 303
        assignment = worker.open_task(flow_id)
        assert worker.submit(assignment, answer, 9).status_code == 200
    finally:
        worker.close()


def test_a_thousand_loop_flow_paged_to_its_end(site: Site, server: RunningServer, browser: Browser) -> None:  # noqa: F811
    flow, _ = site.job(TEMPLATE, title="Thousand loops")
    started = {site.start_loop(flow, {"text": f"item {i}"}) for i in range(1000)}
    with console_page(browser) as (page, problems):
        _sign_in(page, server)
        page.get_by_role("link", name=flow.name).click()
        expect(page.get_by_role("heading", name=flow.name)).to_be_visible()
        expect(page.locator('[data-field="loops-InProgress"]')).to_have_text("1\u202f000")
        seen: list[str] = []
        while True:
            names = page.locator(".loops-table tbody td:first-child a").all_inner_texts()
            assert 0 < len(names) <= 50
            seen += names
            following = page.get_by_role("link", name="Next page")
            if following.count() == 0:
                break
            following.click()
            expect(page.get_by_role("link", name="First page")).to_be_visible()
        assert len(seen) == 1000 and set(seen) == started
        page.get_by_label("Name starts with").fill(seen[0][:-2])
        page.get_by_role("button", name="Filter").click()
        expect(page.locator(".loops-table tbody tr").first).to_be_visible()
        assert all(
            n.startswith(seen[0][:-2]) for n in page.locator(".loops-table tbody td:first-child a").all_inner_texts()
        )
        assert not problems, problems


def test_the_loop_page_shows_the_answer_in_the_template(site: Site, server: RunningServer, browser: Browser) -> None:  # noqa: F811
    flow, group = site.job(TEMPLATE, task_count=2, title="Answer shown")
    name = site.start_loop(flow, {"text": "Which side?"})
    _answer(site, server, group, flow.id, {"label": "a cat", "side": "right", "sure": {"yes": True}})
    with console_page(browser) as (page, problems):
        _sign_in(page, server)
        page.goto(f"{server.endpoint_url}/console/flows/{flow.name}/loops/{name}")
        expect(page.get_by_role("heading", name="Input")).to_be_visible()
        expect(page.locator(".loop-input pre")).to_contain_text('"text": "Which side?"')
        frame = page.frame_locator("iframe.answer-frame").first
        expect(frame.locator("p.question")).to_have_text("Which side?")
        expect(frame.locator("crowd-input input")).to_have_value("a cat")
        expect(frame.locator("crowd-input input")).to_be_disabled()
        expect(frame.locator('input[value="right"]')).to_be_checked()
        expect(frame.locator('input[value="left"]')).not_to_be_checked()
        expect(frame.locator("crowd-checkbox")).to_have_attribute("checked", "")
        expect(frame.get_by_text("A submitted answer, shown read-only.")).to_be_visible()
        page.get_by_text("Answer as JSON").click()
        expect(page.locator(".answer pre")).to_contain_text('"label": "a cat"')
        assert not problems, problems


def test_stop_then_delete_with_confirmation(site: Site, server: RunningServer, browser: Browser) -> None:  # noqa: F811
    flow, _ = site.job(TEMPLATE, title="Stop and delete")
    name = site.start_loop(flow, {"text": "to stop"})
    with console_page(browser, PHONE) as (page, problems):
        _sign_in(page, server)
        page.goto(f"{server.endpoint_url}/console/flows/{flow.name}/loops/{name}")
        page.get_by_role("link", name="Stop…").click()
        expect(page.get_by_role("heading", name="Stop this loop?")).to_be_visible()
        page.get_by_role("link", name="Cancel").click()
        assert site.status(name) == "InProgress"
        page.get_by_role("link", name="Stop…").click()
        page.get_by_role("button", name="Stop loop").click()
        expect(page.get_by_text("The loop was stopped.")).to_be_visible()
        assert site.status(name) == "Stopped"
        page.get_by_role("link", name="Delete…").click()
        expect(page.get_by_role("heading", name="Delete this loop?")).to_be_visible()
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= PHONE["width"], f"the page scrolls sideways: {width}px"
        page.get_by_role("button", name="Delete loop").click()
        expect(page.get_by_text(f"Loop {name} was deleted.")).to_be_visible()
        assert loopsearch.search_loops(site.svc, CALLER, flow.name)[0] == []
        assert not problems, problems


def test_template_preview(site: Site, server: RunningServer, browser: Browser) -> None:  # noqa: F811
    flow, _ = site.job(TEMPLATE, title="Preview")
    site.start_loop(flow, {"text": "from the newest loop"})
    ui_name = flow.human_task_ui_arn.rsplit("/", 1)[1]
    with console_page(browser) as (page, problems):
        _sign_in(page, server)
        page.get_by_role("link", name="Templates").click()
        page.get_by_role("link", name=ui_name).click()
        expect(page.locator(".template-source")).to_contain_text('<crowd-input name="label"')
        frame = page.frame_locator("iframe.preview-frame")
        expect(frame.locator("p.question")).to_have_text("from the newest loop")
        page.evaluate("window.stillTheSamePage = true")
        box = page.get_by_label("Sample input")
        box.fill(json.dumps({"text": "typed <here>"}))  # debounced while typing
        expect(frame.locator("p.question")).to_have_text("typed <here>")
        box.fill("{not json")
        page.get_by_role("button", name="Preview").click()
        expect(page.locator(".preview-errors")).to_contain_text("JSON object")
        assert page.evaluate("window.stillTheSamePage") is True
        assert not problems, problems


def test_the_flow_page_updates_when_an_answer_arrives(site: Site, server: RunningServer, browser: Browser) -> None:  # noqa: F811
    flow, group = site.job(TEMPLATE, task_count=2, title="Live flow page")
    site.start_loop(flow, {"text": "live"})
    with console_page(browser) as (page, problems):
        _sign_in(page, server)
        page.goto(f"{server.endpoint_url}/console/flows/{flow.name}")
        expect(page.locator('[data-field="answers"]')).to_have_text("0 / 2")
        page.evaluate("window.stillTheSamePage = true")
        _answer(site, server, group, flow.id, {"label": "live answer"})
        expect(page.locator('[data-field="answers"]')).to_have_text("1 / 2", timeout=15_000)
        expect(page.locator(".workers-table tbody tr")).to_have_count(1)
        expect(page.locator(".workers-table tbody td").nth(2)).to_have_text("1")
        assert page.evaluate("document.querySelector('.flow-progress progress').value") == 50
        assert page.evaluate("window.stillTheSamePage") is True
        assert not problems, problems
