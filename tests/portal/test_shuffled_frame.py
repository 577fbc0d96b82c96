"""crowdloop:shuffle-responses in the portal: the task frame shows the responses in the assignment's own
order, a reload shows the same order, and the answer submitted through the portal is recorded with it."""

from __future__ import annotations

import re
from collections.abc import Callable

from crowdloop import queue, tags
from crowdloop.runtime import Services
from crowdloop.tags import Tag
from tests.portal.kit import CALLER, Browser, add_worker, make_job, output_of, start_loop

OpenBrowser = Callable[[], Browser]
TEMPLATE = """<crowd-form><p class="prompt">{{ task.input.taskObject.prompt }}</p><ol>
{% for r in task.input.taskObject.responses %}<li class="response">{{ r }}</li>{% endfor %}
</ol><crowd-input name="response_1_ranking" label="Rank" required></crowd-input></crowd-form>"""
RESPONSES = ["alpha", "bravo", "charlie", "delta", "echo"]


def _shown(html: str) -> list[str]:
    return re.findall(r'<li class="response">([^<]*)</li>', html)


def test_the_frame_shows_the_assignments_order(services: Services, open_browser: OpenBrowser) -> None:
    job = make_job(services, template=TEMPLATE, task_count=1)
    tags.add_tags(services, CALLER, job.arn, [Tag("crowdloop:shuffle-responses", "true")])
    names = [start_loop(services, job, {"taskObject": {"prompt": f"Q{i}", "responses": RESPONSES}}) for i in range(3)]
    worker = add_worker(services, "shuffled@example.org")
    browser = open_browser()
    browser.sign_in("shuffled@example.org")
    orders = []
    for name in names:
        assignment_id = browser.open_task(job.id)
        lease = queue.get_lease(services, assignment_id, worker.id)
        assert lease.human_loop_name == name and lease.response_order is not None
        expected = [RESPONSES[i] for i in lease.response_order]
        frame = browser.client.get(browser.frame_url(assignment_id))
        assert frame.status_code == 200 and _shown(frame.text) == expected
        assert f'<p class="prompt">Q{names.index(name)}</p>' in frame.text  # the rest of the input as it is
        again = browser.client.get(browser.frame_url(assignment_id))  # a reload: the same order
        assert _shown(again.text) == expected
        response = browser.submit(assignment_id, {"response_1_ranking": "1"})
        assert response.status_code == 200, response.text
        document = output_of(services, name)
        assert document["inputContent"]["taskObject"]["responses"] == RESPONSES
        assert document["humanAnswers"][0]["crowdloopResponseOrder"] == list(lease.response_order)
        assert document["humanAnswers"][0]["answerContent"] == {"response_1_ranking": "1"}
        orders.append(lease.response_order)
    assert any(order != tuple(range(len(RESPONSES))) for order in orders)  # identity thrice: chance 120**-3


def test_an_unshuffled_frame_shows_the_input_order(services: Services, open_browser: OpenBrowser) -> None:
    job = make_job(services, template=TEMPLATE, task_count=1)
    name = start_loop(services, job, {"taskObject": {"prompt": "Q", "responses": RESPONSES}})
    add_worker(services, "plain@example.org")
    browser = open_browser()
    browser.sign_in("plain@example.org")
    assignment_id = browser.open_task(job.id)
    assert _shown(browser.client.get(browser.frame_url(assignment_id)).text) == RESPONSES
    assert browser.submit(assignment_id, {"response_1_ranking": "1"}).status_code == 200
    assert "crowdloopResponseOrder" not in output_of(services, name)["humanAnswers"][0]
