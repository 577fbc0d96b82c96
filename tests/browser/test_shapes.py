"""crowd-bounding-box, crowd-keypoint, crowd-polygon, crowd-line, crowd-polyline: drawn with the
mouse and with the keyboard; answers in original image pixels."""

# ruff: noqa: E501  (HTML templates are kept on one line each for readability)

from __future__ import annotations

from typing import Any

from playwright.sync_api import Page, expect

from tests.browser.harness import TaskPage, png_bytes, render_corpus

IMAGE = "https://media.crowdloop.test/street.png"
SIZE = {"height": 480, "width": 640}


class Image:
    """Maps original-image pixels to screen points for an annotator's displayed image."""

    def __init__(self, page: Page, tag: str) -> None:
        self.page = page
        self.tag = tag
        page.wait_for_function(
            f"document.querySelector('{tag}').shadowRoot.querySelector('.layer').style.transform !== ''"
        )
        box = page.locator(f"{tag} img[part=image]").bounding_box()
        assert box
        self.box = box
        self.scale = box["width"] / 640

    def at(self, x: float, y: float) -> tuple[float, float]:
        return self.box["x"] + x * self.scale, self.box["y"] + y * self.scale

    def click(self, x: float, y: float, **kwargs: Any) -> None:
        self.page.mouse.click(*self.at(x, y), **kwargs)

    def drag(self, start: tuple[float, float], end: tuple[float, float]) -> None:
        self.page.mouse.move(*self.at(*start))
        self.page.mouse.down()
        self.page.mouse.move(*self.at((start[0] + end[0]) / 2, (start[1] + end[1]) / 2), steps=3)
        self.page.mouse.move(*self.at(*end), steps=3)
        self.page.mouse.up()

    def focus(self) -> None:
        self.page.locator(f"{self.tag} .stage").focus()


def keys(page: Page, *presses: str) -> None:
    for press in presses:
        name, _, count = press.partition("*")
        for _ in range(int(count or 1)):
            page.keyboard.press(name)


def near(actual: dict[str, Any], expected: dict[str, Any], tolerance: int = 1) -> bool:
    """Same keys, numbers within `tolerance` (mouse positions land on sub-pixels)."""
    if actual.keys() != expected.keys():
        return False
    for key, value in expected.items():
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            if not isinstance(actual[key], int) or abs(actual[key] - value) > tolerance:
                return False
        elif isinstance(value, dict):
            if not near(actual[key], value, tolerance):
                return False
        elif isinstance(value, list):
            if len(actual[key]) != len(value) or not all(
                near(a, e, tolerance) for a, e in zip(actual[key], value, strict=True)
            ):
                return False
        elif actual[key] != value:
            return False
    return True


def open_annotator(task: TaskPage, markup: str) -> Page:
    task.serve(IMAGE, png_bytes(640, 480), "image/png")
    return task.open(f"<crowd-form>{markup}</crowd-form>")


def test_bounding_box_mouse_and_keyboard(task: TaskPage) -> None:
    # catalog F7 on a 640x480 image
    page = open_annotator(
        task,
        f"""<crowd-bounding-box name="bb" src="{IMAGE}" header="Draw a box around each car" labels="['car', 'bus']">
      <short-instructions>Boxes must be tight.</short-instructions></crowd-bounding-box>""",
    )
    image = Image(page, "crowd-bounding-box")
    image.drag((100, 100), (220, 180))
    assert near(
        page.evaluate("document.querySelector('crowd-bounding-box').value"),
        {
            "boundingBoxes": [{"label": "car", "left": 100, "top": 100, "width": 120, "height": 80}],
            "inputImageProperties": SIZE,
        },
    )
    # keyboard: the crosshair starts at the centre (320, 240); digits pick the label
    image.focus()
    keys(page, "2", "ArrowLeft", "Shift+ArrowLeft*2", "Enter", "Shift+ArrowRight*5", "Shift+ArrowDown*3", "Enter")
    expect(page.get_by_role("button", name="Box 2: bus", exact=True)).to_be_visible()
    answer = task.submit_and_answer()
    assert near(
        answer,
        {
            "bb": {
                "boundingBoxes": [
                    {"label": "car", "left": 100, "top": 100, "width": 120, "height": 80},
                    {"label": "bus", "left": 300, "top": 240, "width": 50, "height": 30},
                ],
                "inputImageProperties": SIZE,
            }
        },
    )
    assert answer["bb"]["boundingBoxes"][1] == {"label": "bus", "left": 300, "top": 240, "width": 50, "height": 30}


def test_bounding_box_edit_move_resize_delete(task: TaskPage) -> None:
    page = open_annotator(
        task,
        f"""<crowd-bounding-box name="bb" src="{IMAGE}" labels="['car']"
      initial-value='[{{"label": "car", "left": 10, "top": 20, "width": 100, "height": 50}}, {{"label": "car", "left": 400, "top": 300, "width": 40, "height": 40}}]'></crowd-bounding-box>""",
    )
    image = Image(page, "crowd-bounding-box")
    assert page.evaluate("document.querySelector('crowd-bounding-box').value.initialValueModified") is False
    # select the first box from the list and nudge it with the keyboard
    page.get_by_role("button", name="Box 1: car", exact=True).click()
    keys(page, "ArrowRight*5", "Shift+ArrowDown")
    # drag the second box's bottom-right handle
    image.click(420, 320)
    image.drag((440, 340), (500, 400))
    # delete the... first box again via its list button
    page.get_by_role("button", name="Delete Box 1: car").click()
    answer = task.submit_and_answer()
    assert near(
        answer,
        {
            "bb": {
                "boundingBoxes": [{"label": "car", "left": 400, "top": 300, "width": 100, "height": 100}],
                "inputImageProperties": SIZE,
                "initialValueModified": True,
            }
        },
    )


def test_custom_labels_template(task: TaskPage) -> None:
    # labels = [] on ready, then added by the worker through a crowd-input in short-instructions
    page = task.open(
        render_corpus(task, "amazon-sagemaker-ground-truth-task-uis/images/bounding-box-custom-labels.liquid.html")
    )
    expect(page.get_by_text("No labels yet.")).to_be_visible()
    page.locator("#customLabel input").fill("tree")
    page.get_by_role("button", name="Add", exact=True).click()
    expect(page.locator("#labelsSection")).to_contain_text("tree")
    image = Image(page, "crowd-bounding-box")
    image.focus()
    keys(page, "ArrowUp", "Enter", "Shift+ArrowRight", "Shift+ArrowDown", "Enter")
    answer = task.submit_and_answer()
    natural = page.evaluate("document.querySelector('crowd-bounding-box').shadowRoot.querySelector('img').naturalWidth")
    assert natural == 64
    assert answer == {
        "myTexts": {
            "boundingBoxes": [{"label": "tree", "left": 32, "top": 24, "width": 10, "height": 10}],
            "inputImageProperties": {"height": 48, "width": 64},
        }
    }


def test_keypoints_and_the_validation_template(task: TaskPage) -> None:
    # The template's onsubmit counts the labels by splitting the attribute on '","'; with the
    # single-quoted labels it ships, it expects exactly one keypoint (the same happens on AWS).
    page = task.open(
        render_corpus(
            task, "amazon-sagemaker-ground-truth-task-uis/images/keypoint-additional-answer-validation.liquid.html"
        )
    )
    image = Image(page, "crowd-keypoint")
    task.submit()
    expect(page.locator("crowd-alert")).to_contain_text("You must add all keypoint annotations")
    assert task.messages("submit") == []
    image.focus()
    keys(page, "2", "ArrowUp", "Shift+ArrowRight", "Enter")
    assert page.evaluate("document.querySelector('crowd-keypoint')._submittableValue.keypoints") == [
        {"label": "Item B", "x": 42, "y": 24}
    ]
    assert task.submit_and_answer() == {
        "annotatedResult": {
            "inputImageProperties": {"height": 48, "width": 64},
            "keypoints": [{"label": "Item B", "x": 42, "y": 24}],
        }
    }


def test_keypoints_by_mouse(task: TaskPage) -> None:
    page = open_annotator(
        task, f"""<crowd-keypoint name="kp" src="{IMAGE}" labels="['left_eye', 'right_eye']"></crowd-keypoint>"""
    )
    image = Image(page, "crowd-keypoint")
    image.click(311, 140)
    page.get_by_text("right_eye").click()
    image.click(360, 142)
    image.click(100, 100)
    image.click(100, 100)  # a click on a point selects it
    page.keyboard.press("Delete")
    answer = task.submit_and_answer()
    assert near(
        answer,
        {
            "kp": {
                "inputImageProperties": SIZE,
                "keypoints": [{"label": "left_eye", "x": 311, "y": 140}, {"label": "right_eye", "x": 360, "y": 142}],
            }
        },
    )


def test_keypoint_initial_value_drops_unknown_labels(task: TaskPage) -> None:
    page = open_annotator(
        task,
        f"""<crowd-keypoint name="kp" src="{IMAGE}" labels="['eye']"
      initial-value="[{{label: 'eye', x: 300, y: 140}}, {{label: 'nose', x: 10, y: 10}}]"></crowd-keypoint>""",
    )
    Image(page, "crowd-keypoint")
    expect(page.get_by_role("button", name="Point 1: eye", exact=True)).to_be_visible()
    expect(page.get_by_role("button", name="Point 2: nose", exact=True)).to_have_count(0)
    assert task.submit_and_answer() == {
        "kp": {
            "inputImageProperties": SIZE,
            "keypoints": [{"label": "eye", "x": 300, "y": 140}],
            "initialValueModified": False,
        }
    }


def test_polygon_mouse_and_keyboard(task: TaskPage) -> None:
    page = open_annotator(
        task,
        f"""<crowd-polygon name="poly" src="{IMAGE}" labels="['roof']" header="Outline the roofs"></crowd-polygon>""",
    )
    image = Image(page, "crowd-polygon")
    for x, y in [(50, 60), (200, 60), (150, 200)]:
        image.click(x, y)
    image.click(51, 61)  # on the first vertex: closes
    image.focus()
    keys(page, "Escape", "ArrowDown", "Enter", "Shift+ArrowRight*4", "Enter", "Shift+ArrowDown*4", "Enter", "Enter")
    answer = task.submit_and_answer()
    assert near(
        answer,
        {
            "poly": {
                "inputImageProperties": SIZE,
                "polygons": [
                    {"label": "roof", "vertices": [{"x": 50, "y": 60}, {"x": 200, "y": 60}, {"x": 150, "y": 200}]},
                    {"label": "roof", "vertices": [{"x": 320, "y": 240}, {"x": 360, "y": 240}, {"x": 360, "y": 280}]},
                ],
            }
        },
    )
    assert answer["poly"]["polygons"][1]["vertices"] == [
        {"x": 320, "y": 240},
        {"x": 360, "y": 240},
        {"x": 360, "y": 280},
    ]


def test_unfinished_shape_blocks_submit(task: TaskPage) -> None:
    page = open_annotator(task, f"""<crowd-polygon name="poly" src="{IMAGE}" labels="['roof']"></crowd-polygon>""")
    image = Image(page, "crowd-polygon")
    image.click(10, 10)
    image.click(100, 10)
    assert "Finish the polygon you are drawing" in task.submit_blocked()
    image.focus()
    page.keyboard.press("Escape")
    assert task.submit_and_answer() == {"poly": {"inputImageProperties": SIZE, "polygons": []}}


def test_line_initial_value_and_drag(task: TaskPage) -> None:
    page = open_annotator(
        task,
        f"""<crowd-line name="lanes" src="{IMAGE}" labels="['lane', 'curb']" label-colors="['#ff0000', '#00ff00']"
      initial-value="{{lines: [{{label: 'lane', vertices: [{{x: 10, y: 400}}, {{x: 600, y: 380}}]}}]}}"></crowd-line>""",
    )
    image = Image(page, "crowd-line")
    page.get_by_text("curb").click()
    image.drag((100, 100), (300, 120))
    color = page.evaluate(
        "getComputedStyle(document.querySelector('crowd-line').shadowRoot.querySelectorAll('.shape')[3]).stroke"
    )
    assert color == "rgb(0, 255, 0)"
    answer = task.submit_and_answer()
    assert near(
        answer,
        {
            "lanes": {
                "inputImageProperties": SIZE,
                "initialValueModified": True,
                "lines": [
                    {"label": "lane", "vertices": [{"x": 10, "y": 400}, {"x": 600, "y": 380}]},
                    {"label": "curb", "vertices": [{"x": 100, "y": 100}, {"x": 300, "y": 120}]},
                ],
            }
        },
    )


def test_polyline_double_click_finishes(task: TaskPage) -> None:
    page = open_annotator(task, f"""<crowd-polyline name="paths" src="{IMAGE}" labels="['path']"></crowd-polyline>""")
    image = Image(page, "crowd-polyline")
    image.click(20, 20)
    image.click(120, 40)
    image.click(220, 20, click_count=2)
    answer = task.submit_and_answer()
    assert near(
        answer,
        {
            "paths": {
                "inputImageProperties": SIZE,
                "polylines": [
                    {"label": "path", "vertices": [{"x": 20, "y": 20}, {"x": 120, "y": 40}, {"x": 220, "y": 20}]}
                ],
            }
        },
    )


def test_zoom_keeps_image_coordinates(phone_task: TaskPage) -> None:
    page = open_annotator(phone_task, f"""<crowd-keypoint name="kp" src="{IMAGE}" labels="['p']"></crowd-keypoint>""")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    stage = page.locator("crowd-keypoint .stage")
    page.wait_for_function(
        "document.querySelector('crowd-keypoint').shadowRoot.querySelector('.layer').style.transform !== ''"
    )
    stage.focus()
    keys(page, "+", "+", "+")
    image = Image(page, "crowd-keypoint")
    assert image.scale > 1
    image.click(330, 250)
    answer = phone_task.submit_and_answer()
    assert near(answer, {"kp": {"inputImageProperties": SIZE, "keypoints": [{"label": "p", "x": 330, "y": 250}]}})
