/* The portal protocol and readiness: how the task frame talks to the worker portal page.
 *
 * PORTAL PROTOCOL (window.postMessage; the task UI runs in an iframe with
 * sandbox="allow-scripts allow-forms", so its origin is opaque and every message uses "*"):
 *
 *   frame -> parent  {crowdloop: 1, type: "ready"}
 *                    once, after DOMContentLoaded, right after the document event
 *                    "all-crowd-elements-ready" has been dispatched.
 *   frame -> parent  {crowdloop: 1, type: "submit", answer: {...answerContent...}}
 *                    when a crowd-form submits successfully (validation passed, no submit handler
 *                    called preventDefault). `answer` is the JSON-safe answerContent object.
 *                    The form then stays locked (no second submission) unless the parent sends
 *                    "submit-failed".
 *   frame -> parent  {crowdloop: 1, type: "invalid", message: "..."}
 *                    when a submission attempt is blocked by validation; the same message is shown
 *                    in the form next to the Submit button.
 *   parent -> frame  {crowdloop: 1, type: "submit-request"}
 *                    behave as if the worker pressed Submit (the portal sends it on Ctrl+Enter).
 *                    If the template's submit buttons are all disabled, this is answered with
 *                    "invalid" instead.
 *   parent -> frame  {crowdloop: 1, type: "submit-failed", message?: "..."}   (crowdloop extension)
 *                    the portal could not store the answer: unlock the form and show the message.
 *   parent -> frame  {crowdloop: 1, type: "ready-request"}   (crowdloop extension)
 *                    answered with "ready" again once the elements are ready: the page's script may
 *                    start after a fast frame (e.g. one in its own process) already said "ready".
 *   frame -> parent  {crowdloop: 1, type: "size", height: N, viewport: V}   (crowdloop extension)
 *                    the height in CSS pixels the document needs and the frame's inner height (V) when it
 *                    measured, whenever either changes (a ResizeObserver),
 *                    so the portal can grow the frame and nothing (Submit above all) hides in an inner
 *                    scrollbar. Only sent inside a frame.
 *
 * Messages to the frame are accepted only from window.parent. When there is no parent
 * (window.parent === window, e.g. a template opened directly in a test browser) every outgoing
 * message is posted to the frame's own window instead, so tests can observe it with a "message"
 * listener. Ctrl+Enter (or Cmd+Enter) pressed inside the frame also submits.
 */
(function (CL) {
  'use strict';
  if (CL.copies > 1) return; // a second copy of the bundle (00-core.js)

  CL.post = function (message) {
    var data = Object.assign({ crowdloop: 1 }, message);
    var target = window.parent && window.parent !== window ? window.parent : window;
    target.postMessage(data, '*');
  };

  // crowd-form instances register themselves here (connected order).
  CL.forms = [];
  CL.primaryForm = function () {
    var connected = CL.forms.filter(function (f) { return f.isConnected; });
    // Prefer a top-level (light DOM) form, then forms inside widgets' shadow roots.
    for (var k = 0; k < connected.length; k++) if (connected[k].getRootNode() === document) return connected[k];
    return connected[0] || null;
  };

  CL.requestSubmit = function (source) {
    var form = CL.primaryForm();
    if (!form) {
      CL.post({ type: 'invalid', message: CL.t('portal.no_form') });
      return false;
    }
    return form._requestSubmitFromOutside(source);
  };

  window.addEventListener('message', function (ev) {
    var data = ev.data;
    if (!data || typeof data !== 'object' || data.crowdloop !== 1) return;
    if (ev.source !== window.parent) return;
    if (data.type === 'submit-request') CL.requestSubmit('portal');
    else if (data.type === 'ready-request') { if (CL.ready) CL.post({ type: 'ready' }); }
    else if (data.type === 'submit-failed') {
      CL.forms.forEach(function (f) { if (f._locked) f._unlock(data.message || CL.t('portal.submit_failed')); });
    }
  });

  window.addEventListener('keydown', function (ev) {
    if (ev.key === 'Enter' && (ev.ctrlKey || ev.metaKey) && !ev.altKey && !ev.defaultPrevented) {
      ev.preventDefault();
      CL.requestSubmit('keyboard');
    }
  }, true);

  /* -------------------------------------- readiness --------------------------------------- */

  CL.ready = false;
  function announceReady() {
    if (CL.ready) return;
    CL.ready = true;
    document.dispatchEvent(new CustomEvent('all-crowd-elements-ready', { bubbles: true }));
    CL.post({ type: 'ready' });
  }
  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', announceReady);
  else setTimeout(announceReady, 0);

  /* ------------------------------------ size reports -------------------------------------- */

  var lastHeight = -1;
  var lastViewport = -1;
  var pending = false;
  function reportSize() {
    pending = false;
    var root = document.documentElement;
    var height = Math.ceil(Math.max(root.scrollHeight, document.body ? document.body.scrollHeight : 0));
    var viewport = window.innerHeight;
    if (height === lastHeight && viewport === lastViewport) return;
    lastHeight = height;
    lastViewport = viewport;
    CL.post({ type: 'size', height: height, viewport: viewport });
  }
  function scheduleSize() {
    if (pending) return;
    pending = true;
    window.requestAnimationFrame(reportSize);
  }
  if (window.parent && window.parent !== window && typeof ResizeObserver === 'function') {
    // html and body may have a fixed height (100%) while their content overflows: watch the body's children
    // too, and any change of the document (a message shown, a section opened), images as they load.
    var watch = function () {
      var observer = new ResizeObserver(scheduleSize);
      var observeAll = function () {
        observer.observe(document.documentElement);
        if (!document.body) return;
        observer.observe(document.body);
        Array.prototype.forEach.call(document.body.children, function (child) { observer.observe(child); });
      };
      observeAll();
      new MutationObserver(function () { observeAll(); scheduleSize(); }).observe(document.documentElement, {
        childList: true, subtree: true, attributes: true, characterData: true
      });
      document.addEventListener('load', scheduleSize, true);
      window.addEventListener('load', scheduleSize);
      scheduleSize();
    };
    if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', watch);
    else watch();
  }
})(window.CrowdLoop);
