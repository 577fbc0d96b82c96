"""The console's answer and preview frames when task_frame_origin is set (SQLite and PostgreSQL): their
links point at the frame host, which serves them (and nothing else of the console), unsandboxed there and
framed only by the console's own origin."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from dataclasses import replace
from urllib.parse import urlsplit

import pytest

from crowdloop import queue, tags
from crowdloop.app import CrowdloopApp
from crowdloop.runtime import Services
from crowdloop.tags import Tag
from tests.console.kit import ConsoleBrowser, add_key
from tests.domain.loopsetup import make_flow, make_worker, start
from tests.portal.kit import CALLER, make_job, start_loop

FRAMES = "http://frames.test"


@pytest.fixture
def framed(services: Services) -> Iterator[tuple[Services, ConsoleBrowser]]:
    svc = replace(services, settings=replace(services.settings, task_frame_origin=FRAMES))
    app = CrowdloopApp(svc)
    browser = ConsoleBrowser(app)
    assert browser.sign_in(add_key(svc)).status_code == 303
    yield svc, browser
    browser.close()
    app.close()


def test_frames_come_from_the_frame_host(framed: tuple[Services, ConsoleBrowser]) -> None:
    svc, console = framed
    flow = make_flow(svc, "fd-framed")
    name = start(svc, flow, "framed-loop")
    worker = make_worker(svc)
    lease = queue.claim(svc, worker.id, flow.id)
    assert lease is not None
    queue.submit(svc, lease.assignment_id, worker.id, {"label": "x"}, 3.0)
    page = console.get(f"/console/flows/fd-framed/loops/{name}").text
    tag = re.search(r'<iframe class="answer-frame"[^>]*>', page)
    assert tag is not None and "sandbox=" not in tag.group(0)  # an origin of its own instead
    url = html.unescape(re.search(r'src="([^"]+)"', tag.group(0)).group(1))  # type: ignore[union-attr]
    assert url.startswith(FRAMES + "/console/frames/answers/")
    parts = urlsplit(url)
    frame = console.client.get(f"{parts.path}?{parts.query}", headers={"Host": "frames.test"})
    assert frame.status_code == 200 and 'id="crowdloop-answer"' in frame.text
    policy = frame.headers["content-security-policy"]
    assert "sandbox" not in policy and f"frame-ancestors {svc.settings.portal_url}" in policy
    # the frame host serves no console page, signed in or not
    assert console.client.get("/console/flows/fd-framed", headers={"Host": "frames.test"}).status_code == 404
    assert console.client.get("/console", headers={"Host": "frames.test"}).status_code == 404
    preview = console.get("/console/api/templates/ui-x/preview")
    assert preview.status_code == 404


def test_a_shuffled_answer_is_shown_in_the_order_its_worker_saw(framed: tuple[Services, ConsoleBrowser]) -> None:
    """crowdloop:shuffle-responses: the answer's frame renders the responses as that worker saw them, so the
    ranks it shows sit next to the responses they were given to."""
    svc, console = framed
    template = (
        '<crowd-form>{% for r in task.input.taskObject.responses %}<li class="response">{{ r }}</li>{% endfor %}'
        '<crowd-input name="response_1_ranking" label="Rank"></crowd-input></crowd-form>'
    )
    job = make_job(svc, template=template, task_count=1)
    tags.add_tags(svc, CALLER, job.arn, [Tag("crowdloop:shuffle-responses", "true")])
    responses = ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot"]
    name = start_loop(svc, job, {"taskObject": {"prompt": "Q", "responses": responses}})
    worker = make_worker(svc)
    lease = queue.claim(svc, worker.id, job.id)
    assert lease is not None and lease.response_order is not None
    queue.submit(svc, lease.assignment_id, worker.id, {"response_1_ranking": "1"}, 3.0)
    page = console.get(f"/console/flows/{job.name}/loops/{name}").text
    found = re.search(r'<iframe class="answer-frame"[^>]*src="([^"]+)"', page)
    assert found is not None
    parts = urlsplit(html.unescape(found.group(1)))
    frame = console.client.get(f"{parts.path}?{parts.query}", headers={"Host": "frames.test"})
    assert frame.status_code == 200
    shown = re.findall(r'<li class="response">([^<]*)</li>', frame.text)
    assert shown == [responses[i] for i in lease.response_order]
