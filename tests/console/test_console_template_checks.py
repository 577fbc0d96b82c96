"""The template page's "Checks" box (crowdloop.templatecheck, as `crowdloop lint`): the seed notebook's
template is flagged, with the newest loop's input or a made-up one; a fixed copy is clean; the preview API
returns the checks for the sample input being edited."""

from __future__ import annotations

import html
import json
import re

from crowdloop import flows
from crowdloop.runtime import Services
from tests.console.kit import ConsoleBrowser
from tests.domain.loopsetup import CALLER, make_flow, start
from tests.domain.test_templatecheck import FIXED, SEED, THREE, TWO

_CHECKS = re.compile(r'<section class="card checks".*?</section>', re.S)


def checks_box(page: str) -> str:
    found = _CHECKS.search(page)
    assert found, page
    return html.unescape(found.group(0))


def test_the_seed_template_is_flagged(console: ConsoleBrowser, services: Services) -> None:
    flow = make_flow(services, "fd-seed", template=SEED)
    ui = flow.human_task_ui_arn.rsplit("/", 1)[1]
    made_up = checks_box(console.get(f"/console/templates/{ui}").text)  # no loop yet: a made-up input
    assert "an input made up from the template's expressions" in made_up
    assert "taskObject.responses[2] is never shown, yet the answer field response_3_ranking refers to it" in made_up
    assert "taskObject.responses[1] is shown 2 times" in made_up
    assert "WARNING" in made_up and "No problems found." in made_up and " hidden>No problems found." in made_up
    start(services, flow, "seed-loop", TWO)  # the newest loop's input: two responses
    page = console.get(f"/console/templates/{ui}")
    assert page.status_code == 200
    box = checks_box(page.text)
    assert "Checked with the sample input" in box
    assert "form field response_3_ranking refers to taskObject.responses[2], which the input does not have" in box


def test_a_fixed_template_is_clean_and_the_api_follows_the_input(console: ConsoleBrowser, services: Services) -> None:
    flows.create_human_task_ui(services, CALLER, "ui-fixed", FIXED)
    box = checks_box(console.get("/console/templates/ui-fixed", params={"input": json.dumps(THREE)}).text)
    assert "WARNING" not in box and 'class="notice checks-clean">No problems found.' in box
    api = "/console/api/templates/ui-fixed/preview"
    clean = console.get(api, params={"input": json.dumps(THREE)}).json()["checks"]
    assert clean["made_up"] is False
    assert [f["severity"] for f in clean["findings"]] == ["info"]
    short = console.get(api, params={"input": json.dumps(TWO)}).json()["checks"]
    assert [(f["severity"], f["line"]) for f in short["findings"] if f["severity"] != "info"] == [
        ("warning", FIXED[: FIXED.index('name="response_3_ranking"')].count("\n") + 1)
    ]
    assert console.get(api, params={"input": "{}"}).json()["checks"]["made_up"] is True
