"""The built-in NamedEntityRecognition task UI of labeling jobs (crowdloop.groundtruth.builtin_uis) in a real
browser: it answers {"crowd-entity-annotation": {"entities": [...]}} with the label file's labels."""

from __future__ import annotations

from playwright.sync_api import expect

from crowdloop.groundtruth.builtin_uis import builtin_ui_template
from crowdloop.liquid import render_task
from tests.browser.harness import TaskPage
from tests.browser.test_entity import select_chars


def test_the_builtin_ner_ui_answers_under_crowd_entity_annotation(task: TaskPage) -> None:
    template = builtin_ui_template("NamedEntityRecognition")
    assert template is not None
    task_input = {
        "taskObject": "Alice works at Initech in Paris.",
        "labels": [
            {"label": "person", "shortDisplayName": "PER"},
            {"label": "organisation", "shortDisplayName": "ORG"},
        ],
        "shortInstruction": "<p>Tag people &amp; organisations.</p>",
        "fullInstruction": "<ol><li>Read the text.</li></ol>",
    }
    rendered = render_task(template, task_input)
    assert rendered.errors == []
    page = task.open(rendered.html)
    expect(page.get_by_text("Tag people & organisations.").first).to_be_visible()
    select_chars(page, 0, 5)
    page.get_by_text("organisation", exact=True).click()
    select_chars(page, 15, 22)
    assert task.submit_and_answer() == {
        "crowd-entity-annotation": {
            "entities": [
                {"label": "person", "startOffset": 0, "endOffset": 5},
                {"label": "organisation", "startOffset": 15, "endOffset": 22},
            ]
        }
    }
