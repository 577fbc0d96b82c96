"""The A2I built-in task types: crowd-textract-analyze-document and
crowd-rekognition-detect-moderation-labels, with AWS's own templates and the catalog fixture F14."""

# ruff: noqa: E501  (HTML templates are kept on one line each for readability)

from __future__ import annotations

import copy
import json
from typing import Any

from playwright.sync_api import expect

from tests.browser.harness import CORPUS, TaskPage, png_bytes, render_corpus

TEXTRACT = "amazon-a2i-sample-task-uis/text/textract_analyze_document.liquid.html"
REKOGNITION = "amazon-a2i-sample-task-uis/images/rekognition_detect_moderation.liquid.html"
TEXTRACT_KEY = "AWS/Textract/AnalyzeDocument/Forms/V1"
REKOGNITION_KEY = "AWS/Rekognition/DetectModerationLabels/Image/V3"
IMAGE = "https://media.crowdloop.test/doc.png"


def sample(path: str) -> Any:
    return json.loads((CORPUS / "inputs" / (path + ".json")).read_text())


def test_textract_template_review(task: TaskPage) -> None:
    page = task.open(render_corpus(task, TEXTRACT))
    doc = page.locator("crowd-textract-analyze-document")
    expect(doc.get_by_text("Review the key-value pairs listed on the right")).to_be_visible()
    expect(page.get_by_text("Click on a key-value block to highlight")).to_be_visible()  # short-instructions
    expect(doc.locator("svg rect")).to_have_count(2)  # the KEY and VALUE boxes on the document
    expect(doc.get_by_text("Name:", exact=True)).to_be_visible()  # no-key-edit: key shown as text
    value = doc.get_by_label("Value of Name:")
    expect(value).to_have_value("Jane Doe")
    # clicking the value's box selects its card and focuses the value
    doc.locator("svg rect").nth(1).click()
    expect(value).to_be_focused()
    expect(doc.locator("[part=pair]").first).to_have_class("kv current")
    # "Address" (importantFormKeys) was not detected: the worker must decide
    assert "Find the key “Address” in the document, or choose “Key not found”." in task.submit_blocked()
    value.fill("Jane Q. Doe")
    missing = doc.locator("[part=missing-key]")
    missing.get_by_label("Found it; the value is:").check()
    expect(missing.get_by_label("Value of Address")).to_be_focused()
    page.keyboard.type("1 Main St")
    answer = task.submit_and_answer()
    assert list(answer) == [TEXTRACT_KEY]
    blocks = copy.deepcopy(sample(TEXTRACT)["selectedAiServiceResponse"]["blocks"])
    blocks[1]["Relationships"] = [
        {"Type": "CHILD", "Ids": ["crowdloop-word-1", "crowdloop-word-2", "crowdloop-word-3"]}
    ]
    geometry = blocks[1]["Geometry"]
    words = [
        {
            "BlockType": "WORD",
            "Id": f"crowdloop-word-{k + 1}",
            "Text": t,
            "Confidence": 100,
            "Geometry": geometry,
            "Page": 1,
        }
        for k, t in enumerate(["Jane", "Q.", "Doe"])
    ]
    added = [
        {
            "BlockType": "KEY_VALUE_SET",
            "Id": "crowdloop-key-1",
            "EntityTypes": ["KEY"],
            "Confidence": 100,
            "Relationships": [
                {"Type": "VALUE", "Ids": ["crowdloop-value-1"]},
                {"Type": "CHILD", "Ids": ["crowdloop-word-4"]},
            ],
        },
        {
            "BlockType": "KEY_VALUE_SET",
            "Id": "crowdloop-value-1",
            "EntityTypes": ["VALUE"],
            "Confidence": 100,
            "Relationships": [{"Type": "CHILD", "Ids": ["crowdloop-word-5", "crowdloop-word-6", "crowdloop-word-7"]}],
        },
        {"BlockType": "WORD", "Id": "crowdloop-word-4", "Text": "Address", "Confidence": 100},
        {"BlockType": "WORD", "Id": "crowdloop-word-5", "Text": "1", "Confidence": 100},
        {"BlockType": "WORD", "Id": "crowdloop-word-6", "Text": "Main", "Confidence": 100},
        {"BlockType": "WORD", "Id": "crowdloop-word-7", "Text": "St", "Confidence": 100},
    ]
    got = answer[TEXTRACT_KEY]["blocks"]
    assert got[:4] == blocks  # the input blocks, the value re-pointed at the corrected words
    assert sorted(got[4:], key=lambda b: b["Id"]) == sorted(words + added, key=lambda b: b["Id"])


def block(
    kind: str,
    ident: str,
    *,
    entity: str | None = None,
    text: str | None = None,
    rels: dict[str, list[str]] | None = None,
) -> dict[str, Any]:
    """An A2I-style (camelCase) Textract block."""
    b: dict[str, Any] = {"blockType": kind, "id": ident}
    if entity:
        b["entityTypes"] = [entity]
    if text is not None:
        b["text"] = text
    if rels:
        b["relationships"] = [{"type": t, "ids": ids} for t, ids in rels.items()]
    b["geometry"] = {"boundingBox": {"left": 0.1, "top": 0.1, "width": 0.2, "height": 0.05}}
    return b


def test_textract_camel_case_reject_blank_edit_key(task: TaskPage) -> None:
    blocks = [
        block("KEY_VALUE_SET", "k1", entity="KEY", rels={"VALUE": ["v1"], "CHILD": ["w1"]}),
        block("KEY_VALUE_SET", "v1", entity="VALUE", rels={"CHILD": ["w2"]}),
        block("KEY_VALUE_SET", "k2", entity="KEY", rels={"VALUE": ["v2"], "CHILD": ["w3"]}),
        block("KEY_VALUE_SET", "v2", entity="VALUE", rels={"CHILD": ["w4"]}),
        block("KEY_VALUE_SET", "k3", entity="KEY", rels={"VALUE": ["v3"], "CHILD": ["w5", "w6"]}),
        block("KEY_VALUE_SET", "v3", entity="VALUE", rels={"CHILD": ["w7"]}),
        block("WORD", "w1", text="Date:"),
        block("WORD", "w2", text="Page"),
        block("WORD", "w3", text="Total"),
        block("WORD", "w4", text="n/a"),
        block("WORD", "w5", text="Zip"),
        block("WORD", "w6", text="Cod"),
        block("WORD", "w7", text="12345"),
    ]
    keys = [{"importantFormKey": "Zip code", "importantFormKeyAliases": ["Zip Cod", "Postcode"]}]
    task.serve(IMAGE, png_bytes(400, 300), "image/png")
    page = task.open(f"""<crowd-form><crowd-textract-analyze-document src="{IMAGE}" header="Check the form"
      initial-value='{json.dumps(blocks)}' keys='{json.dumps(keys)}' block-types="['KEY_VALUE_SET']" no-geometry-edit>
      </crowd-textract-analyze-document></crowd-form>""")
    doc = page.locator("crowd-textract-analyze-document")
    expect(doc.locator("[part=missing-key]")).to_have_count(0)  # "Zip Cod" is an alias of the important key
    cards = doc.locator("[part=pair]")
    cards.nth(0).get_by_label("Not a key-value pair").check()
    expect(cards.nth(0).locator("input[data-field=value]")).to_be_disabled()
    cards.nth(1).get_by_label("Value is blank").check()
    cards.nth(2).get_by_label("Key", exact=True).fill("Zip Code")  # keys are editable without no-key-edit
    answer = task.submit_and_answer()[TEXTRACT_KEY]["blocks"]
    by_id = {b["id"]: b for b in answer}
    assert "k1" not in by_id and "v1" not in by_id  # rejected pair: its KEY and VALUE blocks are gone
    assert {"w1", "w2"} <= set(by_id)  # its words stay
    assert "relationships" not in by_id["v2"]  # blank value: no CHILD words
    assert by_id["k3"]["relationships"] == [
        {"type": "VALUE", "ids": ["v3"]},
        {"type": "CHILD", "ids": ["crowdloop-word-1", "crowdloop-word-2"]},
    ]
    assert [by_id[f"crowdloop-word-{k}"]["text"] for k in (1, 2)] == ["Zip", "Code"]
    assert by_id["crowdloop-word-1"]["blockType"] == "WORD"  # added blocks follow the input's camelCase
    assert all(not any(key[0].isupper() for key in b) for b in answer)


def test_rekognition_template(task: TaskPage) -> None:
    page = task.open(render_corpus(task, REKOGNITION))
    widget = page.locator("crowd-rekognition-detect-moderation-labels")
    expect(
        widget.get_by_text("Review the image and choose all applicable categories.", exact=True).first
    ).to_be_visible()
    expect(widget.locator("img[part=image]")).to_have_attribute(
        "src", "https://media.crowdloop.test/example-bucket/images/sample-image.jpg"
    )
    assert task.submit_blocked().endswith("Choose every category that applies, or None.")
    widget.get_by_role("checkbox", name="Female Swimwear Or Underwear Suggestive").check()
    widget.get_by_role("checkbox", name="Suggestive", exact=True).check()
    assert task.submit_and_answer() == {
        REKOGNITION_KEY: {
            "moderationLabels": [
                {"name": "Suggestive", "parentName": ""},
                {"name": "Female Swimwear Or Underwear", "parentName": "Suggestive"},
            ]
        }
    }


def test_rekognition_none(task: TaskPage) -> None:
    page = task.open(render_corpus(task, REKOGNITION))
    widget = page.locator("crowd-rekognition-detect-moderation-labels")
    widget.get_by_role("checkbox", name="Suggestive", exact=True).check()
    widget.get_by_role("checkbox", name="None").check()  # clears and disables the categories
    expect(widget.get_by_role("checkbox", name="Suggestive", exact=True)).not_to_be_checked()
    expect(widget.get_by_role("checkbox", name="Suggestive", exact=True)).to_be_disabled()
    assert task.submit_and_answer() == {REKOGNITION_KEY: {"moderationLabels": []}}


def test_catalog_f14_and_string_categories(task: TaskPage) -> None:
    task.serve(IMAGE, png_bytes(64, 48), "image/png")
    page = task.open(f"""<crowd-form><crowd-rekognition-detect-moderation-labels src="{IMAGE}"
      categories='[{{name:"Weapons", parentName:"Violence",}},]' exclusion-category></crowd-rekognition-detect-moderation-labels></crowd-form>""")
    page.get_by_role("checkbox", name="None").check()
    assert task.submit_and_answer() == {REKOGNITION_KEY: {"moderationLabels": []}}


def test_string_categories_and_exclusion_text(task: TaskPage) -> None:
    task.serve(IMAGE, png_bytes(64, 48), "image/png")
    page = task.open(f"""<crowd-form><crowd-rekognition-detect-moderation-labels src="{IMAGE}" header="Pick"
      categories="['Weapons', 'Drugs']" exclusion-category="{{ text: 'Nothing here' }}"></crowd-rekognition-detect-moderation-labels></crowd-form>""")
    expect(page.get_by_role("checkbox", name="Nothing here")).to_be_visible()
    page.locator("crowd-rekognition-detect-moderation-labels .option").nth(1).click()
    page.keyboard.press("Control+Enter")
    assert task.answer() == {REKOGNITION_KEY: {"moderationLabels": ["Drugs"]}}
