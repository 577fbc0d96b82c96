"""crowd-image-classifier and crowd-image-classifier-multi-select."""

# ruff: noqa: E501  (HTML templates are kept on one line each for readability)

from __future__ import annotations

from playwright.sync_api import expect

from tests.browser.harness import TaskPage, png_bytes, render_corpus, serve_media

IMAGE = "https://media.crowdloop.test/photo.png"


def test_image_classifier_template(task: TaskPage) -> None:
    page = task.open(
        render_corpus(task, "amazon-sagemaker-ground-truth-task-uis/images/image-classification.liquid.html")
    )
    image = page.locator("crowd-image-classifier img[part=image]")
    page.wait_for_function(
        "document.querySelector('crowd-image-classifier').shadowRoot.querySelector('img').naturalWidth > 0"
    )
    assert image.evaluate("i => i.naturalWidth") == 64
    assert task.submit_blocked().endswith("Please choose a category.")
    page.get_by_role("radio", name="Dog").click()
    assert task.submit_and_answer() == {"crowd-image-classifier": {"label": "Dog"}}


def test_worker_comment_by_keyboard(task: TaskPage) -> None:
    task.serve(IMAGE, png_bytes(300, 200), "image/png")
    page = task.open(f"""<crowd-form><crowd-image-classifier name="verdict" src="{IMAGE}" header="Is the box right?" categories="['Good', 'Bad']">
      <worker-comment header="What is wrong?" link-text="Explain your answer" placeholder="e.g. the box misses the tail">Describe the problem.</worker-comment>
      <short-instructions>Check the box.</short-instructions>
    </crowd-image-classifier></crowd-form>""")
    page.get_by_role("radio", name="Good").focus()
    page.keyboard.press("2")
    page.get_by_role("button", name="Explain your answer").press("Enter")
    dialog = page.get_by_role("dialog", name="What is wrong?")
    expect(dialog).to_be_visible()
    expect(page.get_by_text("Describe the problem.")).to_be_visible()
    comment = page.get_by_role("textbox", name="Comment")
    expect(comment).to_be_focused()
    expect(comment).to_have_attribute("placeholder", "e.g. the box misses the tail")
    page.keyboard.type("box misses the tail")
    page.get_by_role("button", name="Save").press("Enter")
    expect(dialog).to_be_hidden()
    expect(page.get_by_text("box misses the tail", exact=True)).to_be_visible()
    assert task.submit_and_answer() == {"verdict": {"label": "Bad", "workerComment": "box misses the tail"}}


def test_multi_select_zoomable_image_template(task: TaskPage) -> None:
    path = (
        "amazon-sagemaker-ground-truth-task-uis/images/image-classification-multiselect-and-zoomable-image.liquid.html"
    )
    serve_media(task, "https://s3.amazonaws.com/cv-demo-images/ken-griffey-jr.jpg")
    page = task.open(render_corpus(task, path))
    layer = page.locator("crowd-image-classifier-multi-select .layer")
    page.wait_for_function(
        "document.querySelector('crowd-image-classifier-multi-select').shadowRoot.querySelector('.layer').style.transform !== ''"
    )
    before = layer.bounding_box()
    page.get_by_role("button", name="Zoom in").click()
    after = layer.bounding_box()
    assert before and after and after["width"] > before["width"] * 1.2
    page.get_by_role("button", name="Fit image").click()
    page.get_by_role("checkbox", name="Horse").check()
    page.get_by_role("checkbox", name="Slow Loris").check()
    assert task.submit_and_answer() == {"animals": {"labels": ["Horse", "Slow Loris"]}}


def test_overlay_boxes_are_drawn_in_image_pixels(task: TaskPage) -> None:
    task.serve(IMAGE, png_bytes(400, 200), "image/png")
    page = task.open(f"""<crowd-form><crowd-image-classifier name="ok" src="{IMAGE}" header="Correct?" categories="['Yes', 'No']"
      overlay='{{"boundingBox": {{"labels": ["car"], "value": [{{"label": "car", "left": 100, "top": 50, "width": 200, "height": 100}}]}}}}'>
    </crowd-image-classifier></crowd-form>""")
    page.wait_for_function(
        "document.querySelector('crowd-image-classifier').shadowRoot.querySelector('.layer').style.transform !== ''"
    )
    rect = page.locator("crowd-image-classifier svg rect").bounding_box()
    img = page.locator("crowd-image-classifier img[part=image]").bounding_box()
    assert rect and img
    scale = img["width"] / 400
    # compare centres and sizes, the stroke widens the box a little
    assert abs(rect["x"] + rect["width"] / 2 - (img["x"] + 200 * scale)) < 1
    assert abs(rect["y"] + rect["height"] / 2 - (img["y"] + 100 * scale)) < 1
    assert abs(rect["width"] - 200 * scale) < 6
    page.get_by_role("radio", name="Yes").check()
    assert task.submit_and_answer() == {"ok": {"label": "Yes"}}
