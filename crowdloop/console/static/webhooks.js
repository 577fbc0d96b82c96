// crowdloop console, events part: the live events panel (EventSource on the events stream, paused while the
// tab is hidden), the bus fields shown only for bus kinds, and the signing secret's Copy button.
"use strict";

(function () {
  const NEWEST = 50;
  const RETRY_MS = 3000;
  const t = (key) => window.crowdloopConsole.t(key);

  function liveEvents(panel) {
    const state = panel.querySelector("[data-live-state]");
    const rows = panel.querySelector("[data-live-rows]");
    const url = panel.dataset.streamUrl;
    let source = null;
    let retry = null;

    const show = (name, text) => {
      state.dataset.state = name;
      state.textContent = text;
    };
    const cell = (text) => {
      const td = document.createElement("td");
      td.textContent = text;
      return td;
    };
    const add = (message) => {
      let event;
      try {
        event = JSON.parse(message.data);
      } catch (error) {
        return; // not an event document (a comment or a keep-alive)
      }
      const detail = event.detail || {};
      const stamp = String(event.time || "").replace("T", " ").replace("Z", "");
      const row = document.createElement("tr");
      const time = cell(stamp.slice(11) || stamp); // the clock time; the date is in the cell's title
      time.title = stamp;
      row.append(time, cell(event["detail-type"] || ""), cell(detail.humanLoopName || ""),
                 cell(detail.humanLoopStatus || ""));
      const empty = rows.querySelector("[data-live-empty]");
      if (empty) empty.remove();
      rows.prepend(row);
      while (rows.children.length > NEWEST) rows.lastElementChild.remove();
    };
    const close = () => {
      if (retry !== null) { clearTimeout(retry); retry = null; }
      if (source !== null) { source.close(); source = null; }
    };
    const open = () => {
      close();
      show("connecting", t("console.connecting"));
      source = new EventSource(url);
      source.onopen = () => show("live", t("console.stream_live"));
      source.onmessage = add; // unnamed messages, and each named after a detail-type the page lists
      for (const type of (panel.dataset.detailTypes || "").split("\n")) {
        if (type) source.addEventListener(type, add);
      }
      source.onerror = () => {
        show("reconnecting", t("console.reconnecting"));
        if (source && source.readyState === EventSource.CLOSED) { // refused (e.g. signed out): try again later
          source = null;
          retry = setTimeout(open, RETRY_MS);
        }
      };
    };
    document.addEventListener("visibilitychange", () => {
      if (document.hidden) {
        close();
        show("paused", t("console.paused_hidden"));
      } else {
        open();
      }
    });
    if (document.hidden) show("paused", t("console.paused_hidden")); else open();
  }

  function busFields(select) {
    const fields = document.querySelector("[data-bus-fields]");
    if (!fields) return;
    const update = () => { fields.hidden = select.value === "webhook"; };
    select.addEventListener("change", update);
    update();
  }

  const panel = document.querySelector("[data-live-events]");
  if (panel) liveEvents(panel);
  const kind = document.querySelector("select[data-kind]");
  if (kind) busFields(kind);
})();
