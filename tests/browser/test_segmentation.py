"""crowd-semantic-segmentation and crowd-instance-segmentation: masks painted with the mouse and
the keyboard, exported as exact-colour PNGs of the original image size."""

# ruff: noqa: E501  (HTML templates are kept on one line each for readability)

from __future__ import annotations

import base64
from typing import Any

from playwright.sync_api import Page

from tests.browser.harness import TaskPage, decode_png, png_bytes, rgba_png
from tests.browser.test_shapes import keys

IMAGE = "https://media.crowdloop.test/scene.png"
BLUE, ORANGE, GREEN = (0x1F, 0x77, 0xB4, 255), (0xFF, 0x7F, 0x0E, 255), (0x2C, 0xA0, 0x2C, 255)
CLEAR = (0, 0, 0, 0)


def open_segmenter(task: TaskPage, tag: str, attrs: str, size: tuple[int, int] = (200, 150)) -> Page:
    task.serve(IMAGE, png_bytes(*size), "image/png")
    page = task.open(
        f'<crowd-form><{tag} name="seg" src="{IMAGE}" header="Paint the objects" {attrs}></{tag}></crowd-form>'
    )
    page.wait_for_function(f"document.querySelector('{tag}').shadowRoot.querySelector('.layer').style.transform !== ''")
    page.locator(f"{tag} .stage").focus()
    return page


def mask(answer: dict[str, Any]) -> list[list[tuple[int, int, int, int]]]:
    width, height, rows = decode_png(base64.b64decode(answer["labeledImage"]["pngImageData"]))
    assert (width, height) == (answer["inputImageProperties"]["width"], answer["inputImageProperties"]["height"])
    return rows


def screen(page: Page, tag: str, x: float, y: float) -> tuple[float, float]:
    box = page.locator(f"{tag} img[part=image]").bounding_box()
    assert box
    scale = box["width"] / page.evaluate(
        f"document.querySelector('{tag}').shadowRoot.querySelector('img').naturalWidth"
    )
    return box["x"] + x * scale, box["y"] + y * scale


def test_semantic_polygon_by_keyboard_brush_by_mouse(task: TaskPage) -> None:
    tag = "crowd-semantic-segmentation"
    page = open_segmenter(task, tag, "labels=\"['Cat', 'Dog', 'Bird']\"")
    # the first arrow shows the crosshair on pixel (100, 75); then a right triangle is filled
    keys(
        page,
        "p",
        "ArrowLeft",
        "ArrowRight",
        "Shift+ArrowLeft*2",
        "Enter",
        "Shift+ArrowRight*4",
        "Enter",
        "Shift+ArrowDown*3",
        "Enter",
        "Enter",
    )
    # Dog, brush drag along row 120
    page.get_by_text("Dog", exact=True).click()
    page.locator(f"{tag} .stage").focus()
    keys(page, "b")
    page.mouse.move(*screen(page, tag, 20, 120))
    page.mouse.down()
    page.mouse.move(*screen(page, tag, 60, 120), steps=5)
    page.mouse.up()
    answer = task.submit_and_answer()["seg"]
    assert set(answer) == {"inputImageProperties", "labelMappings", "labeledImage"}
    assert answer["inputImageProperties"] == {"height": 150, "width": 200}
    assert answer["labelMappings"] == {"Cat": {"color": "#1f77b4"}, "Dog": {"color": "#ff7f0e"}}
    rows = mask(answer)
    assert rows[76][115] == BLUE and rows[100][118] == BLUE  # inside the triangle
    assert rows[100][85] == CLEAR and rows[74][100] == CLEAR  # outside it
    assert rows[120][40] == ORANGE and rows[0][0] == CLEAR
    colors = {pixel for row in rows for pixel in row}
    assert colors == {BLUE, ORANGE, CLEAR}  # no blended edge colours


def test_eraser_and_undo(task: TaskPage) -> None:
    page = open_segmenter(task, "crowd-semantic-segmentation", "labels=\"['Cat']\"", size=(64, 48))
    keys(page, "ArrowUp", "Enter")  # the first arrow shows the crosshair on (32, 24); a dab of Cat
    keys(page, "e", "Enter")  # erased again
    keys(page, "b", "ArrowDown*10", "Enter", "Control+z")  # painted and undone
    keys(page, "ArrowUp*5", "Enter")
    answer = task.submit_and_answer()["seg"]
    rows = mask(answer)
    assert rows[24][32] == CLEAR and rows[34][32] == CLEAR and rows[29][32] == BLUE
    assert answer["labelMappings"] == {"Cat": {"color": "#1f77b4"}}


def test_instances_get_their_own_colours(task: TaskPage) -> None:
    page = open_segmenter(task, "crowd-instance-segmentation", "labels=\"['person', 'car']\"", size=(80, 60))
    keys(page, "n", "ArrowUp", "Shift+ArrowLeft*2", "Enter")
    keys(page, "n", "Shift+ArrowRight*4", "Enter")
    keys(page, "2", "n", "Shift+ArrowDown*2", "Enter")
    answer = task.submit_and_answer()["seg"]
    assert set(answer) == {"inputImageProperties", "instances", "labeledImage"}
    assert answer["instances"] == [
        {"color": "#1f77b4", "label": "person"},
        {"color": "#ff7f0e", "label": "person"},
        {"color": "#2ca02c", "label": "car"},
    ]
    rows = mask(answer)
    assert rows[30][20] == BLUE and rows[30][60] == ORANGE and rows[50][60] == GREEN
    assert page.get_by_role("radio", name="person #2").is_visible()


def test_semantic_initial_value_and_modified_flag(task: TaskPage) -> None:
    initial = rgba_png(64, 48, lambda x, y: (0x2C, 0xA0, 0x2C, 255) if y < 24 else (0, 0, 0, 0))
    src = "data:image/png;base64," + base64.b64encode(initial).decode()
    attrs = f"""labels="['road', 'sky']" initial-value='{{"labelMappings": {{"sky": {{"color": "#2ca02c"}}}}, "src": "{src}"}}'"""
    page = open_segmenter(task, "crowd-semantic-segmentation", attrs, size=(64, 48))
    page.wait_for_function("document.querySelector('crowd-semantic-segmentation').value.labelMappings.sky")
    value = page.evaluate("document.querySelector('crowd-semantic-segmentation').value")
    assert value["initialValueModified"] is False
    assert value["labelMappings"] == {"sky": {"color": "#2ca02c"}}
    keys(page, "ArrowDown", "Shift+ArrowDown", "Enter")  # road (label 1) on pixel (32, 34)
    answer = task.submit_and_answer()["seg"]
    assert answer["initialValueModified"] is True
    road = answer["labelMappings"]["road"]["color"]
    assert road not in ("#2ca02c",) and answer["labelMappings"]["sky"] == {"color": "#2ca02c"}
    rows = mask(answer)
    assert rows[10][10] == GREEN and rows[40][10] == CLEAR
    assert rows[34][32][:3] == tuple(int(road[i : i + 2], 16) for i in (1, 3, 5))
