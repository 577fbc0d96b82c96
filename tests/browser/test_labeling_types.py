"""Each built-in Ground Truth task type labeled in a real browser, end to end: boto3 creates the job from
files in the server's built-in S3 (the public task UIs of amazon-sagemaker-ground-truth-task-uis unchanged,
the built-in NER UI by its HumanTaskUiArn), 1-3 workers label 2-3 objects each in the portal with the mouse
(categories, boxes drawn on the picture, text spans) and press Submit, and the output manifest read back
with boto3 is compared line by line with the shapes of spec ground-truth-api.md §8.2.

Semantic segmentation: two workers fill the same polygon with crowd-semantic-segmentation's polygon tool; the
consolidated mask, a PNG under annotations/consolidated-annotation/output/, is read back with boto3.

Also: a verification job on chained manifest lines that carry a previous bounding-box label, and the custom
NER template of amazon-sagemaker-examples as a custom job without Lambdas (label `{}` + worker-response-ref).

The corpus templates hard-code their categories: the label files list the same ones, in the same order.
"""

from __future__ import annotations

import io
import json
from typing import Any

import pytest
from PIL import Image
from playwright.sync_api import Browser, Frame, expect

from tests.browser.harness import CHARACTER_POINTS, png_bytes
from tests.browser.labeling_site import (
    DATE,
    NER_UI,
    LabelingSite,
    LabelingWorker,
    create_job,
    finish,
    label_job,
    labeling_site,  # noqa: F401
)
from tests.shared import CORPUS

UIS = CORPUS / "amazon-sagemaker-ground-truth-task-uis"


def _labels(*names: str) -> list[dict[str, Any]]:
    return [{"label": name} for name in names]


def _check_metadata(line: dict[str, Any], attribute: str, keys: list[str], job_name: str, kind: str) -> dict[str, Any]:
    metadata: dict[str, Any] = line[f"{attribute}-metadata"]
    assert list(metadata) == keys
    assert metadata["job-name"] == f"labeling-job/{job_name}"
    assert metadata["human-annotated"] == "yes"
    assert DATE.fullmatch(metadata["creation-date"]), metadata["creation-date"]
    assert metadata["type"] == f"groundtruth/{kind}"
    return metadata


def _submit(frame: Frame) -> None:
    frame.get_by_role("button", name="Submit", exact=True).click()


# ---- single-label image classification: images/image-classification.liquid.html, 3 workers ----

IMAGE_CLASSES = ("Cat", "Dog", "Bird", "Other")


def test_image_classification_three_workers(labeling_site: LabelingSite, browser: Browser) -> None:  # noqa: F811
    template = (UIS / "images/image-classification.liquid.html").read_text()
    files = {
        "images/dog.png": (png_bytes(96, 64, (160, 110, 60)), "image/png"),
        "images/bird.png": (png_bytes(80, 80, (40, 120, 220)), "image/png"),
    }
    lines = [
        {"source-ref": "s3://{bucket}/images/dog.png", "id": 7},
        {"source-ref": "s3://{bucket}/images/bird.png", "id": 8},
    ]
    job = create_job(
        labeling_site,
        "ImageMultiClass",
        lines,
        labels=_labels(*IMAGE_CLASSES),
        template=template,
        files=files,
        workers_per_object=3,
        attribute="animal",
    )

    def answer(worker: LabelingWorker, frame: Frame) -> None:
        classifier = frame.locator("crowd-image-classifier")
        src = classifier.get_attribute("src") or ""
        picture = classifier.locator("img").first
        picture.wait_for(state="visible")
        frame.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=picture.element_handle())
        frame.get_by_role("radio", name="Dog" if "/dog.png" in src else "Bird", exact=True).click()
        _submit(frame)

    for number in range(3):
        assert label_job(browser, labeling_site, number, job.title, answer) == 2
    output = finish(labeling_site, job)
    assert [{k: line[k] for k in ("source-ref", "id")} for line in output] == job.lines
    for line, (index, name) in zip(output, [(1, "Dog"), (2, "Bird")], strict=True):
        assert list(line) == ["source-ref", "id", "animal", "animal-metadata"]
        assert line["animal"] == index and type(line["animal"]) is int
        keys = ["confidence", "job-name", "class-name", "human-annotated", "creation-date", "type"]
        metadata = _check_metadata(line, "animal", keys, job.name, "image-classification")
        assert metadata["class-name"] == name and metadata["confidence"] == 0.95  # unanimous 3


# ---- single-label text classification: text/text-classification.liquid.html, 1 worker ----

TEXTS = {
    "What a wonderful morning, I love it!": "Positive",
    "The train is late again and I am furious.": "Negative",
    "The meeting is at ten o'clock.": "Neutral",
}


def test_text_classification_one_worker(labeling_site: LabelingSite, browser: Browser) -> None:  # noqa: F811
    template = (UIS / "text/text-classification.liquid.html").read_text()
    lines = [{"source": text} for text in TEXTS]
    job = create_job(
        labeling_site,
        "TextMultiClass",
        lines,
        labels=_labels("Positive", "Negative", "Neutral"),
        template=template,
        attribute="sentiment",
    )

    def answer(worker: LabelingWorker, frame: Frame) -> None:
        text = frame.locator("classification-target").inner_text().strip()
        frame.get_by_role("radio", name=TEXTS[text], exact=True).click()
        _submit(frame)

    assert label_job(browser, labeling_site, 0, job.title, answer) == 3
    output = finish(labeling_site, job)
    for line, (text, name) in zip(output, TEXTS.items(), strict=True):
        assert list(line) == ["source", "sentiment", "sentiment-metadata"]
        assert line["source"] == text
        assert line["sentiment"] == ["Positive", "Negative", "Neutral"].index(name)
        keys = ["confidence", "job-name", "class-name", "human-annotated", "creation-date", "type"]
        metadata = _check_metadata(line, "sentiment", keys, job.name, "text-classification")
        assert metadata["class-name"] == name
        assert metadata["confidence"] == 0.0  # one worker


# ---- multi-label text classification: text/text-classification-multiselect.liquid.html, 2 workers ----

MULTI = {
    "Great food but the service was rude.": (("Positive", "Negative"), ("Negative",)),
    "It opens at nine.": (("Neutral",), ("Neutral",)),
}


def test_text_multi_label_two_workers(labeling_site: LabelingSite, browser: Browser) -> None:  # noqa: F811
    # (images/image-classification-multiselect.liquid.html hard-codes a picture on the internet: the text
    # template of the same element family is used instead)
    template = (UIS / "text/text-classification-multiselect.liquid.html").read_text()
    job = create_job(
        labeling_site,
        "TextMultiClassMultiLabel",
        [{"source": text} for text in MULTI],
        labels=_labels("Positive", "Negative", "Neutral"),
        template=template,
        workers_per_object=2,
        attribute="tones",
    )

    def answerer(number: int) -> Any:
        def answer(worker: LabelingWorker, frame: Frame) -> None:
            text = frame.locator("classification-target").inner_text().strip()
            for name in MULTI[text][number]:
                frame.get_by_role("checkbox", name=name, exact=True).click()
            _submit(frame)

        return answer

    for number in range(2):
        assert label_job(browser, labeling_site, number, job.title, answerer(number)) == 2
    first, second = finish(labeling_site, job)
    keys = ["job-name", "confidence-map", "class-map", "type", "human-annotated", "creation-date"]
    assert list(first) == ["source", "tones", "tones-metadata"]
    assert first["tones"] == [1, 0]  # chosen by both, then by one
    metadata = _check_metadata(first, "tones", keys, job.name, "text-classification-multilabel")
    assert metadata["class-map"] == {"1": "Negative", "0": "Positive"}
    assert metadata["confidence-map"] == {"1": 0.95, "0": 0.5}
    assert second["tones"] == [2]
    metadata = _check_metadata(second, "tones", keys, job.name, "text-classification-multilabel")
    assert metadata["class-map"] == {"2": "Neutral"} and metadata["confidence-map"] == {"2": 0.95}


# ---- bounding boxes: images/bounding-box.liquid.html (element name "annotatedResult"), 2 workers ----

SIZES = {"street.png": (320, 240), "park.png": (400, 300)}
# per picture: (label, fractions of the picture (x0, y0, x1, y1)) every worker draws; the second worker
# draws one more Dog box on the park
BOXES = {
    "street.png": [("Cat", (0.1, 0.2, 0.4, 0.6)), ("Dog", (0.55, 0.3, 0.9, 0.8))],
    "park.png": [("Dog", (0.2, 0.25, 0.5, 0.75))],
}
EXTRA = ("Dog", (0.65, 0.1, 0.85, 0.4))


def _draw(worker: LabelingWorker, frame: Frame, label: str, box: tuple[float, float, float, float]) -> None:
    element = frame.locator("crowd-bounding-box")
    element.locator("[part=labels] label").filter(has_text=label).click()
    picture = element.locator("img[part=image]").bounding_box()
    assert picture is not None
    x0, y0, x1, y1 = box

    def at(fx: float, fy: float) -> tuple[float, float]:
        return picture["x"] + picture["width"] * fx, picture["y"] + picture["height"] * fy

    worker.drag(at(x0, y0), at(x1, y1))


def test_bounding_boxes_two_workers(labeling_site: LabelingSite, browser: Browser) -> None:  # noqa: F811
    template = (UIS / "images/bounding-box.liquid.html").read_text()
    files = {f"pictures/{name}": (png_bytes(w, h, (90, 140, 60)), "image/png") for name, (w, h) in SIZES.items()}
    job = create_job(
        labeling_site,
        "BoundingBox",
        [{"source-ref": f"s3://{{bucket}}/pictures/{name}"} for name in SIZES],
        labels=_labels("Cat", "Dog"),
        template=template,
        files=files,
        workers_per_object=2,
        attribute="category",
    )

    def answerer(number: int) -> Any:
        def answer(worker: LabelingWorker, frame: Frame) -> None:
            element = frame.locator("crowd-bounding-box")
            name = (element.get_attribute("src") or "").split("?", 1)[0].rsplit("/", 1)[-1]
            frame.wait_for_function(
                "el => { const img = el.shadowRoot && el.shadowRoot.querySelector('img[part=image]');"
                " return img && img.complete && img.naturalWidth > 0; }",
                arg=element.element_handle(),
            )
            for label, box in BOXES[name] + ([EXTRA] if number == 1 and name == "park.png" else []):
                _draw(worker, frame, label, box)
            _submit(frame)

        return answer

    for number in range(2):
        assert label_job(browser, labeling_site, number, job.title, answerer(number)) == 2
    output = finish(labeling_site, job)
    for line, name in zip(output, SIZES, strict=True):
        width, height = SIZES[name]
        assert list(line) == ["source-ref", "category", "category-metadata"]
        value = line["category"]
        assert list(value) == ["image_size", "annotations"]
        assert value["image_size"] == [{"width": width, "height": height, "depth": 3}]
        drawn = BOXES[name] + ([EXTRA] if name == "park.png" else [])
        assert len(value["annotations"]) == len(drawn)
        for box, (label, (x0, y0, x1, y1)) in zip(value["annotations"], drawn, strict=True):
            assert list(box) == ["class_id", "top", "left", "height", "width"]
            assert box["class_id"] == ["Cat", "Dog"].index(label)
            expected = {
                "left": x0 * width,
                "top": y0 * height,
                "width": (x1 - x0) * width,
                "height": (y1 - y0) * height,
            }
            for side, pixels in expected.items():  # the mouse lands within a pixel or two of the point
                assert box[side] == pytest.approx(pixels, abs=2.5), (name, box, expected)
        keys = ["objects", "class-map", "type", "human-annotated", "creation-date", "job-name"]
        metadata = _check_metadata(line, "category", keys, job.name, "object-detection")
        confidences = [o["confidence"] for o in metadata["objects"]]
        assert [list(o) for o in metadata["objects"]] == [["confidence"]] * len(drawn)
        assert all(0.9 <= c <= 1.0 for c in confidences[: len(BOXES[name])]), confidences  # both workers
        if name == "park.png":
            assert confidences[-1] == 0.5  # one of two workers
        assert metadata["class-map"] == {str(["Cat", "Dog"].index(label)): label for label, _ in sorted(drawn)}


# ---- named entities: the built-in UI (HumanTaskUiArn .../NamedEntityRecognition), 1 worker ----

NER_LABELS = [{"label": "person", "shortDisplayName": "PER"}, {"label": "organisation", "shortDisplayName": "ORG"}]
NER_TEXTS = {
    "Alice works at Initech in Paris.": [("person", "Alice"), ("organisation", "Initech")],
    "Yesterday Bob Smith joined Globex.": [("organisation", "Globex"), ("person", "Bob Smith")],
    "Zoë 🎉 met Carol at Initech 😀 today.": [("person", "Carol"), ("organisation", "Initech")],
}


def _utf16(text: str, i: int) -> int:
    """The JavaScript string index of Python (code point) index i."""
    return len(text[:i].encode("utf-16-le")) // 2


def _select(worker: LabelingWorker, frame: Frame, start: int, end: int) -> None:
    """Drag the mouse across characters [start, end) of the annotator's text (tests/browser/test_entity.py)."""
    points = frame.evaluate(
        CHARACTER_POINTS,
        [start, end],
    )
    dx, dy = worker.frame_offset(frame)
    worker.drag((points[0][0] + dx, points[0][1] + dy), (points[1][0] + dx, points[1][1] + dy))


def test_named_entities_builtin_ui(labeling_site: LabelingSite, browser: Browser) -> None:  # noqa: F811
    instructions = {"shortInstruction": "<p>Tag people and organisations.</p>", "fullInstruction": "<p>Tag.</p>"}
    job = create_job(
        labeling_site,
        "NamedEntityRecognition",
        [{"source": text} for text in NER_TEXTS],
        labels=NER_LABELS,
        ui_arn=NER_UI,
        instructions=instructions,
        attribute="entities",
    )

    def answer(worker: LabelingWorker, frame: Frame) -> None:
        element = frame.locator("crowd-entity-annotation")
        text = element.get_attribute("text") or ""
        for label, word in NER_TEXTS[text]:
            element.get_by_text(label, exact=True).click()
            start = text.index(word)
            _select(worker, frame, _utf16(text, start), _utf16(text, start + len(word)))
        _submit(frame)

    assert label_job(browser, labeling_site, 0, job.title, answer) == 3
    output = finish(labeling_site, job)
    for line, (text, marked) in zip(output, NER_TEXTS.items(), strict=True):
        assert list(line) == ["source", "entities", "entities-metadata"]
        assert line["source"] == text
        # offsets in Unicode code points (spec §8.2), as Python indexes the line's text
        assert line["entities"] == {
            "annotations": {
                "labels": NER_LABELS,
                "entities": [  # in text order: crowdloop's element answers so, whatever the marking order
                    {"label": label, "startOffset": text.index(word), "endOffset": text.index(word) + len(word)}
                    for label, word in sorted(marked, key=lambda pair: text.index(pair[1]))
                ],
            }
        }
        keys = ["job-name", "type", "creation-date", "human-annotated", "entities"]
        metadata = _check_metadata(line, "entities", keys, job.name, "text-span")
        assert metadata["entities"] == [{"confidence": 0}] * len(marked)


# ---- verification of a previous bounding-box label: a chained manifest line, 3 workers ----

VERIFY_TEMPLATE = """<script src="https://assets.crowd.aws/crowd-html-elements.js"></script>
<crowd-form>
  <crowd-image-classifier name="crowd-image-classifier" src="{{ task.input.taskObject | grant_read_access }}"
    header="Is the box right?" categories="{{ task.input.labels | to_json | escape }}"
    overlay="{&quot;boundingBox&quot;: {&quot;value&quot;:
      {{ task.input.manifestLine.category.annotations | to_json | escape }} } }">
    <short-instructions>Judge the box drawn on the picture.</short-instructions>
  </crowd-image-classifier>
  <crowd-text-area name="comment" label="What is wrong with it?"></crowd-text-area>
</crowd-form>"""


def _previous_label(width: int, height: int) -> tuple[dict[str, Any], dict[str, Any]]:
    value = {
        "image_size": [{"width": width, "height": height, "depth": 3}],
        "annotations": [{"class_id": 0, "top": 20, "left": 30.5, "height": 80, "width": 100}],
    }
    metadata = {
        "objects": [{"confidence": 0.88}],
        "class-map": {"0": "Cat"},
        "type": "groundtruth/object-detection",
        "human-annotated": "yes",
        "creation-date": "2022-09-12T10:50:11.905883",
        "job-name": "labeling-job/boxes-1",
    }
    return value, metadata


def test_verification_of_a_chained_bounding_box_label(labeling_site: LabelingSite, browser: Browser) -> None:  # noqa: F811
    files = {f"pictures/{name}": (png_bytes(w, h, (120, 80, 40)), "image/png") for name, (w, h) in SIZES.items()}
    lines = []
    for name, (width, height) in SIZES.items():
        value, metadata = _previous_label(width, height)
        lines.append(
            {"source-ref": f"s3://{{bucket}}/pictures/{name}", "category": value, "category-metadata": metadata}
        )
    job = create_job(
        labeling_site,
        "VerificationBoundingBox",
        lines,
        labels=_labels("good", "bad"),
        template=VERIFY_TEMPLATE,
        files=files,
        workers_per_object=3,
        attribute="verify",
    )

    def answer(worker: LabelingWorker, frame: Frame) -> None:
        classifier = frame.locator("crowd-image-classifier")
        good = "/street.png" in (classifier.get_attribute("src") or "")
        box = classifier.locator("svg rect").first  # the previous job's box, drawn over the picture
        expect(box).to_have_attribute("x", "30.5")
        expect(box).to_have_attribute("width", "100")
        frame.get_by_role("radio", name="good" if good else "bad", exact=True).click()
        if not good:
            frame.get_by_label("What is wrong with it?").fill("Too small.")
        _submit(frame)

    for number in range(3):
        assert label_job(browser, labeling_site, number, job.title, answer) == 2
    output = finish(labeling_site, job)
    for line, given, (index, name) in zip(output, job.lines, [("0", "good"), ("1", "bad")], strict=True):
        assert list(line) == ["source-ref", "category", "category-metadata", "verify", "verify-metadata"]
        assert {k: line[k] for k in ("source-ref", "category", "category-metadata")} == given
        assert line["verify"] == index
        keys = ["class-name", "confidence", "type", "job-name", "human-annotated", "creation-date"]
        if name == "bad":
            keys.append("worker-feedback")
        metadata = _check_metadata(line, "verify", keys, job.name, "label-verification")
        assert metadata["class-name"] == name and metadata["confidence"] == 0.95
        if name == "bad":
            assert metadata["worker-feedback"] == [{"comment": "Too small."}] * 3


# ---- the custom NER template of amazon-sagemaker-examples, a custom job without Lambdas, 1 worker ----

PROTEIN_TEXTS = {"BRCA1 binds to p53 in cells.": ("BRCA1", "p53"), "We measured insulin today.": ("insulin",)}


def _tokens(text: str) -> list[dict[str, Any]]:
    found, start = [], 0
    for number, word in enumerate(text.split(" ")):
        found.append({"id": number, "startindex": start, "tokentext": word})
        start += len(word) + 1
    return found


def test_custom_ner_template_without_lambdas(labeling_site: LabelingSite, browser: Browser) -> None:  # noqa: F811
    path = "amazon-sagemaker-examples/ground_truth_labeling_jobs/ground_truth_custom_template_ner/source/template"
    template = (CORPUS / path / "entityrecognition.html").read_text()
    lines = [{"source": text, "tokens": _tokens(text)} for text in PROTEIN_TEXTS]
    job = create_job(labeling_site, None, lines, labels=None, template=template, attribute="proteins")

    def answer(worker: LabelingWorker, frame: Frame) -> None:
        text = " ".join(t.strip() for t in frame.locator(".fragment").all_inner_texts())
        for word in PROTEIN_TEXTS[text]:
            token = frame.locator(".fragment").filter(has_text=word)
            token.click()
            assert token.get_attribute("data-cw-selected") == "1"
        _submit(frame)

    assert label_job(browser, labeling_site, 0, job.title, answer) == 2
    output = finish(labeling_site, job)
    for number, (line, given, (text, words)) in enumerate(zip(output, lines, PROTEIN_TEXTS.items(), strict=True)):
        assert list(line) == ["source", "tokens", "proteins", "proteins-metadata"]
        assert {k: line[k] for k in ("source", "tokens")} == given and line["proteins"] == {}
        metadata = line["proteins-metadata"]
        assert list(metadata) == ["type", "job-name", "human-annotated", "creation-date", "worker-response-ref"]
        assert metadata["type"] == "groundtruth/custom" and metadata["job-name"] == job.name
        assert metadata["human-annotated"] == "yes" and DATE.fullmatch(metadata["creation-date"])
        ref = metadata["worker-response-ref"]
        prefix = f"s3://{job.bucket}/output/{job.name}/annotations/worker-response/iteration-1/{number}/"
        assert ref.startswith(prefix) and ref.endswith(".json"), ref
        body = labeling_site.s3.get_object(Bucket=job.bucket, Key=ref.split("/", 3)[3])["Body"].read()
        [response] = json.loads(body)["answers"]
        marked = json.loads(response["answerContent"]["entities"])
        tokens = {str(t["id"]): t for t in _tokens(text)}
        assert marked == {
            key: {"startindex": str(tokens[key]["startindex"]), "tokentext": tokens[key]["tokentext"]}
            for key in tokens
            if tokens[key]["tokentext"] in words
        }


# ---- semantic segmentation: images/semantic-segmentation.liquid.html, polygon fill, 2 workers ----

SEG_SIZE = (200, 150)
SEG_POLYGON = [(40, 30), (140, 30), (140, 110), (40, 110)]  # image pixels, filled as Dog


def test_semantic_segmentation_two_workers(labeling_site: LabelingSite, browser: Browser) -> None:  # noqa: F811
    template = (UIS / "images/semantic-segmentation.liquid.html").read_text()
    job = create_job(
        labeling_site,
        "SemanticSegmentation",
        [{"source-ref": "s3://{bucket}/pictures/yard.png"}],
        labels=_labels("Cat", "Dog", "Bird"),  # as the template hard-codes them
        template=template,
        files={"pictures/yard.png": (png_bytes(*SEG_SIZE, (90, 140, 60)), "image/png")},
        workers_per_object=2,
        attribute="seg-ref",
    )

    def answer(worker: LabelingWorker, frame: Frame) -> None:
        element = frame.locator("crowd-semantic-segmentation")
        frame.wait_for_function(
            "el => el.shadowRoot && el.shadowRoot.querySelector('.layer').style.transform !== ''",
            arg=element.element_handle(),
        )
        element.get_by_role("radio", name="Dog", exact=True).click()
        element.get_by_role("radio", name="Polygon fill", exact=True).click()
        picture = element.locator("img[part=image]").bounding_box()
        assert picture is not None
        scale = picture["width"] / SEG_SIZE[0]
        for x, y in [*SEG_POLYGON, SEG_POLYGON[0]]:  # the first corner again closes the polygon
            worker.page.mouse.click(picture["x"] + x * scale, picture["y"] + y * scale)
        _submit(frame)

    for number in range(2):
        assert label_job(browser, labeling_site, number, job.title, answer) == 1
    [line] = finish(labeling_site, job)
    assert list(line) == ["source-ref", "seg-ref", "seg-ref-metadata"]
    folder = f"s3://{job.bucket}/output/{job.name}/annotations/consolidated-annotation/output/"
    uri = line["seg-ref"]
    assert uri.startswith(folder + "0_") and uri.endswith(".png"), uri
    keys = ["internal-color-map", "type", "human-annotated", "creation-date", "job-name"]
    metadata = _check_metadata(line, "seg-ref", keys, job.name, "semantic-segmentation")
    assert DATE.fullmatch(uri.removeprefix(folder + "0_").removesuffix(".png"))
    color_map = metadata["internal-color-map"]
    assert [(e["class-name"], e["hex-color"]) for e in color_map.values()] == [
        ("BACKGROUND", "#ffffff"),
        ("Cat", "#1f77b4"),
        ("Dog", "#ff7f0e"),  # the colour the element gave Dog in both workers' answers
        ("Bird", "#2ca02c"),
    ]
    confidence = color_map["0"]["confidence"]
    assert 0.99 < confidence <= 1.0 and {e["confidence"] for e in color_map.values()} == {confidence}
    body = labeling_site.s3.get_object(Bucket=job.bucket, Key=uri.split("/", 3)[3])["Body"].read()
    with Image.open(io.BytesIO(body)) as image:
        assert image.size == SEG_SIZE
        assert image.getpixel((90, 70)) == 2  # palette index = class index
        rgb = image.convert("RGB")
    assert rgb.getpixel((90, 70)) == (0xFF, 0x7F, 0x0E) and rgb.getpixel((42, 32)) == (0xFF, 0x7F, 0x0E)
    assert rgb.getpixel((10, 10)) == (255, 255, 255) and rgb.getpixel((150, 120)) == (255, 255, 255)
