"""Gold items in the portal (SQLite and PostgreSQL): the qualification, passed and failed, as the worker sees
it (the job list, the task page, the "no tasks" page), gold tasks at their own addresses, pausing, resuming."""

from __future__ import annotations

import html
import json
import re
from collections.abc import Callable

from crowdloop import gold, tags
from crowdloop.flows import FlowDefinition
from crowdloop.runtime import Services
from crowdloop.tags import Tag
from tests.portal.kit import CALLER, Browser, add_worker, make_job, start_loop

OpenBrowser = Callable[[], Browser]
TEMPLATE = """<crowd-form><p class="prompt">{{ task.input.taskObject.prompt }}</p><ol>
{% for r in task.input.taskObject.responses %}<li class="response">{{ r }}</li>{% endfor %}
</ol><crowd-input name="response_1_ranking" label="Rank" required></crowd-input></crowd-form>"""
RESPONSES = ["alpha", "bravo", "charlie"]


def item(prompt: str) -> dict[str, object]:
    return {"taskObject": {"prompt": prompt, "responses": RESPONSES}}


def ranking(best: int) -> dict[str, str]:
    ranks = {best: 1}
    for other in range(3):
        ranks.setdefault(other, len(ranks) + 1)
    return {f"response_{i + 1}_ranking": str(ranks[i]) for i in range(3)}


def qualification_job(svc: Services) -> FlowDefinition:
    job = make_job(svc, template=TEMPLATE, task_count=3)
    settings = [Tag("crowdloop:qualification", "2"), Tag("crowdloop:gold-min-accuracy", "0.75")]
    tags.add_tags(svc, CALLER, job.arn, settings)
    lines = [json.dumps({"id": f"q{i}", "input": item(f"Check {i}"), "answer": {"best": 0}}) for i in range(2)]
    gold.add_items(svc, CALLER, job.name, lines)
    start_loop(svc, job, item("Real question"))
    return job


def text(response_text: str) -> str:
    return html.unescape(re.sub(r"\s+", " ", response_text))


def answer_qualification(browser: Browser, job: FlowDefinition, answers: list[int]) -> str:
    """Answer the qualifying gold items through the portal; the path the last submit sends the browser to."""
    next_path = ""
    for number, best in enumerate(answers):
        response = browser.start(job.id)
        assert response.status_code == 303
        path = response.headers["location"]
        assert path.startswith("/tasks/check/"), path  # a gold item's own address
        page = browser.get(path)
        assert page.status_code == 200
        assert f"Qualification: answer {len(answers) - number} question" in text(page.text)
        assignment_id = int(path.rsplit("/", 1)[1])
        frame = browser.client.get(browser.frame_url_at(path))
        assert frame.status_code == 200 and f'<p class="prompt">Check {number}</p>' in frame.text
        submitted = browser.submit(assignment_id, ranking(best), task_path=path)
        assert submitted.status_code == 200, submitted.text
        next_path = submitted.json()["next"]
    return str(next_path)


def test_a_worker_who_passes_the_qualification_gets_real_tasks(services: Services, open_browser: OpenBrowser) -> None:
    job = qualification_job(services)
    add_worker(services, "good@example.org")
    browser = open_browser()
    browser.sign_in("good@example.org")
    assert "Qualification: answer 2 questions first." in text(browser.get("/").text)
    next_path = answer_qualification(browser, job, [0, 0])
    assert re.fullmatch(r"/tasks/\d+", next_path), next_path  # the real task follows at once
    page = browser.get(next_path)
    assert page.status_code == 200 and "Qualification:" not in page.text
    frame = browser.client.get(browser.frame_url_at(next_path))
    assert '<p class="prompt">Real question</p>' in frame.text
    assert "You passed the qualification for this job (2 of 2)." in text(browser.get("/").text)


def test_a_worker_who_fails_is_told_so_and_gets_nothing(services: Services, open_browser: OpenBrowser) -> None:
    job = qualification_job(services)
    worker = add_worker(services, "bad@example.org")
    browser = open_browser()
    browser.sign_in("bad@example.org")
    next_path = answer_qualification(browser, job, [0, 2])
    assert next_path == f"/jobs/{job.id}/empty"
    failed = "You did not pass the qualification for this job (1 of 2)."
    assert failed in text(browser.get(next_path).text)
    jobs = text(browser.get("/").text)
    assert failed in jobs and f'action="/jobs/{job.id}/start"' not in jobs
    assert browser.start(job.id).headers["location"] == f"/jobs/{job.id}/empty"
    gold.resume(services, CALLER, job.name, worker.email)  # a fresh start: no question left, so real tasks
    response = browser.start(job.id)
    assert re.fullmatch(r"/tasks/\d+", response.headers["location"])


def test_a_paused_worker_is_told_why(services: Services, open_browser: OpenBrowser) -> None:
    job = make_job(services, template=TEMPLATE, task_count=3)
    settings = [
        Tag("crowdloop:gold-rate", "0.5"),
        Tag("crowdloop:gold-min-accuracy", "0.5"),
        Tag("crowdloop:gold-min-items", "1"),
    ]
    tags.add_tags(services, CALLER, job.arn, settings)
    lines = [json.dumps({"input": item(f"Check {i}"), "answer": {"best": 1}}) for i in range(30)]
    gold.add_items(services, CALLER, job.name, lines)
    start_loop(services, job, item("Real question"))
    add_worker(services, "paused@example.org")
    browser = open_browser()
    browser.sign_in("paused@example.org")
    for _ in range(100):
        path = browser.start(job.id).headers["location"]
        if path.startswith("/tasks/check/"):
            browser.get(path)
            response = browser.submit(int(path.rsplit("/", 1)[1]), ranking(0), task_path=path)
            assert response.json()["next"] == f"/jobs/{job.id}/empty"
            break
        browser.get(path)
        browser.post(f"{path}/release")
    else:
        raise AssertionError("no gold item in 100 claims at a rate of 0.5")
    paused = "You are paused for this job: your accuracy on check questions is below what it requires."
    assert paused in text(browser.get(f"/jobs/{job.id}/empty").text)
    assert paused in text(browser.get("/").text)


def test_an_expired_gold_task_names_its_own_page(services: Services, open_browser: OpenBrowser) -> None:
    job = qualification_job(services)
    add_worker(services, "slow@example.org")
    browser = open_browser()
    browser.sign_in("slow@example.org")
    path = browser.start(job.id).headers["location"]
    assert path.startswith("/tasks/check/")
    browser.get(path)
    services.clock.advance(601)  # past the job's time limit
    response = browser.submit(int(path.rsplit("/", 1)[1]), ranking(0), task_path=path)
    assert response.status_code == 409
    assert response.json()["reason"] == "expired" and response.json()["next"] == path
    assert "Time is up" in browser.get(path).text
