"""crowd-form: answer collection (catalog §2.2/§2.3), the automatic Submit button, validation,
submit hooks, crowd-button actions and native buttons/forms inside the template."""

# ruff: noqa: E501  (HTML templates are kept on one line each for readability)

from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.browser.harness import TaskPage
from tests.shared import SEED_EN as SEED


def seed_ranking_template() -> str:
    text = SEED.read_text()
    start = text.index('template = r"""') + len('template = r"""')
    template = text[start : text.index('"""', start)]
    # The notebook's Liquid only prints task.input values; fill them like the renderer would.
    template = template.replace("{{ task.input.taskObject.prompt }}", "What is 2+2?")
    for k in range(3):
        template = template.replace(f"{{{{ task.input.taskObject.responses[{k}] }}}}", f"Answer {k + 1}")
    assert "{{" not in template
    return template


def test_seed_ranking_template_requires_every_select_and_answers_strings(task: TaskPage) -> None:
    page = task.open(seed_ranking_template())
    selects = page.locator("select")
    expect(selects).to_have_count(3)

    message = task.submit_blocked()
    assert "select" in message.lower()
    expect(page.get_by_role("alert")).to_contain_text("Please complete the task")

    selects.nth(0).select_option(label="Most")
    selects.nth(1).select_option(label="Least")
    assert "select" in task.submit_blocked().lower()  # the third is still unanswered
    selects.nth(2).focus()
    selects.nth(2).select_option(label="Somewhat")
    assert task.submit_and_answer() == {"response_1_ranking": "1", "response_2_ranking": "3", "response_3_ranking": "2"}


def test_automatic_submit_button_only_without_a_submit_crowd_button(task: TaskPage) -> None:
    page = task.open('<crowd-form><crowd-input name="a"></crowd-input></crowd-form>')
    submit = page.get_by_role("button", name="Submit", exact=True)
    expect(submit).to_have_count(1)
    expect(submit).to_be_visible()
    assert submit.evaluate("b => b.localName") == "button"

    page = task.open(
        '<crowd-form><crowd-input name="a"></crowd-input>'
        '<crowd-button form-action="submit">Send it</crowd-button></crowd-form>',
        url="https://task.crowdloop.test/own-button.html",
    )
    expect(page.get_by_role("button", name="Submit", exact=True)).to_have_count(0)
    expect(page.get_by_role("button", name="Send it")).to_have_count(1)


def test_crowd_button_submits_by_click_and_by_keyboard(task: TaskPage) -> None:
    page = task.open(
        '<crowd-form><crowd-input name="a"></crowd-input>'
        '<crowd-button form-action="submit" variant="primary">Send</crowd-button>'
        '<crowd-button id="other">Other</crowd-button></crowd-form>'
    )
    page.locator("crowd-input input").fill("x")
    page.get_by_role("button", name="Other").click()  # no form-action: does nothing
    task.settle()
    assert task.messages("submit") == []
    page.get_by_role("button", name="Send").focus()
    page.keyboard.press("Enter")
    assert task.answer() == {"a": "x"}
    page.get_by_role("button", name="Send").click()  # locked after a submission
    task.settle()
    assert len(task.messages("submit")) == 1


def test_crowd_button_reset_restores_defaults(task: TaskPage) -> None:
    page = task.open(
        '<crowd-form><crowd-input name="a" value="start"></crowd-input>'
        '<crowd-checkbox name="c">C</crowd-checkbox><input type="text" name="n" value="v">'
        '<crowd-button form-action="reset">Reset</crowd-button></crowd-form>'
    )
    page.locator("crowd-input input").fill("changed")
    page.get_by_role("checkbox", name="C").click()
    page.locator("input[name=n]").fill("other")
    page.get_by_role("button", name="Reset").click()
    expect(page.locator("crowd-input input")).to_have_value("start")
    assert task.submit_and_answer() == {"a": "start", "c": {"on": False}, "n": "v"}


def test_plain_controls_serialization(task: TaskPage) -> None:
    page = task.open("""<crowd-form>
      <input type="text" name="empty">
      <input type="text" name="text">
      <input type="date" name="day">
      <input type="number" name="count">
      <textarea name="notes"></textarea>
      <input type="hidden" name="json" value='{"k": [1, 2]}'>
      <input type="text" name="off" value="skipped" disabled>
      <label><input type="checkbox" name="issues" value="grammar"> Grammar</label>
      <label><input type="checkbox" name="issues" value="factual"> Factual</label>
      <label><input type="checkbox" name="flag"> Flag</label>
      <label><input type="radio" name="pick" value="A"> A</label>
      <label><input type="radio" name="pick" value="B"> B</label>
      <select name="multi" multiple><option>x</option><option value="y2">y</option><option>z</option></select>
      <select name="one"><option value="">choose</option><option>Red</option><option value="g">Green</option></select>
      <input type="submit" value="Go" name="go" style="display:none">
    </crowd-form>""")
    page.locator("input[name=text]").fill("hello")
    page.locator("input[name=day]").fill("2024-05-01")
    page.locator("input[name=count]").fill("42")
    page.locator("textarea[name=notes]").click()
    page.keyboard.type("line one")
    page.keyboard.press("Enter")
    page.keyboard.type("line two")
    page.get_by_label("Factual").check()
    page.get_by_label("B").check()
    page.locator("select[name=multi]").select_option(["x", "z"])
    page.locator("select[name=one]").select_option(label="Green")
    assert task.submit_and_answer() == {
        "text": "hello",
        "day": "2024-05-01",
        "count": "42",
        "notes": "line one\nline two",
        "json": '{"k": [1, 2]}',
        "issues": {"grammar": False, "factual": True},
        "flag": {"on": False},
        "pick": {"A": False, "B": True},
        "multi": ["x", "z"],
        "one": "g",
    }


def test_later_control_with_the_same_name_wins(task: TaskPage) -> None:
    # catalog F9 (the hierarchical bounding-box template's trick)
    task.open(
        '<crowd-form><select name="_"><option value="x" selected>x</option></select>'
        '<input type="hidden" name="_" value="_"></crowd-form>'
    )
    assert task.submit_and_answer() == {"_": "_"}


def test_onsubmit_fills_hidden_input_and_script_submit_runs_it(task: TaskPage) -> None:
    # catalog F10: AWS immersion-day custom UI pattern
    page = task.open("""<crowd-form>
      <input type="hidden" name="ann" id="ann">
      <crowd-button form-action="submit" style="display:none"></crowd-button>
    </crowd-form>
    <button id="done" type="button">Done</button>
    <script>
      document.querySelector('crowd-form').onsubmit = function () {
        document.getElementById('ann').value = JSON.stringify({k: 1});
      };
      document.getElementById('done').addEventListener('click', function () {
        document.querySelector('crowd-form').submit();
      });
    </script>""")
    expect(page.get_by_role("button", name="Submit", exact=True)).to_have_count(0)
    page.get_by_role("button", name="Done").click()
    assert task.answer() == {"ann": '{"k":1}'}


def test_onsubmit_prevent_default_cancels(task: TaskPage) -> None:
    # catalog F13, plus the listener and `return false` forms of the same hook
    page = task.open("""<crowd-form><crowd-input name="a"></crowd-input></crowd-form>
    <script>
      var form = document.querySelector('crowd-form');
      window.calls = [];
      form.onsubmit = function (e) { window.calls.push('onsubmit'); if (window.block === 1) e.preventDefault(); };
      form.addEventListener('submit', function (e) { window.calls.push('listener'); if (window.block === 2) e.preventDefault(); });
      document.addEventListener('submit', function (e) { window.calls.push('document'); if (window.block === 3) return; });
    </script>""")
    page.locator("crowd-input input").fill("x")
    for block in (1, 2):
        page.evaluate(f"window.block = {block}")
        task.submit()
        task.settle()
        assert task.messages("submit") == []
    assert page.evaluate("window.calls") == ["onsubmit", "listener", "document"] * 2
    page.evaluate("document.querySelector('crowd-form').onsubmit = function () { return false; }; window.block = 0")
    task.submit()
    task.settle()
    assert task.messages("submit") == []
    page.evaluate("document.querySelector('crowd-form').onsubmit = null")
    assert task.submit_and_answer() == {"a": "x"}


def test_validation_runs_before_submit_handlers(task: TaskPage) -> None:
    page = task.open("""<crowd-form><crowd-input name="a" required label="Your name"></crowd-input></crowd-form>
    <script>window.calls = 0; document.querySelector('crowd-form').onsubmit = () => { window.calls++; };</script>""")
    message = task.submit_blocked()
    assert message.startswith("Please complete the task before submitting. Your name:")
    assert page.evaluate("window.calls") == 0
    # the invalid field is focused and explained next to it
    assert page.evaluate("document.activeElement.localName") == "crowd-input"
    expect(page.locator("crowd-input").locator(".error-text")).to_have_text("Please fill out this field.")
    page.keyboard.type("Ana")
    expect(page.get_by_role("alert")).to_have_count(0)
    assert task.submit_and_answer() == {"a": "Ana"}
    assert page.evaluate("window.calls") == 1


def test_disabled_submit_button_gates_submission(task: TaskPage) -> None:
    # the content-evaluation template: enabled by script once every question is answered
    page = task.open("""<crowd-form>
      <select name="q" id="q"><option style="display:none"></option><option>Yes</option><option>No</option></select>
      <crowd-button id="go" form-action="submit" disabled="true">Submit</crowd-button>
    </crowd-form>
    <script>
      document.getElementById('q').addEventListener('change', function () {
        document.getElementById('go').disabled = this.value === '';
      });
    </script>""")
    go = page.get_by_role("button", name="Submit", exact=True)
    expect(go).to_be_disabled()
    page.locator("crowd-button").click(force=True)
    page.keyboard.press("Control+Enter")
    message = task.wait_for_message("invalid")
    assert "not available" in message["message"]
    assert task.messages("submit") == []
    page.locator("#q").select_option("No")
    expect(go).to_be_enabled()
    go.click()
    assert task.answer() == {"q": "No"}


def test_nested_native_form_never_navigates(task: TaskPage) -> None:
    # content-evaluation / image-captioning: the template's own <form action=""> inside crowd-form
    page = task.open("""<crowd-form><form action="">
      <input type="text" name="comment">
      <crowd-button form-action="submit">Submit</crowd-button>
    </form></crowd-form>""")
    page.locator("input[name=comment]").fill("nice")
    page.locator("input[name=comment]").press("Enter")  # implicit submission of the inner form
    task.settle()
    assert task.messages("submit") == []
    assert page.url.endswith("/task.html")
    assert page.evaluate("document.querySelector('input[name=comment]').value") == "nice"  # no reload
    assert task.submit_and_answer() == {"comment": "nice"}


def test_plain_buttons_submit_unless_prevented(task: TaskPage) -> None:
    # the time-series template: "Add" prevents the default, "Submit" fills a hidden input and calls
    # crowd-form.submit() without preventing the button's own submission: one answer only.
    page = task.open("""<crowd-form>
      <button id="add">Add Annotation</button>
      <button id="submit">Submit</button>
      <input type="hidden" id="data" name="annotationData">
    </crowd-form>
    <script>
      var items = [];
      document.getElementById('add').addEventListener('click', function (e) { e.preventDefault(); items.push(items.length); });
      document.getElementById('submit').addEventListener('click', function () {
        document.getElementById('data').value = JSON.stringify(items);
        document.querySelector('crowd-form').submit();
      });
    </script>""")
    page.get_by_role("button", name="Add Annotation").click()
    page.get_by_role("button", name="Add Annotation").click()
    task.settle()
    assert task.messages("submit") == []
    page.locator("#submit").click()
    assert task.answer() == {"annotationData": "[0,1]"}
    task.settle()
    assert len(task.messages("submit")) == 1


def test_controls_added_later_and_through_form_property(task: TaskPage) -> None:
    page = task.open("""<crowd-form><div id="slot"></div></crowd-form>
    <script>
      document.addEventListener('all-crowd-elements-ready', function () {
        var form = document.querySelector('crowd-form');
        var extra = document.createElement('crowd-input');
        extra.setAttribute('name', 'late');
        extra.value = 'preset';
        document.getElementById('slot').appendChild(extra);
        var hidden = document.createElement('input');
        hidden.type = 'hidden'; hidden.name = 'viaForm'; hidden.value = 'yes';
        form.form.appendChild(hidden);
      });
    </script>""")
    assert page.evaluate("document.querySelector('crowd-form').form instanceof HTMLFormElement")
    assert task.submit_and_answer() == {"late": "preset", "viaForm": "yes"}


def test_alert_injected_by_onsubmit_validation_upgrades(task: TaskPage) -> None:
    # the keypoint-validation pattern: custom check in onsubmit, error shown with crowd-alert
    page = task.open("""<crowd-form><div id="errorBox"></div><crowd-input name="n"></crowd-input></crowd-form>
    <script>
      document.querySelector('crowd-form').onsubmit = function (e) {
        if (document.querySelector('crowd-input').value !== '3') {
          e.preventDefault();
          document.getElementById('errorBox').innerHTML =
            '<crowd-alert type="error" dismissible>Type 3, please.</crowd-alert>';
        }
      };
    </script>""")
    task.submit()
    alert = page.locator("crowd-alert")
    expect(alert).to_be_visible()
    expect(alert).to_contain_text("Type 3, please.")
    expect(alert.locator("[role=alert]")).to_have_count(1)
    page.get_by_role("button", name="Dismiss").click()
    expect(alert).to_be_hidden()
    page.locator("crowd-input input").fill("3")
    assert task.submit_and_answer() == {"n": "3"}


def test_instructions_sidebar_and_full_instructions_dialog(task: TaskPage) -> None:
    page = task.open("""<crowd-form>
      <short-instructions header="Quick guide">Pick the best answer.</short-instructions>
      <full-instructions header="All the rules">Rule one. <input name="inside" type="hidden" value="1"></full-instructions>
      <p>Task body</p>
    </crowd-form>""")
    expect(page.get_by_role("complementary", name="Quick guide")).to_be_visible()
    expect(page.get_by_text("Rule one.")).to_be_hidden()
    page.get_by_role("button", name="View full instructions").click()
    dialog = page.get_by_role("dialog", name="All the rules")
    expect(dialog).to_be_visible()
    expect(page.get_by_text("Rule one.")).to_be_visible()
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    assert task.submit_and_answer() == {"inside": "1"}


def test_phone_viewport_stacks_instructions_above_the_task(phone_task: TaskPage) -> None:
    page = phone_task.open("""<crowd-form>
      <short-instructions>Read carefully.</short-instructions>
      <crowd-input name="a" label="Answer"></crowd-input>
    </crowd-form>""")
    aside = page.get_by_role("complementary").bounding_box()
    field = page.get_by_role("textbox", name="Answer").bounding_box()
    assert aside and field
    assert aside["y"] + aside["height"] <= field["y"]
    assert field["x"] + field["width"] <= 390
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.get_by_role("textbox", name="Answer").fill("ok")
    assert phone_task.submit_and_answer() == {"a": "ok"}


def test_visible_focus_ring_on_submit(task: TaskPage) -> None:
    page = task.open('<crowd-form><crowd-input name="a"></crowd-input></crowd-form>')
    page.locator("crowd-input input").focus()
    page.keyboard.press("Tab")
    submit = page.get_by_role("button", name="Submit", exact=True)
    expect(submit).to_be_focused()
    outline = submit.evaluate("b => getComputedStyle(b).outlineStyle + ' ' + getComputedStyle(b).outlineWidth")
    assert re.match(r"solid [2-9]", outline), outline
