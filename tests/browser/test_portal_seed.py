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
        for label in ("Release task", "Decline task", "Stop and resume later"):
            box = page.get_by_text(label, exact=True).bounding_box()
            assert box and box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"], (label, box)
        frame_box = page.locator("iframe").bounding_box()
        assert frame_box and frame_box["height"] >= 400 and frame_box["width"] <= PHONE["width"]
        frame = worker.frame
        _rank(frame, RANKS)
        frame.get_by_role("button", name="Submit").click()
        expect(page.get_by_role("heading", name="No tasks left")).to_be_visible()
        assert site.output(name)["humanAnswers"][0]["answerContent"] == RANKS
        worker.check()
