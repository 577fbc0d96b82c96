// crowdloop console: small plain JS, no bundler. Pages opt in through data- attributes.
"use strict";

/** The session's CSRF token (base.html's <meta name="csrf-token">), sent as X-CSRF-Token on POSTs. */
function consoleCsrfToken() {
  const meta = document.querySelector('meta[name="csrf-token"]');
  return meta ? meta.content : "";
}

/** fetch() for console JSON: same origin, the CSRF header on POSTs; resolves to the parsed JSON. */
async function consoleFetch(url, options = {}) {
  const headers = Object.assign({ Accept: "application/json" }, options.headers || {});
  if ((options.method || "GET").toUpperCase() !== "GET") headers["X-CSRF-Token"] = consoleCsrfToken();
  const response = await fetch(url, Object.assign({}, options, { headers, credentials: "same-origin" }));
  if (!response.ok) {
    const error = new Error(`${url}: HTTP ${response.status}`);
    error.status = response.status; // 401: the session has ended
    throw error;
  }
  return response.json();
}

/**
 * Call `tick` every `seconds` while the tab is visible (paused while hidden, run at once when shown again).
 * Returns a function that stops it. A tick that fails with status 401 (signed out) stops the polling.
 */
function consolePoll(tick, seconds) {
  let timer = null;
  let running = false;
  const run = async () => {
    if (running) return;
    running = true;
    try {
      await tick();
    } catch (error) {
      if (error.status === 401) stopAll();
      console.warn(error);
    } finally {
      running = false;
    }
  };
  const start = () => { if (timer === null) timer = setInterval(run, seconds * 1000); };
  const stop = () => { if (timer !== null) { clearInterval(timer); timer = null; } };
  const onVisibility = () => { if (document.hidden) { stop(); } else { run(); start(); } };
  const stopAll = () => { stop(); document.removeEventListener("visibilitychange", onVisibility); };
  document.addEventListener("visibilitychange", onVisibility);
  if (!document.hidden) start();
  return stopAll;
}

/**
 * Our texts in the page's language: the 'console.*' keys of the JavaScript catalog
 * (crowdloop/locale/<language>/crowd.json), put into the page by base.html as the JSON data block
 * #crowdloop-messages. `{name}` fields are filled from params; a missing key shows as itself.
 */
const consoleMessages = (() => {
  try {
    return JSON.parse(document.getElementById("crowdloop-messages").textContent) || {};
  } catch (error) {
    return {};
  }
})();

function consoleText(key, params = {}) {
  const text = Object.prototype.hasOwnProperty.call(consoleMessages, key) ? consoleMessages[key] : key;
  return String(text).replace(/\{(\w+)\}/g, (field, name) =>
    Object.prototype.hasOwnProperty.call(params, name) ? String(params[name]) : field);
}

window.crowdloopConsole = {
  csrfToken: consoleCsrfToken, fetchJson: consoleFetch, poll: consolePoll, t: consoleText,
};
