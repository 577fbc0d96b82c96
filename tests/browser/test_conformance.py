"""Conformance: every one of the corpus templates (/work/shared/corpus, 174) renders and submits.

For each template, as the portal would: render it with its sample input through
crowdloop.liquid.render_task (autoescaped; grant_read_access maps s3:// URIs to generated placeholder
media served locally, and the output wrapped in a standards-mode document like the portal's task
frame; see crowdloop.gallery.render_offline), load it in a fresh page of the shared
Chromium whose https://assets.crowd.aws/... scripts are answered with crowd_elements_script(), let a
scripted worker (tests/browser/worker.py) fill every input the way a person would, press Submit, and
check each answer entry against the catalog shape. Any page error, console error, failed or blocked
request, alert the template raises, render error or missing/ill-shaped answer fails the template.

Network: nothing leaves the machine. Besides AWS's assets and the placeholders, third-party CDN
libraries that some templates load (jQuery, d3 v6, node-uuid, Shopify Draggable) are served from their
npm packages (crowdloop.cdnlibs, fetched once with `npm pack` and cached) and Twitter's embed script
with an empty script. STYLESHEETS_MISSING_UPSTREAM are answered with an empty stylesheet.

The run prints "N/174 corpus templates pass" (from the last conformance test to finish, on stderr).
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser
from playwright.sync_api import Error as PlaywrightError

from crowdloop.gallery import TASK_ORIGIN, render_offline
from tests.browser.harness import CORPUS, TaskPage
from tests.browser.worker import Worker, check_answer, press_submit

RECORDS: list[dict[str, Any]] = json.loads((CORPUS / "index.json").read_text())

# Templates that cannot work from the corpus alone (fewer than 5), with the reason.
KNOWN_EXCEPTIONS = {
    "amazon-sagemaker-groundtruth-immersionday/05-module-custom-labeling-workflow/web/index.html":
        "the whole task UI is a compiled React bundle (/static/js/main.059ee2ed.js) that is not in the corpus; "
        "without it Submit fails in the template's own onsubmit (no <pre> to read)",
}

# Relative stylesheets that the source repositories do not contain either (index.json `oddities`);
# the page works without them, so they are answered with an empty stylesheet instead of a 404.
STYLESHEETS_MISSING_UPSTREAM = {
    "aws-ai-intelligent-document-processing/workshops/a2idata/a2i-custom-ui.html":
        ["/static/css/1.fe2e351b.chunk.css", "/static/css/main.2b80d815.chunk.css"],
}

# What a person learns from a template's own UI or error messages, by the end of its path.
_ADD_CUSTOM_LABEL = {"steps": [("fill", "#customLabel input", "tree"), ("click", "#addLabel")]}
WORKER_HINTS: dict[str, dict[str, Any]] = {
    # labels start empty: the worker types one into the template's "custom label" field and adds it
    "images/bounding-box-custom-labels.liquid.html": _ADD_CUSTOM_LABEL,
    "images/keypoint-custom-labels.liquid.html": _ADD_CUSTOM_LABEL,
    "images/semantic-segmentation-custom-labels.liquid.html": _ADD_CUSTOM_LABEL,
    "images/instance-segmentation-custom-values.liquid.html": _ADD_CUSTOM_LABEL,
    "images/ocr.liquid.html": _ADD_CUSTOM_LABEL,
    "other/receipt-transcription.liquid.html": _ADD_CUSTOM_LABEL,
    # Its onsubmit counts the labels by splitting labels="['Item A', ...]" on '","', which finds one
    # label, and then requires exactly one keypoint (the same on AWS).
    "images/keypoint-additional-answer-validation.liquid.html": {"crowd-keypoint": {"labels": 1}},
    # a multi-page document: the worker reviews page 1, then opens page 2 from its thumbnail
    "bda-document-classifier/bda_template_multi.html": {"then": [("click", '.page-thumb[data-page="2"]')]},
    # Shopify Draggable: each of the three "Face" groups needs a photo dragged onto it; the
    # template's onsubmit writes the groups into the hidden input "faces"
    "images/multi-image-classification-draggable.liquid.html": {
        "steps": [("drag", "#unclassified img >> nth=0", f".right .StackedList >> nth={k}") for k in range(3)],
        "expect": [("faces", "json", {})]},
    # after choosing a category the template adds reason checkboxes next to the classifier (inside
    # its shadow root) and mirrors them into hidden inputs "classification-reasoning"
    "images/dynamic-two-tier-image-classification.liquid.html": {
        "then": [("click", "crowd-card input[type=checkbox] >> nth=0")],
        "expect": [("classification-reasoning", "checkable_any", {})]},
    "text/dynamic-two-tier-text-classification.liquid.html": {
        "then": [("click", "crowd-card input[type=checkbox] >> nth=0")],
        "expect": [("classification-reasoning", "checkable_any", {})]},
    # jQuery: clicking the text fragments writes the selection into the hidden input "entities"
    "ground_truth_custom_template_ner/source/template/entityrecognition.html": {
        "then": [("click", ".fragment >> nth=0"), ("click", ".fragment >> nth=4")],
        "expect": [("entities", "json", {})]},
}


def _hints(path: str) -> dict[str, Any]:
    for suffix, hints in WORKER_HINTS.items():
        if path.endswith(suffix):
            return hints
    return {}


def _page_url(path: str) -> str:
    return f"{TASK_ORIGIN}/corpus/{path}"


def run_template(task: TaskPage, record: dict[str, Any]) -> dict[str, Any]:
    """Render, load, fill, submit; returns the answer (fails the test on any problem)."""
    path = record["path"]
    template = (CORPUS / path).read_text()
    task_input = json.loads((CORPUS / record["sample_input"]).read_text())
    url = _page_url(path)
    offline = render_offline(template, task_input, url)
    assert not offline.errors, f"render errors: {offline.errors}"
    for file_url, (body, content_type) in offline.files.items():
        task.serve(file_url, body, content_type)
    for stylesheet in STYLESHEETS_MISSING_UPSTREAM.get(path, []):
        task.serve(TASK_ORIGIN + stylesheet, b"", "text/css")
    alerts: list[str] = []

    def on_dialog(dialog: Any) -> None:
        alerts.append(f"{dialog.type}: {dialog.message}")
        dialog.accept()

    task.page.on("dialog", on_dialog)
    task.page.goto(url, wait_until="load")
    task.wait_for_message("ready")
    worker = Worker(task.page, _hints(path))
    filled = worker.fill_all()
    pressed = press_submit(task.page)
    try:
        answer_message = task.wait_for_message("submit", timeout=5000)
    except PlaywrightError:
        invalid = [m["message"] for m in task.messages("invalid")]
        pytest.fail(f"no answer after pressing {pressed}; invalid: {invalid}; alerts: {alerts}; "
                    f"filled: {[(f.tag, f.name) for f in filled]}")
    answer = answer_message["answer"]
    assert isinstance(answer, dict)
    assert not alerts, f"the template raised dialogs: {alerts}"
    problems = check_answer(answer, filled)
    assert not problems, "\n".join(problems) + f"\nanswer: {json.dumps(answer)[:2000]}"
    return answer


# ---------------------------------------------------------------------------------------------------
# results across xdist workers -> one summary line

def _results_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        base = base.parent  # shared by the workers of this run
    folder = base / "conformance-results"
    folder.mkdir(exist_ok=True)
    return folder


def _record_result(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, index: int,
                   path: str, outcome: str, capsys: pytest.CaptureFixture[str]) -> None:
    folder = _results_dir(tmp_path_factory)
    (folder / f"{index:03d}.json").write_text(json.dumps({"path": path, "outcome": outcome}))
    selected = sum(1 for item in request.session.items
                   if item.nodeid.split("[", 1)[0].endswith("test_conformance.py::test_corpus_template"))
    results = [json.loads(f.read_text()) for f in sorted(folder.glob("*.json"))]
    if len(results) < selected:
        return
    try:
        fd = os.open(folder / "summary-printed", os.O_CREAT | os.O_EXCL | os.O_WRONLY)
    except FileExistsError:
        return
    os.close(fd)
    passed = [r for r in results if r["outcome"] == "passed"]
    lines = [f"{len(passed)}/{len(RECORDS)} corpus templates pass"
             + ("" if len(results) == len(RECORDS) else f" ({len(results)} of {len(RECORDS)} run)")]
    lines += [f"  known exception: {r['path']}: {KNOWN_EXCEPTIONS[r['path']]}"
              for r in results if r["outcome"] == "exception"]
    lines += [f"  FAILED: {r['path']}" for r in results if r["outcome"] == "failed"]
    with capsys.disabled():
        sys.stderr.write("\n" + "\n".join(lines) + "\n")


@pytest.mark.parametrize("index", range(len(RECORDS)), ids=[r["path"] for r in RECORDS])
def test_corpus_template(index: int, browser: Browser, request: pytest.FixtureRequest,
                         tmp_path_factory: pytest.TempPathFactory, capsys: pytest.CaptureFixture[str]) -> None:
    record = RECORDS[index]
    path = record["path"]
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    page.set_default_timeout(5000)
    task = TaskPage(context, page)
    task.install()
    outcome = "failed"
    try:
        if path in KNOWN_EXCEPTIONS:
            outcome = "exception"
            with pytest.raises((AssertionError, PlaywrightError, pytest.fail.Exception)):
                run_template(task, record)
                task.check()
            pytest.xfail(KNOWN_EXCEPTIONS[path])
        run_template(task, record)
        task.check()
        outcome = "passed"
    finally:
        context.close()
        _record_result(request, tmp_path_factory, index, path, outcome, capsys)
