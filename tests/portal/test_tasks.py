"""The job list, starting work, the task page, submitting and the answer record (SQLite and PostgreSQL)."""

from __future__ import annotations

import re
from collections.abc import Callable

from crowdloop import loops, queue, workers
from crowdloop.clock import ManualClock
from crowdloop.model import HumanLoopStatus
from crowdloop.output import format_time
from crowdloop.portal.assets import crowd_elements_script
from crowdloop.portal.web import ANONYMOUS_BODY_BYTES, MAX_BODY_BYTES
from crowdloop.runtime import Services
from tests.portal.kit import CALLER, Browser, add_worker, make_job, output_of, start_loop

OpenBrowser = Callable[[], Browser]


def _signed_in(
    open_browser: OpenBrowser, services: Services, email: str, groups: tuple[str, ...] = ("raters",)
) -> Browser:
    add_worker(services, email, groups)
    browser = open_browser()
    assert browser.sign_in(email).status_code == 303
    return browser


def test_job_list_shows_this_workers_jobs(services: Services, open_browser: OpenBrowser) -> None:
    mine = make_job(services, title="Rank the answers", time_limit=900, keywords=("rank", "llm"))
    other = make_job(services, title="Someone else's job", groups=("others",))
    empty = make_job(services, title="Nothing to do yet")
    for _ in range(3):
        start_loop(services, mine)
    start_loop(services, other)
    browser = _signed_in(open_browser, services, "list@example.org")
    page = browser.get("/")
    assert page.status_code == 200
    assert "<h2" in page.text and "Rank the answers" in page.text
    assert "Describe job" in page.text
    assert "<li>rank</li><li>llm</li>" in page.text
    assert re.search(r"<dt>Tasks available</dt><dd>3</dd>", page.text)
    assert "15 minutes per task" in page.text
    assert page.text.count(">Start working</button>") == 1
    assert f'action="/jobs/{mine.id}/start"' in page.text
    assert "Someone else" not in page.text and empty.task_title not in page.text


def test_empty_job_list(services: Services, open_browser: OpenBrowser) -> None:
    page = _signed_in(open_browser, services, "none@example.org").get("/")
    assert "No tasks for you right now" in page.text and "Start working" not in page.text


def test_start_working_opens_the_task_page(services: Services, open_browser: OpenBrowser, clock: ManualClock) -> None:
    job = make_job(services, title="Label things", time_limit=120)
    start_loop(services, job)
    browser = _signed_in(open_browser, services, "start@example.org")
    response = browser.start(job.id)
    assert response.status_code == 303
    assignment_id = int(response.headers["location"].rsplit("/", 1)[1])
    clock.advance(15)
    page = browser.get(f"/tasks/{assignment_id}")
    assert page.status_code == 200
    assert "<h1>Label things</h1>" in page.text and "Describe job" in page.text
    assert 'data-remaining-ms="105000"' in page.text and "1:45" in page.text
    iframes = re.findall(r"<iframe[^>]*>", page.text)
    assert len(iframes) == 1
    assert 'sandbox="allow-scripts allow-forms"' in iframes[0] and "allow-same-origin" not in page.text
    assert re.search(rf'src="/tasks/{assignment_id}/frame\?token=[0-9]+\.[0-9]+\.[0-9a-f]+"', iframes[0])
    for action in ("release", "decline"):
        assert f'action="/tasks/{assignment_id}/{action}"' in page.text
    for label in ("Release task", "Decline task", "Stop and resume later"):
        assert label in page.text


def test_submit_records_the_answer_and_opens_the_next_task(
    services: Services, open_browser: OpenBrowser, clock: ManualClock
) -> None:
    job = make_job(services)
    first, second = start_loop(services, job), start_loop(services, job)
    browser = _signed_in(open_browser, services, "sub@example.org")
    accepted = clock.now()
    assignment_id = browser.open_task(job.id)
    clock.advance(42.5)
    response = browser.submit(assignment_id, {"label": "cat", "n": {"a": True}}, 12.25)
    assert response.status_code == 200
    following = response.json()["next"]
    assert re.fullmatch(r"/tasks/\d+", following) and following != f"/tasks/{assignment_id}"
    document = output_of(services, first)
    [answer] = document["humanAnswers"]
    assert answer["answerContent"] == {"label": "cat", "n": {"a": True}}
    assert answer["acceptanceTime"] == format_time(accepted)
    assert answer["submissionTime"] == format_time(clock.now())
    assert answer["timeSpentInSeconds"] == 12.25
    me = workers.get_worker(services, "sub@example.org")
    assert answer["workerId"] == me.worker_id
    assert answer["workerMetadata"]["identityData"]["sub"] == me.sub
    assert document["humanLoopName"] == first
    last = browser.submit(int(following.rsplit("/", 1)[1]), {"label": "dog"}, 1)
    assert last.json()["next"] == f"/jobs/{job.id}/empty"
    assert output_of(services, second)["humanAnswers"][0]["answerContent"] == {"label": "dog"}
    done = browser.get(f"/jobs/{job.id}/empty")
    assert done.status_code == 200 and "No tasks left" in done.text


def test_time_spent_is_clamped_to_the_wall_time(
    services: Services, open_browser: OpenBrowser, clock: ManualClock
) -> None:
    job = make_job(services, task_count=1)
    names = [start_loop(services, job) for _ in range(4)]
    browser = _signed_in(open_browser, services, "clamp@example.org")
    for name, claimed in zip(names, (10_000, -5, "12", float("nan")), strict=True):
        assignment_id = browser.open_task(job.id)
        clock.advance(30)
        payload = claimed if not isinstance(claimed, float) else None  # JSON has no NaN: send null
        assert browser.submit(assignment_id, {"x": "1"}, payload).status_code == 200
        spent = output_of(services, name)["humanAnswers"][0]["timeSpentInSeconds"]
        assert spent == (30.0 if claimed == 10_000 else 0.0)


def test_submit_rejects_bad_answers(services: Services, open_browser: OpenBrowser) -> None:
    job = make_job(services)
    start_loop(services, job)
    browser = _signed_in(open_browser, services, "bad@example.org")
    assignment_id = browser.open_task(job.id)
    for answer in ([1, 2], "text", None):
        response = browser.submit(assignment_id, answer)
        assert response.status_code == 400 and "JSON object" in response.json()["error"]
    garbage = browser.client.post(
        f"/tasks/{assignment_id}/submit",
        content=b"{not json",
        headers={"Content-Type": "application/json", "X-CSRF-Token": browser.csrf},
    )
    assert garbage.status_code == 400
    worker = workers.get_worker(services, "bad@example.org")
    assert queue.get_lease(services, assignment_id, worker.id).assignment_id == assignment_id  # still held


def test_task_count_two_gives_each_loop_to_two_workers_only(services: Services, open_browser: OpenBrowser) -> None:
    job = make_job(services, task_count=2)
    name = start_loop(services, job)
    first = _signed_in(open_browser, services, "w1@example.org")
    second = _signed_in(open_browser, services, "w2@example.org")
    third = _signed_in(open_browser, services, "w3@example.org")
    a1, a2 = first.open_task(job.id), second.open_task(job.id)
    assert a1 != a2
    assert third.start(job.id).headers["location"] == f"/jobs/{job.id}/empty"
    assert first.submit(a1, {"v": "1"}).json()["next"] == f"/jobs/{job.id}/empty"
    assert first.start(job.id).headers["location"] == f"/jobs/{job.id}/empty"  # never twice
    assert second.submit(a2, {"v": "2"}).status_code == 200
    document = output_of(services, name)
    assert sorted(a["answerContent"]["v"] for a in document["humanAnswers"]) == ["1", "2"]
    assert loops.describe_human_loop(services, CALLER, name).status is HumanLoopStatus.COMPLETED


def test_static_assets_are_served_and_cacheable(open_browser: OpenBrowser) -> None:
    browser = open_browser()
    page = browser.get("/signin")
    css = re.search(r'href="(/static/portal\.css\?v=[0-9a-f]+)"', page.text)
    js = re.search(r'src="(/static/portal\.js\?v=[0-9a-f]+)"', page.text)
    assert css and js
    response = browser.client.get(js.group(1))
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/javascript")
    assert "immutable" in response.headers["cache-control"]
    assert browser.client.get("/static/portal.js").headers["cache-control"] == "no-cache"
    assert browser.client.get("/static/crowd-html-elements.js").content == crowd_elements_script()
    assert browser.client.get("/static/nope.js").status_code == 404
    missing = browser.client.get("/no/such/page")
    assert missing.status_code == 404 and "Not found" in missing.text


def test_submit_trusts_only_its_own_lease_token(
    services: Services, open_browser: OpenBrowser, clock: ManualClock
) -> None:
    job_a, job_b = make_job(services, title="Job A"), make_job(services, title="Job B")
    a_loops = [start_loop(services, job_a) for _ in range(3)]
    start_loop(services, job_b)
    browser = _signed_in(open_browser, services, "lease@example.org")
    a1 = browser.open_task(job_a.id)
    b1 = browser.open_task(job_b.id)
    clock.advance(20)
    # b1's token names job B and b1's acceptance: for a1 it is refused, and the lease itself is read.
    reply = browser.submit(a1, {"x": "1"}, 10_000, lease=browser.leases[b1])
    assert reply.status_code == 200
    following = int(reply.json()["next"].rsplit("/", 1)[1])
    assert (
        queue.get_lease(services, following, workers.get_worker(services, "lease@example.org").id).flow_definition_id
        == job_a.id
    )
    assert output_of(services, a_loops[0])["humanAnswers"][0]["timeSpentInSeconds"] == 20.0
    browser.get(f"/tasks/{following}")
    clock.advance(5)
    assert browser.submit(following, {"x": "2"}, 10_000, lease="").status_code == 200  # no token: read
    assert output_of(services, a_loops[1])["humanAnswers"][0]["timeSpentInSeconds"] == 5.0


def test_lease_and_frame_tokens_round_trip() -> None:
    from datetime import UTC, datetime

    from crowdloop.portal.tokens import TokenSigner

    signer, other = TokenSigner(b"k" * 32), TokenSigner(b"j" * 32)
    accepted = datetime(2026, 3, 4, 5, 6, 7, 891011, tzinfo=UTC)
    token = signer.lease_token(7, 3, 11, accepted)
    assert signer.verify_lease(7, 3, token) == (11, accepted)
    assert signer.verify_lease(8, 3, token) is None and signer.verify_lease(7, 4, token) is None
    assert other.verify_lease(7, 3, token) is None
    assert signer.verify_lease(7, 3, token.replace("11.", "12.", 1)) is None
    for junk in (None, 5, "", "a.b.c", "1.2", "1.2.3.4"):
        assert signer.verify_lease(7, 3, junk) is None
    frame = signer.frame_token(7, 3, 1000.0)
    assert signer.verify_frame(7, frame, 1200.0) == 3
    assert signer.verify_frame(7, frame, 1301.0) is None and signer.verify_frame(6, frame, 1200.0) is None


def test_body_limits_depend_on_the_session(services: Services, open_browser: OpenBrowser) -> None:
    """Anyone: ANONYMOUS_BODY_BYTES; a live session: MAX_BODY_BYTES (a large answer), read only after the
    session is known."""
    job = make_job(services, task_count=1)
    name = start_loop(services, job)
    browser = _signed_in(open_browser, services, "big@example.org")
    assignment_id = browser.open_task(job.id)
    too_big = browser.submit(assignment_id, {"text": "x" * MAX_BODY_BYTES})
    assert too_big.status_code == 413 and "larger than 8388608 bytes" in too_big.json()["error"]
    stranger = open_browser()
    refused = stranger.client.post(f"/tasks/{assignment_id}/submit", json={"answer": {"x": "y" * 100_000}})
    assert refused.status_code == 401
    page = stranger.client.post("/signin", data={"email": "a@example.org", "password": "p" * ANONYMOUS_BODY_BYTES})
    assert (
        page.status_code == 413
        and "Too much data" in page.text
        and "default-src 'none'" in page.headers["content-security-policy"]
    )
    answer = {"text": "é" * (ANONYMOUS_BODY_BYTES * 4)}  # well over the anonymous limit
    assert browser.submit(assignment_id, answer).status_code == 200
    assert output_of(services, name)["humanAnswers"][0]["answerContent"] == answer
