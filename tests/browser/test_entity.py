"""crowd-entity-annotation: self-contained (own form and Submit button), mouse and keyboard tagging."""

# ruff: noqa: E501  (HTML templates are kept on one line each for readability)

from __future__ import annotations

from playwright.sync_api import Page, expect

from tests.browser.harness import CHARACTER_POINTS, TaskPage, render_corpus

LABELS = "[{label: 'per', shortDisplayName: 'PER', fullDisplayName: 'Person'}, {label: 'org', shortDisplayName: 'ORG', fullDisplayName: 'Organisation'}]"


def select_chars(page: Page, start: int, end: int) -> None:
    """Drag the mouse across characters [start, end) of the annotator's text."""
    box = page.evaluate(
        CHARACTER_POINTS,
        [start, end],
    )
    page.mouse.move(*box[0])
    page.mouse.down()
    page.mouse.move(*box[1], steps=4)
    page.mouse.up()


def test_top_level_annotation_by_mouse(task: TaskPage) -> None:
    # catalog F8: no outer crowd-form
    page = task.open(f"""<crowd-entity-annotation name="ner" header="Tag the names" labels="{LABELS}" text="Alice works at Initech in Paris.">
      <short-instructions>Tag people and organisations.</short-instructions></crowd-entity-annotation>""")
    select_chars(page, 0, 5)
    expect(page.get_by_role("button", name="Remove Person: Alice").last).to_be_visible()
    page.get_by_text("Organisation", exact=True).click()
    select_chars(page, 15, 22)
    assert task.submit_and_answer() == {
        "ner": {
            "entities": [
                {"label": "per", "startOffset": 0, "endOffset": 5},
                {"label": "org", "startOffset": 15, "endOffset": 22},
            ]
        }
    }


def test_keyboard_tagging_relabel_and_remove(task: TaskPage) -> None:
    page = task.open(f"""<crowd-entity-annotation name="ner" labels="{LABELS}" text="Alice works at Initech in Paris."
      initial-value="[{{label: 'per', startOffset: 26, endOffset: 31}}]"></crowd-entity-annotation>""")
    text = page.get_by_role("textbox", name="Text to annotate")
    text.focus()
    # Ctrl+Right three times: after "at"; then select the next word
    for _ in range(3):
        page.keyboard.press("Control+ArrowRight")
    page.keyboard.press("ArrowRight")
    page.keyboard.press("Control+Shift+ArrowRight")
    page.keyboard.press("2")
    page.keyboard.press("Enter")
    # select "Paris" exactly again: relabelled, not duplicated
    page.keyboard.press("End")
    page.keyboard.press("ArrowLeft")
    for _ in range(5):
        page.keyboard.press("Shift+ArrowLeft")
    page.keyboard.press("Enter")
    # and remove the Initech tag with the caret inside it
    page.keyboard.press("Home")
    for _ in range(17):
        page.keyboard.press("ArrowRight")
    page.keyboard.press("Delete")
    page.get_by_role("list", name="Tagged spans").get_by_role("button", name="Remove Organisation: Paris").click()
    page.keyboard.press("Home")
    page.keyboard.press("Shift+Control+ArrowRight")
    page.keyboard.press("1")
    page.keyboard.press("Enter")
    page.keyboard.press("Control+Enter")
    assert task.answer() == {"ner": {"entities": [{"label": "per", "startOffset": 0, "endOffset": 5}]}}


def test_additional_questions_moved_into_the_inner_form(task: TaskPage) -> None:
    page = task.open(
        render_corpus(
            task,
            "amazon-sagemaker-ground-truth-task-uis/text/named-entity-recognition-with-additional-classification.liquid.html",
        )
    )
    expect(page.get_by_text("What is the overall subject of this text?")).to_be_visible()
    select_chars(page, 0, 6)
    page.get_by_role("radio", name="Technology").click()
    expect(page.get_by_role("button", name="Submit", exact=True)).to_have_count(1)
    assert task.submit_and_answer() == {
        "crowd-entity-annotation": {"entities": [{"label": "person", "startOffset": 0, "endOffset": 6}]},
        "tech": {"tech": True},
        "politics": {"politics": False},
    }


def test_offsets_are_utf16_units_and_overlaps_are_refused(task: TaskPage) -> None:
    page = task.open(
        f"""<crowd-entity-annotation name="ner" labels="{LABELS}" text="\U0001f600 Ann and Bo"></crowd-entity-annotation>"""
    )
    select_chars(page, 3, 6)
    select_chars(page, 5, 9)  # overlaps "Ann": refused with a message
    expect(page.get_by_role("alert")).to_contain_text("overlaps a tagged span")
    assert task.submit_and_answer() == {"ner": {"entities": [{"label": "per", "startOffset": 3, "endOffset": 6}]}}


def test_inside_an_outer_form_it_answers_through_it(task: TaskPage) -> None:
    page = task.open(f"""<crowd-form><crowd-entity-annotation name="ner" labels="{LABELS}" text="Bob"></crowd-entity-annotation>
      <crowd-input name="note" value="n"></crowd-input></crowd-form>""")
    expect(page.get_by_role("button", name="Submit", exact=True)).to_have_count(1)
    select_chars(page, 0, 3)
    assert task.submit_and_answer() == {
        "ner": {"entities": [{"label": "per", "startOffset": 0, "endOffset": 3}]},
        "note": "n",
    }
