// The template page's live preview: "Preview" (and, debounced, typing in the sample input) asks
// /console/api/templates/{ui}/preview for a signed frame URL and the render errors, and updates the
// frame and the messages in place. Without JS the form is a plain GET of the page.
"use strict";

(function () {
  const form = document.querySelector("form[data-preview-api]");
  if (!form) return;
  const textarea = form.querySelector("textarea[name=input]");
  const frame = document.querySelector(".preview-frame");
  const errors = document.querySelector(".preview-errors");
  const state = form.querySelector(".preview-state");
  let timer = null;
  let sent = 0;

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
    state.textContent = "Rendering…";
    const url = form.dataset.previewApi + "?input=" + encodeURIComponent(textarea.value);
    try {
      const response = await fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" });
      const body = await response.json();
      if (ticket !== sent) return; // a newer preview is on its way
      if (!response.ok) {
        showErrors([body.error || "The preview failed."]);
      } else {
        showErrors(body.errors || []);
        if (body.frame) frame.src = body.frame.url;
      }
      state.textContent = "";
    } catch (error) {
      if (ticket === sent) { showErrors(["The preview failed: " + error.message]); state.textContent = ""; }
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
