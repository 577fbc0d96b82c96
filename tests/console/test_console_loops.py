"""The flow page's loops table, the loop page (answers in frames, Stop / Delete) and the templates pages,
over HTTP through the real root app, on SQLite and PostgreSQL: filters, keyset pages to the end, cursors
that cannot be forged, CSRF on every change, signed frames, limits on every query parameter."""

from __future__ import annotations

import html
import json
import re
from urllib.parse import parse_qs, urlsplit

import pytest

from crowdloop import flows, loops, queue
from crowdloop.clock import ManualClock
from crowdloop.console import agreement
from crowdloop.console.frames import FRAME_TOKEN_SECONDS
from crowdloop.errors import NotFound
from crowdloop.model import HumanLoopStatus
from crowdloop.runtime import Services
from tests.console.kit import ConsoleBrowser
from tests.domain.loopsetup import CALLER, make_flow, make_worker, start

_LOOP_LINK = re.compile(r'<a class="mono" href="/console/flows/[^/]+/loops/([^"]+)">')
_NEXT = re.compile(r'href="([^"]+)" rel="next"')
_FRAME = re.compile(r'<iframe class="answer-frame"[^>]* src="([^"]+)"')


def _loop_names(page: str) -> list[str]:
    return _LOOP_LINK.findall(page)


def _all_pages(console: ConsoleBrowser, url: str) -> list[str]:
    names: list[str] = []
    while True:
        page = console.get(url)
        assert page.status_code == 200, page.text
        names += _loop_names(page.text)
        found = _NEXT.search(page.text)
        if found is None:
            return names
        url = html.unescape(found.group(1))
        assert "First page" in console.get(url).text


def test_a_thousand_loops_paged_to_the_end(console: ConsoleBrowser, services: Services) -> None:
    flow = make_flow(services, "fd-big")
    clock = services.clock
    assert isinstance(clock, ManualClock)
    started = []
    for i in range(1000):
        if i % 7 == 0:
            clock.advance(1)  # seven loops share each creation instant: pages split instants
        started.append(start(services, flow, f"loop-{i:04d}"))
    names = _all_pages(console, "/console/flows/fd-big")
    assert len(names) == 1000 and len(set(names)) == 1000
    assert names == list(reversed(started))


def test_filters_status_name_and_time(console: ConsoleBrowser, services: Services) -> None:
    flow = make_flow(services, "fd-filter")
    clock = services.clock
    assert isinstance(clock, ManualClock)
    for i in range(6):
        clock.advance(60)
        start(services, flow, f"{'cat' if i % 2 else 'dog'}-{i}")
    loops.stop_human_loop(services, CALLER, "cat-3")
    assert _all_pages(console, "/console/flows/fd-filter?status=Stopped") == ["cat-3"]
    assert _all_pages(console, "/console/flows/fd-filter?name=CAT") == ["cat-1", "cat-3", "cat-5"]
    assert _all_pages(console, "/console/flows/fd-filter?name=cat&status=InProgress") == ["cat-1", "cat-5"]
    # dog-0 was created at 00:01, cat-1 at 00:02, ... cat-5 at 00:06
    window = "/console/flows/fd-filter?after=2026-01-01T00:02&before=2026-01-01T00:04:00"
    assert _all_pages(console, window) == ["dog-2", "cat-1"]
    page = console.get(window).text
    assert 'value="2026-01-01T00:02"' in page and "Clear" in page  # the form keeps the filters


@pytest.mark.parametrize(
    "query",
    [
        "status=Sleeping",
        "name=" + "a" * 64,
        "name=a%25",
        "name=a_b",
        "after=yesterday",
        "before=2026-13-01T00:00",
        "after=" + "2" * 40,
        "cursor=" + "x" * 513,
        "cursor=forged.token",
    ],
)
def test_every_query_parameter_is_checked(console: ConsoleBrowser, services: Services, query: str) -> None:
    make_flow(services, "fd-limits")
    response = console.get(f"/console/flows/fd-limits?{query}")
    assert response.status_code == 400, (query, response.status_code)
    long_name = console.get("/console/flows/" + "f" * 64)
    assert long_name.status_code == 400


def test_a_cursor_belongs_to_its_search(console: ConsoleBrowser, services: Services) -> None:
    flow = make_flow(services, "fd-cursor")
    for i in range(60):
        start(services, flow, f"c-{i:02d}")
    page = console.get("/console/flows/fd-cursor").text
    cursor = parse_qs(urlsplit(html.unescape(_NEXT.search(page).group(1))).query)["cursor"][0]  # type: ignore[union-attr]
    assert console.get(f"/console/flows/fd-cursor?cursor={cursor}").status_code == 200
    assert console.get(f"/console/flows/fd-cursor?status=InProgress&cursor={cursor}").status_code == 400
    tampered = cursor[:-2] + ("AA" if not cursor.endswith("AA") else "BB")
    assert console.get(f"/console/flows/fd-cursor?cursor={tampered}").status_code == 400


def test_signed_out_and_unknown_flows(open_console: object, console: ConsoleBrowser, services: Services) -> None:
    make_flow(services, "fd-private")
    stranger = open_console()  # type: ignore[operator]
    response = stranger.get("/console/flows/fd-private")
    assert response.status_code == 303 and response.headers["location"].startswith("/console/signin?next=")
    assert stranger.get("/console/flows/fd-private/loops/x").status_code == 303
    assert console.get("/console/flows/fd-none").status_code == 404


def _answered_loop(services: Services) -> tuple[str, str]:
    flow = make_flow(services, "fd-answers", task_count=2)
    name = start(services, flow, "loop-a", {"text": "</script><b>bold</b>"})
    worker = make_worker(services, "ann@example.org")
    lease = queue.claim(services, worker.id, flow.id)
    assert lease is not None
    queue.submit(services, lease.assignment_id, worker.id, {"label": "cat</script>", "score": 3}, 12.5)
    return flow.name, name


def test_the_loop_page_shows_input_answers_and_frames(console: ConsoleBrowser, services: Services) -> None:
    flow, name = _answered_loop(services)
    page = console.get(f"/console/flows/{flow}/loops/{name}")
    assert page.status_code == 200
    text = page.text
    assert "&lt;/script&gt;&lt;b&gt;bold&lt;/b&gt;" in text  # the input, escaped
    assert "ann@example.org" in text and "12.5 s" in text and "1 / 2" in text
    assert "&#34;label&#34;: &#34;cat&lt;/script&gt;&#34;" in text or "&quot;label&quot;" in text  # answer JSON
    assert "Stop…" in text and "Delete…" not in text and "not written yet" in text
    frame_url = html.unescape(_FRAME.search(text).group(1))  # type: ignore[union-attr]
    frame = console.client.get(frame_url)
    assert frame.status_code == 200
    policy = frame.headers["content-security-policy"]
    assert "sandbox allow-scripts allow-forms" in policy and "frame-ancestors http://console.test" in policy
    answer = re.search(r'<script type="application/json" id="crowdloop-answer">(.*?)</script>', frame.text)
    assert answer is not None and "</script" not in answer.group(1)
    assert json.loads(answer.group(1)) == {"label": "cat</script>", "score": 3}
    assert "&lt;/script&gt;&lt;b&gt;bold" in frame.text  # the template rendered with the loop's input
    # the frame is authorised by its URL alone (no cookies), which cannot be altered and expires
    anonymous = console.client.__class__(console.client.app, base_url="http://console.test")
    assert anonymous.get(frame_url).status_code == 200
    assert anonymous.get(frame_url.replace("token=", "token=0")).status_code == 403
    other = re.sub(r"/answers/\d+", "/answers/999", frame_url)
    assert anonymous.get(other).status_code == 403
    clock = services.clock
    assert isinstance(clock, ManualClock)
    clock.advance(FRAME_TOKEN_SECONDS + 1)
    assert anonymous.get(frame_url).status_code == 403
    anonymous.close()
    assert console.get(f"/console/flows/fd-other/loops/{name}").status_code == 404  # the loop of another flow


def test_stop_and_delete_need_confirmation_and_csrf(console: ConsoleBrowser, services: Services) -> None:
    flow, name = _answered_loop(services)
    base = f"/console/flows/{flow}/loops/{name}"
    confirm = console.get(base + "/stop")
    assert confirm.status_code == 200 and "Stop this loop?" in confirm.text and 'method="post"' in confirm.text
    assert console.post(base + "/stop", csrf="").status_code == 403
    assert console.post(base + "/stop", csrf="wrong").status_code == 403
    assert console.post(base + "/stop", origin="http://evil.test").status_code == 403
    assert console.client.get(base + "/stop").status_code == 200  # GET only confirms
    assert loops.describe_human_loop(services, CALLER, name).status is HumanLoopStatus.IN_PROGRESS
    assert console.post(base + "/delete").status_code == 400  # in progress: stop it first
    stopped = console.post(base + "/stop")
    assert stopped.status_code == 303 and stopped.headers["location"] == base + "?done=stopped"
    assert loops.describe_human_loop(services, CALLER, name).status in (
        HumanLoopStatus.STOPPING,
        HumanLoopStatus.STOPPED,
    )
    page = console.get(stopped.headers["location"])
    assert "The loop was stopped." in page.text and "Delete…" in page.text and "Stop…" not in page.text
    confirm = console.get(base + "/delete")
    assert "Delete this loop?" in confirm.text
    assert console.post(base + "/delete", csrf="").status_code == 403
    deleted = console.post(base + "/delete")
    assert deleted.status_code == 303 and deleted.headers["location"] == f"/console/flows/{flow}?deleted={name}"
    with pytest.raises(NotFound):
        loops.describe_human_loop(services, CALLER, name)
    assert console.get(base).status_code == 404


_CONTROL_TEMPLATE = (
    '<script src="https://assets.crowd.aws/crowd-html-elements.js"></script>'
    '<crowd-form><p>{{ task.input.text }}</p><crowd-input name="label"></crowd-input></crowd-form>'
)


def test_templates_list_and_source(console: ConsoleBrowser, services: Services) -> None:
    flow = make_flow(services, "fd-tpl")
    start(services, flow, "tpl-loop", {"text": "from the latest loop"})
    flows.create_human_task_ui(services, CALLER, "ui-unused", "<b>{{ task.input.x | default: 'none' }}</b>")
    listing = console.get("/console/templates")
    assert listing.status_code == 200 and "ui-unused" in listing.text and "no flow definition" in listing.text
    assert ">fd-tpl</a>" in listing.text
    ui_name = flow.human_task_ui_arn.rsplit("/", 1)[1]
    page = console.get(f"/console/templates/{ui_name}")
    assert page.status_code == 200
    assert "&lt;crowd-form&gt;&lt;p&gt;{{ task.input.text }}" in page.text  # the source, escaped
    assert "from the latest loop" in page.text  # the sample input: the newest loop's input
    assert console.get("/console/templates/ui-none").status_code == 404


def test_template_preview(console: ConsoleBrowser, services: Services) -> None:
    flows.create_human_task_ui(services, CALLER, "ui-preview", _CONTROL_TEMPLATE)
    api = "/console/api/templates/ui-preview/preview"
    answer = console.get(api, params={"input": json.dumps({"text": "hello <you>"})})
    assert answer.status_code == 200
    body = answer.json()
    assert body["errors"] == [] and body["frame"]["sandbox"] == "allow-scripts allow-forms"
    frame = console.client.get(body["frame"]["url"])
    assert frame.status_code == 200 and "hello &lt;you&gt;" in frame.text and "crowd-input" in frame.text
    assert "sandbox allow-scripts" in frame.headers["content-security-policy"]
    tampered = body["frame"]["url"].replace("input=", "input=e30")
    assert console.client.get(tampered).status_code == 403
    not_json = console.get(api, params={"input": "{oops"}).json()
    assert not_json["frame"] is None and "JSON object" in not_json["errors"][0]
    assert console.get(api, params={"input": json.dumps({"t": "x" * 17000})}).status_code == 400
    page = console.get("/console/templates/ui-preview", params={"input": "[1]"})
    assert page.status_code == 200 and "JSON object" in page.text  # the no-JS path shows the same message
    assert console.client.get(api, headers={"Cookie": ""}).status_code in (200, 401)
    signed_out = console.client.__class__(console.client.app, base_url="http://console.test")
    assert signed_out.get(api, headers={"Accept": "application/json"}).status_code == 401
    signed_out.close()


def test_flow_page_progress_workers_and_live_json(console: ConsoleBrowser, services: Services) -> None:
    flow, _ = _answered_loop(services)
    page = console.get(f"/console/flows/{flow}")
    assert page.status_code == 200
    assert 'data-field="answers">1 / 2<' in page.text
    assert "ann@example.org" in page.text and "Krippendorff" in page.text and "Downloads" in page.text
    live = console.get(f"/console/api/flows/{flow}")
    assert live.status_code == 200 and live.headers["content-type"].startswith("application/json")
    body = live.json()
    assert body["fields"]["answers"] == "1 / 2" and body["fields"]["loops-InProgress"] == "1"
    assert body["percent"] == 50.0
    assert [row[:3] for row in body["workers"]] == [[body["workers"][0][0], "ann@example.org", "1"]]
    signed_out = console.client.__class__(console.client.app, base_url="http://console.test")
    assert signed_out.get(f"/console/api/flows/{flow}").status_code == 401
    signed_out.close()
    assert console.get("/console/api/flows/fd-none").status_code == 404
    agreement.refreshes(services).wait()  # the background refresh the page started
