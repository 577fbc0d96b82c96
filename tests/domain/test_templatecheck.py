"""The template checks (crowdloop.templatecheck) on the seed notebooks' templates, a fixed copy of the English
one, small templates made to show each finding, and every template of the corpus (no false alarms)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from crowdloop.export.mapping import mapping_from_dict
from crowdloop.liquid.references import ITEM, input_references
from crowdloop.templatecheck import Finding, check_template
from crowdloop.templateinput import made_up_input
from tests.shared import CORPUS, SEED_KO, seed_template

SEED = seed_template()
# the seed's third item shows responses[2], as its select response_3_ranking says
FIXED = SEED.replace(
    'responses[1] }}</b></br>\n  </p>\n  <div>\n      <select name="response_3_ranking"',
    'responses[2] }}</b></br>\n  </p>\n  <div>\n      <select name="response_3_ranking"',
)
THREE = {"taskObject": {"prompt": "Which answer is best?", "responses": ["first", "second", "third"]}}
TWO = {"taskObject": {"prompt": "Which answer is best?", "responses": ["first", "second"]}}


def alarms(findings: list[Finding]) -> list[tuple[str, str]]:
    return [(f.code, f.summary) for f in findings if f.alarming]


def template_line(template: str, text: str, occurrence: int = 1) -> int:
    at = -1
    for _ in range(occurrence):
        at = template.index(text, at + 1)
    return template.count("\n", 0, at) + 1


@pytest.mark.parametrize("task_input", [None, THREE], ids=["made-up input", "the seed's input"])
def test_the_seed_shows_responses_1_twice_and_never_responses_2(task_input: dict[str, object] | None) -> None:
    findings = check_template(SEED, task_input)
    assert alarms(findings) == [
        ("value-shown-twice", "template shows taskObject.responses[1] 2 times"),
        ("value-not-shown", "template never shows taskObject.responses[2] (response_3_ranking)"),
    ]
    twice, unseen = (f for f in findings if f.alarming)
    assert twice.line == template_line(SEED, "responses[1]", 2)  # the second copy: the likely slip
    assert "before response_2_ranking; before response_3_ranking" in twice.message
    assert unseen.line == template_line(SEED, 'name="response_3_ranking"')
    assert "the export pairs response_3_ranking with a text no worker saw" in unseen.message
    assert twice.describe().startswith(f"WARNING line {twice.line}: taskObject.responses[1] is shown 2 times")


def test_the_fixed_seed_is_clean() -> None:
    assert FIXED != SEED
    for task_input in (None, THREE):
        findings = check_template(FIXED, task_input)
        assert alarms(findings) == []
        assert [f.code for f in findings] == ["mapping"]
        assert "convention seed" in findings[0].message and "3 responses" in findings[0].message


def test_the_korean_seed_ranks_two_responses() -> None:
    korean = seed_template(SEED_KO)
    assert alarms(check_template(korean)) == []
    assert alarms(check_template(korean, TWO)) == []
    # given the English notebook's three responses, no field reads the third: every answer would be dropped
    assert alarms(check_template(korean, THREE)) == [
        ("field-missing", "template has no field response_3_ranking for taskObject.responses[2]")
    ]


def test_a_field_for_a_response_the_input_lacks() -> None:
    findings = check_template(FIXED, TWO)
    assert alarms(findings) == [("field-unmapped", "template field response_3_ranking refers to no response")]


def test_a_field_of_another_convention_is_not_read() -> None:
    template = FIXED.replace("</crowd-form>", '<crowd-slider name="response_1_rating"></crowd-slider></crowd-form>')
    assert alarms(check_template(template, THREE)) == [
        ("field-unmapped", "template field response_1_rating is not read")
    ]


def test_loops_are_followed() -> None:
    looped = (
        "<crowd-form><p>{{ task.input.prompt }}</p>{% for r in task.input.responses %}<p>{{ r.text }}</p>"
        '<select name="response_{{ forloop.index }}_ranking"><option>1</option></select>{% endfor %}</crowd-form>'
    )
    refs = input_references(looped)
    assert [(r.path, r.iterated) for r in refs] == [
        (("prompt",), False),
        (("responses",), True),
        (("responses", ITEM, "text"), False),
    ]
    assert made_up_input(refs)["responses"] == [{"text": f"responses.{i}.text"} for i in range(3)]
    assert alarms(check_template(looped)) == []
    assert alarms(check_template(looped, {"prompt": "p", "responses": [{"text": "a"}, {"text": "b"}]})) == []
    # the loop shows the first response for each item
    broken = looped.replace("{{ r.text }}", "{{ task.input.responses[0].text }}")
    assert sorted(code for code, _ in alarms(check_template(broken))) == [
        "value-not-shown",
        "value-not-shown",
        "value-shown-twice",
    ]


def test_a_pairwise_choice_must_show_both_responses() -> None:
    template = (
        "<crowd-form><p>{{ task.input.prompt }}</p><p>A: {{ task.input.responses[0] }}</p>"
        "<p>B: {{ task.input.responses[0] }}</p>"
        "<crowd-classifier name=\"choice\" categories=\"['A is better', 'B is better', 'Tie']\" header=\"Which?\">"
        "<classification-target>Pick one</classification-target></crowd-classifier></crowd-form>"
    )
    assert alarms(check_template(template)) == [
        ("value-shown-twice", "template shows responses[0] 2 times"),
        ("value-not-shown", "template never shows responses[1] (choice)"),
    ]
    fixed = template.replace("B: {{ task.input.responses[0] }}", "B: {{ task.input.responses[1] }}")
    assert alarms(check_template(fixed)) == []


def test_a_given_mapping_decides() -> None:
    """The corpus' text-ranking template keeps its prompt at `source`: only a mapping file says so."""
    path = "amazon-sagemaker-ground-truth-task-uis/gen-ai/text-ranking.liquid.html"
    template = (CORPUS / path).read_text()
    mapping = mapping_from_dict(
        {
            "input": {"prompt": "source", "responses": "responses"},
            "answer": {"list": "textRanking.ordinalRankingDimensions"},
        }
    )
    findings = check_template(template, mapping=mapping)
    assert alarms(findings) == [] and "convention file" in findings[0].message
    hidden = template.replace("responses='{{ task.input.responses | to_json }}'", "")
    assert [code for code, _ in alarms(check_template(hidden, mapping=mapping))] == ["value-not-shown"] * 3


def test_syntax_and_render_errors() -> None:
    [syntax] = check_template("<p>\n{% if task.input.x %}</p>{% endfor %}")
    assert (syntax.code, syntax.severity, syntax.line) == ("syntax", "error", 2)
    assert syntax.describe() == "ERROR line 2: the template does not parse: unexpected tag 'endfor' (line 2, column 29)"
    unknown = "<crowd-form>{{ task.input.x | no_such_filter }}</crowd-form>"
    assert [(f.code, f.severity) for f in check_template(unknown, {"x": 1})] == [("render", "error")]
    failing = "<crowd-form>\n{{ task.input.x | divided_by: 0 }}</crowd-form>"
    [render] = check_template(failing, {"x": 1})
    assert (render.code, render.severity, render.line) == ("render", "error", 2)
    assert [f.severity for f in check_template(failing)] == ["info"]  # with a made-up input: only a note


def corpus_templates() -> list[Path]:
    return sorted(p for p in CORPUS.rglob("*") if p.suffix in (".html", ".liquid") and "inputs" not in p.parts)


def test_no_false_alarm_on_the_corpus() -> None:
    """Every corpus template, with its sample input and with a made-up one: these templates are correct."""
    templates = corpus_templates()
    assert len(templates) == 174
    checked = 0
    for path in templates:
        template = path.read_text(errors="replace")
        sample = CORPUS / "inputs" / (str(path.relative_to(CORPUS)) + ".json")
        for task_input in (None, json.loads(sample.read_text()) if sample.exists() else None):
            found = alarms(check_template(template, task_input))
            assert found == [], f"{path.relative_to(CORPUS)}: {found}"
            checked += 1
    assert checked == 2 * len(templates)
