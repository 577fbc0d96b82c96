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

from crowdloop import queue
from crowdloop.app import CrowdloopApp
from crowdloop.runtime import Services
from tests.console.kit import ConsoleBrowser, add_key
from tests.domain.loopsetup import make_flow, make_worker, start

FRAMES = "http://frames.test"


@pytest.fixture
def framed(services: Services) -> Iterator[tuple[Services, ConsoleBrowser]]:
    svc = replace(services, settings=replace(services.settings, task_frame_origin=FRAMES))
    app = CrowdloopApp(svc)
    browser = ConsoleBrowser(app)
    assert browser.sign_in(add_key(svc)).status_code == 303
    yield svc, browser
    browser.close()
    app.aws.close()


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
