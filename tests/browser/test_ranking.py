"""crowd-text-ranking (V2 script), with AWS's gen-ai text-ranking template."""

from __future__ import annotations

from playwright.sync_api import expect

from tests.browser.harness import TaskPage, render_corpus

TEMPLATE = "amazon-sagemaker-ground-truth-task-uis/gen-ai/text-ranking.liquid.html"


def test_text_ranking_template(task: TaskPage) -> None:
    page = task.open(render_corpus(task, TEMPLATE))
    expect(page.get_by_text("source: The quick brown fox")).to_be_visible()
    expect(page.get_by_text("Second model response.")).to_be_visible()
    expect(page.get_by_text("Rank the following responses")).to_be_visible()  # short-instructions
    assert 'Please rank every response for "Clarity".' in task.submit_blocked()

    def rank(dimension: str, response: int) -> object:
        return page.get_by_role("combobox", name=f"{dimension}: rank of response {response}")

    expect(rank("Clarity", 1)).to_be_focused()
    # Clarity allows ties: responses 1 and 3 share rank 2
    rank("Clarity", 1).select_option("2")
    rank("Clarity", 2).select_option("1")
    rank("Clarity", 3).select_option("2")
    assert 'Please rank every response for "Inclusivity".' in task.submit_blocked()
    # Inclusivity has no ties: a rank used twice is flagged at once and blocks the submission
    rank("Inclusivity", 1).select_option("1")
    rank("Inclusivity", 2).select_option("1")
    rank("Inclusivity", 3).select_option("2")
    expect(page.get_by_text("Each response needs a different rank.")).to_be_visible()
    expect(rank("Inclusivity", 1)).to_have_attribute("aria-invalid", "true")
    assert 'Each response needs a different rank for "Inclusivity".' in task.submit_blocked()
    rank("Inclusivity", 1).select_option("3")
    expect(page.get_by_text("Each response needs a different rank.")).to_be_hidden()
    assert task.submit_and_answer() == {
        "textRanking": {
            "ordinalRankingDimensions": [
                {"name": "Clarity", "responseRankings": [2, 1, 2]},
                {"name": "Inclusivity", "responseRankings": [3, 1, 2]},
            ]
        }
    }


def test_text_ranking_keyboard_only(phone_task: TaskPage) -> None:
    page = phone_task.open("""<script src="https://assets.crowd.aws/crowd-html-elements-v2.js"></script>
    <crowd-form><crowd-text-ranking name="r" text="Which is better?" responses='["A", "B"]'
      ordinal-ranking-dimensions='[{"name": "Helpfulness", "allowTie": false}]'></crowd-text-ranking></crowd-form>""")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    first = page.get_by_role("combobox", name="Helpfulness: rank of response 1")
    first.focus()
    page.keyboard.press("ArrowDown")  # the empty choice -> "1"
    page.keyboard.press("Tab")
    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowDown")  # -> "2"
    page.keyboard.press("Control+Enter")
    assert phone_task.answer() == {
        "r": {"ordinalRankingDimensions": [{"name": "Helpfulness", "responseRankings": [1, 2]}]}
    }
