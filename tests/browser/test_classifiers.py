"""crowd-classifier and crowd-classifier-multi-select, including real corpus templates."""

# ruff: noqa: E501  (HTML templates are kept on one line each for readability)

from __future__ import annotations

from playwright.sync_api import expect

from tests.browser.harness import TaskPage, render_corpus

SENTIMENT = """<crowd-form>
  <crowd-classifier name="q" categories="['Yes', 'No', 'Cannot Determine']" header="Is the answer correct?">
    <classification-target><p>Paris is the capital of France.</p></classification-target>
    <full-instructions header="How to judge"><p>Compare with the facts.</p></full-instructions>
    <short-instructions><p>Choose one.</p></short-instructions>
  </crowd-classifier>
</crowd-form>"""


def test_classifier_click_answer_and_required_choice(task: TaskPage) -> None:
    # catalog F1
    page = task.open(SENTIMENT)
    expect(page.get_by_text("Paris is the capital of France.")).to_be_visible()
    expect(page.get_by_role("radiogroup", name="Is the answer correct?")).to_be_visible()
    assert task.submit_blocked().endswith("Is the answer correct?: Please choose a category.")
    expect(page.get_by_role("radio", name="Yes")).to_be_focused()
    page.get_by_text("No", exact=True).click()
    assert task.submit_and_answer() == {"q": {"label": "No"}}


def test_classifier_keyboard_arrows_and_digits(task: TaskPage) -> None:
    page = task.open(SENTIMENT)
    page.get_by_role("radio", name="Yes").focus()
    page.keyboard.press("3")
    expect(page.get_by_role("radio", name="Cannot Determine")).to_be_checked()
    page.keyboard.press("ArrowUp")
    expect(page.get_by_role("radio", name="No", exact=True)).to_be_checked()
    page.keyboard.press("Control+Enter")
    assert task.answer() == {"q": {"label": "No"}}


def test_classifier_full_instructions_and_phone_layout(phone_task: TaskPage) -> None:
    page = phone_task.open(SENTIMENT)
    target = page.get_by_text("Paris is the capital of France.").bounding_box()
    picker = page.get_by_role("radiogroup").bounding_box()
    assert target and picker and target["y"] < picker["y"]
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.get_by_role("button", name="View full instructions").click()
    expect(page.get_by_role("dialog", name="How to judge")).to_be_visible()
    page.get_by_role("button", name="Close").click()
    page.get_by_role("radio", name="Yes").check()
    assert phone_task.submit_and_answer() == {"q": {"label": "Yes"}}


def test_multi_select_labels(task: TaskPage) -> None:
    # catalog F2
    page = task.open("""<crowd-form><crowd-classifier-multi-select name="t" categories='["a", "b", "c"]' header="Topics?">
      <classification-target>Some text</classification-target></crowd-classifier-multi-select></crowd-form>""")
    assert task.submit_blocked().endswith("Please choose at least one category.")
    page.get_by_role("checkbox", name="a").check()
    page.keyboard.press("3")
    expect(page.get_by_role("checkbox", name="c")).to_be_checked()
    assert task.submit_and_answer() == {"t": {"labels": ["a", "c"]}}


def test_multi_select_exclusion_category(task: TaskPage) -> None:
    html = render_corpus(task, "amazon-sagemaker-ground-truth-task-uis/other/custom-instructions-width.liquid.html")
    page = task.open(html)
    # the template's shadow-DOM width hack found its targets
    assert (
        page.evaluate(
            "document.querySelector('crowd-classifier-multi-select').shadowRoot.querySelector('.awsui-app-layout__navigation').style.width"
        )
        == "400px"
    )
    page.get_by_role("checkbox", name="Music").check()
    none = page.get_by_role("checkbox", name="None of the above")
    none.check()
    expect(page.get_by_role("checkbox", name="Music")).not_to_be_checked()
    expect(page.get_by_role("checkbox", name="Sports")).to_be_disabled()
    assert task.submit_and_answer() == {"category": {"labels": ["None of the above"]}}


def test_single_classifier_exclusion_is_one_more_choice(task: TaskPage) -> None:
    html = render_corpus(
        task, "amazon-sagemaker-ground-truth-task-uis/audio/audio-classification-multiselect.liquid.html"
    )
    page = task.open(html)
    page.get_by_role("radio", name="None of the above").check()
    answer = task.submit_and_answer()
    assert answer == {"sentiment": {"label": "None of the above"}}


def test_dynamic_two_tier_template(task: TaskPage) -> None:
    # reaches into the classifier's shadow root, replaces categories and listens to `change`
    html = render_corpus(
        task, "amazon-sagemaker-ground-truth-task-uis/text/dynamic-two-tier-text-classification.liquid.html"
    )
    page = task.open(html)
    expect(page.get_by_text("prompt: The quick brown fox")).to_be_visible()
    expect(page.get_by_text("Depending on your selection")).to_be_visible()
    page.get_by_role("radio", name="Poor").click()
    expect(page.get_by_text("Please mark all items that apply")).to_be_visible()
    page.get_by_role("checkbox", name="Off-topic").check()
    page.get_by_role("checkbox", name="Factual errors").check()
    answer = task.submit_and_answer()
    reasons = [
        "Does not address the prompt",
        "Poorly structured",
        "Lack of understanding",
        "Inappropriate tone",
        "Off-topic",
        "Factual errors",
        "Unclear or confusing",
    ]
    assert answer == {
        "response_quality": {"label": "Poor"},
        "classification-reasoning": {r: r in ("Off-topic", "Factual errors") for r in reasons},
    }


def test_properties_initial_value_and_change_event(task: TaskPage) -> None:
    page = task.open("""<crowd-form>
      <crowd-classifier name="sentiment" categories="['Positive', 'Negative', 'Neutral']" initial-value="Neutral" header="Sentiment"></crowd-classifier>
      <crowd-classifier-multi-select name="tags" categories="['x']" header="Tags"></crowd-classifier-multi-select>
    </crowd-form>
    <script>
      window.changes = [];
      customElements.whenDefined('crowd-classifier').then(function () {
        var c = document.querySelector('crowd-classifier');
        c.addEventListener('change', function (e) { window.changes.push(e.target.value); });
        document.querySelector('crowd-classifier-multi-select').categories = ['Billing', 'Refund', 'Other'];
      });
    </script>""")
    expect(page.get_by_role("radio", name="Neutral")).to_be_checked()
    assert page.evaluate("document.querySelector('crowd-classifier').value") == "Neutral"
    assert page.evaluate("document.querySelector('crowd-classifier')._submittableValue") == {"label": "Neutral"}
    page.get_by_role("radio", name="Negative").click()
    assert page.evaluate("window.changes") == ["Negative"]
    page.get_by_role("checkbox", name="Refund").check()
    page.get_by_role("checkbox", name="Billing").check()
    assert page.evaluate("document.querySelector('crowd-classifier-multi-select').value") == ["Billing", "Refund"]
    assert task.submit_and_answer() == {"sentiment": {"label": "Negative"}, "tags": {"labels": ["Billing", "Refund"]}}
