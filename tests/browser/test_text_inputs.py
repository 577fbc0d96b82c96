"""crowd-input and crowd-text-area."""

from __future__ import annotations

from playwright.sync_api import expect

from tests.browser.harness import TaskPage


def test_input_answers_text_and_omits_empty_fields(task: TaskPage) -> None:
    # catalog F5
    page = task.open("""<crowd-form>
      <crowd-input name="a" label="First"></crowd-input>
      <crowd-input name="b" placeholder="Second"></crowd-input>
      <crowd-input label="No name"></crowd-input>
    </crowd-form>""")
    page.get_by_role("textbox", name="Second").click()
    page.keyboard.type("hello world")
    page.get_by_role("textbox", name="No name").fill("ignored")
    assert task.submit_and_answer() == {"b": "hello world"}


def test_input_required_value_type_and_properties(task: TaskPage) -> None:
    page = task.open("""<crowd-form>
      <crowd-input name="who" label="Who" required></crowd-input>
      <crowd-input name="when" label="When" type="date"></crowd-input>
      <crowd-input name="preset" label="Preset" value="machine text"></crowd-input>
      <crowd-input name="cleared" label="Cleared" value="x"></crowd-input>
    </crowd-form>
    <script>
      window.changes = 0;
      document.querySelector('crowd-input[name=who]').addEventListener('change', () => window.changes++);
    </script>""")
    task.submit_blocked()
    who = page.get_by_role("textbox", name="Who")
    expect(who).to_be_focused()
    expect(who).to_have_attribute("aria-invalid", "true")
    page.keyboard.type("Ana")
    page.keyboard.press("Tab")
    assert page.evaluate("window.changes") == 1
    page.get_by_label("When").fill("2024-02-29")
    page.evaluate("document.querySelector('crowd-input[name=cleared]').value = null")
    assert page.evaluate("document.querySelector('crowd-input[name=who]').value") == "Ana"
    assert task.submit_and_answer() == {"who": "Ana", "when": "2024-02-29", "preset": "machine text"}


def test_allowed_pattern_auto_validate_and_lengths(task: TaskPage) -> None:
    page = task.open("""<crowd-form>
      <crowd-input name="digits" label="Digits" allowed-pattern="[0-9]" max-length="4"></crowd-input>
      <crowd-input name="code" label="Code" auto-validate min-length="3" error-message="Three or more"></crowd-input>
    </crowd-form>""")
    digits = page.get_by_role("textbox", name="Digits")
    digits.click()
    page.keyboard.type("1a2-b3456")
    expect(digits).to_have_value("1234")
    code = page.get_by_role("textbox", name="Code")
    code.click()
    page.keyboard.type("ab")
    assert "Three or more" in task.submit_blocked()
    expect(page.locator("crowd-input[name=code] .error-text")).to_have_text("Three or more")
    page.keyboard.type("c")
    expect(page.locator("crowd-input[name=code] .error-text")).to_have_text("")
    assert task.submit_and_answer() == {"digits": "1234", "code": "abc"}


def test_property_set_before_upgrade_and_self_closed_tag(task: TaskPage) -> None:
    # <crowd-input .../> is an open tag in HTML: what follows becomes its content and must stay
    # visible and submittable.
    page = task.open("""<crowd-form>
      <div><crowd-input name="first" label="First"/>
        <p id="after">Swallowed paragraph</p><input type="text" name="inner" value="kept"></div>
    </crowd-form>
    <script>
      var early = document.createElement('crowd-text-area');
      early.value = 'set before connect';
      early.setAttribute('name', 'early');
      document.querySelector('crowd-form').appendChild(early);
    </script>""")
    expect(page.locator("#after")).to_be_visible()
    page.get_by_role("textbox", name="First").fill("one")
    assert task.submit_and_answer() == {"first": "one", "inner": "kept", "early": "set before connect"}


def test_text_area_preset_counter_and_growth(task: TaskPage) -> None:
    page = task.open("""<crowd-form>
      <crowd-text-area name="edit" label="Correct the translation" value="Bonjour le monde"
        rows="2" max-rows="4" char-counter max-length="40"></crowd-text-area>
      <crowd-text-area name="empty" label="Optional"></crowd-text-area>
      <crowd-text-area name="must" label="Reason" required></crowd-text-area>
    </crowd-form>""")
    edit = page.get_by_role("textbox", name="Correct the translation")
    expect(edit).to_have_value("Bonjour le monde")
    expect(page.locator("crowd-text-area[name=edit] .counter")).to_have_text("16/40")
    height = edit.bounding_box()["height"]  # type: ignore[index]
    edit.press("End")
    page.keyboard.type(",")
    for line in ("two", "three", "four", "five", "six"):
        page.keyboard.press("Enter")
        page.keyboard.type(line)
    assert len(edit.input_value()) == 40  # max-length stops typing
    grown = edit.bounding_box()["height"]  # type: ignore[index]
    assert grown > height
    page.keyboard.type(" more")
    assert edit.bounding_box()["height"] == grown  # max-rows: scrolls from now on
    assert task.submit_blocked().endswith("Reason: Please fill out this field.")
    page.get_by_role("textbox", name="Reason").fill("because")
    answer = task.submit_and_answer()
    assert answer == {"edit": "Bonjour le monde,\ntwo\nthree\nfour\nfive\nsi", "must": "because"}
