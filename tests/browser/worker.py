"""A scripted worker: fills every input of a task page the way a person would (clicks, typing, mouse
drags on images, text selection), presses Submit, and checks each answer against the catalog shapes
(docs/crowd-elements.md).

`fill(page)` returns one `Filled` record per control it operated; `check_answer(answer, filled)` returns
the shape problems. Controls are found in document order in the light DOM of the page and in crowd-forms
inside the elements' shadow roots (a standalone crowd-entity-annotation's form, which templates extend).
"""

# ruff: noqa: E501  (JavaScript snippets and shape checks read best on one line each)

from __future__ import annotations

import base64
import json
import re
from dataclasses import dataclass, field
from typing import Any

from playwright.sync_api import Frame, Locator, Page

# ---------------------------------------------------------------------------------------------------
# finding controls

_ENUMERATE = """() => {
  const CL = window.CrowdLoop;
  const crowd = new Set(CL ? CL.controlTags : []);
  const native = new Set(['input', 'select', 'textarea']);
  const found = [];
  const seen = new Set();
  function visible(el) {
    if (el.checkVisibility) return el.checkVisibility({visibilityProperty: true});
    return !!(el.offsetWidth || el.offsetHeight || el.getClientRects().length);
  }
  // an inactive crowd-tab of a crowd-tabs: a person opens it by its tab
  function hiddenTab(el) {
    if (visible(el)) return null;
    for (let n = el; n; n = n.parentElement || (n.getRootNode() && n.getRootNode().host)) {
      if (n.localName === 'crowd-tab' && n.parentElement && n.parentElement.localName === 'crowd-tabs' && !visible(n)) return n;
    }
    return null;
  }
  function add(el) {
    if (seen.has(el)) return;
    seen.add(el);
    const tag = el.localName;
    if (tag.startsWith('crowdloop-')) return;
    // a native control inside a crowd element's own widget is not the template's
    if (native.has(tag) && el.getRootNode() !== document && !el.closest('crowd-form')) return;
    const k = found.length;
    el.setAttribute('data-cl-worker', String(k));
    const tab = hiddenTab(el);
    found.push({
      k, tag, done: el.hasAttribute('data-cl-done'), type: (el.getAttribute('type') || (tag === 'select' ? (el.multiple ? 'select-multiple' : 'select') : '')).toLowerCase(),
      name: el.getAttribute('name'), value: el.getAttribute('value'),
      required: el.hasAttribute('required'), disabled: !!el.disabled || el.hasAttribute('disabled'),
      readonly: el.hasAttribute('readonly'), visible: visible(el) || !!tab,
      tab: tab ? (tab.getAttribute('header') || '') : null,
      inForm: !!el.closest('crowd-form') || el.getRootNode() !== document || el.hasAttribute('crowd-form-element-id'),
      attrs: Object.fromEntries(Array.from(el.attributes).map(a => [a.name, a.value])),
    });
  }
  function scan(root) {
    for (const el of root.querySelectorAll('*')) {
      if (crowd.has(el.localName) || native.has(el.localName)) add(el);
      if (el.shadowRoot && el.localName.startsWith('crowd-')) {
        for (const f of el.shadowRoot.querySelectorAll('crowd-form')) scan(f);
      }
    }
  }
  scan(document);
  window.__clWorkerEls = Array.from(seen).filter(el => el.hasAttribute('data-cl-worker'))
    .sort((a, b) => Number(a.getAttribute('data-cl-worker')) - Number(b.getAttribute('data-cl-worker')));
  return found;
}"""


# A value the field accepts: `want` when valid, else its current value, max, min, or a step from empty.
_VALID_VALUE = """(el, want) => {
  const probe = document.createElement('input');
  probe.type = el.type;
  for (const a of ['min', 'max', 'step']) if (el.hasAttribute(a)) probe.setAttribute(a, el.getAttribute(a));
  for (const v of [want, el.value, el.getAttribute('max'), el.getAttribute('min')]) {
    if (!v) continue;
    probe.value = v;
    if (probe.value && probe.checkValidity()) return probe.value;
  }
  probe.value = '';
  probe.stepUp();
  return probe.value;
}"""


@dataclass
class Control:
    k: int
    tag: str
    done: bool
    type: str
    name: str | None
    value: str | None
    required: bool
    disabled: bool
    readonly: bool
    visible: bool
    tab: str | None
    inForm: bool
    attrs: dict[str, str]


@dataclass
class Filled:
    """A control the worker operated and what its answer entry must look like."""

    tag: str
    name: str | None
    shape: str  # key into SHAPES
    detail: dict[str, Any] = field(default_factory=dict)


SERVICE_KEYS = {
    "crowd-textract-analyze-document": "AWS/Textract/AnalyzeDocument/Forms/V1",
    "crowd-rekognition-detect-moderation-labels": "AWS/Rekognition/DetectModerationLabels/Image/V3",
}


# Elements that hold their own crowd-form when no outer one is around.
SELF_SUBMITTING = {"crowd-entity-annotation", "crowd-question-answer-generation"}


def controls(doc: Page | Frame) -> list[Control]:
    return [Control(**c) for c in doc.evaluate(_ENUMERATE)]


# ---------------------------------------------------------------------------------------------------
# the worker


class Worker:
    """Operates the task document `frame` (the page's main frame when None): the DOM through the frame,
    the mouse and keyboard through the page (Playwright gives element boxes in page coordinates)."""

    def __init__(self, page: Page, hints: dict[str, Any] | None = None, frame: Frame | None = None) -> None:
        self.page = page
        self.doc = frame or page.main_frame
        self.hints = hints or {}
        self.filled: list[Filled] = []
        self.radio_names: set[str] = set()
        self.log: list[str] = []

    def loc(self, c: Control) -> Locator:
        return self.doc.locator(f'[data-cl-worker="{c.k}"]')

    def run_steps(self, steps: list[tuple[str, ...]]) -> None:
        """Template-specific steps a person learns from the template's own UI (test_conformance.WORKER_HINTS)."""
        for step in steps:
            action, selector, *rest = step
            target = self.doc.locator(selector)
            if action == "fill":
                target.fill(rest[0])
            elif action == "click":
                target.click()
            elif action == "drag":
                source = target.bounding_box()
                dest = self.doc.locator(rest[0]).bounding_box()
                assert source and dest, step
                mouse = self.page.mouse
                mouse.move(source["x"] + source["width"] / 2, source["y"] + source["height"] / 2)
                mouse.down()
                self.doc.wait_for_timeout(150)
                mouse.move(dest["x"] + dest["width"] / 2, dest["y"] + dest["height"] / 2, steps=12)
                self.doc.wait_for_timeout(100)
                mouse.up()
            else:
                raise AssertionError(f"unknown step {step}")

    def fill_all(self) -> list[Filled]:
        """Hinted steps, then rounds of filling until nothing new appears (answers that reveal or
        enable more questions), then each hinted follow-up step (e.g. the next page) and more rounds."""
        self.run_steps(self.hints.get("steps", []))
        self._rounds()
        for step in self.hints.get("then", []):
            self.run_steps([step])
            self._rounds()
        for name, shape, detail in self.hints.get("expect", []):  # answers the template's own script builds
            self.filled.append(Filled("(template script)", name, shape, dict(detail)))
        return self.filled

    def _rounds(self, limit: int = 5) -> None:
        for _ in range(limit):
            todo = [c for c in controls(self.doc) if not c.done and c.visible and not c.disabled and not c.readonly]
            if not todo:
                return
            for c in todo:
                self._operate(c)
                self.doc.evaluate(
                    "k => window.__clWorkerEls[k] && window.__clWorkerEls[k].setAttribute('data-cl-done', '')", c.k
                )

    def _operate(self, c: Control) -> None:
        if c.tab is not None:
            self._open_tab(c)
        handler = getattr(self, "_" + c.tag.replace("-", "_"), None)
        if c.tag in ("input", "select", "textarea"):
            handler = self._native
        if handler is None:
            return
        try:
            self.loc(c).scroll_into_view_if_needed(timeout=2000)
        except Exception:
            return
        if c.tag in ("input", "select", "textarea") and (not self.loc(c).is_visible() or not self.loc(c).is_enabled()):
            return
        handler(c)

    def _open_tab(self, c: Control) -> None:
        if c.tab:
            self.doc.get_by_role("tab", name=c.tab).first.click()

    def _record(self, c: Control, shape: str, **detail: Any) -> None:
        name = SERVICE_KEYS.get(c.tag) or c.name
        if c.tag == "crowd-question-answer-generation" and not name:
            name = "crowd-question-answer-generation"
        if name is not None and (c.inForm or c.tag in SELF_SUBMITTING):
            self.filled.append(Filled(c.tag, name, shape, detail))

    # ---- text ----

    def _text_for(self, c: Control, multiline: bool) -> str:
        kind = c.type or c.attrs.get("type", "")
        if kind == "number":
            low = c.attrs.get("min")
            return str(int(float(low)) + 1) if low not in (None, "") else "3"
        if kind == "email":
            return "worker@example.com"
        if kind == "url":
            return "https://example.com/page"
        if kind == "tel":
            return "5550100"
        if kind == "date":
            return "2024-05-01"
        if kind == "time":
            return "10:30"
        if kind == "datetime-local":
            return "2024-05-01T10:30"
        if kind == "month":
            return "2024-05"
        if kind == "week":
            return "2024-W18"
        if kind == "color":
            return "#3366cc"
        pattern = c.attrs.get("allowed-pattern") or ""
        if pattern and not re.fullmatch(pattern, "a"):
            return "42"
        text = "First line of my answer\nsecond line" if multiline else f"answer {c.k}"
        limit = c.attrs.get("max-length") or c.attrs.get("maxlength")
        if limit and limit.isdigit():
            text = text[: max(1, int(limit))]
        return text

    def _type_into(self, field: Locator, text: str) -> None:
        field.click()
        field.fill("")
        field.press_sequentially(text.replace("\n", "\n"), delay=0)

    def _crowd_input(self, c: Control) -> None:
        field = self.loc(c).locator("input")
        kind = (c.attrs.get("type") or "").lower()
        if kind in ("number", "date", "time", "datetime-local", "month", "week"):
            field.fill(field.evaluate(_VALID_VALUE, self._text_for(c, False)))
        elif kind == "color":
            field.fill(self._text_for(c, False))
        else:
            self._type_into(field, self._text_for(c, False))
        self._record(c, "text")

    def _crowd_text_area(self, c: Control) -> None:
        text = self._text_for(c, True)
        self._type_into(self.loc(c).locator("textarea"), text)
        self._record(c, "text")

    # ---- choices ----

    def _crowd_checkbox(self, c: Control) -> None:
        self.loc(c).click()
        self._record(c, "checkable", key=c.value or "on")

    def _crowd_toggle_button(self, c: Control) -> None:
        self.loc(c).click()
        self._record(c, "checkable", key=c.value or "on")

    def _crowd_radio_button(self, c: Control) -> None:
        group = self.doc.evaluate(
            "k => { const el = window.__clWorkerEls[k]; const g = el.closest('crowd-radio-group');"
            " if (g && !g.__clGroup) g.__clGroup = (window.__clGroups = (window.__clGroups || 0) + 1);"
            " return g ? 'group:' + g.__clGroup : 'name:' + el.getAttribute('name'); }",
            c.k,
        )
        if group not in self.radio_names:
            self.radio_names.add(group)
            self.loc(c).click()
        self._record(c, "checkable", key=c.value or "on")

    def _crowd_radio_group(self, c: Control) -> None:  # the buttons inside do the work
        return

    def _crowd_slider(self, c: Control) -> None:
        slider = self.loc(c).locator("input[type=range]")
        slider.focus()
        for _ in range(3):
            self.page.keyboard.press("ArrowRight")
        self._record(c, "number")

    # ---- classifiers ----

    def _pick_options(self, c: Control, count: int) -> list[str]:
        options = self.loc(c).locator(".picker .option")
        n = options.count()
        picked = []
        for i in range(min(count, n)):
            options.nth(i).click()
            picked.append(options.nth(i).inner_text().split("\n")[0].strip())
        return picked

    def _crowd_classifier(self, c: Control) -> None:
        self._pick_options(c, 1)
        self._record(c, "label")

    def _crowd_classifier_multi_select(self, c: Control) -> None:
        self._pick_options(c, 2)
        self._record(c, "labels")

    def _crowd_image_classifier(self, c: Control) -> None:
        self._wait_image(c)
        self._pick_options(c, 1)
        self._record(c, "label")

    def _crowd_image_classifier_multi_select(self, c: Control) -> None:
        self._wait_image(c)
        self._pick_options(c, 2)
        self._record(c, "labels")

    def _crowd_text_ranking(self, c: Control) -> None:
        fieldsets = self.loc(c).locator("fieldset")
        for f in range(fieldsets.count()):
            selects = fieldsets.nth(f).locator("select")
            for i in range(selects.count()):
                selects.nth(i).select_option(str(i + 1))
        self._record(c, "ranking", dimensions=fieldsets.count())

    def _crowd_rekognition_detect_moderation_labels(self, c: Control) -> None:
        self._wait_image(c)
        self._pick_options(c, 1)
        self._record(c, "moderation")

    # ---- images ----

    def _wait_image(self, c: Control) -> None:
        self.doc.wait_for_function(
            "k => { const el = window.__clWorkerEls[k]; const l = el.shadowRoot && el.shadowRoot.querySelector('.layer');"
            " return !l || l.style.transform !== ''; }",
            arg=c.k,
            timeout=5000,
        )

    def _point(self, c: Control, fx: float, fy: float) -> tuple[float, float]:
        box = self.loc(c).locator("img[part=image]").bounding_box()
        assert box, f"{c.tag}: no image"
        return box["x"] + box["width"] * fx, box["y"] + box["height"] * fy

    def _labels(self, c: Control) -> Locator:
        return self.loc(c).locator("[part=labels] label")

    def _each_label(self, c: Control, limit: int = 3) -> list[int]:
        limit = self.hints.get(c.tag, {}).get("labels", limit)
        labels = self._labels(c)
        n = labels.count()
        return list(range(min(max(n, 1), limit))) if n else [0]

    def _choose_label(self, c: Control, i: int) -> None:
        labels = self._labels(c)
        if labels.count() > i:
            labels.nth(i).click()

    def _drag(self, start: tuple[float, float], end: tuple[float, float]) -> None:
        mouse = self.page.mouse
        mouse.move(*start)
        mouse.down()
        mouse.move((start[0] + end[0]) / 2, (start[1] + end[1]) / 2, steps=3)
        mouse.move(*end, steps=3)
        mouse.up()

    def _crowd_bounding_box(self, c: Control) -> None:
        self._wait_image(c)
        indexes = self._each_label(c)
        for i in indexes:
            self._choose_label(c, i)
            x = 0.1 + 0.28 * i
            self._drag(self._point(c, x, 0.3), self._point(c, x + 0.2, 0.6))
        self._record(c, "boxes", count=len(indexes))

    def _crowd_keypoint(self, c: Control) -> None:
        self._wait_image(c)
        indexes = self._each_label(c, 6)
        for i in indexes:
            self._choose_label(c, i)
            self.page.mouse.click(*self._point(c, 0.15 + 0.13 * i, 0.4 + 0.05 * (i % 2)))
        self._record(c, "keypoints", count=len(indexes))

    def _crowd_polygon(self, c: Control) -> None:
        self._wait_image(c)
        indexes = self._each_label(c)
        for i in indexes:
            self._choose_label(c, i)
            x = 0.1 + 0.28 * i
            corners = [(x, 0.3), (x + 0.2, 0.32), (x + 0.18, 0.6), (x + 0.02, 0.55)]
            for fx, fy in corners:
                self.page.mouse.click(*self._point(c, fx, fy))
            self.page.mouse.click(*self._point(c, *corners[0]))
        self._record(c, "polygons", count=len(indexes))

    def _crowd_line(self, c: Control) -> None:
        self._wait_image(c)
        indexes = self._each_label(c)
        for i in indexes:
            self._choose_label(c, i)
            x = 0.1 + 0.28 * i
            self._drag(self._point(c, x, 0.3), self._point(c, x + 0.2, 0.7))
        self._record(c, "lines", count=len(indexes))

    def _crowd_polyline(self, c: Control) -> None:
        self._wait_image(c)
        indexes = self._each_label(c)
        for i in indexes:
            self._choose_label(c, i)
            x = 0.1 + 0.28 * i
            points = [(x, 0.3), (x + 0.1, 0.5), (x + 0.2, 0.35)]
            for fx, fy in points[:-1]:
                self.page.mouse.click(*self._point(c, fx, fy))
            self.page.mouse.dblclick(*self._point(c, *points[-1]))
        self._record(c, "polylines", count=len(indexes))

    def _paint(self, c: Control, semantic: bool) -> None:
        self._wait_image(c)
        indexes = self._each_label(c)
        for i in indexes:
            self._choose_label(c, i)
            y = 0.3 + 0.2 * i
            self._drag(self._point(c, 0.2, y), self._point(c, 0.7, y))
        self._record(c, "semantic" if semantic else "instances", count=len(indexes))

    def _crowd_semantic_segmentation(self, c: Control) -> None:
        self._paint(c, True)

    def _crowd_instance_segmentation(self, c: Control) -> None:
        self._paint(c, False)

    # ---- text annotation ----

    def _crowd_entity_annotation(self, c: Control) -> None:
        text = self.loc(c).locator("[part=text]")
        # drag across the first word of 3+ letters
        rect = self.doc.evaluate(
            """k => {
              const host = window.__clWorkerEls[k];
              const box = host.shadowRoot.querySelector('[part=text]');
              const walker = document.createTreeWalker(box, NodeFilter.SHOW_TEXT);
              for (let n = walker.nextNode(); n; n = walker.nextNode()) {
                const m = /[\\p{L}\\p{N}]{3,}/u.exec(n.data);
                if (!m) continue;
                const r = document.createRange(); r.setStart(n, m.index); r.setEnd(n, m.index + m[0].length);
                const b = r.getBoundingClientRect();
                return {x0: b.left + 1, x1: b.right - 1, y: b.top + b.height / 2};
              }
              return null;
            }""",
            c.k,
        )
        assert rect, "crowd-entity-annotation: no word to tag"
        text.scroll_into_view_if_needed()
        dx, dy = self._frame_offset()
        self._drag((rect["x0"] + dx, rect["y"] + dy), (rect["x1"] + dx, rect["y"] + dy))
        self._record(c, "entities")

    def _frame_offset(self) -> tuple[float, float]:
        """Where the task document's viewport starts on the page (0, 0 for the main frame)."""
        if self.doc is self.page.main_frame:
            return 0.0, 0.0
        x, y = self.doc.frame_element().evaluate(
            "e => { const r = e.getBoundingClientRect(), s = getComputedStyle(e);"
            " return [r.left + e.clientLeft + parseFloat(s.paddingLeft), r.top + e.clientTop + parseFloat(s.paddingTop)]; }"
        )
        return float(x), float(y)

    def _crowd_question_answer_generation(self, c: Control) -> None:
        el = self.loc(c)
        passage = el.locator("[part=passage]").inner_text().strip()
        phrase = " ".join(passage.split()[:3])
        card = el.locator("[part=pair]").first
        self._type_into(card.locator("textarea[data-field=question]"), "What does the passage describe first")
        self._type_into(card.locator("textarea[data-field=answer]"), "It describes " + phrase)
        tag = card.locator("select[data-field=tag]")
        if tag.count():
            tag.select_option(index=1)
        find = card.locator("input[data-field=find]")
        self._type_into(find, phrase)
        find.press("Enter")
        self._record(c, "qa", phrase=phrase)

    def _crowd_textract_analyze_document(self, c: Control) -> None:
        self._wait_image(c)
        el = self.loc(c)
        values = el.locator("[part=pair] input[data-field=value]")
        if values.count():
            values.first.click()
            values.first.press("End")
            values.first.press_sequentially(" (checked)")
        missing = el.locator("[part=missing-key]")
        for i in range(missing.count()):
            card = missing.nth(i)
            if i == 0:
                card.locator("input[data-field=found]").check()
                self._type_into(card.locator("input[data-field=value]"), "221B Baker Street")
            else:
                card.locator("input[data-field=notfound]").check()
        self._record(c, "textract", pairs=values.count(), found=1 if missing.count() else 0)

    # ---- native controls ----

    def _native(self, c: Control) -> None:
        el = self.loc(c)
        kind = c.type
        if c.tag == "input" and kind in ("hidden", "submit", "button", "reset", "image", "file"):
            return
        if c.tag == "input" and kind == "range":
            el.focus()
            self.page.keyboard.press("ArrowRight")
            self._record(c, "string")
            return
        if c.tag == "input" and kind in ("checkbox", "radio"):
            key = "radio:" + (c.name or str(c.k)) if kind == "radio" else None
            if kind == "radio":
                if key in self.radio_names:
                    self._record(c, "checkable", key=c.value or "on")
                    return
                self.radio_names.add(key)
            el.check()
            self._record(c, "checkable", key=c.value or "on")
            return
        if c.tag == "select":
            values = el.evaluate("s => Array.from(s.options).filter(o => !o.disabled).map(o => o.value)")
            choice = next((v for v in values if v != ""), None)
            if choice is None:
                return
            el.select_option(choice)
            self._record(c, "strings" if kind == "select-multiple" else "string")
            return
        if c.tag == "input" and kind in ("number", "date", "time", "datetime-local", "month", "week"):
            el.fill(el.evaluate(_VALID_VALUE, self._text_for(c, False)))
        elif c.tag == "input" and kind == "color":
            el.fill(self._text_for(c, False))
        else:
            self._type_into(el, self._text_for(c, c.tag == "textarea"))
        self._record(c, "string")


# ---------------------------------------------------------------------------------------------------
# submitting


def press_submit(doc: Page | Frame) -> str:
    """Press the Submit control a worker would see in `doc` (a page or the task frame); returns what was
    pressed."""
    candidates = [
        ("crowd-button[form-action=submit]", doc.locator('crowd-button[form-action="submit" i]')),
        ("Submit button", doc.get_by_role("button", name=re.compile(r"^\s*submit\s*$", re.I))),
        ("submit input", doc.locator("input[type=submit]")),
    ]
    for what, locator in candidates:
        for i in range(locator.count()):
            item = locator.nth(i)
            if item.is_visible() and item.is_enabled():
                item.scroll_into_view_if_needed()
                item.click()
                return what
    page = doc if isinstance(doc, Page) else doc.page
    page.keyboard.press("Control+Enter")  # the portal's keyboard shortcut (inside the frame: the elements')
    return "Ctrl+Enter"


# ---------------------------------------------------------------------------------------------------
# answer shapes (catalog)


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _image_props(v: Any) -> bool:
    return (
        isinstance(v, dict)
        and _is_int(v.get("width"))
        and _is_int(v.get("height"))
        and v["width"] > 0
        and v["height"] > 0
    )


def _vertices(v: Any, least: int, most: int | None = None) -> bool:
    return (
        isinstance(v, list)
        and len(v) >= least
        and (most is None or len(v) <= most)
        and all(isinstance(p, dict) and set(p) == {"x", "y"} and _is_int(p["x"]) and _is_int(p["y"]) for p in v)
    )


def _png(data: Any) -> bool:
    if not isinstance(data, str):
        return False
    try:
        return base64.b64decode(data)[:8] == b"\x89PNG\r\n\x1a\n"
    except ValueError:
        return False


def _shape_problem(shape: str, value: Any, detail: dict[str, Any]) -> str | None:
    if shape in ("text", "string"):
        return None if isinstance(value, str) and value else "expected a non-empty string"
    if shape == "json":
        try:
            parsed = json.loads(value) if isinstance(value, str) else None
        except ValueError:
            parsed = None
        return None if parsed not in (None, {}, []) else "expected a non-empty JSON string"
    if shape == "strings":
        return (
            None if isinstance(value, list) and all(isinstance(x, str) for x in value) else "expected a list of strings"
        )
    if shape == "checkable_any":
        ok = isinstance(value, dict) and all(isinstance(b, bool) for b in value.values()) and any(value.values())
        return None if ok else "expected {value: bool} with one true"
    if shape == "checkable":
        ok = isinstance(value, dict) and all(isinstance(b, bool) for b in value.values()) and detail["key"] in value
        return None if ok else f"expected {{value: bool}} with key {detail['key']!r}"
    if shape == "number":
        return None if isinstance(value, (int, float)) and not isinstance(value, bool) else "expected a number"
    if shape == "label":
        ok = (
            isinstance(value, dict) and isinstance(value.get("label"), str) and set(value) <= {"label", "workerComment"}
        )
        return None if ok else "expected {label}"
    if shape == "labels":
        ok = (
            isinstance(value, dict)
            and isinstance(value.get("labels"), list)
            and value["labels"]
            and all(isinstance(x, str) for x in value["labels"])
            and set(value) <= {"labels", "workerComment"}
        )
        return None if ok else "expected {labels: [str, ...]}"
    if shape == "ranking":
        dims = value.get("ordinalRankingDimensions") if isinstance(value, dict) else None
        ok = (
            isinstance(dims, list)
            and len(dims) == detail["dimensions"]
            and all(
                isinstance(d.get("name"), str)
                and isinstance(d.get("responseRankings"), list)
                and all(_is_int(r) for r in d["responseRankings"])
                for d in dims
            )
        )
        return None if ok else "expected {ordinalRankingDimensions: [{name, responseRankings}]}"
    if shape in ("boxes", "keypoints", "polygons", "lines", "polylines"):
        key = {"boxes": "boundingBoxes"}.get(shape, shape)
        if not isinstance(value, dict) or not _image_props(value.get("inputImageProperties")):
            return "expected inputImageProperties {height, width}"
        items = value.get(key)
        if not isinstance(items, list) or len(items) < detail["count"]:
            return f"expected {detail['count']} {key}, got {items!r}"
        allowed = {"inputImageProperties", key, "initialValueModified"}
        if set(value) - allowed:
            return f"unexpected keys {sorted(set(value) - allowed)}"
        for item in items:
            if not isinstance(item, dict) or not isinstance(item.get("label"), str):
                return f"{key} item without a label: {item!r}"
            if shape == "boxes" and not (
                set(item) == {"label", "left", "top", "width", "height"}
                and all(_is_int(item[k]) for k in ("left", "top", "width", "height"))
            ):
                return f"bad box {item!r}"
            if shape == "keypoints" and not (
                set(item) == {"label", "x", "y"} and _is_int(item["x"]) and _is_int(item["y"])
            ):
                return f"bad keypoint {item!r}"
            least, most = {"polygons": (3, None), "lines": (2, 2), "polylines": (2, None)}.get(shape, (0, None))
            if shape in ("polygons", "lines", "polylines") and not (
                set(item) == {"label", "vertices"} and _vertices(item["vertices"], least, most)
            ):
                return f"bad {shape[:-1]} {item!r}"
        return None
    if shape == "entities":
        ents = value.get("entities") if isinstance(value, dict) else None
        ok = (
            isinstance(ents, list)
            and ents
            and all(
                set(e) == {"label", "startOffset", "endOffset"}
                and isinstance(e["label"], str)
                and _is_int(e["startOffset"])
                and _is_int(e["endOffset"])
                and e["startOffset"] < e["endOffset"]
                for e in ents
            )
        )
        return None if ok else "expected {entities: [{label, startOffset, endOffset}]}"
    if shape in ("semantic", "instances"):
        if not isinstance(value, dict) or not _image_props(value.get("inputImageProperties")):
            return "expected inputImageProperties"
        if not _png((value.get("labeledImage") or {}).get("pngImageData")):
            return "expected labeledImage.pngImageData (base64 PNG)"
        if shape == "semantic":
            maps = value.get("labelMappings")
            ok = (
                isinstance(maps, dict)
                and maps
                and all(
                    isinstance(m, dict) and re.fullmatch(r"#[0-9a-f]{6}", str(m.get("color"))) for m in maps.values()
                )
            )
            return None if ok else "expected labelMappings {label: {color}}"
        inst = value.get("instances")
        ok = isinstance(inst, list) and inst and all(set(i) == {"color", "label"} for i in inst)
        return None if ok else "expected instances [{color, label}]"
    if shape == "qa":
        pairs = value.get("questionAnswerPairs") if isinstance(value, dict) else None
        if not isinstance(pairs, list) or not pairs:
            return "expected {questionAnswerPairs: [...]}"
        for p in pairs:
            if set(p) != {"question", "answer", "tag", "references"} or not all(
                isinstance(p[k], str) for k in ("question", "answer", "tag")
            ):
                return f"bad pair {p!r}"
            if not p["references"] or not all(set(r) == {"startOffset", "endOffset"} for r in p["references"]):
                return f"bad references {p['references']!r}"
        return None
    if shape == "textract":
        blocks = value.get("blocks") if isinstance(value, dict) else None
        ok = isinstance(blocks, list) and all(
            isinstance(b, dict) and ("BlockType" in b or "blockType" in b) for b in blocks
        )
        return None if ok and set(value) == {"blocks"} else "expected {blocks: [Textract blocks]}"
    if shape == "moderation":
        labels = value.get("moderationLabels") if isinstance(value, dict) else None
        ok = isinstance(labels, list) and labels and set(value) == {"moderationLabels"}
        return None if ok else "expected {moderationLabels: [...]} with the chosen category"
    return f"unknown shape {shape}"


def check_answer(answer: dict[str, Any], filled: list[Filled]) -> list[str]:
    """Shape problems of `answer` for the controls the worker filled (the last control of a name wins,
    as in crowd-form; checkable controls of one name merge)."""
    last: dict[str, Filled] = {}
    for f in filled:
        assert f.name is not None
        if f.shape == "checkable" and f.name in last and last[f.name].shape == "checkable":
            continue
        last[f.name] = f
    problems = []
    for name, f in last.items():
        if name not in answer:
            problems.append(f"{f.tag} name={name!r}: missing from the answer")
            continue
        problem = _shape_problem(f.shape, answer[name], f.detail)
        if problem:
            problems.append(f"{f.tag} name={name!r}: {problem}; got {str(answer[name])[:200]}")
    return problems
