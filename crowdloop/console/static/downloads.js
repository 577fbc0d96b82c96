// The flow page's download buttons (templates/_downloads.html): start the export, show its progress, then
// fetch the file. Without this script the forms still work (the download's own page refreshes itself).
"use strict";

(() => {
  const POLL_MS = 500;
  const t = window.crowdloopConsole.t;

  function humanBytes(bytes) {
    if (bytes === null || bytes === undefined) return "";
    const units = [t("console.bytes"), "KB", "MB", "GB"];
    let value = bytes;
    let unit = 0;
    while (value >= 1000 && unit < units.length - 1) { value /= 1000; unit += 1; }
    return `${unit ? value.toFixed(1) : value} ${units[unit]}`;
  }

  async function postForm(form, body) {
    const response = await fetch(form.action, {
      method: "POST",
      credentials: "same-origin",
      headers: { Accept: "application/json", "X-CSRF-Token": window.crowdloopConsole.csrfToken() },
      body,
    });
    const answer = await response.json().catch(() => ({}));
    if (!response.ok) throw new Error(answer.error || t("console.server_answered", { status: response.status }));
    return answer;
  }

  async function getJson(url) {
    const response = await fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } });
    const body = await response.json().catch(() => ({}));
    if (!response.ok) throw new Error(body.error || t("console.server_answered", { status: response.status }));
    return body;
  }

  /** One row of the download list: a label, a progress bar and a message. */
  function makeRow(list, label) {
    const row = document.createElement("li");
    row.className = "download-row";
    const title = document.createElement("span");
    title.className = "download-title";
    title.textContent = label;
    const bar = document.createElement("progress");
    bar.max = 1;
    bar.value = 0;
    bar.setAttribute("aria-label", t("console.progress_of", { label }));
    const message = document.createElement("span");
    message.className = "download-message";
    message.setAttribute("role", "status");
    message.textContent = t("console.starting");
    row.append(title, bar, message);
    list.prepend(row);
    return { row, bar, message };
  }

  function show(view, state) {
    view.bar.max = Math.max(state.loops_total, 1);
    view.bar.value = state.loops_done;
    view.row.dataset.state = state.state;
    if (state.state === "running") {
      view.message.textContent = t("console.loops_read", { done: state.loops_done, total: state.loops_total });
    } else if (state.state === "ready") {
      view.bar.value = view.bar.max;
      const flagged = state.flagged_left_out ? " · " + t("console.flagged_left_out", { n: state.flagged_left_out }) : "";
      view.message.textContent = t("console.ready", { file: state.file_name, size: humanBytes(state.bytes) }) + flagged;
    } else {
      view.message.textContent = state.error || t("console.download_failed");
    }
  }

  async function follow(view, started, button) {
    let state = started;
    show(view, state);
    while (state.state === "running") {
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
      state = await getJson(started.progress_url);
      show(view, state);
    }
    if (state.state === "ready") window.location.assign(started.file_url);
    button.disabled = false;
  }

  function enhance(form) {
    const list = form.closest(".downloads").querySelector("[data-download-list]");
    form.addEventListener("submit", async (event) => {
      const button = event.submitter || form.querySelector("button[name=format]");
      event.preventDefault();
      const body = new URLSearchParams(new FormData(form, button)); // before disabling: a disabled button sends nothing
      button.disabled = true;
      const view = makeRow(list, button.textContent.trim());
      try {
        await follow(view, await postForm(form, body), button);
      } catch (error) {
        view.row.dataset.state = "failed";
        view.message.textContent = error.message;
        button.disabled = false;
      }
    });
  }

  function init() {
    document.querySelectorAll("form.download-form").forEach(enhance);
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
