// The flow page's live numbers: polls /console/api/flows/{flow} (the page's data-flow-api) every few
// seconds while the tab is visible and updates in place, without a reload:
//   fields:  {name: text}      -> every [data-field=name] element's text
//   percent: number            -> the <progress> bar's value
//   workers: [[cell, ...], ...] -> the rows of the per-worker table (text cells, in column order)
//   agreement: {name: text}    -> every [data-agreement=name] element's text
"use strict";

(function () {
  const head = document.querySelector("[data-flow-api]");
  if (!head || !window.crowdloopConsole) return;
  const api = head.dataset.flowApi;
  const POLL_SECONDS = 5;

  function setTexts(attribute, values) {
    for (const [name, text] of Object.entries(values || {})) {
      for (const element of document.querySelectorAll(`[${attribute}="${CSS.escape(name)}"]`)) {
        if (element.textContent !== String(text)) element.textContent = String(text);
      }
    }
  }

  function setWorkers(rows) {
    const body = document.querySelector(".workers-table tbody");
    if (!body || !Array.isArray(rows) || rows.length === 0) return;
    body.replaceChildren(...rows.map((cells) => {
      const row = document.createElement("tr");
      cells.forEach((text, index) => {
        const cell = document.createElement("td");
        cell.textContent = text;
        if (index >= 2) cell.className = "num";
        row.append(cell);
      });
      return row;
    }));
  }

  async function tick() {
    const data = await window.crowdloopConsole.fetchJson(api);
    setTexts("data-field", data.fields);
    setTexts("data-agreement", data.agreement);
    const meter = document.querySelector(".flow-progress progress");
    if (meter && typeof data.percent === "number") meter.value = Math.min(100, Math.max(0, data.percent));
    setWorkers(data.workers);
  }

  window.crowdloopConsole.poll(tick, POLL_SECONDS);
})();
