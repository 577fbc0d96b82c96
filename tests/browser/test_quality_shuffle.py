"""crowdloop:shuffle-responses in a real browser (issue 12, Proof): the seed notebook's ranking job with the
tag set through boto3's AddTags; three workers each answer three loops in the portal, every time ranking
one fixed ORIGINAL response Most (found on the page by its text, wherever it is shown) and the other two
Least. The export of the server's store then prefers that response in every row, output.json records the
order each worker saw (and it matches what the page showed), and the workers saw different orders.

The seed template shows `responses[1]` above both the second and the third select (a typo of the original
notebook, kept verbatim), so the response shown third never appears as text: when the target's text is in
neither of the first two places, the worker knows it is the third (the only one left)."""

from __future__ import annotations

from typing import Any

from playwright.sync_api import Browser, expect

from crowdloop.export.api import run
from tests.browser.portal_site import Site, Worker, open_worker, seed_template, site  # noqa: F401
from tests.conftest import RunningServer

TITLE = "Rank the shuffled answers from Least (Worst) to Most (Best)"
RESPONSES = [
    "Light from the room bounces off you, hits the mirror and comes straight back to your eyes.",
    "Mirrors are magic.",
    "Because glass is transparent.",
]
BEST = RESPONSES[0]  # every worker ranks this one Most, wherever it is shown
LOOPS, WORKERS = 3, 3


def _shown_texts(worker: Worker) -> list[str]:
    """The response texts above the first two selects (the seed's third paragraph repeats the second)."""
    paragraphs = worker.frame.locator("p")
    expect(paragraphs).to_have_count(3)
    return [paragraphs.nth(k).locator("b").nth(1).inner_text().strip() for k in range(2)]


def _rank_best(worker: Worker) -> tuple[str, ...]:
    """Rank BEST Most and the others Least, by text; returns what was seen: the first two texts shown."""
    shown = _shown_texts(worker)
    position = shown.index(BEST) if BEST in shown else 2
    for k in range(3):
        value = "1" if k == position else "3"
        worker.frame.locator(f'select[name="response_{k + 1}_ranking"]').select_option(value)
    return tuple(shown)


def _answer_all(site: Site, browser: Browser, email: str) -> list[tuple[str, ...]]:  # noqa: F811
    """One worker answers every task of the job in the portal; returns the first two texts of each task."""
    seen = []
    with open_worker(browser, site) as worker:
        page = worker.page
        worker.sign_in(email)
        worker.start(TITLE)
        for n in range(LOOPS):
            worker.wait_for_task()
            seen.append(_rank_best(worker))
            opened = page.url
            worker.frame.get_by_role("button", name="Submit").click()
            if n < LOOPS - 1:
                page.wait_for_url(lambda url, opened=opened: url != opened)  # the next task opens
        expect(page.get_by_role("heading", name="No tasks left")).to_be_visible()
        worker.check()
    return seen


def _orders(site: Site, names: list[str]) -> dict[str, list[tuple[list[int], str]]]:  # noqa: F811
    """Per loop: each answer's crowdloopResponseOrder and worker, checking the answer against its order."""
    result = {}
    for name in names:
        document = site.output(name)
        assert document["inputContent"]["taskObject"]["responses"] == RESPONSES  # A2I's input, unshuffled
        answers: list[dict[str, Any]] = document["humanAnswers"]
        assert len(answers) == WORKERS
        for answer in answers:
            order = answer["crowdloopResponseOrder"]
            assert sorted(order) == [0, 1, 2]
            best_shown_at = order.index(RESPONSES.index(BEST))  # answers are in displayed positions
            expected = {f"response_{k + 1}_ranking": "1" if k == best_shown_at else "3" for k in range(3)}
            assert answer["answerContent"] == expected
        result[name] = [(a["crowdloopResponseOrder"], a["workerId"]) for a in answers]
    return result


def test_a_shuffled_ranking_exports_unshuffled(site: Site, browser: Browser, server: RunningServer) -> None:  # noqa: F811
    flow, group = site.job(seed_template(), task_count=WORKERS, title=TITLE)
    # before any loop starts, so the server's 5 s settings cache has not read this flow definition yet
    server.client("sagemaker").add_tags(
        ResourceArn=flow.arn, Tags=[{"Key": "crowdloop:shuffle-responses", "Value": "true"}]
    )
    names = [
        site.start_loop(
            flow,
            {"taskObject": {"prompt": f"Question {i}: why can you see yourself in a mirror?", "responses": RESPONSES}},
        )
        for i in range(LOOPS)
    ]
    seen = [_answer_all(site, browser, site.worker(group)) for _ in range(WORKERS)]

    orders = _orders(site, names)
    shown_by_output = sorted(
        tuple(RESPONSES[i] for i in order[:2]) for answers in orders.values() for order, _ in answers
    )
    assert shown_by_output == sorted(s for worker in seen for s in worker)  # the page showed the recorded order
    # at least two workers saw one item in different orders (all equal in all three loops: chance 36**-3)
    assert any(len({tuple(order) for order, _ in answers}) > 1 for answers in orders.values())

    rows = list(run(flow.name, store=site.svc.store, policy="all", jobs=1).rows())
    assert len(rows) == LOOPS * WORKERS * 2  # the two Least ones tie: no preference between them
    assert {row["chosen"] for row in rows} == {BEST}
    assert {row["rejected"] for row in rows} == set(RESPONSES[1:])
