"""The gold items page and the flow page's gold card over HTTP through the real root app, on SQLite and
PostgreSQL: the counts and settings, keyset pages of items, the upload (a multipart file or pasted lines,
all or nothing, each bad line named), Retire and Resume confirmed by a POST; and each guard: a console
session, the CSRF token and Origin, the body limit, the parameters' checks."""

from __future__ import annotations

import html
import json
import re
from collections.abc import Callable
from typing import Any

import httpx2 as httpx
import pytest

from crowdloop import gold, tags
from crowdloop.app import CrowdloopApp
from crowdloop.console.web import MAX_BODY_BYTES
from crowdloop.flows import FlowDefinition
from crowdloop.runtime import Services
from crowdloop.tags import Tag
from tests.console.kit import ORIGIN, ConsoleBrowser
from tests.portal.kit import CALLER, Browser, add_worker, make_job
from tests.portal.test_gold_tasks import TEMPLATE, answer_qualification, item, qualification_job

Open = Callable[[], ConsoleBrowser]


def line(name: str | None, answer: dict[str, Any], prompt: str = "Which?") -> str:
    body: dict[str, Any] = {"input": item(prompt), "answer": answer}
    if name is not None:
        body["id"] = name
    return json.dumps(body)


def text(page: httpx.Response) -> str:
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page.text)))


def gold_url(flow: str, tail: str = "") -> str:
    return f"/console/flows/{flow}/gold{tail}"


def upload(
    console: ConsoleBrowser,
    flow: str,
    *,
    file: str | bytes | None = None,
    lines: str = "",
    csrf: str | None = None,
    origin: str | None = ORIGIN,
) -> httpx.Response:
    """The upload form as a browser sends it: multipart/form-data, the file as a file part."""
    files = {"file": ("gold.jsonl", file if file is not None else b"", "application/octet-stream")}
    data = {"csrf_token": console.csrf if csrf is None else csrf, "lines": lines}
    headers = {"Origin": origin} if origin else {}
    return console.client.post(gold_url(flow, "/add"), data=data, files=files, headers=headers)


@pytest.fixture
def job(services: Services) -> FlowDefinition:
    flow = make_job(services, template=TEMPLATE, task_count=3)
    settings = [
        Tag("crowdloop:gold-rate", "0.2"),
        Tag("crowdloop:gold-min-accuracy", "0.75"),
        Tag("crowdloop:qualification", "2"),
    ]
    tags.add_tags(services, CALLER, flow.arn, settings)
    return flow


def test_the_pages_need_a_console_session(open_console: Open, services: Services, job: FlowDefinition) -> None:
    browser = open_console()
    for path in (gold_url(job.name), gold_url(job.name, "/retire?item=a"), gold_url(job.name, "/resume?worker=a@b")):
        response = browser.get(path)
        assert response.status_code == 303 and response.headers["location"].startswith("/console/signin?next=")
    assert upload(browser, job.name, file=line("g-1", {"best": 0}), csrf="x").status_code == 401
    for tail, form in (("/retire", {"item": "g-1"}), ("/resume", {"worker": "a@example.org"})):
        assert browser.post(gold_url(job.name, tail), form, csrf="x").status_code == 401
    json_request = browser.get(gold_url(job.name), headers={"Accept": "application/json"})
    assert json_request.status_code == 401
    assert gold.list_items(services, CALLER, job.name) == []


def test_the_flow_page_has_a_gold_card(console: ConsoleBrowser, services: Services, job: FlowDefinition) -> None:
    gold.add_items(services, CALLER, job.name, [line(f"g-{i}", {"best": 0}) for i in range(3)])
    gold.delete_item(services, CALLER, job.name, "g-2")
    page = console.get(f"/console/flows/{job.name}")
    assert page.status_code == 200
    card = text(page)
    assert "Gold items Manage gold items" in card
    assert "Active items 2 Answers 0 Mean score — Retired 1" in card
    assert "gold-rate 0.20" in card and "gold-min-accuracy 0.75" in card and "gold-min-items 5" in card
    assert "qualification 2" in card
    assert f'href="/console/flows/{job.name}/gold"' in page.text


def test_upload_a_file_then_paste_lines(console: ConsoleBrowser, services: Services, job: FlowDefinition) -> None:
    page = console.get(gold_url(job.name))
    assert page.status_code == 200 and "No gold items yet" in page.text
    assert 'enctype="multipart/form-data"' in page.text
    content = "\ufeff" + "\r\n".join([line("g-é", {"best": 1}, "Ünïcode?"), "", line(None, {"ranking": [2, 0]})])
    response = upload(console, job.name, file=content.encode())
    assert response.status_code == 303, response.text
    assert response.headers["location"] == gold_url(job.name, "?added=2")
    assert "2 gold items were added." in text(console.get(response.headers["location"]))
    response = upload(console, job.name, lines=line("g-label", {"labels": ["yes", "no"]}) + "\n")
    assert response.status_code == 303
    items = gold.list_items(services, CALLER, job.name)
    assert [(i.name, i.answer) for i in items] == [
        ("g-é", {"best": 1}),
        ("gold-2", {"ranking": [2, 0]}),
        ("g-label", {"labels": ["yes", "no"]}),
    ]
    listed = text(console.get(gold_url(job.name)))
    assert "g-é best: 1 0 —" in listed and "gold-2 ranking: 2, 0 0 —" in listed
    assert "g-label labels: yes, no" in listed and "Active items 3" in listed


def test_a_wrong_line_adds_nothing_and_is_named(
    console: ConsoleBrowser, services: Services, job: FlowDefinition
) -> None:
    console.get(gold_url(job.name))
    lines = "\n".join([line("g-1", {"best": 0}), line("g-2", {"best": 5}), "{not json", line("g-1", {"best": 1})])
    response = upload(console, job.name, lines=lines)
    assert response.status_code == 400
    shown = text(response)
    assert 'line 2: answer "best": 5 is not a response index (0 to 2)' in shown
    assert "line 3: not a JSON object" in shown and "line 4: id 'g-1' is also on line 1" in shown
    assert re.search(r"<li>line 2: answer &#34;best&#34;: 5", response.text)  # one list item per bad line
    assert "{not json" in response.text  # the pasted lines are kept for correcting
    assert gold.list_items(services, CALLER, job.name) == []
    gold.add_items(services, CALLER, job.name, [line("g-1", {"best": 0})])
    clash = upload(console, job.name, file=line("g-1", {"best": 2}))
    assert clash.status_code == 400 and "line 1: id 'g-1' exists already" in text(clash)
    for form, message in (
        ({"file": "", "lines": " \n"}, "choose a JSONL file or paste its lines"),
        ({"file": line("g-9", {"best": 0}), "lines": line("g-8", {"best": 0})}, "not both"),
        ({"file": b"\xff\xfe{}"}, "is not UTF-8 text"),
    ):
        refused = upload(console, job.name, **form)  # type: ignore[arg-type]
        assert refused.status_code == 400 and message in text(refused), refused.text
    assert [i.name for i in gold.list_items(services, CALLER, job.name)] == ["g-1"]


def test_uploads_are_csrf_checked_and_limited(console: ConsoleBrowser, services: Services, job: FlowDefinition) -> None:
    console.get(gold_url(job.name))
    good = line("g-1", {"best": 0})
    assert upload(console, job.name, file=good, csrf="forged").status_code == 403
    assert upload(console, job.name, file=good, origin="http://evil.test").status_code == 403
    no_token = console.client.post(
        gold_url(job.name, "/add"), files={"file": ("g.jsonl", good.encode())}, headers={"Origin": ORIGIN}
    )
    assert no_token.status_code == 403
    big = "\n".join([good] + [line(f"g-{i}", {"best": 0}, "x" * 1000) for i in range(2, 1100)])
    assert len(big) > MAX_BODY_BYTES
    response = upload(console, job.name, file=big)
    assert response.status_code == 413 and "larger than" in text(response)
    assert gold.list_items(services, CALLER, job.name) == []
    assert upload(console, job.name, file=good).status_code == 303


def test_parameters_are_checked(console: ConsoleBrowser, job: FlowDefinition) -> None:
    assert console.get(gold_url("no-such-flow")).status_code == 404
    assert console.get(gold_url("Not_A_Name")).status_code == 400
    assert console.get(gold_url("a" * 64)).status_code == 400
    console.get(gold_url(job.name))
    assert upload(console, "no-such-flow", file=line("g-1", {"best": 0})).status_code == 404
    assert console.get(gold_url(job.name, "?after=" + "a" * 129)).status_code == 400
    assert console.get(gold_url(job.name, "/retire?item=" + "a" * 129)).status_code == 400
    assert console.get(gold_url(job.name, "/retire")).status_code == 400
    assert console.get(gold_url(job.name, "/retire?item=nothing")).status_code == 404
    assert console.get(gold_url(job.name, "/resume?worker=" + "a" * 321)).status_code == 400
    assert console.get(gold_url(job.name, "/resume?worker=nobody@example.org")).status_code == 404
    assert console.post(gold_url(job.name, "/retire"), {"item": "nothing"}).status_code == 404


def test_items_come_in_keyset_pages(console: ConsoleBrowser, services: Services, job: FlowDefinition) -> None:
    gold.add_items(services, CALLER, job.name, [line(f"item-{i:03}", {"best": 0}) for i in range(150)])
    first = console.get(gold_url(job.name))
    names = re.findall(r'<th scope="row" class="mono-wrap">(item-\d+)</th>', first.text)
    assert names == [f"item-{i:03}" for i in range(100)]
    match = re.search(r'href="([^"]+)" rel="next"', first.text)
    assert match and html.unescape(match.group(1)) == gold_url(job.name, "?after=item-099")
    second = console.get(html.unescape(match.group(1)))
    names = re.findall(r'<th scope="row" class="mono-wrap">(item-\d+)</th>', second.text)
    assert names == [f"item-{i:03}" for i in range(100, 150)]
    assert 'rel="next"' not in second.text and "First page" in second.text


def test_retire_is_confirmed_first(console: ConsoleBrowser, services: Services, job: FlowDefinition) -> None:
    gold.add_items(services, CALLER, job.name, [line("g/1 ?&", {"best": 0}), line("g-2", {"best": 1})])
    listed = console.get(gold_url(job.name))
    link = gold_url(job.name, "/retire?item=g/1%20%3F%26")  # "/" may stay as it is in a query
    assert f'href="{html.escape(link)}"' in listed.text
    confirm = console.get(link)
    assert confirm.status_code == 200
    assert "Retire gold item g/1 ?&?" in text(confirm) and "No worker is offered it again" in text(confirm)
    assert [i.retired for i in gold.list_items(services, CALLER, job.name)] == [False, False]  # a GET changes nothing
    assert console.post(gold_url(job.name, "/retire"), {"item": "g/1 ?&"}, csrf="forged").status_code == 403
    done = console.post(gold_url(job.name, "/retire"), {"item": "g/1 ?&"})
    assert done.status_code == 303
    assert "Gold item g/1 ?& was retired." in text(console.get(done.headers["location"]))
    assert [i.retired for i in gold.list_items(services, CALLER, job.name)] == [True, False]
    page = text(console.get(gold_url(job.name)))
    assert "Active items 1" in page and "Retired 1" in page
    assert console.get(link).status_code == 404  # retired already
    assert console.post(gold_url(job.name, "/retire"), {"item": "g/1 ?&"}).status_code == 404


def test_a_worker_who_failed_is_resumed_after_confirming(
    console: ConsoleBrowser, services: Services, root_app: CrowdloopApp
) -> None:
    job = qualification_job(services)
    bad = add_worker(services, "bad@example.org")
    worker = Browser(root_app)
    try:
        worker.sign_in("bad@example.org")
        answer_qualification(worker, job, [0, 2])  # one right, one wrong: 1 of 2, below 0.75
    finally:
        worker.close()
    page = console.get(gold_url(job.name))
    shown = text(page)
    assert "bad@example.org failed the qualification" in shown and "2 gold answers, accuracy 0.50" in shown
    assert "q0 best: 0 1 1.00" in shown and "q1 best: 0 1 0.00" in shown  # each item's answers and mean score
    assert "Answers 2 Mean score 0.50" in text(console.get(f"/console/flows/{job.name}"))
    confirm = console.get(gold_url(job.name, "/resume?worker=bad%40example.org"))
    assert confirm.status_code == 200 and "Resume bad@example.org?" in text(confirm)
    assert console.post(gold_url(job.name, "/resume"), {"worker": "bad@example.org"}, csrf="").status_code == 403
    assert gold.blocked_workers(services, CALLER, job.name)  # still blocked
    done = console.post(gold_url(job.name, "/resume"), {"worker": "bad@example.org"})
    assert done.status_code == 303
    after = text(console.get(done.headers["location"]))
    assert f"bad@example.org may work on {job.name} again" in after and "No worker is paused." in after
    assert gold.blocked_workers(services, CALLER, job.name) == []
    standing = gold.standings(services, bad.id, [job.id])[job.id]
    assert standing.gold_answered == 0 and not standing.failed
