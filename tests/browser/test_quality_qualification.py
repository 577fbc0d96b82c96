"""crowdloop:qualification in a real browser (issue 12, Proof) against `crowdloop serve` (SQLite and
PostgreSQL): the seed notebook's ranking job made with boto3, tagged crowdloop:qualification=2 and
crowdloop:gold-min-accuracy=1; two gold items uploaded as a JSONL file on the console's gold page; one loop
started with boto3. Worker B answers one check question wrong: the page says they did not pass, and they get
no task although the loop still waits for an answer. Worker A answers both right (the best response ranked 1,
the others 3, in the seed's selects), gets the real task at once, sees on the job list that they passed, and
submits it. boto3 then
sees the loop Completed with only A's answer in output.json, no gold item in it or in ListHumanLoops; the
console's gold page counts the four gold answers and shows B as failed."""

from __future__ import annotations

import json
import re
import uuid
from typing import Any

from playwright.sync_api import Browser, Page, expect

from tests.browser.axe import assert_accessible
from tests.browser.console_tab import open_console
from tests.browser.portal_site import PHONE, Site, Worker, open_worker, seed_template, site  # noqa: F401
from tests.conftest import RunningServer

TITLE = "Rank the answers (qualification first)"
RESPONSES = ["Paris is the capital of France.", "Lyon.", "France has no capital."]
CHECKS = [("check-capital", "Question A: what is the capital of France?"), ("check-mirror", "Question B: mirrors?")]
REAL_PROMPT = "Real question: which answer is best?"


def _gold_file() -> bytes:
    lines = [
        {"id": name, "input": {"taskObject": {"prompt": prompt, "responses": RESPONSES}}, "answer": {"best": 0}}
        for name, prompt in CHECKS
    ]
    return "\n".join(json.dumps(line) for line in lines).encode()


def _make_job(server: RunningServer) -> tuple[str, str, str]:
    """Work team, task UI and flow definition through boto3, with the qualification tags: (flow name, its ARN,
    the team's group)."""
    sm = server.client("sagemaker")
    n = uuid.uuid4().hex[:10]
    group = f"q-{n}"
    team = sm.create_workteam(
        WorkteamName=f"qual-{n}",
        Description="qualification",
        MemberDefinitions=[{"OidcMemberDefinition": {"Groups": [group]}}],
    )["WorkteamArn"]
    ui = sm.create_human_task_ui(HumanTaskUiName=f"qual-ui-{n}", UiTemplate={"Content": seed_template()})
    name = f"qual-fd-{n}"
    arn = sm.create_flow_definition(
        FlowDefinitionName=name,
        RoleArn="arn:aws:iam::123456789012:role/a2i",
        HumanLoopConfig={
            "WorkteamArn": team,
            "HumanTaskUiArn": ui["HumanTaskUiArn"],
            "TaskCount": 1,
            "TaskTitle": TITLE,
            "TaskDescription": "Answer two check questions first",
        },
        OutputConfig={"S3OutputPath": "s3://browser-bucket/qualification"},
        Tags=[
            {"Key": "crowdloop:qualification", "Value": "2"},
            {"Key": "crowdloop:gold-min-accuracy", "Value": "1"},
        ],
    )["FlowDefinitionArn"]
    return name, arn, group


def _upload_gold(browser: Browser, site: Site, server: RunningServer, flow: str) -> None:  # noqa: F811
    """The gold items as a JSONL file through the console: flow page, its gold card, the upload form."""
    with open_console(browser, site, server) as tab:
        page = tab.page
        page.goto(f"{site.url}/console/flows/{flow}")
        card = page.get_by_role("region", name="Gold items")
        expect(card.get_by_text("qualification 2")).to_be_visible()
        card.get_by_role("link", name="Manage gold items").click()
        expect(page.get_by_role("heading", name=f"Gold items of {flow}")).to_be_visible()
        page.get_by_label("JSONL file").set_input_files(
            {"name": "gold.jsonl", "mimeType": "application/jsonl", "buffer": _gold_file()}
        )
        page.get_by_role("button", name="Add gold items").click()
        expect(page.get_by_role("status").filter(has_text="2 gold items were added.")).to_be_visible()
        expect(page.get_by_role("row", name=re.compile("check-capital best: 0"))).to_be_visible()
        tab.check()


def _rank(worker: Worker, best: int) -> None:
    """In the seed's selects: `best` ranked 1, the other responses 3."""
    for k in range(3):
        worker.frame.locator(f'select[name="response_{k + 1}_ranking"]').select_option("1" if k == best else "3")


def _answer_checks(worker: Worker, bests: list[int]) -> None:
    """Start working and answer the two check questions, the notice counting down on each task page."""
    page = worker.page
    jobs = page.get_by_role("listitem").filter(has=page.get_by_role("heading", name=TITLE))
    expect(jobs.get_by_text("Qualification: answer 2 questions first.")).to_be_visible()
    worker.start(TITLE)
    for number, best in enumerate(bests):
        worker.wait_for_task()
        left = len(bests) - number
        expect(
            page.get_by_text(f"Qualification: answer {left} question{'s' if left > 1 else ''} first.")
        ).to_be_visible()
        expect(worker.frame.get_by_text(CHECKS[number][1]).first).to_be_visible()  # the oldest item first
        _rank(worker, best)
        opened = page.url
        worker.frame.get_by_role("button", name="Submit").click()
        page.wait_for_url(lambda url, opened=opened: url != opened)


def _output(server: RunningServer, loop: str) -> dict[str, Any]:
    uri = server.client("sagemaker-a2i-runtime").describe_human_loop(HumanLoopName=loop)["HumanLoopOutput"][
        "OutputS3Uri"
    ]
    bucket, key = uri.removeprefix("s3://").split("/", 1)
    body = server.client("s3").get_object(Bucket=bucket, Key=key)["Body"]
    with body:
        return dict(json.loads(body.read()))


def _gold_page_at(page: Page, url: str, width: int) -> None:
    page.set_viewport_size({"width": width, "height": 900})
    page.goto(url)
    assert_accessible(page, context=f"gold page at {width} px")


def test_the_qualification_in_the_browser(site: Site, browser: Browser, server: RunningServer) -> None:  # noqa: F811
    flow, flow_arn, group = _make_job(server)
    site.teams.append(f"qual-{group.removeprefix('q-')}")  # deleted after the test, as site.team()'s
    _upload_gold(browser, site, server, flow)
    a2i = server.client("sagemaker-a2i-runtime")
    loop = f"qual-loop-{uuid.uuid4().hex[:8]}"
    a2i.start_human_loop(
        HumanLoopName=loop,
        FlowDefinitionArn=flow_arn,
        HumanLoopInput={"InputContent": json.dumps({"taskObject": {"prompt": REAL_PROMPT, "responses": RESPONSES}})},
    )
    worker_a, worker_b = site.worker(group), site.worker(group)

    with open_worker(browser, site) as b:
        b.sign_in(worker_b)
        _answer_checks(b, [0, 2])  # the second one wrong: 1 of 2, below gold-min-accuracy 1
        failed = "You did not pass the qualification for this job (1 of 2)."
        expect(b.page.get_by_text(failed)).to_be_visible()
        assert "/tasks/" not in b.page.url and b.page.locator("iframe").count() == 0
        b.page.goto(site.url + "/")
        card = b.page.get_by_role("listitem").filter(has=b.page.get_by_role("heading", name=TITLE))
        expect(card.get_by_text(failed)).to_be_visible()
        expect(card.get_by_role("button", name="Start working")).to_have_count(0)
        b.check()
    assert a2i.describe_human_loop(HumanLoopName=loop)["HumanLoopStatus"] == "InProgress"  # a task was there

    with open_worker(browser, site) as a:
        a.sign_in(worker_a)
        _answer_checks(a, [0, 0])
        a.wait_for_task()  # the real task follows the last check question at once
        real_task = a.page.url
        assert re.search(r"/tasks/\d+$", real_task), real_task
        expect(a.page.get_by_text("Qualification:")).to_have_count(0)
        a.page.goto(site.url + "/")  # the job list says so; the task is held meanwhile
        card = a.page.get_by_role("listitem").filter(has=a.page.get_by_role("heading", name=TITLE))
        expect(card.get_by_text("You passed the qualification for this job (2 of 2).")).to_be_visible()
        a.start(TITLE)
        a.wait_for_task()
        assert a.page.url == real_task
        expect(a.frame.get_by_text(REAL_PROMPT).first).to_be_visible()
        _rank(a, 1)
        a.frame.get_by_role("button", name="Submit").click()
        expect(a.page.get_by_role("heading", name="No tasks left")).to_be_visible()
        a.check()

    assert a2i.describe_human_loop(HumanLoopName=loop)["HumanLoopStatus"] == "Completed"
    document = _output(server, loop)
    answers = document["humanAnswers"]
    assert len(answers) == 1 and answers[0]["answerContent"] == {
        "response_1_ranking": "3",
        "response_2_ranking": "1",
        "response_3_ranking": "3",
    }
    assert document["inputContent"]["taskObject"]["prompt"] == REAL_PROMPT
    assert not any(prompt in json.dumps(document) for _, prompt in CHECKS)  # no gold item in the output
    listed = a2i.list_human_loops(FlowDefinitionArn=flow_arn)["HumanLoopSummaries"]
    assert [summary["HumanLoopName"] for summary in listed] == [loop]  # gold items are not loops

    with open_console(browser, site, server) as tab:  # the console counts the gold answers and shows B failed
        page = tab.page
        gold_url = f"{site.url}/console/flows/{flow}/gold"
        page.goto(gold_url)
        summary = page.get_by_role("region", name="Gold items")
        expect(summary.get_by_role("definition").nth(1)).to_have_text("4")  # Answers: two from each worker
        blocked = page.get_by_role("region", name="Paused workers")
        expect(blocked.get_by_text(worker_b)).to_be_visible()
        expect(blocked.get_by_text(worker_a)).to_have_count(0)
        for width in (1280, PHONE["width"]):
            _gold_page_at(page, gold_url, width)
        tab.check()
