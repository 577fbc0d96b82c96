"""Every corpus template whose elements are all implemented renders without errors and answers a
submit request (with an answer or a validation message)."""

from __future__ import annotations

import json
from typing import Any

from playwright.sync_api import Error as PlaywrightError

from tests.browser.harness import CORPUS, TaskPage, render_corpus, serve_media

IMPLEMENTED = {
    "crowd-form", "crowd-button", "crowd-input", "crowd-text-area", "crowd-checkbox", "crowd-radio-group",
    "crowd-radio-button", "crowd-toggle-button", "crowd-slider", "crowd-slider-label", "crowd-classifier",
    "crowd-classifier-multi-select", "crowd-text-ranking", "crowd-alert", "crowd-badge", "crowd-card",
    "crowd-modal", "crowd-tabs", "crowd-tab", "crowd-icon-button", "crowd-fab", "crowd-instructions",
    "crowd-toast", "crowd-image-classifier", "crowd-image-classifier-multi-select", "crowd-bounding-box",
    "crowd-keypoint", "crowd-polygon", "crowd-line", "crowd-polyline", "crowd-entity-annotation",
    "crowd-semantic-segmentation", "crowd-instance-segmentation",
}


def runnable_templates() -> list[dict[str, Any]]:
    """Distinct templates using only implemented elements and nothing from other hosts."""
    seen: set[str] = set()
    out = []
    for record in json.loads((CORPUS / "index.json").read_text()):
        if record["sha256"] in seen:
            continue
        seen.add(record["sha256"])
        elements = set(record["crowd_elements_used"]) | set(record.get("crowd_elements_referenced_in_js", []))
        foreign = [s for s in record["external_scripts"] if "assets.crowd.aws" not in s]
        renders = record["render_check"] == "ok"
        if elements <= IMPLEMENTED and not foreign and not record["relative_assets"] and renders:
            out.append(record)
    return out


def test_corpus_templates_render_and_submit(task: TaskPage) -> None:
    templates = runnable_templates()
    assert len(templates) >= 50
    failures = []
    for k, record in enumerate(templates):
        for url in record["external_media"]:
            serve_media(task, url)
        html = render_corpus(task, record["path"])
        before = len(task.problems)
        task.open(html, url=f"https://task.crowdloop.test/corpus/{k}.html")
        # a template's own onsubmit may cancel the submission (then nothing is posted)
        task.page.evaluate("""() => {
            document.addEventListener('submit', e => setTimeout(() => { window.__cancelled = e.defaultPrevented; }));
            window.postMessage({crowdloop: 1, type: 'submit-request'}, '*');
        }""")
        try:
            task.page.wait_for_function(
                "window.__cancelled || window.__crowdMessages.some(m => m.type === 'submit' || m.type === 'invalid')")
        except PlaywrightError as exc:
            failures.append(f"{record['path']}: no answer to submit-request ({exc.message.splitlines()[0]})")
        for message in task.messages():
            if message["type"] == "submit":
                assert isinstance(message["answer"], dict)
        if len(task.problems) > before:
            failures.append(f"{record['path']}: " + "; ".join(task.problems[before:]))
    task.problems.clear()
    assert not failures, "\n".join(failures)
