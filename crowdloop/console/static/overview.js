// The overview's live updates: polls /console/api/overview (paused while the tab is hidden) and updates
// each flow definition's numbers, progress bar, chart (uPlot) and the chart's text alternative in place.
"use strict";

(function () {
  const live = document.getElementById("live-status");
  if (!live) return;
  const api = window.crowdloopConsole;
  const pollUrl = live.dataset.pollUrl;
  const seconds = Number(live.dataset.pollSeconds) || 5;
  const charts = new Map(); // flow name -> { card, plot, range, flow }
  const HEIGHT = 180;
  const DAY = 24;

  function cardFor(name) {
    for (const card of document.querySelectorAll("[data-flow]")) {
      if (card.dataset.flow === name) return card;
    }
    return null;
  }

  function setText(card, field, text) {
    const element = card.querySelector(`[data-field="${field}"]`);
    if (element && element.textContent !== String(text)) element.textContent = String(text);
  }

  function formatNumber(value) { // as the server writes numbers (crowdloop.console.fmt.number)
    const lang = document.documentElement.lang || "en";
    if (lang !== "en") return Number(value).toLocaleString(lang);
    return Number(value).toLocaleString("en-US").replace(/,/g, "\u202f");
  }

  function chartData(flow, range) {
    const hours = range === "day" ? flow.hours.slice(-DAY) : flow.hours;
    return [hours.map((row) => row[0]), hours.map((row) => row[1])];
  }

  // The time axis: uPlot's own labels (4am, 12/6/26) in English; another language writes its hours and days
  // with Intl (e.g. 12. 7. 오전 2시), spaced wider.
  function timeAxis(axis) {
    const lang = document.documentElement.lang || "en";
    if (lang === "en") return axis;
    const format = new Intl.DateTimeFormat(lang, { timeZone: "UTC", month: "numeric", day: "numeric", hour: "numeric" });
    return Object.assign({ space: 110, values: (u, splits) => splits.map((ts) => format.format(new Date(ts * 1e3))) }, axis);
  }

  function makePlot(container, data) {
    if (typeof uPlot === "undefined") return null;
    const axis = { stroke: "#57606a", grid: { stroke: "#eaeef2" }, ticks: { stroke: "#d0d7de" } };
    const options = {
      width: Math.max(container.clientWidth, 200),
      height: HEIGHT,
      tzDate: (ts) => uPlot.tzDate(new Date(ts * 1e3), "Etc/UTC"),
      legend: { show: false },
      scales: { x: { time: true }, y: { range: (u, min, max) => [0, Math.max(max, 1)] } },
      // whole answers on the y axis: ticks 1, 2, 5, 10, 20, 50, …
      axes: [timeAxis(axis), Object.assign({ size: 44, incrs: [1, 2, 5].flatMap((n) => [1, 10, 100, 1e3, 1e4, 1e5].map((k) => n * k)).sort((a, b) => a - b) }, axis)],
      series: [
        {},
        {
          label: api.t("console.answers"),
          stroke: "#0b5cad",
          fill: "rgba(11, 92, 173, 0.55)",
          width: 0, // no outline: hours without answers draw nothing
          paths: uPlot.paths.bars({ size: [0.8, 48] }),
          points: { show: false },
        },
      ],
    };
    return new uPlot(options, data, container);
  }

  function renderChartText(card, text) {
    setText(card, "chart_summary", text.summary);
    setText(card, "chart_unit", text.unit);
    const body = card.querySelector('[data-field="chart_rows"]');
    if (!body) return;
    const rows = text.rows.map(([label, count]) => {
      const row = document.createElement("tr");
      const name = document.createElement("td");
      name.textContent = label;
      const value = document.createElement("td");
      value.className = "num";
      value.textContent = String(count);
      row.append(name, value);
      return row;
    });
    body.replaceChildren(...rows);
  }

  function showChart(entry) {
    const data = chartData(entry.flow, entry.range);
    if (entry.plot) {
      entry.plot.setData(data);
    } else {
      entry.plot = makePlot(entry.card.querySelector(".chart"), data);
    }
    renderChartText(entry.card, entry.flow.charts[entry.range]);
  }

  function update(flow) {
    const card = cardFor(flow.name);
    if (!card) return false;
    const status = card.querySelector('[data-field="status"]');
    if (status && status.textContent !== flow.status) {
      status.textContent = flow.status;
      status.className = `status status-${flow.status}`;
    }
    setText(card, "progress_text", flow.progress_text);
    const bar = card.querySelector('[data-field="progress"]');
    if (bar) {
      bar.max = Math.max(flow.answers_needed, 1);
      bar.value = Math.min(flow.answers_received, flow.answers_needed);
      bar.textContent = `${flow.percent === null ? 0 : flow.percent}%`;
    }
    for (const [name, count] of Object.entries(flow.loops)) {
      const element = card.querySelector(`[data-loops="${name}"]`);
      if (element) element.textContent = formatNumber(count);
    }
    setText(card, "answers_last_hour", formatNumber(flow.answers_last_hour));
    setText(card, "median_text", flow.median_text);
    setText(card, "workers_active", formatNumber(flow.workers_active));
    setText(card, "tasks_waiting", formatNumber(flow.tasks_waiting));
    setText(card, "eta_text", flow.eta_text);
    let entry = charts.get(flow.name);
    if (!entry) {
      entry = { card, plot: null, range: "day", flow };
      charts.set(flow.name, entry);
      wireToggle(entry);
    }
    entry.flow = flow;
    showChart(entry);
    return true;
  }

  function wireToggle(entry) {
    for (const button of entry.card.querySelectorAll("[data-range]")) {
      button.addEventListener("click", () => {
        entry.range = button.dataset.range;
        for (const other of entry.card.querySelectorAll("[data-range]")) {
          other.setAttribute("aria-pressed", String(other === button));
        }
        showChart(entry);
      });
    }
  }

  function render(body) {
    const shown = new Set([...document.querySelectorAll("[data-flow]")].map((card) => card.dataset.flow));
    let changed = shown.size !== body.flows.length;
    for (const flow of body.flows) {
      if (!update(flow)) changed = true;
    }
    document.getElementById("new-flows").hidden = !changed;
  }

  // The live line is a status region: it changes only when the state does (not at every update), so a
  // screen reader is not interrupted every few seconds.
  function say(text) {
    if (live.textContent !== text) live.textContent = text;
  }

  async function tick() {
    try {
      render(await api.fetchJson(pollUrl));
      say(api.t("console.live", { seconds }));
    } catch (error) {
      say(error.status === 401 ? api.t("console.signed_out") : api.t("console.live_failed"));
      throw error;
    }
  }

  window.addEventListener("resize", () => {
    for (const entry of charts.values()) {
      if (!entry.plot) continue;
      entry.plot.setSize({ width: Math.max(entry.card.querySelector(".chart").clientWidth, 200), height: HEIGHT });
    }
  });
  document.addEventListener("visibilitychange", () => {
    if (document.hidden) say(api.t("console.live_paused"));
  });
  tick().catch((error) => console.warn(error));
  api.poll(tick, seconds);
})();
