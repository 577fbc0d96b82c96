"""crowd-question-answer-generation (V2): pairs, tags, references by mouse and by keyboard, limits,
and the three placements (inside a crowd-form, linked by crowd-form-element-id, standalone)."""

from __future__ import annotations

from playwright.sync_api import Locator, Page, expect

from tests.browser.harness import TaskPage, render_corpus

TEMPLATE = "amazon-sagemaker-ground-truth-task-uis/gen-ai/question-and-answer-pair.liquid.html"
PASSAGE = "source: The quick brown fox jumps over the lazy dog."


def select_text(page: Page, phrase: str) -> None:
    """Drag the mouse across `phrase` in the passage."""
    rect = page.evaluate(
        """phrase => {
      const box = document.querySelector('crowd-question-answer-generation').shadowRoot.querySelector('[part=passage]');
      const walker = document.createTreeWalker(box, NodeFilter.SHOW_TEXT);
      for (let n = walker.nextNode(); n; n = walker.nextNode()) {
        const i = n.data.indexOf(phrase);
        if (i < 0) continue;
        const r = document.createRange(); r.setStart(n, i); r.setEnd(n, i + phrase.length);
        const b = r.getBoundingClientRect();
        return {x0: b.left + 1, x1: b.right - 1, y: b.top + b.height / 2};
      }
      return null;
    }""",
        phrase,
    )
    assert rect
    page.mouse.move(rect["x0"], rect["y"])
    page.mouse.down()
    page.mouse.move(rect["x1"], rect["y"], steps=4)
    page.mouse.up()


def pair(page: Page, k: int) -> Locator:
    return page.locator("crowd-question-answer-generation [part=pair]").nth(k)


def test_template_pairs_tags_and_references(task: TaskPage) -> None:
    page = task.open(render_corpus(task, TEMPLATE))
    expect(page.get_by_text("Create questions and answers based on the provided text passage.")).to_be_visible()
    expect(page.get_by_role("document", name="Passage")).to_have_text(PASSAGE)
    message = task.submit_blocked()
    assert "Q&A pair 1: the question needs 1\u201320 words (it has 0)." in message
    first = pair(page, 0)
    first.get_by_label("Question", exact=True).fill("What does the fox jump over?")
    first.get_by_label("Answer", exact=True).fill("the lazy dog")
    expect(first.get_by_text("6 words (1\u201320)")).to_be_visible()
    assert "Q&A pair 1: choose a question tag." in task.submit_blocked()
    first.get_by_label("Question tag").select_option("What")
    assert "mark at least one supporting text" in task.submit_blocked()
    select_text(page, "the lazy dog")
    first.get_by_role("button", name="Add selected text").click()
    expect(first.get_by_role("list")).to_contain_text("“the lazy dog”")
    expect(page.locator("crowd-question-answer-generation mark")).to_have_text("the lazy dog")
    # second pair: custom tag, about the whole passage
    page.get_by_role("button", name="+ Add a Q&A pair").click()
    second = pair(page, 1)
    expect(second.get_by_label("Question", exact=True)).to_be_focused()
    page.keyboard.type("Is this a pangram?")
    second.get_by_label("Answer", exact=True).fill("Yes")
    second.get_by_label("Question tag").select_option("Custom tag…")
    expect(second.get_by_label("Custom tag for Q&A pair 2")).to_be_focused()
    page.keyboard.type("Yes/No")
    second.get_by_text("This pair is about the whole passage").click()
    expect(second.get_by_role("button", name="Add selected text")).to_be_disabled()
    assert task.submit_and_answer() == {
        "questionAndAnswers": {
            "questionAnswerPairs": [
                {
                    "question": "What does the fox jump over?",
                    "answer": "the lazy dog",
                    "tag": "What",
                    "references": [{"startOffset": 39, "endOffset": 51}],
                },
                {
                    "question": "Is this a pangram?",
                    "answer": "Yes",
                    "tag": "Yes/No",
                    "references": [{"startOffset": 0, "endOffset": len(PASSAGE)}],
                },
            ]
        }
    }


def test_limits_remove_and_word_counts(task: TaskPage) -> None:
    page = task.open("""<crowd-form><crowd-question-answer-generation name="qa" text="One two three four five six."
      min-questions="1" max-questions="2" question-min-words="2" question-max-words="3" answer-max-words="2"
      question-tags='[]' allow-custom-question-tags="false"></crowd-question-answer-generation></crowd-form>""")
    first = pair(page, 0)
    expect(first.get_by_label("Question tag")).to_have_count(0)  # no tags and no custom tags: no tag field
    expect(first.get_by_role("button", name="Remove Q&A pair 1")).to_be_disabled()  # the minimum
    first.get_by_label("Question", exact=True).fill("Why four words here?")
    expect(first.get_by_text("4 words (2\u20133)")).to_have_class("count bad")
    first.get_by_label("Answer", exact=True).fill("Because three words")
    first.get_by_label("Text from the passage to add as a reference for Q&A pair 1").fill("four five")
    first.get_by_role("button", name="Find and add").click()
    message = task.submit_blocked()
    assert message.endswith("Q&A pair 1: the question needs 2\u20133 words (it has 4).")
    expect(page.locator("crowd-question-answer-generation [part=error]")).to_contain_text("(2 problems in all)")
    expect(first).to_have_attribute("aria-invalid", "true")
    first.get_by_label("Question", exact=True).fill("Which words?")
    first.get_by_label("Answer", exact=True).fill("four five")
    add = page.get_by_role("button", name="+ Add a Q&A pair")
    add.click()
    expect(add).to_be_disabled()  # max-questions
    expect(page.get_by_text("2 pairs (1\u20132)")).to_be_visible()
    page.get_by_role("button", name="Remove Q&A pair 2").click()
    expect(add).to_be_enabled()
    first.get_by_label("Text from the passage to add as a reference for Q&A pair 1").fill("not in the text")
    first.get_by_role("button", name="Find and add").click()
    expect(first.get_by_text("“not in the text” is not in the passage.")).to_be_visible()
    assert task.submit_and_answer() == {
        "qa": {
            "questionAnswerPairs": [
                {
                    "question": "Which words?",
                    "answer": "four five",
                    "tag": "",
                    "references": [{"startOffset": 14, "endOffset": 23}],
                }
            ]
        }
    }


def test_keyboard_only(phone_task: TaskPage) -> None:
    page = phone_task.open("""<crowd-form><crowd-question-answer-generation name="qa" text="Alpha beta gamma."
      question-tags='["Who", "What"]'></crowd-question-answer-generation></crowd-form>""")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    pair(page, 0).get_by_label("Question", exact=True).focus()
    page.keyboard.type("What comes second?")
    page.keyboard.press("Tab")
    page.keyboard.type("beta")
    page.keyboard.press("Tab")
    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowDown")  # "What"
    for _ in range(3):  # custom tag field (hidden) is skipped; -> Add selected text -> find field
        page.keyboard.press("Tab")
        if (
            page.evaluate(
                "document.querySelector('crowd-question-answer-generation').shadowRoot.activeElement.dataset.field"
            )
            == "find"
        ):
            break
    page.keyboard.type("beta")
    page.keyboard.press("Enter")
    page.keyboard.press("Control+Enter")
    assert phone_task.answer() == {
        "qa": {
            "questionAnswerPairs": [
                {
                    "question": "What comes second?",
                    "answer": "beta",
                    "tag": "What",
                    "references": [{"startOffset": 6, "endOffset": 10}],
                }
            ]
        }
    }


def test_standalone_and_linked_form(task: TaskPage) -> None:
    # no crowd-form around it: its own form and Submit button; no name -> keyed by the tag name
    page = task.open("""<crowd-question-answer-generation text="Red sky at night." question-tags='["What"]'
      instructions="- Ask one question."></crowd-question-answer-generation>""")
    expect(page.get_by_text("- Ask one question.")).to_be_visible()
    first = pair(page, 0)
    first.get_by_label("Question", exact=True).fill("What is red?")
    first.get_by_label("Answer", exact=True).fill("The sky")
    first.get_by_label("Question tag").select_option("What")
    first.get_by_label("This pair is about the whole passage").check()
    assert task.submit_and_answer() == {
        "crowd-question-answer-generation": {
            "questionAnswerPairs": [
                {
                    "question": "What is red?",
                    "answer": "The sky",
                    "tag": "What",
                    "references": [{"startOffset": 0, "endOffset": 17}],
                }
            ]
        }
    }


def test_linked_to_a_hidden_form(task: TaskPage) -> None:
    # the pattern of AWS's Ground Truth notebook: a hidden crowd-form named by crowd-form-element-id
    page = task.open("""<crowd-form id="qa-form" style="display: none"></crowd-form>
      <crowd-question-answer-generation crowd-form-element-id="qa-form" text="Red sky at night." question-tags='[]'
        allow-custom-question-tags="false"></crowd-question-answer-generation>""")
    first = pair(page, 0)
    first.get_by_label("Question", exact=True).fill("What colour?")
    first.get_by_label("Answer", exact=True).fill("Red")
    first.get_by_label("This pair is about the whole passage").check()
    page.locator("crowd-question-answer-generation").get_by_role("button", name="Submit").click()
    assert task.answer() == {
        "crowd-question-answer-generation": {
            "questionAnswerPairs": [
                {
                    "question": "What colour?",
                    "answer": "Red",
                    "tag": "",
                    "references": [{"startOffset": 0, "endOffset": 17}],
                }
            ]
        }
    }
