"""The postMessage protocol between the task frame and the portal page (05-portal.js header)."""

# ruff: noqa: E501  (HTML templates are kept on one line each for readability)

from __future__ import annotations

from typing import Any

from playwright.sync_api import expect

from tests.browser.harness import SCRIPT_TAG, TaskPage, png_bytes

PORTAL_URL = "https://portal.crowdloop.test/task"
FRAME_URL = "https://task.crowdloop.test/frame.html"

# A stand-in for the portal page: frames the task like the real one and records its messages.
PORTAL_PAGE = f"""<!doctype html><title>portal</title>
<iframe id="task" title="Task" sandbox="allow-scripts allow-forms" src="{FRAME_URL}" style="width:1000px;height:600px"></iframe>
<script>
  window.fromFrame = [];
  var frame = document.getElementById('task');
  window.addEventListener('message', function (e) {{
    if (e.source === frame.contentWindow && e.data && e.data.crowdloop === 1) window.fromFrame.push(e.data);
  }});
  window.send = function (message) {{ message.crowdloop = 1; frame.contentWindow.postMessage(message, '*'); }};
</script>"""


def framed(task: TaskPage, template: str) -> Any:
    task.serve(FRAME_URL, SCRIPT_TAG + template)
    task.serve(PORTAL_URL, PORTAL_PAGE)
    page = task.page
    page.goto(PORTAL_URL)
    page.wait_for_function("window.fromFrame.some(m => m.type === 'ready')")
    return page


def from_frame(page: Any, kind: str, count: int = 1) -> list[dict[str, Any]]:
    page.wait_for_function("([k, n]) => window.fromFrame.filter(m => m.type === k).length >= n", arg=[kind, count])
    return [m for m in page.evaluate("window.fromFrame") if m["type"] == kind]


def test_ready_once_after_all_crowd_elements_ready(task: TaskPage) -> None:
    page = task.open("""<crowd-form><crowd-classifier name="c" categories="['a']"></crowd-classifier></crowd-form>
    <script>
      window.order = [];
      document.addEventListener('all-crowd-elements-ready', function () {
        window.order.push('event:' + !!document.querySelector('crowd-classifier').shadowRoot
          .querySelector('.annotation-area .category-picker-wrapper'));
      });
      window.addEventListener('message', function (e) { if (e.data.type === 'ready') window.order.push('ready'); });
    </script>""")
    task.settle()
    assert page.evaluate("window.order") == ["event:true", "ready"]
    assert task.messages("ready") == [{"crowdloop": 1, "type": "ready"}]


def test_ctrl_enter_inside_the_frame_submits(task: TaskPage) -> None:
    page = task.open('<crowd-form><crowd-text-area name="t"></crowd-text-area></crowd-form>')
    page.locator("crowd-text-area textarea").click()
    page.keyboard.type("first")
    page.keyboard.press("Enter")  # a plain Enter is a newline
    page.keyboard.type("second")
    page.keyboard.press("Control+Enter")
    assert task.answer() == {"t": "first\nsecond"}
    assert task.messages("submit")[0] == {"crowdloop": 1, "type": "submit", "answer": {"t": "first\nsecond"}}


def test_sandboxed_frame_talks_to_its_parent(task: TaskPage) -> None:
    page = framed(
        task,
        '<crowd-form><full-instructions header="Rules">Be precise.</full-instructions>'
        '<crowd-input name="a" required label="A"></crowd-input></crowd-form>',
    )
    frame = page.frame_locator("#task")
    said = page.evaluate("window.fromFrame")
    assert [m for m in said if m["type"] != "size"] == [{"crowdloop": 1, "type": "ready"}]
    sizes = [m for m in said if m["type"] == "size"]  # the frame's height reports (the portal grows the frame)
    assert sizes and all(m["height"] > 0 and m["viewport"] > 0 for m in sizes)
    assert page.frames[1].evaluate("window.parent !== window")
    # modal dialogs work without allow-modals
    frame.get_by_role("button", name="View full instructions").click()
    expect(frame.get_by_role("dialog", name="Rules")).to_be_visible()
    frame.get_by_role("button", name="Close").click()

    page.evaluate("window.send({type: 'submit-request'})")
    invalid = from_frame(page, "invalid")
    assert invalid[0]["message"].startswith("Please complete the task")
    expect(frame.get_by_role("alert")).to_contain_text("Please fill out this field.")

    frame.get_by_role("textbox", name="A").fill("hello")
    page.evaluate("window.send({type: 'submit-request'})")
    submit = from_frame(page, "submit")
    assert submit == [{"crowdloop": 1, "type": "submit", "answer": {"a": "hello"}}]

    # locked until the portal says storing failed; then a second submission goes through
    page.evaluate("window.send({type: 'submit-request'})")
    task.settle()
    assert len(from_frame(page, "submit")) == 1
    page.evaluate("window.send({type: 'submit-failed', message: 'Server down, try again.'})")
    expect(frame.get_by_role("alert")).to_have_text("Server down, try again.")
    frame.get_by_role("button", name="Submit", exact=True).click()
    assert len(from_frame(page, "submit", 2)) == 2
    # in framed mode nothing goes to the frame's own window: it only received the parent's messages
    received = page.frames[1].evaluate("window.__crowdMessages.map(m => m.type)")
    assert set(received) == {"submit-request", "submit-failed"}


def test_messages_from_other_windows_are_ignored(task: TaskPage) -> None:
    page = task.open("""<crowd-form><crowd-input name="a" value="v"></crowd-input></crowd-form>
    <iframe id="inner" srcdoc="<script>parent.postMessage({crowdloop: 1, type: 'submit-request'}, '*')</script>"></iframe>""")
    page.wait_for_function("document.getElementById('inner').contentDocument.readyState === 'complete'")
    task.settle()
    assert task.messages("submit") == []
    page.evaluate("window.postMessage({crowdloop: 1, type: 'submit-request'}, '*')")  # parent === window here
    assert task.answer() == {"a": "v"}


def test_v1_and_v2_scripts_on_one_page(task: TaskPage) -> None:
    page = task.open("""<script src="https://assets.crowd.aws/crowd-html-elements.js"></script>
    <script src="https://assets.crowd.aws/crowd-html-elements-v2.js"></script>
    <link rel="stylesheet" href="https://assets.crowd.aws/css/crowd-html-elements-v2.css">
    <crowd-form><crowd-checkbox name="ok">OK</crowd-checkbox></crowd-form>""")
    assert task.messages("ready") == [{"crowdloop": 1, "type": "ready"}]
    page.get_by_role("checkbox", name="OK").press("Space")
    assert task.submit_and_answer() == {"ok": {"on": True}}  # catalog F4
    assert len(task.messages("submit")) == 1


def test_no_form_answers_submit_request_with_invalid(task: TaskPage) -> None:
    page = task.open("<p>No form here</p>")
    page.evaluate("window.postMessage({crowdloop: 1, type: 'submit-request'}, '*')")
    assert task.wait_for_message("invalid")["message"] == "This task has no form to submit."


def test_works_under_the_portal_content_security_policy(task: TaskPage) -> None:
    # the frame's policy: no eval, styles and scripts inline or from the asset host, images from
    # granted hosts and data:/blob:
    policy = (
        "default-src 'none'; script-src 'unsafe-inline' https://assets.crowd.aws/; "
        "style-src 'unsafe-inline' https://assets.crowd.aws/; img-src https://media.crowdloop.test/ data: blob:; "
        "media-src https://media.crowdloop.test/ data: blob:; connect-src 'none'; frame-src 'none'; "
        "object-src 'none'; base-uri 'none'; form-action 'none'"
    )
    task.serve("https://media.crowdloop.test/p.png", png_bytes(40, 30), "image/png")
    html = (
        SCRIPT_TAG
        + """<crowd-form>
      <short-instructions>Rank, then paint.</short-instructions>
      <crowd-text-ranking name="r" text="Q" responses='["A", "B"]' ordinal-ranking-dimensions='[{"name": "Overall", "allowTie": true}]'></crowd-text-ranking>
      <crowd-semantic-segmentation name="s" src="https://media.crowdloop.test/p.png" labels="['x']"></crowd-semantic-segmentation>
      <crowd-slider name="v" value="3" pin></crowd-slider>
    </crowd-form>"""
    )
    task.serve(FRAME_URL, html, headers={"Content-Security-Policy": policy})
    page = task.page
    page.goto(FRAME_URL)
    task.wait_for_message("ready")
    page.get_by_role("combobox", name="Overall: rank of response 1").select_option("1")
    page.get_by_role("combobox", name="Overall: rank of response 2").select_option("1")
    page.wait_for_function(
        "document.querySelector('crowd-semantic-segmentation').value.inputImageProperties.width === 40"
    )
    page.keyboard.press("Control+Enter")
    answer = task.answer()
    assert answer["r"] == {"ordinalRankingDimensions": [{"name": "Overall", "responseRankings": [1, 1]}]}
    assert answer["s"]["labeledImage"]["pngImageData"].startswith("iVBOR")
    assert answer["v"] == 3


def test_ready_request_is_answered_once_ready(task: TaskPage) -> None:
    """A portal page whose script starts after the frame said "ready" asks again (portal.js does on start)."""
    page = framed(task, '<crowd-form><crowd-input name="a"></crowd-input></crowd-form>')
    assert len(from_frame(page, "ready")) == 1
    page.evaluate("window.send({type: 'ready-request'})")
    assert from_frame(page, "ready", 2) == [{"crowdloop": 1, "type": "ready"}] * 2
