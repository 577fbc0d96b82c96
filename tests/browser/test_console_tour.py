"""Every requester-console page in Chromium, on both databases, with the seed notebook's ranking job and
three workers' answers: each page opens, shows its data, raises no console error or CSP violation, and
axe-core finds no serious or critical violation at 1280 px and at 390 px wide.

With CROWDLOOP_SCREENSHOTS=<folder> set (scripts/console-screenshots sets it), the tour also saves the
screenshots docs/console.md shows (SQLite only)."""

from __future__ import annotations

import json
import os
import random
import time
from pathlib import Path

from playwright.sync_api import Browser, Page, expect

from crowdloop import flows, gold
from tests.browser.axe import assert_accessible
from tests.browser.portal_site import CALLER, DESKTOP, PASSWORD, PHONE, Site, seed_template, site  # noqa: F401
from tests.browser.test_console_overview import console_link, console_page
from tests.conftest import RunningServer
from tests.portal.kit import HttpBrowser

TITLE = "Rank the answers for the question from Least (Worst) to Most (Best)"
QUESTIONS = [
    "Explain why you can see yourself in a mirror to a 16 year old",
    "Why is the sky blue?",
    "How do vaccines train the immune system?",
    "What makes bread rise?",
    "Why do we have seasons?",
    "How does a refrigerator keep food cold?",
]
RANKINGS = ("1", "2", "3")


def _gold_input(question: str) -> dict[str, object]:
    responses = [f"{label} answer to: {question}" for label in ("A correct", "A vague", "A wrong")]
    return {"taskObject": {"prompt": question, "responses": responses}}


GOLD_LINES = [  # crowdloop gold add's lines (docs/quality.md "Gold items")
    {"id": "g-sky", "input": _gold_input("Why is the sky blue?"), "answer": {"best": 0}},
    {"id": "g-tides", "input": _gold_input("What causes the tides?"), "answer": {"ranking": [2, 0, 1]}},
    {"input": _gold_input("Why do leaves change colour?"), "answer": {"best": 1}},
]
SHOTS = os.environ.get("CROWDLOOP_SCREENSHOTS", "")


def _input(question: str, i: int) -> dict[str, object]:
    responses = [f"Answer {letter} to question {i + 1}: a short explanation." for letter in "ABC"]
    return {"taskObject": {"prompt": question, "responses": responses}}


def _answers(site: Site, server: RunningServer, group: str, flow_id: int, loops: int, workers: int) -> None:  # noqa: F811
    """Each of `workers` workers answers `loops` tasks over HTTP with mostly agreeing rankings."""
    chance = random.Random(7)
    for n in range(workers):
        worker = HttpBrowser(server.endpoint_url)
        try:
            assert worker.sign_in(site.worker(group), PASSWORD).status_code == 303
            for _ in range(loops):
                assignment = worker.open_task(flow_id)
                if SHOTS:  # the pages' times per answer show real seconds (the server clamps to its own clock)
                    time.sleep(chance.uniform(1.0, 3.0))
                order = ["3", "2", "1"] if chance.random() < 0.8 else list(RANKINGS)
                answer = {f"response_{i + 1}_ranking": order[i] for i in range(3)}
                assert worker.submit(assignment, answer, 20 + 15 * n + chance.random() * 30).status_code == 200
        finally:
            worker.close()


def _look(page: Page, name: str, problems: list[str], *, phone: bool = False) -> None:
    """The page as it is now: no problem so far, axe clean at both widths; a screenshot when asked."""
    assert not problems, problems
    for viewport in (DESKTOP, PHONE):
        page.set_viewport_size(viewport)  # type: ignore[arg-type]
        assert_accessible(page, context=f"console {name} at {viewport['width']} px ({page.url})")
        wide = page.evaluate("() => document.documentElement.scrollWidth")
        assert wide <= viewport["width"], f"{name} is {wide} px wide at {viewport['width']} px: {_overflowing(page)}"
        if SHOTS and (viewport is DESKTOP or phone):
            suffix = "" if viewport is DESKTOP else "-phone"
            tall = page.evaluate("() => document.documentElement.scrollHeight")
            page.set_viewport_size({"width": viewport["width"], "height": tall})  # frames paint in view only
            page.wait_for_timeout(300)
            page.screenshot(path=str(Path(SHOTS) / f"console-{name}{suffix}.png"))
            page.set_viewport_size(viewport)  # type: ignore[arg-type]
    page.set_viewport_size(DESKTOP)  # type: ignore[arg-type]


def _overflowing(page: Page) -> list[str]:
    """The outermost elements reaching past the viewport's right edge (what makes a page scroll sideways)."""
    return list(
        page.evaluate(
            """() => [...document.querySelectorAll('body *')]
                .filter((e) => e.getBoundingClientRect().right > innerWidth + 1)
                .filter((e) => e.parentElement.getBoundingClientRect().right <= innerWidth + 1)
                .slice(0, 8).map((e) => `${e.tagName.toLowerCase()}.${e.className}: ${e.outerHTML.slice(0, 80)}`)"""
        )
    )


def test_every_console_page(site: Site, server: RunningServer, browser: Browser) -> None:  # noqa: F811
    if SHOTS and site.backend != "sqlite":
        return  # the screenshots come from one run; the checks ran on SQLite
    flow, group = site.job(seed_template(), task_count=3, title=TITLE)
    loop_names = [site.start_loop(flow, _input(q, i)) for i, q in enumerate(QUESTIONS)]
    _answers(site, server, group, flow.id, loops=4, workers=3)
    ui = flows.describe_human_task_ui(site.svc, CALLER, flow.human_task_ui_arn.rsplit("/", 1)[1])
    with console_page(browser) as (page, problems):
        page.goto(site.url + "/console/signin")
        expect(page.get_by_role("heading", name="Sign in to the console")).to_be_visible()
        _look(page, "signin", problems)
        page.goto(console_link(server))
        expect(page.get_by_role("button", name="Continue to the console")).to_be_visible()
        _look(page, "link", problems)
        page.get_by_role("button", name="Continue to the console").click()

        expect(page.get_by_role("heading", name="Overview")).to_be_visible()
        expect(page.locator(f'[data-flow="{flow.name}"] [data-field="answers_last_hour"]')).to_have_text("12")
        _look(page, "overview", problems, phone=True)

        page.get_by_role("link", name=flow.name).click()
        expect(page.get_by_role("heading", name=flow.name)).to_be_visible()
        page.wait_for_function(  # the agreement figures, computed in the background after the first view
            "() => /\\d/.test(document.querySelector('[data-agreement=alpha]')?.textContent || '')", timeout=30_000
        )
        expect(page.locator(".loops-table tbody tr")).to_have_count(len(QUESTIONS))
        _look(page, "flow", problems, phone=True)

        gold.add_items(site.svc, CALLER, flow.name, [json.dumps(line) for line in GOLD_LINES])
        page.goto(f"{site.url}/console/flows/{flow.name}/gold")
        expect(page.get_by_role("heading", name=f"Gold items of {flow.name}")).to_be_visible()
        expect(page.get_by_text("ranking: 2, 0, 1")).to_be_visible()
        _look(page, "gold", problems)

        completed = loop_names[0]
        page.goto(f"{site.url}/console/flows/{flow.name}/loops/{completed}")
        expect(page.get_by_role("heading", name="Answers")).to_be_visible()
        expect(page.locator("iframe")).to_have_count(3)
        for n in range(3):  # each answer in the template, filled and disabled (the frames load lazily)
            page.locator("iframe").nth(n).scroll_into_view_if_needed()
            frame = page.frame_locator("iframe").nth(n)
            expect(frame.locator('select[name="response_1_ranking"]')).to_be_disabled()
            expect(frame.locator('select[name="response_1_ranking"]')).not_to_have_value("")
        page.evaluate("() => window.scrollTo(0, 0)")
        page.wait_for_timeout(300)  # the frames settle their height
        _look(page, "loop", problems)

        page.goto(f"{site.url}/console/flows/{flow.name}/loops/{loop_names[-1]}/stop")
        expect(page.get_by_role("button", name="Stop loop")).to_be_visible()
        _look(page, "loop-stop", problems)

        page.goto(site.url + "/console/workers")
        expect(page.get_by_role("heading", name="Workers", exact=True)).to_be_visible()
        expect(page.get_by_text("@example.org").first).to_be_visible()
        _look(page, "workers", problems)

        page.goto(site.url + "/console/teams")
        expect(page.get_by_role("heading", name="Teams", exact=True)).to_be_visible()
        _look(page, "teams", problems)
        team = flow.workteam_arn.rsplit("/", 1)[1]
        page.goto(f"{site.url}/console/teams/{team}")
        expect(page.get_by_role("heading", name=f"Team {team}")).to_be_visible()
        _look(page, "team", problems)

        page.goto(site.url + "/console/templates")
        expect(page.get_by_role("link", name=ui.name)).to_be_visible()
        _look(page, "templates", problems)
        page.get_by_role("link", name=ui.name).click()
        expect(page.get_by_role("heading", name="Template source")).to_be_visible()
        expect(page.frame_locator("iframe").locator('select[name="response_1_ranking"]')).to_be_visible()
        checks = page.locator(".checks-list")  # the seed's slip, found with the newest loop's input
        expect(checks).to_contain_text("taskObject.responses[2] is never shown")
        _look(page, "template", problems)
        two = {"taskObject": {"prompt": "Which is best?", "responses": ["one", "two"]}}
        page.locator("#sample-input").fill(json.dumps(two))
        page.get_by_role("button", name="Preview").click()  # the checks follow the sample input
        expect(checks).to_contain_text("response_3_ranking refers to taskObject.responses[2], which the input does not")
        expect(page.locator(".checks-clean")).to_be_hidden()

        page.goto(f"{site.url}/console/flows/{flow.name}")
        page.get_by_role("button", name="Preferences (JSONL)").click()
        expect(page.locator("[data-download-list] li").first).to_contain_text("Preferences")
        assert not problems, problems
        page.goto(f"{site.url}/console/flows/no-such-flow")
        expect(page.get_by_role("heading", name="Not found")).to_be_visible()
        assert problems == [
            "console error: Failed to load resource: the server responded with a status of 404 (Not Found)"
        ]
        problems.clear()
        _look(page, "not-found", problems)


def test_worker_and_console_sessions_do_not_cross(site: Site, server: RunningServer, browser: Browser) -> None:  # noqa: F811
    """A worker signed in to the portal is sent to the console's sign-in page; a requester signed in to the
    console is sent to the portal's sign-in page: the same browser, each session only where it belongs."""
    _, group = site.job(seed_template(), title="Sessions apart")
    email = site.worker(group)
    with console_page(browser) as (page, problems):
        page.goto(site.url + "/")
        page.get_by_label("Email").fill(email)
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        expect(page.get_by_role("heading", name="Jobs", exact=True)).to_be_visible()
        page.goto(site.url + "/console")
        expect(page.get_by_role("heading", name="Sign in to the console")).to_be_visible()
        assert "/console/signin" in page.url
        page.goto(site.url + "/console/workers")
        expect(page.get_by_role("heading", name="Sign in to the console")).to_be_visible()
        assert not problems, problems

    with console_page(browser) as (page, problems):
        page.goto(console_link(server))
        page.get_by_role("button", name="Continue to the console").click()
        expect(page.get_by_role("heading", name="Overview")).to_be_visible()
        page.goto(site.url + "/")
        expect(page.get_by_label("Email")).to_be_visible()  # the portal's sign-in form, not the job list
        expect(page.get_by_role("heading", name="Jobs", exact=True)).to_have_count(0)
        assert not problems, problems
