// The template page's live preview: "Preview" (and, debounced, typing in the sample input) asks
// /console/api/templates/{ui}/preview for a signed frame URL, the render errors and the template checks,
// and updates the frame, the messages and the "Checks" box in place. Without JS the form is a plain GET of
// the page.
"use strict";

(function () {
  const t = window.crowdloopConsole.t;
  const form = document.querySelector("form[data-preview-api]");
  if (!form) return;
  const textarea = form.querySelector("textarea[name=input]");
  const frame = document.querySelector(".preview-frame");
  const errors = document.querySelector(".preview-errors");
  const state = form.querySelector(".preview-state");
  const checks = document.querySelector(".checks-list");
  const checksClean = document.querySelector(".checks-clean");
  const checksInput = document.querySelector(".checks-input");
  let timer = null;
  let sent = 0;

  function showChecks(result) {
    if (!checks || !result) return;
    checks.replaceChildren(...result.findings.map((finding) => {
      const item = document.createElement("li");
      item.className = "check-" + finding.severity;
      const level = document.createElement("strong");
      level.textContent = finding.severity.toUpperCase();
      item.append(level, (finding.line ? " " + t("console.line", { line: finding.line }) : "") + ": " + finding.message);
      return item;
    }));
    checksClean.hidden = result.findings.some((finding) => finding.severity !== "info");
    // which input the checks used: the paragraph has a sentence for each
    checksInput.querySelector('[data-input="made-up"]').hidden = !result.made_up;
    checksInput.querySelector('[data-input="sample"]').hidden = Boolean(result.made_up);
  }

  function showErrors(list) {
    errors.replaceChildren(...list.map((text) => {
      const item = document.createElement("li");
      item.textContent = text;
      return item;
    }));
    errors.hidden = list.length === 0;
  }

  async function preview() {
    const ticket = ++sent;
    state.textContent = t("console.rendering");
    const url = form.dataset.previewApi + "?input=" + encodeURIComponent(textarea.value);
    try {
      const response = await fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" });
      const body = await response.json();
      if (ticket !== sent) return; // a newer preview is on its way
      if (!response.ok) {
        showErrors([body.error || t("console.preview_failed")]);
      } else {
        showErrors(body.errors || []);
        showChecks(body.checks);
        if (body.frame) frame.src = body.frame.url;
      }
      state.textContent = "";
    } catch (error) {
      if (ticket === sent) {
        showErrors([t("console.preview_failed_because", { error: error.message })]);
        state.textContent = "";
      }
    }
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    clearTimeout(timer);
    preview();
  });
  textarea.addEventListener("input", () => {
    clearTimeout(timer);
    timer = setTimeout(preview, 700);
  });
})();
