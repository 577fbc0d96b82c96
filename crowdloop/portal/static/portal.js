/* crowdloop worker portal: the task page's timer, active-time count and the bridge to the task frame.
 *
 * The task UI runs in a sandboxed iframe (opaque origin). It talks to this page with postMessage:
 *   frame -> page  {crowdloop: 1, type: "ready" | "submit" (answer) | "invalid" (message) | "size" (height, viewport)}
 *   page -> frame  {crowdloop: 1, type: "submit-request" | "submit-failed" (message)}
 * Only messages whose source is the frame's window are read. Ctrl+Enter (Cmd+Enter) sends submit-request.
 *
 * The frame fills the rest of the window; when its document needs more height ("size"), the frame grows to
 * it and the page scrolls instead of the frame, so Submit never hides in an inner scrollbar. A document
 * whose height follows the frame's (e.g. 100vh plus a margin) would grow forever: after GROWTH_LIMIT
 * growths by the same amount the frame stops growing and keeps its own scrollbar.
 *
 * Active time counts only while this page is visible and focused (focus inside the frame counts); it is
 * kept in localStorage per assignment so "Stop and resume later" does not lose it, and sent with the
 * answer as timeSpentInSeconds (the server clamps it to the time since the task was accepted), with the
 * page's signed lease token (which job to open next, when the task was accepted).
 */
(function () {
  'use strict';
  var task = document.querySelector('[data-task]');
  if (!task) return;
  var frame = task.querySelector('iframe');
  var statusBox = task.querySelector('[data-status]');
  var countdown = task.querySelector('[data-countdown]');
  var timer = countdown.parentNode;
  var storeKey = 'crowdloop-active-ms-' + task.getAttribute('data-assignment');
  var deadline = performance.now() + Number(task.getAttribute('data-remaining-ms'));
  var activeMs = Number(load()) || 0;
  var last = performance.now();
  var submitting = false;
  var warned = false;
  var wasCounting = counting();

  // Our texts in the page's language: the server puts the 'page.*' keys of the JavaScript catalog
  // (crowdloop/locale/<language>/crowd.json) into the JSON data block #crowdloop-messages.
  var messages = {};
  try { messages = JSON.parse(document.getElementById('crowdloop-messages').textContent) || {}; } catch (e) { /* none */ }
  function t(key) { return Object.prototype.hasOwnProperty.call(messages, key) ? messages[key] : key; }

  function load() { try { return window.localStorage.getItem(storeKey); } catch (e) { return null; } }
  function save() { try { window.localStorage.setItem(storeKey, String(Math.round(activeMs))); } catch (e) { /* private mode */ } }
  function forget() { try { window.localStorage.removeItem(storeKey); } catch (e) { /* private mode */ } }
  function say(message) { statusBox.textContent = message || ''; }
  function post(message) {
    message.crowdloop = 1;
    if (frame.contentWindow) frame.contentWindow.postMessage(message, '*');
  }

  var MAX_FRAME_PX = 100000;
  var GROWTH_LIMIT = 3;
  var lastExcess = 0;
  var sameExcess = 0;

  // height: what the frame's document needs; viewport: the frame's inner height when it measured.
  function fit(height, viewport) {
    if (!(height > 0) || !(viewport > 0) || sameExcess >= GROWTH_LIMIT) return;
    var excess = Math.ceil(height - viewport);
    if (excess <= 1) return; // it fits: the frame keeps its height (at least the rest of the window)
    sameExcess = Math.abs(excess - lastExcess) <= 2 ? sameExcess + 1 : 0;
    lastExcess = excess;
    if (sameExcess >= GROWTH_LIMIT) return; // the document grows with the frame: keep the inner scrollbar
    var current = frame.getBoundingClientRect().height;
    task.classList.add('task-grown');
    frame.style.height = Math.min(Math.ceil(current + excess), MAX_FRAME_PX) + 'px';
  }

  function counting() { return document.visibilityState === 'visible' && document.hasFocus(); }

  function tick() {
    var now = performance.now();
    var delta = now - last;
    last = now;
    if (wasCounting && delta < 5000) activeMs += delta; // a longer gap means the machine slept
    wasCounting = counting();
    save();
    var left = deadline - now;
    var seconds = Math.max(0, Math.ceil(left / 1000));
    var h = Math.floor(seconds / 3600), m = Math.floor(seconds % 3600 / 60), s = seconds % 60;
    countdown.textContent = (h ? h + ':' + (m < 10 ? '0' : '') : '') + m + ':' + (s < 10 ? '0' : '') + s;
    if (seconds <= 60) {
      timer.classList.add('low');
      if (!warned && seconds > 0) { warned = true; say(t('page.minute_left')); }
    }
    if (left <= -1000 && !submitting) {
      window.location.reload(); // the server now answers "Time is up"
    }
  }

  function send(answer) {
    if (submitting) return;
    submitting = true;
    tick();
    say(t('page.saving'));
    fetch(task.getAttribute('data-submit-url'), {
      method: 'POST',
      credentials: 'same-origin',
      headers: {'Content-Type': 'application/json', 'X-CSRF-Token': task.getAttribute('data-csrf')},
      body: JSON.stringify({answer: answer, timeSpentInSeconds: activeMs / 1000,
                            lease: task.getAttribute('data-lease')})
    }).then(function (response) {
      return response.json().catch(function () { return {}; });
    }).then(function (body) {
      if (body && body.next) {
        forget();
        window.location.assign(body.next);
      } else {
        fail((body && body.error) || t('page.not_saved'));
      }
    }, function () {
      fail(t('page.no_answer'));
    });
  }

  function fail(message) {
    submitting = false;
    say(message);
    post({type: 'submit-failed', message: message});
  }

  window.addEventListener('message', function (event) {
    if (event.source !== frame.contentWindow) return;
    var data = event.data;
    if (!data || data.crowdloop !== 1) return;
    if (data.type === 'ready') {
      task.setAttribute('data-ready', '');
    } else if (data.type === 'submit') {
      send(data.answer && typeof data.answer === 'object' ? data.answer : {});
    } else if (data.type === 'invalid') {
      say(data.message || t('page.invalid'));
    } else if (data.type === 'size') {
      fit(Number(data.height), Number(data.viewport));
    }
  });

  // The frame says "ready" once; if it did before this script ran (the script is deferred, the frame may
  // live in its own process), ask again. A frame still loading ignores this and says "ready" itself later.
  post({type: 'ready-request'});
  frame.addEventListener('load', function () { post({type: 'ready-request'}); });

  document.addEventListener('keydown', function (event) {
    if (event.key === 'Enter' && (event.ctrlKey || event.metaKey)) {
      event.preventDefault();
      post({type: 'submit-request'});
    }
  });

  tick();
  window.setInterval(tick, 500);
  document.addEventListener('visibilitychange', tick);
  window.addEventListener('focus', tick);
  window.addEventListener('blur', tick);
})();
