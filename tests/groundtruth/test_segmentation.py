"""Semantic segmentation and its adjustment (crowdloop/groundtruth/segmentation.py): masks painted with Pillow
as crowd-semantic-segmentation sends them, consolidated, and the output PNG read back."""

from __future__ import annotations

import base64
import io
import subprocess
import sys
from typing import Any

import numpy as np
import pytest
from PIL import Image, ImageDraw

from crowdloop.errors import InvalidInput
from crowdloop.groundtruth import segmentation
from crowdloop.groundtruth.consolidation import builtin_task_input
from crowdloop.groundtruth.tasktypes import TaskType
from tests.groundtruth.helpers import DATE, obj, run

SEG, ADJUST = TaskType.SEMANTIC_SEGMENTATION, TaskType.ADJUSTMENT_SEMANTIC_SEGMENTATION
LABELS = ["Bird", "Cat", "Dog"]
PREFIX = "s3://b/out/job/annotations/consolidated-annotation/output/"
BLUE, GREEN, RED = "#1f77b4", "#2ca02c", "#d62728"
Box = tuple[int, int, int, int]  # x0, y0, x1, y1 (exclusive)


def png(size: tuple[int, int], regions: list[tuple[str, Box]]) -> bytes:
    """A transparent RGBA PNG (as the element sends it) with opaque rectangles."""
    image = Image.new("RGBA", size, (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    for color, (x0, y0, x1, y1) in regions:
        draw.rectangle((x0, y0, x1 - 1, y1 - 1), fill=color)
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def answer(
    regions: list[tuple[str, Box]], mappings: dict[str, str], size: tuple[int, int] = (20, 20), **extra: Any
) -> dict[str, Any]:
    data = base64.b64encode(png(size, regions)).decode()
    return {
        "crowd-semantic-segmentation": {
            "inputImageProperties": {"height": size[1], "width": size[0]},
            "labelMappings": {label: {"color": color} for label, color in mappings.items()},
            "labeledImage": {"pngImageData": data},
            **extra,
        }
    }


def classes(data: bytes) -> np.ndarray[Any, Any]:
    """The class index of each pixel of the consolidated palette PNG."""
    with Image.open(io.BytesIO(data)) as image:
        assert image.mode == "P"
        return np.asarray(image)


def mask(size: tuple[int, int], *regions: tuple[int, Box]) -> np.ndarray[Any, Any]:
    out = np.zeros((size[1], size[0]), dtype=np.uint8)
    for cls, (x0, y0, x1, y1) in regions:
        out[y0:y1, x0:x1] = cls
    return out


def one(task_type: TaskType, answers: list[dict[str, Any]], line: dict[str, Any] | None = None, **extra: Any) -> Any:
    result = run(task_type, [obj(0, answers, line)], LABELS, attr="seg-ref", output_prefix=PREFIX, **extra)
    return result["0"]


def test_three_workers_majority_then_smoothing() -> None:
    square = (2, 2, 12, 12)
    answers = [
        answer([(BLUE, square), (RED, (16, 2, 17, 3))], {"Bird": BLUE, "Cat": RED}),
        answer([(BLUE, square), (RED, (16, 2, 17, 3))], {"Bird": BLUE, "Cat": RED}),
        # the third worker's palette differs: colours are read per worker
        answer([(GREEN, square), (RED, (14, 14, 18, 18))], {"Bird": GREEN, "Dog": RED}),
    ]
    result = one(SEG, answers)
    got = classes(result.files[f"0_{DATE}.png"])
    expected = mask((20, 20), (1, square))
    for x, y in ((2, 2), (11, 2), (2, 11), (11, 11)):  # the mode filter rounds the square's corners
        expected[y, x] = 0
    # the lone Cat pixel two workers share wins the vote and is smoothed away; one worker's Dog loses the vote
    assert (got == expected).all()
    workers = [mask((20, 20), (1, square), (2, (16, 2, 17, 3)))] * 2 + [
        mask((20, 20), (1, square), (3, (14, 14, 18, 18)))
    ]
    agreeing = sum((w == expected).sum() for w in workers)
    confidence = result.content["seg-ref-metadata"]["internal-color-map"]["0"]["confidence"]
    assert confidence == pytest.approx(agreeing / (3 * 400)) and confidence < 1
    color_map = result.content["seg-ref-metadata"]["internal-color-map"]
    assert color_map == {
        "0": {"class-name": "BACKGROUND", "hex-color": "#ffffff", "confidence": confidence},
        "1": {"class-name": "Bird", "hex-color": BLUE, "confidence": confidence},  # 2 of 3 workers' colour
        "2": {"class-name": "Cat", "hex-color": RED, "confidence": confidence},
        "3": {"class-name": "Dog", "hex-color": "#ff7f0e", "confidence": confidence},  # RED is Cat's already
    }
    with Image.open(io.BytesIO(result.files[f"0_{DATE}.png"])) as image:
        rgb = image.convert("RGB")
        assert rgb.getpixel((5, 5)) == (0x1F, 0x77, 0xB4) and rgb.getpixel((0, 0)) == (255, 255, 255)


def test_the_line_is_shaped_as_the_real_sample() -> None:
    result = one(SEG, [answer([(BLUE, (0, 0, 4, 4))], {"Bird": BLUE})] * 2)
    sample = {  # spec §8.2, the real job's line without source-ref (key order matters)
        "my-cat-job-ref": "s3://…/annotations/consolidated-annotation/output/0_2020-04-21T13:48:00.091190.png",
        "my-cat-job-ref-metadata": {
            "internal-color-map": {
                "0": {"class-name": "BACKGROUND", "hex-color": "#ffffff", "confidence": 0.8054600000000001},
                "1": {"class-name": "cat", "hex-color": "#2ca02c", "confidence": 0.8054600000000001},
            },
            "type": "groundtruth/semantic-segmentation",
            "human-annotated": "yes",
            "creation-date": "2020-04-21T13:48:00.562419",
            "job-name": "labeling-job/my-cat-job",
        },
    }
    content = result.content
    assert list(content) == ["seg-ref", "seg-ref-metadata"]
    assert content["seg-ref"] == f"{PREFIX}0_{DATE}.png" and list(result.files) == [f"0_{DATE}.png"]
    metadata, real = content["seg-ref-metadata"], sample["my-cat-job-ref-metadata"]
    assert list(metadata) == list(real)
    assert [list(entry) for entry in metadata["internal-color-map"].values()] == [
        ["class-name", "hex-color", "confidence"]
    ] * 4
    assert metadata["type"] == "groundtruth/semantic-segmentation" and metadata["human-annotated"] == "yes"
    assert metadata["creation-date"] == DATE and metadata["job-name"] == "labeling-job/job"
    # two identical masks; smoothing takes the square's inner corner (3, 3), where both workers disagree with it
    assert metadata["internal-color-map"]["0"]["confidence"] == 399 / 400


def test_unknown_colours_and_labels_are_background() -> None:
    regions = [(BLUE, (0, 0, 10, 10)), ("#123456", (10, 0, 20, 10)), (RED, (0, 10, 10, 20))]
    result = one(SEG, [answer(regions, {"Bird": BLUE, "Heron": RED})])
    got = classes(result.files[f"0_{DATE}.png"])
    assert (got == mask((20, 20), (1, (0, 0, 10, 10)))).all()


def test_one_worker_keeps_its_mask_with_confidence_zero() -> None:
    regions = [(BLUE, (2, 2, 5, 5)), (GREEN, (9, 9, 10, 10))]
    result = one(SEG, [answer(regions, {"Bird": BLUE, "Dog": GREEN})])
    got = classes(result.files[f"0_{DATE}.png"])
    assert (got == mask((20, 20), (1, (2, 2, 5, 5)), (3, (9, 9, 10, 10)))).all()  # no smoothing: corners, lone pixel
    color_map = result.content["seg-ref-metadata"]["internal-color-map"]
    assert {entry["confidence"] for entry in color_map.values()} == {0.0}
    assert [entry["hex-color"] for entry in color_map.values()] == ["#ffffff", BLUE, "#ff7f0e", GREEN]


def test_masks_are_resized_to_the_image_and_broken_ones_skipped() -> None:
    small = answer([(BLUE, (0, 0, 5, 5))], {"Bird": BLUE}, size=(10, 10))
    small["crowd-semantic-segmentation"]["inputImageProperties"] = {"height": 20, "width": 20}
    broken = answer([], {})
    broken["crowd-semantic-segmentation"]["labeledImage"]["pngImageData"] = base64.b64encode(b"not a png").decode()
    result = one(SEG, [broken, small, {"crowd-semantic-segmentation": {"labeledImage": {"pngImageData": "%%"}}}])
    got = classes(result.files[f"0_{DATE}.png"])
    assert got.shape == (20, 20) and (got == mask((20, 20), (1, (0, 0, 10, 10)))).all()
    assert result.content["seg-ref-metadata"]["internal-color-map"]["0"]["confidence"] == 0.0  # one counted
    assert run(SEG, [obj(0, [broken, {"x": {"label": "Bird"}}])], LABELS, attr="seg-ref") == {}


PREVIOUS_LINE = {
    "source-ref": "s3://b/pictures/0.jpg",
    "first-ref": "s3://b/out/first/annotations/consolidated-annotation/output/0_2020-04-21T13:48:00.091190.png",
    "first-ref-metadata": {
        "internal-color-map": {
            "0": {"class-name": "BACKGROUND", "hex-color": "#ffffff", "confidence": 0.8},
            "1": {"class-name": "Bird", "hex-color": GREEN, "confidence": 0.8},
        },
        "type": "groundtruth/semantic-segmentation",
    },
}


def _previous() -> bytes:
    image = Image.new("RGB", (20, 20), (255, 255, 255))
    ImageDraw.Draw(image).rectangle((2, 2, 11, 11), fill=GREEN)
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


@pytest.mark.parametrize(
    ("box", "previous", "modified", "status"),
    [
        ((2, 2, 12, 12), True, None, "unadjusted"),  # same mask as before (another colour)
        ((2, 2, 14, 12), True, None, "adjusted"),
        ((2, 2, 14, 12), False, False, "unadjusted"),  # no previous mask: the element's flag decides
        ((2, 2, 12, 12), False, True, "adjusted"),
        ((2, 2, 12, 12), False, None, "adjusted"),  # nothing to compare with: painting counts
    ],
)
def test_adjustment_status(box: Box, previous: bool, modified: bool | None, status: str) -> None:
    extra = {} if modified is None else {"initialValueModified": modified}
    answers = [answer([(BLUE, box)], {"Bird": BLUE}, **extra)]
    masks = {"0": _previous()} if previous else None
    result = one(ADJUST, answers, dict(PREVIOUS_LINE), previous_masks=masks)
    metadata = result.content["seg-ref-metadata"]
    assert list(metadata)[-1] == "adjustment-status" and metadata["adjustment-status"] == status
    assert metadata["type"] == "groundtruth/semantic-segmentation"


def test_the_adjustment_template_gets_the_previous_mask() -> None:
    task_input = builtin_task_input(ADJUST, PREVIOUS_LINE, LABELS, label_attribute_name="second-ref")
    assert task_input["taskObject"] == "s3://b/pictures/0.jpg" and task_input["manifestLine"] == PREVIOUS_LINE
    assert task_input["initialValue"] == {
        "src": PREVIOUS_LINE["first-ref"],
        "labelMappings": {"Bird": {"color": GREEN}},
    }
    assert "initialValue" not in builtin_task_input(SEG, PREVIOUS_LINE, LABELS, label_attribute_name="x-ref")
    assert segmentation.previous_ref({"source-ref": "s3://b/x.jpg"}, "x-ref") is None


WITHOUT_EXTRA = """
import sys
sys.modules["PIL"] = sys.modules["numpy"] = None  # as if crowdloop[segmentation] were not installed
from crowdloop.errors import InvalidInput
from crowdloop.labeling import jobs
arn = "arn:aws:lambda:us-east-1:432418664414:function:{}-SemanticSegmentation"
request = {
    "LabelAttributeName": "seg-ref",
    "InputConfig": {"DataSource": {"S3DataSource": {"ManifestS3Uri": "s3://b/in.manifest"}}},
    "HumanTaskConfig": {
        "UiConfig": {"UiTemplateS3Uri": "s3://b/t.liquid"},
        "TaskTimeLimitInSeconds": 300,
        "PreHumanTaskLambdaArn": arn.format("PRE"),
        "AnnotationConsolidationConfig": {"AnnotationConsolidationLambdaArn": arn.format("ACS")},
    },
}
try:
    jobs._check_request(request)
except InvalidInput as exc:
    print(exc)
"""


def test_a_server_without_the_extra_refuses_segmentation_jobs() -> None:
    """The package (and the labeling layer) loads without Pillow and numpy; CreateLabelingJob's checks then
    refuse segmentation jobs with a message naming the extra."""
    done = subprocess.run([sys.executable, "-c", WITHOUT_EXTRA], capture_output=True, text=True, check=True)
    assert done.stdout.startswith("Semantic segmentation jobs need crowdloop[segmentation] (Pillow and numpy)")


def test_without_the_extra_consolidation_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(segmentation, "available", lambda: False)
    with pytest.raises(InvalidInput, match=r"crowdloop\[segmentation\] \(Pillow and numpy\)"):
        one(SEG, [answer([(BLUE, (0, 0, 4, 4))], {"Bird": BLUE})])


def test_palette_colours_are_distinct() -> None:
    colors = [segmentation.palette_color(k) for k in range(60)]
    assert colors[:3] == ["#1f77b4", "#ff7f0e", "#2ca02c"] and len(set(colors)) == 60
    assert all(len(c) == 7 and c.startswith("#") for c in colors)
