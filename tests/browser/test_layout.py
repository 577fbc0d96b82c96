"""Layout-only and action-only elements: they render, work with mouse and keyboard, and add nothing
to the answer."""

# ruff: noqa: E501  (HTML templates are kept on one line each for readability)

from __future__ import annotations

from playwright.sync_api import expect

from tests.browser.harness import TaskPage, png_bytes, render_corpus


def test_crowd_instructions_dialog_with_tabs(task: TaskPage) -> None:
    page = task.open(render_corpus(task, "amazon-sagemaker-ground-truth-task-uis/text/collect-utterance.liquid.html"))
    summary = page.locator("short-summary p")
    expect(summary).to_be_hidden()
    page.get_by_role("button", name="View instructions").click()
    dialog = page.get_by_role("dialog", name="Instructions")
    expect(dialog).to_be_visible()
    expect(page.get_by_role("tab", name="Summary")).to_have_attribute("aria-selected", "true")
    expect(summary).to_be_visible()
    page.get_by_role("tab", name="Summary").focus()
    page.keyboard.press("ArrowRight")
    expect(page.get_by_role("tab", name="Detailed Instructions")).to_be_focused()
    expect(page.get_by_text("Given a context and an intent")).to_be_visible()
    page.keyboard.press("ArrowRight")
    expect(page.get_by_text("Good examples")).to_be_visible()
    expect(page.get_by_text("Bad examples")).to_be_visible()
    expect(page.get_by_text("Don't fit", exact=True)).to_be_visible()
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    page.locator("crowd-input input").fill("I would like to return these shoes")
    assert task.submit_and_answer() == {"utterance": "I would like to return these shoes"}


def test_tabs_keyboard_and_hidden_controls_still_submit(task: TaskPage) -> None:
    page = task.open("""<crowd-form><crowd-tabs>
      <crowd-tab header="Task"><crowd-input name="visible" label="Visible" value="v"></crowd-input></crowd-tab>
      <crowd-tab header="Details"><crowd-input name="later" label="Later" required></crowd-input>
        <input type="hidden" name="meta" value="m"></crowd-tab>
    </crowd-tabs></crowd-form>""")
    expect(page.get_by_role("tab")).to_have_count(2)
    expect(page.get_by_role("textbox", name="Later")).to_be_hidden()
    # a failed submission reveals the tab holding the invalid field
    task.submit_blocked()
    expect(page.get_by_role("tab", name="Details")).to_have_attribute("aria-selected", "true")
    later = page.get_by_role("textbox", name="Later")
    expect(later).to_be_focused()
    page.keyboard.type("done")
    page.get_by_role("tab", name="Details").focus()
    page.keyboard.press("ArrowLeft")
    expect(page.get_by_role("textbox", name="Visible")).to_be_visible()
    assert task.submit_and_answer() == {"visible": "v", "later": "done", "meta": "m"}


def test_card_alert_badge_modal_toast_icons(task: TaskPage) -> None:
    task.serve("https://media.crowdloop.test/cat.png", png_bytes(40, 30), "image/png")
    page = task.open("""<crowd-form>
      <crowd-card heading="A cat" image="https://media.crowdloop.test/cat.png"><p>Card body</p></crowd-card>
      <crowd-alert type="warning">Careful</crowd-alert>
      <crowd-alert type="success" dismissible>Saved</crowd-alert>
      <span id="target" style="display:inline-block; margin: 20px; padding: 10px; border: 1px solid">Inbox</span>
      <crowd-badge for="target" label="3"></crowd-badge>
      <crowd-modal link-text="Open details" link-type="button"><p>Modal body</p><input type="hidden" name="fromModal" value="1"></crowd-modal>
      <crowd-toast id="toast" duration="0" text="Hello toast"></crowd-toast>
      <crowd-button id="tb"><iron-icon icon="search"></iron-icon> Find</crowd-button>
      <crowd-icon-button id="ib" icon="delete" title="Delete item"></crowd-icon-button>
      <crowd-icon-button id="off" icon="add" title="Add" disabled></crowd-icon-button>
    </crowd-form>
    <script>
      window.clicks = [];
      document.getElementById('ib').addEventListener('click', () => window.clicks.push('ib'));
      document.getElementById('off').addEventListener('click', () => window.clicks.push('off'));
      document.getElementById('tb').addEventListener('click', () => document.getElementById('toast').show());
    </script>""")
    expect(page.get_by_role("heading", name="A cat")).to_be_visible()
    assert page.locator("crowd-card img").evaluate("i => i.naturalWidth") == 40
    expect(page.get_by_text("Card body")).to_be_visible()
    expect(page.locator("crowd-alert[type=warning] [role=alert]")).to_have_count(1)
    page.get_by_role("button", name="Dismiss").click()
    expect(page.get_by_text("Saved")).to_be_hidden()
    # the badge sits on the target's top-right corner
    badge = page.locator("crowd-badge").bounding_box()
    target = page.locator("#target").bounding_box()
    assert badge and target
    assert abs(badge["x"] + badge["width"] / 2 - (target["x"] + target["width"])) < 2
    assert abs(badge["y"] + badge["height"] / 2 - target["y"]) < 2
    page.get_by_role("button", name="Open details").press("Enter")
    expect(page.get_by_text("Modal body")).to_be_visible()
    page.keyboard.press("Escape")
    expect(page.get_by_text("Modal body")).to_be_hidden()
    page.get_by_role("button", name="Find").click()
    expect(page.get_by_role("status").filter(has_text="Hello toast")).to_be_visible()
    page.get_by_role("button", name="Delete item").focus()
    page.keyboard.press("Enter")
    expect(page.get_by_role("button", name="Add")).to_be_disabled()
    page.locator("#off").click(force=True)
    assert page.evaluate("window.clicks") == ["ib"]
    assert task.submit_and_answer() == {"fromModal": "1"}


def test_fab_submits_through_a_click_handler(task: TaskPage) -> None:
    page = task.open("""<crowd-form><crowd-input name="a" value="x"></crowd-input>
      <crowd-button form-action="submit" hidden></crowd-button></crowd-form>
      <crowd-fab id="fab" icon="send" title="Send answer"></crowd-fab>
      <script>document.getElementById('fab').addEventListener('click', () => document.querySelector('crowd-form').submit());</script>""")
    fab = page.get_by_role("button", name="Send answer")
    box = fab.bounding_box()
    assert box and box["width"] == box["height"] == 56
    fab.focus()
    page.keyboard.press("Space")
    assert task.answer() == {"a": "x"}
