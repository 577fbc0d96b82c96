"""crowd-checkbox, crowd-radio-group + crowd-radio-button, crowd-toggle-button."""

from __future__ import annotations

from playwright.sync_api import expect

from tests.browser.harness import TaskPage


def test_checkboxes_sharing_a_name_merge(task: TaskPage) -> None:
    # catalog F3 and the documented issues example
    page = task.open("""<crowd-form>
      <crowd-checkbox name="f" value="x">Ex</crowd-checkbox>
      <crowd-checkbox name="f" value="y">Why</crowd-checkbox>
      <crowd-checkbox name="f" value="z">Zed</crowd-checkbox>
      <crowd-checkbox name="issues" value="toxic" checked="true">Toxic</crowd-checkbox>
      <crowd-checkbox name="issues" value="off_topic">Off topic</crowd-checkbox>
      <crowd-checkbox name="ok">Looks fine</crowd-checkbox>
    </crowd-form>""")
    why = page.get_by_role("checkbox", name="Why")
    why.click()
    expect(why).to_be_checked()
    page.get_by_role("checkbox", name="Looks fine").focus()
    page.keyboard.press("Space")
    page.get_by_text("Off topic").click()
    page.get_by_role("checkbox", name="Off topic").press("Space")  # and back off
    assert task.submit_and_answer() == {
        "f": {"x": False, "y": True, "z": False},
        "issues": {"toxic": True, "off_topic": False},
        "ok": {"on": True},
    }


def test_required_and_disabled_checkbox(task: TaskPage) -> None:
    page = task.open("""<crowd-form>
      <crowd-checkbox name="agree" required>I agree</crowd-checkbox>
      <crowd-checkbox name="locked" id="locked">Locked</crowd-checkbox>
    </crowd-form>
    <script>document.getElementById('locked').disabled = true;</script>""")
    assert task.submit_blocked().endswith("I agree: Please check this box if you want to proceed.")
    agree = page.get_by_role("checkbox", name="I agree")
    expect(agree).to_be_focused()
    page.keyboard.press("Space")
    locked = page.get_by_role("checkbox", name="Locked")
    expect(locked).to_be_disabled()
    locked.click(force=True)
    expect(locked).not_to_be_checked()
    assert task.submit_and_answer() == {"agree": {"on": True}, "locked": {"on": False}}


def test_self_closed_checkboxes_in_cards(task: TaskPage) -> None:
    # bulk-qa template: <crowd-checkbox checked="true" name="cat-0" value="Confirmed" /> inside cards
    page = task.open("""<crowd-form><div class="row">
      <div class="column"><crowd-card image="data:image/gif;base64,R0lGODlhAQABAAAAACw="><div class="center">Confirm
        <crowd-checkbox checked="true" name="cat-0" value="Confirmed" /></div></crowd-card></div>
      <div class="column"><crowd-card><div class="center">Confirm
        <crowd-checkbox checked="true" name="cat-1" value="Confirmed" /></div></crowd-card></div>
    </div></crowd-form>""")
    boxes = page.get_by_role("checkbox")
    expect(boxes).to_have_count(2)
    boxes.nth(1).click()
    assert task.submit_and_answer() == {"cat-0": {"Confirmed": True}, "cat-1": {"Confirmed": False}}


def test_radio_group_with_different_names(task: TaskPage) -> None:
    # catalog F11 / the documented tech-politics example, driven by the keyboard
    page = task.open("""<crowd-form>
      <crowd-radio-group>
        <crowd-radio-button name="tech" value="tech">Technology</crowd-radio-button>
        <crowd-radio-button name="politics" value="politics">Politics</crowd-radio-button>
        <crowd-radio-button name="sports" value="sports">Sports</crowd-radio-button>
      </crowd-radio-group>
    </crowd-form>""")
    expect(page.get_by_role("radiogroup")).to_have_count(1)
    page.get_by_role("radio", name="Technology").click()
    page.keyboard.press("ArrowDown")
    politics = page.get_by_role("radio", name="Politics")
    expect(politics).to_be_focused()
    expect(politics).to_be_checked()
    expect(page.get_by_role("radio", name="Technology")).not_to_be_checked()
    # one tab stop for the whole group
    assert page.evaluate("[...document.querySelectorAll('crowd-radio-button')].map(r => r.tabIndex)") == [-1, 0, -1]
    assert page.evaluate("document.querySelector('crowd-radio-group').value") == "politics"
    assert task.submit_and_answer() == {
        "tech": {"tech": False},
        "politics": {"politics": True},
        "sports": {"sports": False},
    }


def test_ungrouped_radios_with_one_name_merge_and_exclude(task: TaskPage) -> None:
    page = task.open("""<crowd-form>
      <crowd-radio-button name="size" value="S">Small</crowd-radio-button>
      <crowd-radio-button name="size" value="L" checked>Large</crowd-radio-button>
      <crowd-radio-button name="other" value="o">Other</crowd-radio-button>
    </crowd-form>""")
    page.get_by_role("radio", name="Small").click()
    page.get_by_role("radio", name="Small").click()  # clicking a checked radio keeps it checked
    expect(page.get_by_role("radio", name="Large")).not_to_be_checked()
    assert task.submit_and_answer() == {"size": {"S": True, "L": False}, "other": {"o": False}}


def test_toggle_button(task: TaskPage) -> None:
    page = task.open("""<crowd-form>
      <crowd-toggle-button name="escalate">Escalate</crowd-toggle-button>
      <crowd-toggle-button name="confirm" value="yes" required invalid>I checked the sources</crowd-toggle-button>
    </crowd-form>""")
    escalate = page.get_by_role("switch", name="Escalate")
    escalate.click()
    escalate.press("Enter")
    expect(escalate).not_to_be_checked()
    assert "Please switch this on" in task.submit_blocked()
    confirm = page.get_by_role("switch", name="I checked the sources")
    expect(confirm).to_be_focused()
    page.keyboard.press("Space")
    expect(confirm).to_be_checked()
    assert task.submit_and_answer() == {"escalate": {"on": False}, "confirm": {"yes": True}}
