/* A submitted answer shown read-only in its task's own template (the requester console's loop page).
 *
 * The console serves the task frame with the answer in the document:
 *   <script type="application/json" id="crowdloop-answer">{...answerContent...}</script>
 * When that element is there, once the elements are ready ("all-crowd-elements-ready") every control of
 * the primary crowd-form is filled from the answer entry of its name and disabled, and the form is locked
 * (no submission, its Submit button hidden). How a control is filled:
 *   - an element's own `_crowdFill(value)` when it has one (CL.CrowdControl's optional hook);
 *   - native checkboxes, radios and <select>: checked/selected when CL.answerChecks(value, option value);
 *   - native text fields: CL.answerText(value);
 *   - checkable crowd elements (crowd-checkbox, crowd-radio-button, crowd-toggle-button): `checked`;
 *   - any other crowd element: its `value` setter (crowd-input, crowd-slider, the classifiers...);
 *     one without a setter is left as it is (the console shows the answer as JSON beside the frame).
 * Worker frames never hold the element: the portal renders only the template. */
(function (CL) {
  'use strict';
  if (CL.copies > 1) return; // a second copy of the bundle (00-core.js)

  function storedAnswer() {
    var el = document.getElementById('crowdloop-answer');
    if (!el || el.type !== 'application/json') return null;
    try {
      var answer = JSON.parse(el.textContent);
      return answer && typeof answer === 'object' && !Array.isArray(answer) ? answer : null;
    } catch (err) {
      return null;
    }
  }

  function nameOf(el) {
    if (el.localName === 'input' || el.localName === 'select' || el.localName === 'textarea') return el.name;
    return el._crowdName ? el._crowdName() : el.getAttribute('name');
  }

  function fillNative(el, value) {
    if (el.localName === 'select') {
      Array.prototype.forEach.call(el.options, function (o) { o.selected = CL.answerChecks(value, o.value); });
    } else if (el.type === 'checkbox' || el.type === 'radio') {
      el.checked = CL.answerChecks(value, el.value);
    } else if (['submit', 'button', 'reset', 'image', 'file'].indexOf(el.type) < 0) {
      el.value = CL.answerText(value);
    }
  }

  function fill(el, answer) {
    var name = nameOf(el);
    if (!name || !Object.prototype.hasOwnProperty.call(answer, name)) return;
    var value = answer[name];
    if (typeof el._crowdFill === 'function') el._crowdFill(value);
    else if (el.localName === 'input' || el.localName === 'select' || el.localName === 'textarea') fillNative(el, value);
    else if ('checked' in el) el.checked = CL.answerChecks(value, el.value);
    else {
      try {
        el.value = value;
      } catch (err) { /* no value setter: shown as JSON by the console */ }
    }
  }

  CL.showAnswer = function (answer) {
    var form = CL.primaryForm();
    if (!form) return false;
    var controls = form._controls();
    controls.forEach(function (el) { fill(el, answer); });
    controls.forEach(function (el) {
      if ('disabled' in el) el.disabled = true;
      else el.setAttribute('disabled', '');
    });
    form._lock();
    form._autoButton.hidden = true;
    form._submitButtons().forEach(function (b) { b.disabled = true; });
    form._setMessage(CL.t('answer.read_only'), 'ok');
    document.documentElement.setAttribute('data-crowdloop-answer', 'shown');
    return true;
  };

  // The element comes after the template (the end of the body): look for it once the elements are ready.
  function showStored() {
    var answer = storedAnswer();
    if (answer) setTimeout(function () { CL.showAnswer(answer); }, 0);
  }
  if (CL.ready) showStored();
  else document.addEventListener('all-crowd-elements-ready', showStored);
})(window.CrowdLoop);
