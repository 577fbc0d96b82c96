"""The seed notebook's ranking template, end to end in Chromium against a running crowdloop server:
sign in, start working, `required` blocks an empty submit, rank three responses, submit (button and
Ctrl+Enter), read output.json. Also: input HTML is inert, the phone layout, visible focus."""

from __future__ import annotations

import os
import re
import time
from pathlib import Path

from playwright.sync_api import Browser, expect

from tests.browser.portal_site import PHONE, Site, open_worker, seed_template, site  # noqa: F401

DOCS = Path(__file__).resolve().parents[2] / "docs"
TITLE = "Rank the answer for the given question from Least (Worst) to Most (Best)"
PROMPT = "Explain why you can see myself in a mirror at a level that a 16 year old person can understand"
RESPONSES = [
    "When light is emitted from a light bulb, some of it travels towards your body and is reflected.",
    "You can see yourself because of a series of light reflections.",
    "A mirror is a smooth surface that reflects light at the same angle it arrives.",
]
RANKS = {"response_1_ranking": "1", "response_2_ranking": "3", "response_3_ranking": "2"}
EVIL = (
    "<script>document.title='pwned'</script>"
    "<img src=x onerror=\"parent.postMessage({crowdloop:1,type:'submit',answer:{pwned:1}},'*')\">"
)


def _rank(frame: object, ranks: dict[str, str]) -> None:
    for name, value in ranks.items():
        frame.locator(f'select[name="{name}"]').select_option(value)  # type: ignore[attr-defined]


def test_seed_template_end_to_end(site: Site, browser: Browser, tmp_path: Path) -> None:  # noqa: F811
    flow, group = site.job(seed_template(), title=TITLE)
    first = site.start_loop(flow, {"taskObject": {"prompt": PROMPT, "responses": RESPONSES}})
    second = site.start_loop(flow, {"taskObject": {"prompt": EVIL, "responses": RESPONSES}})
    email = site.worker(group)
    with open_worker(browser, site) as worker:
        page = worker.page
        worker.sign_in(email)
        expect(page.get_by_role("heading", name=TITLE)).to_be_visible()
        worker.start(TITLE)
        worker.wait_for_task()
        started = time.monotonic()
        frame = worker.frame
        expect(frame.get_by_text(PROMPT).first).to_be_visible()
        expect(page.locator("[data-countdown]")).to_have_text(re.compile(r"^(10:00|9:[45]\d)$"))

        _rank(frame, RANKS)
        # CROWDLOOP_SCREENSHOTS=1 refreshes docs/portal-task.png (otherwise it goes to tmp_path).
        keep = os.environ.get("CROWDLOOP_SCREENSHOTS") and site.backend == "sqlite"
        page.screenshot(path=str(DOCS / "portal-task.png" if keep else tmp_path / "portal-task.png"))
        page.wait_for_timeout(1200)  # some active time on the page
        opened = page.url
        frame.get_by_role("button", name="Submit").click()
        page.wait_for_url(lambda url: url != opened)  # the next task of the job opens
        assert "/tasks/" in page.url
        worker.wait_for_task()
        wall = time.monotonic() - started

        [answer] = site.output(first)["humanAnswers"]
        assert answer["answerContent"] == RANKS
        assert 1.0 <= answer["timeSpentInSeconds"] <= wall + 0.5
        assert answer["workerId"] and answer["workerMetadata"]["identityData"]["sub"]

        # The second task: its prompt is HTML that must stay text; submit it with Ctrl+Enter.
        frame = worker.frame
        expect(frame.get_by_text("<script>document.title='pwned'</script>", exact=False).first).to_be_visible()
        assert frame.locator("img").count() == 0
        frame.get_by_role("button", name="Submit").click()  # nothing chosen: `required` blocks it
        expect(page.locator("[data-status]")).not_to_be_empty()
        page.wait_for_timeout(300)
        assert "/tasks/" in page.url and site.status(second) == "InProgress"
        _rank(frame, {"response_1_ranking": "2", "response_2_ranking": "2", "response_3_ranking": "3"})
        page.get_by_role("heading", level=1).click()  # focus on the portal page, outside the frame
        page.keyboard.press("Control+Enter")
        expect(page.get_by_role("heading", name="No tasks left")).to_be_visible()
        assert page.title() != "pwned"
        answers = site.output(second)["humanAnswers"]
        assert [a["answerContent"] for a in answers] == [
            {"response_1_ranking": "2", "response_2_ranking": "2", "response_3_ranking": "3"}
        ]
        worker.check()


def test_phone_layout_and_visible_focus(site: Site, browser: Browser) -> None:  # noqa: F811
    flow, group = site.job(seed_template(), title=TITLE)
    name = site.start_loop(flow, {"taskObject": {"prompt": PROMPT, "responses": RESPONSES}})
    email = site.worker(group)
    with open_worker(browser, site, PHONE) as worker:
        page = worker.page
        worker.sign_in(email)
        start = page.get_by_role("button", name="Start working")
        for _ in range(12):  # keyboard only: Tab until Start working has the focus
            page.keyboard.press("Tab")
            if start.evaluate("b => b === document.activeElement"):
                break
        outline = start.evaluate("b => getComputedStyle(b).outlineStyle + ' ' + getComputedStyle(b).outlineWidth")
        assert outline.startswith("solid") and not outline.endswith(" 0px"), outline
        page.keyboard.press("Enter")
        worker.wait_for_task()
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
        for role, label, shown in (
            ("button", "Release task", "Release"),
            ("button", "Decline task", "Decline"),
            ("link", "Stop and resume later", "Resume later"),
        ):
            control = page.get_by_role(role, name=label, exact=True)  # type: ignore[arg-type]
            assert control.inner_text().strip() == shown  # the short label; the full one is its accessible name
            box = control.bounding_box()
            assert box and box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"], (label, box)
            assert box["height"] <= 48, (label, box)  # one line (44 px: a touch target)
        bar = page.locator(".task-bar").bounding_box()
        assert bar and bar["y"] + bar["height"] <= 230, bar  # the header leaves the screen to the task
        frame_box = page.locator("iframe").bounding_box()
        assert frame_box and frame_box["height"] >= 400 and frame_box["width"] <= PHONE["width"]
        frame = worker.frame
        _rank(frame, RANKS)
        frame.get_by_role("button", name="Submit").click()
        expect(page.get_by_role("heading", name="No tasks left")).to_be_visible()
        assert site.output(name)["humanAnswers"][0]["answerContent"] == RANKS
        worker.check()


def test_frame_grows_with_its_task_and_messages_name_what_the_worker_sees(site: Site, browser: Browser) -> None:  # noqa: F811
    """A task taller than the window: the frame grows to it and the page scrolls (Submit is reachable without
    an inner scrollbar); the blocked submission names the text above the first empty list, not its field
    name; the page explains its three buttons."""
    flow, group = site.job(seed_template(), title=TITLE)
    site.start_loop(flow, {"taskObject": {"prompt": PROMPT + " " + "Tell me more. " * 60, "responses": RESPONSES}})
    email = site.worker(group)
    with open_worker(browser, site, PHONE) as worker:
        page = worker.page
        worker.sign_in(email)
        worker.start(TITLE)
        worker.wait_for_task()
        frame_el = page.locator("iframe")
        expect(frame_el).to_have_attribute("style", re.compile(r"height: \d+px"))
        inner = frame_el.evaluate("f => f.getBoundingClientRect().height")
        assert inner > PHONE["height"], inner  # taller than the screen: the page scrolls, not the frame
        frame = worker.frame
        needed = frame.locator("html").evaluate("d => d.scrollHeight")
        assert needed <= inner, (needed, inner)

        frame.get_by_role("button", name="Submit").click()  # nothing chosen yet
        status = page.locator("[data-status]")
        expect(status).to_contain_text("\u201cWhen light is emitted from a light bulb, some of it travels\u2026\u201d")
        expect(status).not_to_contain_text("response_1_ranking")
        expect(status).to_contain_text("2 more fields need attention")

        help_box = page.locator("details.task-help")
        help_box.locator("summary").click()
        for term in ("Release task", "Decline task", "Stop and resume later"):
            expect(help_box.locator("dt", has_text=term)).to_be_visible()
        worker.check()


def test_a_task_as_tall_as_its_frame_does_not_grow_forever(site: Site, browser: Browser) -> None:  # noqa: F811
    tall = (
        '<script src="https://assets.crowd.aws/crowd-html-elements.js"></script>'
        '<crowd-form><div style="height: calc(100vh + 50px)">tall</div></crowd-form>'
    )
    flow, group = site.job(tall, title="Tall task")
    site.start_loop(flow, {"n": 1})
    email = site.worker(group)
    with open_worker(browser, site) as worker:
        worker.sign_in(email)
        worker.start("Tall task")
        worker.wait_for_task()
        worker.page.wait_for_timeout(1500)  # growths would follow each other within frames
        height = worker.page.locator("iframe").evaluate("f => f.getBoundingClientRect().height")
        assert height < 800 + 4 * 60, height  # at most a few growths, then the frame keeps its scrollbar
        worker.check()
