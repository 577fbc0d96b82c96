"""crowd-slider (+ crowd-slider-label)."""

# ruff: noqa: E501  (HTML templates are kept on one line each for readability)

from __future__ import annotations

from playwright.sync_api import expect

from tests.browser.harness import TaskPage

LIKERT = "".join(f'<crowd-slider-label position="{k}">{k}</crowd-slider-label>' for k in range(1, 6))


def test_required_likert_sliders_by_keyboard_and_mouse(task: TaskPage) -> None:
    # multi-modal-content-evaluation: min=1 max=5 step=1 pin required, with slider labels
    page = task.open(f"""<crowd-form>
      <crowd-slider name="accuracy" min="1" max="5" step="1" pin="true" required>{LIKERT}</crowd-slider>
      <crowd-slider name="relevance" min="1" max="5" step="1" pin="true" required>{LIKERT}</crowd-slider>
      <textarea name="additional-context"></textarea>
    </crowd-form>""")
    expect(page.locator("crowd-slider[name=accuracy] .tick")).to_have_text(["1", "2", "3", "4", "5"])
    assert "Please choose a value on this scale." in task.submit_blocked()
    accuracy = page.get_by_role("slider", name="accuracy")
    expect(accuracy).to_be_focused()
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowRight")
    expect(accuracy).to_have_attribute("aria-valuetext", "3")
    expect(page.locator("crowd-slider[name=accuracy] .pin")).to_have_text("3")
    relevance = page.get_by_role("slider", name="relevance")
    box = relevance.bounding_box()
    assert box
    page.mouse.click(box["x"] + box["width"] - 6, box["y"] + box["height"] / 2)  # far right end
    assert task.submit_and_answer() == {"accuracy": 3, "relevance": 5}


def test_untouched_minimum_needs_a_touch_when_required(task: TaskPage) -> None:
    # translation-quality: <crowd-slider ... required pin/> inside <p>
    page = task.open("""<crowd-form><p><crowd-slider name="meaning" min="1" max="5" required pin/></p>
      <p>after</p></crowd-form>""")
    task.submit_blocked()
    page.keyboard.press("Home")  # keeps the minimum, but now it was chosen
    assert task.submit_and_answer() == {"meaning": 1}


def test_defaults_preset_value_property_and_change_event(task: TaskPage) -> None:
    # a sample sets value="50" without min/max and divides .value by 100
    page = task.open("""<crowd-form>
      <crowd-slider name="opacity" value="50" editable></crowd-slider>
      <crowd-slider name="untouched"></crowd-slider>
      <crowd-slider name="steps" min="0" max="10" step="2.5"></crowd-slider>
      <crowd-slider name="idle" min="2" max="9"></crowd-slider>
    </crowd-form>
    <script>
      window.seen = [];
      document.querySelector('crowd-slider[name=opacity]').onchange = function (e) { window.seen.push(e.target.value / 100); };
    </script>""")
    assert page.evaluate("document.querySelector('crowd-slider[name=opacity]').value") == 50
    opacity = page.get_by_role("slider", name="opacity")
    opacity.focus()
    page.keyboard.press("ArrowLeft")
    assert page.evaluate("window.seen") == [0.49]
    number = page.get_by_role("spinbutton", name="opacity value")
    number.fill("80")
    number.press("Enter")
    expect(opacity).to_have_value("80")
    page.get_by_role("slider", name="steps").focus()
    page.keyboard.press("End")
    page.keyboard.press("ArrowLeft")
    page.evaluate("document.querySelector('crowd-slider[name=untouched]').value = 33")
    assert task.submit_and_answer() == {"opacity": 80, "untouched": 33, "steps": 7.5, "idle": 2}
