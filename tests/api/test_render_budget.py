"""RenderUiTemplate within the render budget, over real boto3 against `crowdloop serve` (SQLite and
PostgreSQL): runaway templates fail fast with ResourceLimitExceeded, and while a render runs the server
keeps answering other requests."""

from __future__ import annotations

import json
import threading
import time
from typing import Any

from tests.api.sagemaker_helpers import ROLE, make_task_ui, make_workteam
from tests.shared import SEED_EN as SEED
from tests.timing import steady_heap

EIGHT_LOOPS = "{% for i in (1..1000000) %}{% endfor %}" * 8  # took 6.9 s before the budget
BUDGET = "The template exceeded the render budget"


def render(sm: Any, template: str, task_input: object = None) -> tuple[dict[str, Any], float]:
    started = time.monotonic()
    rendered = sm.render_ui_template(
        UiTemplate={"Content": template}, RoleArn=ROLE, Task={"Input": json.dumps(task_input or {}, ensure_ascii=False)}
    )
    return rendered, time.monotonic() - started


def only_error(rendered: dict[str, Any]) -> dict[str, str]:
    assert rendered["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert rendered["RenderedContent"] == ""
    assert [e["Code"] for e in rendered["Errors"]] == ["ResourceLimitExceeded"], rendered["Errors"]
    error: dict[str, str] = rendered["Errors"][0]
    assert error["Message"].startswith(BUDGET), error
    return error


def test_sequential_loops_share_one_budget(sm: Any) -> None:
    rendered, _ = render(sm, EIGHT_LOOPS)
    error = only_error(rendered)
    # the second loop is refused before it runs (the CPU it costs is measured in tests/liquid/test_liquid_budget.py)
    assert "a range of 1,000,000 steps, with 0 of the 1,000,000 steps left" in error["Message"]


def test_a_range_longer_than_the_budget_fails_before_it_is_used(sm: Any) -> None:
    for template in (
        "{{ (1..30000000) | sum }}",
        "{% for i in (1..30000000) reversed %}{{ i }}{% endfor %}",
        "{% assign r = (1..300000000) %}{% for i in r offset: 299999990 %}{{ i }}{% endfor %}",
    ):
        rendered, _ = render(sm, template)
        assert "of the 1,000,000 steps left" in only_error(rendered)["Message"], template


def test_output_and_values_are_limited_in_size(sm: Any) -> None:
    text = {"s": "é" * 1000}
    rendered, _ = render(sm, "{% for i in (1..20000) %}{{ task.input.s }}{% endfor %}", text)
    assert "more than 16,777,216 bytes of HTML" in only_error(rendered)["Message"]
    long = {"s": "x" * 60_000}
    for template in (
        "{{ task.input.s | replace: 'x', task.input.s }}",
        "{% assign l = task.input.s | split: ',' %}"
        "{% for i in (1..15) %}{% assign l = l | concat: l %}{% endfor %}{{ l | join }}",
    ):
        rendered, _ = render(sm, template, long)
        assert "a value of more than 16,777,216 characters" in only_error(rendered)["Message"], template


def test_normal_templates_still_render(sm: Any) -> None:
    seed = SEED.read_text()
    start = seed.index('template = r"""') + len('template = r"""')
    template = seed[start : seed.index('"""', start)]
    item = {"prompt": "How does a mirror work?", "responses": ["Light reflects.", "Magic.", "Photons bounce."]}
    rendered, _ = render(sm, template, {"taskObject": item})
    assert rendered["Errors"] == []
    assert "<b>How does a mirror work?</b>" in rendered["RenderedContent"]
    assert "<b>Magic.</b>" in rendered["RenderedContent"]

    rows = [{"id": i, "text": f"row {i}", "tags": ["a", "b"]} for i in range(2000)]
    big = (
        "{% assign sorted = task.input.rows | sort: 'id' %}{% for row in sorted %}"
        "<li id='{{ row.id }}'>{{ row.text | upcase }} {{ row.tags | join: ',' }} {{ forloop.index }}"
        " of {{ task.input.rows | size }}</li>{% endfor %}"
    )
    rendered, _ = render(sm, big, {"rows": rows})
    assert rendered["Errors"] == []
    assert rendered["RenderedContent"].count("<li") == 2000
    assert "<li id='1999'>ROW 1999 a,b 2000 of 2000</li>" in rendered["RenderedContent"]


def test_other_requests_are_answered_while_a_template_renders(sm: Any) -> None:
    make_workteam(sm)
    ui = make_task_ui(sm, content=EIGHT_LOOPS)
    outcome: dict[str, Any] = {}

    def slow_render() -> None:
        started = time.monotonic()
        outcome["rendered"] = sm.render_ui_template(HumanTaskUiArn=ui, Task={"Input": "{}"}, RoleArn=ROLE)
        outcome["seconds"] = time.monotonic() - started

    renderer = threading.Thread(target=slow_render)
    latencies = []
    with steady_heap():
        renderer.start()
        time.sleep(0.1)  # the render has started
        while renderer.is_alive():
            started = time.monotonic()
            assert sm.list_workteams()["Workteams"]
            assert sm.describe_human_task_ui(HumanTaskUiName=ui.rsplit("/", 1)[1])["HumanTaskUiArn"] == ui
            latencies.append(time.monotonic() - started)
        renderer.join()
    only_error(outcome["rendered"])
    # before: on SQLite every call waited for the whole render (latency ~ the render's own time)
    assert len(latencies) >= 3, (latencies, outcome["seconds"])
    assert max(latencies) < outcome["seconds"] / 3, (latencies, outcome["seconds"])
