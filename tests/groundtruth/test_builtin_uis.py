"""The built-in NamedEntityRecognition task UI (ground-truth-api.md §9.3), rendered by the renderer of
RenderUiTemplate and the worker portal."""

from __future__ import annotations

import json
from html.parser import HTMLParser
from typing import Any

import pytest

from crowdloop.groundtruth.builtin_uis import BUILTIN_UI_NAMES, builtin_ui_name, builtin_ui_template
from crowdloop.jsoncheck import renderable
from crowdloop.liquid import check_template, render_task

NER_ARN = "arn:aws:sagemaker:us-west-2:394669845002:human-task-ui/NamedEntityRecognition"
LABELS = [{"label": "person", "shortDisplayName": "PER"}, {"label": 'org "inc" & co', "shortDisplayName": "ORG"}]
TASK_INPUT = {
    "taskObject": 'Ann <b>met</b> Bo & "Initech" in Zürich 😀.',
    "labels": LABELS,
    "shortInstruction": "<p>Tag people &amp; organisations.</p>",
    "fullInstruction": "<ol><li>Read the text.</li><li>Highlight names.</li></ol>",
}


class Elements(HTMLParser):
    """Every start tag's attributes (decoded, as a browser reads them) and the text inside each element."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.open: list[str] = []
        self.text: dict[str, str] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        self.open.append(tag)

    def handle_endtag(self, tag: str) -> None:
        self.open.pop()

    def handle_data(self, data: str) -> None:
        for tag in self.open:
            self.text[tag] = self.text.get(tag, "") + data


def render(task_input: dict[str, Any]) -> tuple[str, Elements]:
    template = builtin_ui_template("NamedEntityRecognition")
    assert template is not None and check_template(template) == []
    result = render_task(template, renderable(task_input))
    assert result.errors == []
    page = Elements()
    page.feed(result.html)
    return result.html, page


def test_the_ner_ui_renders_the_entity_element_from_the_task_input() -> None:
    html, page = render(TASK_INPUT)
    assert [tag for tag, _ in page.tags if tag.startswith("crowd-")] == ["crowd-entity-annotation"]  # top level
    [element] = [attrs for tag, attrs in page.tags if tag == "crowd-entity-annotation"]
    assert element["name"] == "crowd-entity-annotation"  # the answer's key
    assert element["text"] == TASK_INPUT["taskObject"]
    assert json.loads(element["labels"] or "") == LABELS
    assert element["header"] == "Tag people & organisations."  # the short instruction's text
    assert "<b>met</b>" not in html and "&lt;b&gt;met&lt;/b&gt;" in html
    assert "<ol><li>Read the text.</li><li>Highlight names.</li></ol>" in html  # instructions are HTML
    assert page.text["full-instructions"].split() == ["Read", "the", "text.Highlight", "names."]
    assert page.text["short-instructions"].strip() == "Tag people & organisations."
    assert [tag for tag, _ in page.tags].count("full-instructions") == 1


def test_the_ner_ui_loads_the_crowd_elements() -> None:
    # the portal's task frame runs only the scripts a template names (found by the browser test of
    # labeling jobs: without the tag the element was never defined and the task never became ready)
    _, page = render(TASK_INPUT)
    scripts = [attrs.get("src") for tag, attrs in page.tags if tag == "script"]
    assert scripts == ["https://assets.crowd.aws/crowd-html-elements.js"]
    assert [tag for tag, _ in page.tags].index("script") < [tag for tag, _ in page.tags].index(
        "crowd-entity-annotation"
    )


def test_a_header_in_the_task_input_wins() -> None:
    _, page = render({**TASK_INPUT, "header": 'Tag the "names"'})
    [element] = [attrs for tag, attrs in page.tags if tag == "crowd-entity-annotation"]
    assert element["header"] == 'Tag the "names"'


def test_a_bare_task_input_still_renders() -> None:
    _, page = render({"taskObject": "Ann", "labels": ["person"]})
    [element] = [attrs for tag, attrs in page.tags if tag == "crowd-entity-annotation"]
    assert element["header"] == "" and element["text"] == "Ann" and json.loads(element["labels"] or "") == ["person"]


def test_only_the_ner_ui_is_shipped() -> None:
    assert builtin_ui_name(NER_ARN) == "NamedEntityRecognition"
    assert builtin_ui_name("arn:aws-cn:sagemaker:cn-north-1:394669845002:human-task-ui/VideoObjectTracking") == (
        "VideoObjectTracking"
    )
    assert builtin_ui_name("arn:aws:sagemaker:us-west-2:123456789012:human-task-ui/NamedEntityRecognition") is None
    assert builtin_ui_name("arn:aws:sagemaker:us-west-2:394669845002:human-task-ui/Mine") is None
    shipped = [name for name in BUILTIN_UI_NAMES if builtin_ui_template(name) is not None]
    assert shipped == ["NamedEntityRecognition"]
    assert builtin_ui_template("BoundingBox") is None


@pytest.mark.parametrize("name", BUILTIN_UI_NAMES)
def test_every_builtin_name_parses_from_its_arn(name: str) -> None:
    assert builtin_ui_name(f"arn:aws:sagemaker:eu-central-1:394669845002:human-task-ui/{name}") == name
