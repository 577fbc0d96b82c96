"""Conformance: every one of the corpus templates (tests/data/corpus, 174) works in the real portal.

For each template (tests/browser/corpus_portal.py): a running crowdloop server gets a job made of the
template and a human loop with the template's sample input (the `s3://` objects it grants are put in the
server's blob store); a signed-in worker presses Start working, the portal renders the task frame (its
asset rewriting, its Content-Security-Policy, its granted URLs), a scripted worker (tests/browser/worker.py)
fills every input inside the frame the way a person would and presses Submit, and the answer the server
stored in the loop's output.json is checked against the catalog shapes. Any page error, console error
(CSP violations included), failed or blocked request, HTTP error, alert the template raises, render error,
submission the portal did not store, or missing/ill-shaped answer fails the template.

Nothing leaves the machine: the portal serves AWS's assets and the third-party CDN libraries itself
(crowdloop.portal.static); the only requests the test answers are the pictures and stylesheets templates
hard-code on other hosts (generated placeholders), which the frame's policy allows because the template
names them.

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

from tests.browser.corpus_portal import (  # noqa: F401  (corpus_portal: the session fixture)
    CORPUS,
    CorpusPortal,
    PortalTask,
    corpus_input,
    corpus_portal,
    frame_origin,
    prepare,
)
from tests.browser.portal_site import DESKTOP
from tests.browser.worker import Worker, check_answer, press_submit

RECORDS: list[dict[str, Any]] = json.loads((CORPUS / "index.json").read_text())

# Templates that do not work in the portal, with the reason. Each must fail (a template that starts
# working fails its test until it is taken off this list).
KNOWN_EXCEPTIONS = {
    "amazon-sagemaker-groundtruth-immersionday/05-module-custom-labeling-workflow/web/index.html": (
        "the whole task UI is a compiled React bundle (/static/js/main.059ee2ed.js) that is not in the corpus "
        "(the portal answers 404 for it); without it Submit fails in the template's own onsubmit"
    ),
}
# What the failure of each known exception must mention (so it keeps failing for the reason given).
_FAILS_WITH = {
    "amazon-sagemaker-groundtruth-immersionday/05-module-custom-labeling-workflow/web/index.html": "main.059ee2ed.js",
}

# Relative stylesheets the template links that its source repository does not contain either (corpus
# README, index.json `oddities`): they resolve to the portal, which answers 404 as AWS's host would. The
# page works without them; each must be asked for and answered 404, and nothing else may fail.
STYLESHEETS_MISSING_UPSTREAM = {
    "aws-ai-intelligent-document-processing/workshops/a2idata/a2i-custom-ui.html": [
        "/static/css/1.fe2e351b.chunk.css",
        "/static/css/main.2b80d815.chunk.css",
    ],
}

# What a person learns from a template's own UI or error messages, by the end of its path.
_ADD_CUSTOM_LABEL = {"steps": [("fill", "#customLabel input", "tree"), ("click", "#addLabel")]}
WORKER_HINTS: dict[str, dict[str, Any]] = {
    # <iframe src="{{ task.input.taskObject | grant_read_access }}"> showing a PDF (task_frame_origin is set,
    # so the frame is not sandboxed and the browser's PDF viewer may run in it)
    "text/document-classification.liquid.html": {"shows_pdf": True},
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
        "expect": [("faces", "json", {})],
    },
    # after choosing a category the template adds reason checkboxes next to the classifier (inside
    # its shadow root) and mirrors them into hidden inputs "classification-reasoning"
    "images/dynamic-two-tier-image-classification.liquid.html": {
        "then": [("click", "crowd-card input[type=checkbox] >> nth=0")],
        "expect": [("classification-reasoning", "checkable_any", {})],
    },
    "text/dynamic-two-tier-text-classification.liquid.html": {
        "then": [("click", "crowd-card input[type=checkbox] >> nth=0")],
        "expect": [("classification-reasoning", "checkable_any", {})],
    },
    # jQuery: clicking the text fragments writes the selection into the hidden input "entities"
    "ground_truth_custom_template_ner/source/template/entityrecognition.html": {
        "then": [("click", ".fragment >> nth=0"), ("click", ".fragment >> nth=4")],
        "expect": [("entities", "json", {})],
    },
}


def _hints(path: str) -> dict[str, Any]:
    for suffix, hints in WORKER_HINTS.items():
        if path.endswith(suffix):
            return hints
    return {}


def run_template(task: PortalTask, path: str) -> dict[str, Any]:
    """Start working, fill, submit; returns the answer the server stored (fails the test on any problem)."""
    frame = task.open_task()
    errors = frame.locator(".crowdloop-render-errors")
    assert errors.count() == 0, f"render errors: {errors.inner_text()}"
    worker = Worker(task.page, _hints(path), frame=frame)
    if _hints(path).get("shows_pdf"):  # the granted PDF is displayed by the browser's viewer in the frame
        expect_pdf_viewer(task)
    filled = worker.fill_all()
    pressed = press_submit(frame)
    status = task.wait_until_stored()
    if status:
        pytest.fail(
            f"no answer stored after pressing {pressed}; the portal says: {status!r}; alerts: {task.alerts}; "
            f"filled: {[(f.tag, f.name) for f in filled]}"
        )
    answer = task.stored_answer()
    assert not task.alerts, f"the template raised dialogs: {task.alerts}"
    problems = check_answer(answer, filled)
    assert not problems, "\n".join(problems) + f"\nanswer: {json.dumps(answer)[:2000]}"
    return answer


def expect_pdf_viewer(task: PortalTask) -> None:
    for _ in range(50):
        if any(f.url.startswith("chrome-extension://") for f in task.page.frames):
            return
        task.page.wait_for_timeout(100)
    pytest.fail(f"no PDF viewer in the task frame; frames: {[f.url[:80] for f in task.page.frames]}")


def check_browser(task: PortalTask) -> None:
    assert not task.problems, "\n".join(task.problems)
    assert task.missing_seen == task.expected_missing, f"expected missing files not asked for: {task.expected_missing}"
    assert all(status == 404 for status in task.missing_statuses().values()), task.missing_statuses()


# ---------------------------------------------------------------------------------------------------
# results across xdist workers -> one summary line


def _results_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        base = base.parent  # shared by the workers of this run
    folder = base / "conformance-results"
    folder.mkdir(exist_ok=True)
    return folder


def _record_result(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    index: int,
    path: str,
    outcome: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    folder = _results_dir(tmp_path_factory)
    (folder / f"{index:03d}.json").write_text(json.dumps({"path": path, "outcome": outcome}))
    selected = sum(
        1
        for item in request.session.items
        if item.nodeid.split("[", 1)[0].endswith("test_conformance.py::test_corpus_template")
    )
    results = [json.loads(f.read_text()) for f in sorted(folder.glob("*.json"))]
    if len(results) < selected:
        return
    try:
        fd = os.open(folder / "summary-printed", os.O_CREAT | os.O_EXCL | os.O_WRONLY)
    except FileExistsError:
        return
    os.close(fd)
    passed = [r for r in results if r["outcome"] == "passed"]
    lines = [
        f"{len(passed)}/{len(RECORDS)} corpus templates pass"
        + ("" if len(results) == len(RECORDS) else f" ({len(results)} of {len(RECORDS)} run)")
    ]
    lines += [
        f"  known exception: {r['path']}: {KNOWN_EXCEPTIONS[r['path']]}" for r in results if r["outcome"] == "exception"
    ]
    lines += [f"  FAILED: {r['path']}" for r in results if r["outcome"] == "failed"]
    with capsys.disabled():
        sys.stderr.write("\n" + "\n".join(lines) + "\n")


@pytest.mark.parametrize("index", range(len(RECORDS)), ids=[r["path"] for r in RECORDS])
def test_corpus_template(
    index: int,
    browser: Browser,
    corpus_portal: CorpusPortal,  # noqa: F811
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    capsys: pytest.CaptureFixture[str],
) -> None:
    record = RECORDS[index]
    path = record["path"]
    template = (CORPUS / path).read_text()
    title, loop_name = prepare(corpus_portal, index, template, corpus_input(record))
    context = browser.new_context(viewport=DESKTOP, storage_state=corpus_portal.signed_in)  # type: ignore[arg-type]
    page = context.new_page()
    page.set_default_timeout(15000)  # a cross-origin task frame is another renderer process: slow on 2 busy cores
    task = PortalTask(corpus_portal, page, title, loop_name)
    # relative URLs resolve against the frame, which comes from the frame origin
    frames = frame_origin(corpus_portal.server.port)
    task.expected_missing = {frames + p for p in STYLESHEETS_MISSING_UPSTREAM.get(path, [])}
    task.install()
    outcome = "failed"
    try:
        if path in KNOWN_EXCEPTIONS:
            outcome = "exception"
            with pytest.raises((AssertionError, PlaywrightError, pytest.fail.Exception)) as failure:
                run_template(task, path)
                check_browser(task)
            assert _FAILS_WITH[path] in f"{failure.value}\n" + "\n".join(task.problems), failure.value
            pytest.xfail(KNOWN_EXCEPTIONS[path])
        run_template(task, path)
        check_browser(task)
        outcome = "passed"
    finally:
        context.close()
        _record_result(request, tmp_path_factory, index, path, outcome, capsys)
