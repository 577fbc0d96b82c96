"""The queue as workers see it in Chromium against a running crowdloop server: Release gives the task
to someone else, TaskCount=2 gives a loop to two workers once each and to nobody else, and a lease that
runs out shows "Time is up" and goes back to the queue."""

from __future__ import annotations

import re
from datetime import timedelta

import sqlalchemy as sa
from playwright.sync_api import Browser, expect

from crowdloop import reaper
from crowdloop.store.tables import assignments
from tests.browser.portal_site import Site, open_worker, site  # noqa: F401

TEMPLATE = """<script src="https://assets.crowd.aws/crowd-html-elements.js"></script>
<crowd-form>
  <p class="prompt">{{ task.input.text }}</p>
  <crowd-input name="label" label="Your label" required></crowd-input>
</crowd-form>"""


def _answer(worker: object, label: str) -> None:
    frame = worker.frame  # type: ignore[attr-defined]
    frame.get_by_label("Your label").fill(label)
    frame.get_by_role("button", name="Submit").click()


def test_release_returns_the_task_to_the_queue(site: Site, browser: Browser) -> None:  # noqa: F811
    flow, group = site.job(TEMPLATE, title="Label one thing")
    name = site.start_loop(flow, {"text": "the only task"})
    first_email, second_email = site.worker(group), site.worker(group)
    with open_worker(browser, site) as first, open_worker(browser, site) as second:
        first.sign_in(first_email)
        first.start("Label one thing")
        first.wait_for_task()
        expect(first.frame.get_by_text("the only task")).to_be_visible()
        second.sign_in(second_email)  # the only task is taken: nothing to start
        expect(second.page.get_by_role("heading", name="No tasks for you right now")).to_be_visible()

        first.page.get_by_role("button", name="Release task").click()
        expect(first.page.get_by_text("The task went back to the queue.")).to_be_visible()
        second.page.get_by_role("link", name="Reload").click()
        second.start("Label one thing")
        second.wait_for_task()
        expect(second.frame.get_by_text("the only task")).to_be_visible()
        _answer(second, "released, then done")
        expect(second.page.get_by_role("heading", name="No tasks left")).to_be_visible()
        [answer] = site.output(name)["humanAnswers"]
        assert answer["answerContent"] == {"label": "released, then done"}
        first.check()
        second.check()


def test_task_count_two_goes_to_two_workers_once(site: Site, browser: Browser) -> None:  # noqa: F811
    flow, group = site.job(TEMPLATE, task_count=2, title="Label twice")
    name = site.start_loop(flow, {"text": "label me twice"})
    emails = [site.worker(group) for _ in range(3)]
    with open_worker(browser, site) as one, open_worker(browser, site) as two, open_worker(browser, site) as three:
        for worker, email in zip((one, two, three), emails, strict=True):
            worker.sign_in(email)
        one.start("Label twice")
        one.wait_for_task()
        two.start("Label twice")
        two.wait_for_task()
        assert one.assignment_id() != two.assignment_id()
        three.page.reload()  # two leases on the one loop: nothing left for a third worker
        expect(three.page.get_by_role("heading", name="No tasks for you right now")).to_be_visible()
        _answer(one, "from one")
        expect(one.page.get_by_role("heading", name="No tasks left")).to_be_visible()  # not the same loop again
        _answer(two, "from two")
        expect(two.page.get_by_role("heading", name="No tasks left")).to_be_visible()
        document = site.output(name)
        assert sorted(a["answerContent"]["label"] for a in document["humanAnswers"]) == ["from one", "from two"]
        assert len({a["workerId"] for a in document["humanAnswers"]}) == 2
        assert site.status(name, settle_s=5) == "Completed"
        for worker in (one, two, three):
            worker.check()


def test_time_is_up_and_the_task_goes_back(site: Site, browser: Browser) -> None:  # noqa: F811
    flow, group = site.job(TEMPLATE, time_limit=600, title="Label in time")
    name = site.start_loop(flow, {"text": "hurry"})
    slow_email, quick_email = site.worker(group), site.worker(group)
    with open_worker(browser, site) as slow, open_worker(browser, site) as quick:
        slow.sign_in(slow_email)
        slow.start("Label in time")
        slow.wait_for_task()
        # Shorten the lease to 3 seconds from now (instead of waiting out a real time limit), then reload:
        # the countdown runs out in the browser and the page turns into "Time is up".
        with site.svc.store.write() as conn:
            conn.execute(
                assignments.update()
                .where(assignments.c.id == slow.assignment_id())
                .values(expires_at=site.svc.clock.now() + timedelta(seconds=3))
            )
        slow.page.reload()
        slow.wait_for_task()
        expect(slow.page.locator("[data-countdown]")).to_have_text(re.compile(r"^0:0[0-3]$"))
        slow.frame.get_by_label("Your label").fill("too late")
        expect(slow.page.get_by_role("heading", name="Time is up")).to_be_visible(timeout=10_000)
        reaper.reap(site.svc)
        with site.svc.store.read() as conn:
            state = conn.execute(sa.select(assignments.c.state).where(assignments.c.id == slow.assignment_id()))
            assert state.scalar_one() == "expired"
        quick.sign_in(quick_email)
        quick.start("Label in time")
        quick.wait_for_task()
        expect(quick.frame.get_by_text("hurry")).to_be_visible()
        _answer(quick, "in time")
        expect(quick.page.get_by_role("heading", name="No tasks left")).to_be_visible()
        assert [a["answerContent"] for a in site.output(name)["humanAnswers"]] == [{"label": "in time"}]
        slow.check("HTTP 410", "status of 410")
        quick.check()
