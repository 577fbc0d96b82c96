"""crowdloop.Client's default templates in a real browser: rendered by crowdloop's Liquid as the portal renders
them, answered by a worker, and the answer read by the export without a mapping file (the pair the client
counts on: a template whose answers the export could not read would give empty datasets)."""

from __future__ import annotations

from typing import Any

from playwright.sync_api import expect

from crowdloop.client import templates
from crowdloop.export.mapping import Mapper
from crowdloop.export.model import ProblemLog, RawAnswer, RawLoop
from crowdloop.liquid import render_task
from tests.browser.harness import TaskPage

PAIR = {"prompt": "Which greeting is friendlier?", "responses": ["Hello <friend> & co", "Go away"]}


def _render(template: str, item: dict[str, Any]) -> str:
    rendered = render_task(template, {"taskObject": item})
    assert rendered.errors == []
    return rendered.html


def _export_reads(item: dict[str, Any], answer: dict[str, Any]) -> Any:
    problems = ProblemLog()
    mapped = Mapper(problems).map(RawLoop("l1", "fd", {"taskObject": item}, (RawAnswer("w1", answer),)))
    assert mapped is not None, dict(problems.counts)
    return mapped


def test_rank_template(task: TaskPage) -> None:
    item = {"prompt": "Best capital fact?", "responses": ["Paris is the capital.", "Lyon is.", "I don't know"]}
    page = task.open(_render(templates.rank("Rank by accuracy.", ["Accuracy"], allow_ties=False), item))
    expect(page.get_by_text("Best capital fact?")).to_be_visible()
    expect(page.get_by_text("I don't know")).to_be_visible()
    expect(page.get_by_text("Rank by accuracy.")).to_be_visible()
    for response, rank in ((1, "1"), (2, "2"), (3, "3")):
        page.get_by_role("combobox", name=f"Accuracy: rank of response {response}").select_option(rank)
    answer = task.submit_and_answer()
    assert answer == {"ranking": {"ordinalRankingDimensions": [{"name": "Accuracy", "responseRankings": [1, 2, 3]}]}}
    mapped = _export_reads(item, answer)
    assert mapped.responses == tuple(item["responses"]) and mapped.judgments[0].values == (1.0, 2.0, 3.0)


def test_rate_template(task: TaskPage) -> None:
    page = task.open(_render(templates.rate("", 1, 5), PAIR))
    expect(page.get_by_text("Rate each response from 1 (worst) to 5 (best).")).to_be_visible()
    expect(page.get_by_text("Hello <friend> & co")).to_be_visible()  # escaped, shown as text
    assert "Please choose a value on this scale." in task.submit_blocked()
    sliders = page.get_by_role("slider")
    expect(sliders).to_have_count(2)
    sliders.nth(0).focus()
    for _ in range(3):
        page.keyboard.press("ArrowRight")
    sliders.nth(1).focus()
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowLeft")
    answer = task.submit_and_answer()
    assert answer == {"response_1_rating": 4, "response_2_rating": 1}
    assert _export_reads(PAIR, answer).judgments[0].values == (4.0, 1.0)


def test_compare_template(task: TaskPage) -> None:
    page = task.open(_render(templates.compare(""), PAIR))
    expect(page.get_by_role("radiogroup", name="Which response is better?")).to_be_visible()
    expect(page.get_by_text("Go away")).to_be_visible()
    page.get_by_role("radio", name="B is better").check()
    answer = task.submit_and_answer()
    assert answer == {"choice": {"label": "B is better"}}
    assert _export_reads(PAIR, answer).judgments[0].values == (2.0, 1.0)  # response B ranked first


def test_label_template(task: TaskPage) -> None:
    item = {"text": "You are wonderful."}
    labels = ["ok", "toxic", "spam"]
    page = task.open(_render(templates.label("Is it toxic?", labels), item))
    expect(page.get_by_text("You are wonderful.")).to_be_visible()
    expect(page.get_by_role("radio")).to_have_count(3)
    page.get_by_role("radio", name="toxic").check()
    answer = task.submit_and_answer()
    assert answer == {"label": {"label": "toxic"}}
    assert _export_reads(item, answer).judgments[0].labels == ("toxic",)
