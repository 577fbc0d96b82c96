/* The element registry and the base classes of the form controls.
 *
 * CL.CrowdControl is the form-control interface as code: crowd-form (10-form.js) finds the
 * controls it owns by tag (CL.controlTags), then collects, validates, resets and focuses them
 * only through the _crowd* methods below. Every element registered with CL.defineControl()
 * extends it (directly, or through CL.Annotator, CL.HostedValue, CL.ClassifierBase...) and
 * overrides what differs; docs/crowd-elements.md ("Adding an element") walks through one. */
(function (CL) {
  'use strict';
  if (CL.copies > 1) return; // a second copy of the bundle (00-core.js)

  /* ----------------------------------- element registry ----------------------------------- */

  CL.controlTags = [];
  CL.define = function (name, cls) {
    if (!customElements.get(name)) customElements.define(name, cls);
  };
  // A form control: crowd-form collects every element of these tags (see CL.CrowdControl).
  CL.defineControl = function (name, cls) {
    if (!(cls.prototype instanceof CL.CrowdControl)) throw new TypeError(name + ': a form control must extend CL.CrowdControl');
    if (CL.controlTags.indexOf(name) < 0) CL.controlTags.push(name);
    CL.define(name, cls);
  };
  CL.isControl = function (node) {
    return !!node && node.nodeType === 1 && CL.controlTags.indexOf(node.localName) >= 0;
  };

  // True when `ev` happened inside another crowd control nested in `host`'s light DOM (markup
  // swallowed by a self-closed custom element), so `host` must not react to it.
  CL.fromNestedControl = function (host, ev) {
    var path = ev.composedPath();
    for (var k = 0; k < path.length; k++) {
      var node = path[k];
      if (node === host) return false;
      if (node.nodeType === 1 && node !== host && (CL.isControl(node) || node.localName === 'a' ||
          node.localName === 'button' || node.localName === 'input' || node.localName === 'select' ||
          node.localName === 'textarea' || node.localName === 'crowd-button') &&
          node.getRootNode() === host.getRootNode()) return true;
    }
    return false;
  };

  /* ------------------------------------- CrowdControl ------------------------------------- */

  // The base class of every form control. What crowd-form calls:
  //   _crowdEntries()   [{name, kind, value, key, checked}] merged into the answer by
  //                     CL.mergeEntries (01-values.js). The default is one entry
  //                     {name: _crowdName(), kind: _crowdKind, value: _crowdValue()}, none when the
  //                     name or the value is missing; checkable controls and crowd-text-ranking
  //                     override it.
  //   _crowdValidate()  '' when the control may be submitted, else the message (also shown inline).
  //   _crowdReset()     back to the initial state (crowd-form's reset()).
  //   _crowdFocus()     focus what the worker has to fix after a failed validation.
  //   _crowdLabel()     a short name for the form's message; '' lets crowd-form fall back to
  //                     aria-label, label, header, placeholder or name.
  //   _crowdFill(value) optional: show a stored answer value (12-answer.js, the console's read-only
  //                     view); without it the element's `value` setter (or `checked`) is used.
  // What the default _crowdEntries() is made of:
  //   _crowdName()      the answer key: the name attribute (null: no answer); elements with a fixed
  //                     key (crowd-question-answer-generation unnamed, the AWS built-in task types)
  //                     override it.
  //   _crowdValue()     the value to answer now (JSON-safe), null when there is nothing to answer.
  //   _crowdKind        'value' (answered as is) or 'text' (left out when empty, CHOICES.omitEmptyText).
  // Shared accessors: `name` reflects the attribute; `value` is _crowdValue() unless the element
  // defines its own (text, checkable, slider, classifiers, AWS task types); `_submittableValue` is
  // always _crowdValue().
  CL.CrowdControl = class CrowdControl extends HTMLElement {
    _crowdName() { return this.getAttribute('name'); }

    _crowdValue() { return null; }

    get _crowdKind() { return 'value'; }

    _crowdEntries() {
      var name = this._crowdName();
      if (!name) return [];
      var value = this._crowdValue();
      return value === null || value === undefined ? [] : [{ name: name, kind: this._crowdKind, value: value }];
    }

    _crowdValidate() { return ''; }

    _crowdReset() {}

    _crowdFocus() { this.focus(); }

    _crowdLabel() { return ''; }

    get name() { return this.getAttribute('name'); }
    set name(v) { this.setAttribute('name', v); }
    get value() { return this._crowdValue(); }
    get _submittableValue() { return this._crowdValue(); }
  };

  // What the editing annotators (shapes, segmentation, entity annotation) share: report an edit to the
  // page, speak a status line to screen readers (`_live`), show or clear the inline error (`_errorEl`),
  // the label list (the `labels` property when set, else the attribute), named by header or name.
  CL.Annotator = class Annotator extends CL.CrowdControl {
    _crowdLabel() { return this.getAttribute('header') || this.getAttribute('name'); }

    _labelList() { return this._labels ? this._labels.slice() : CL.stringListAttr(this, 'labels'); }

    _edited() {
      this._modified = true;
      this._showError('');
      this.dispatchEvent(new Event('input', { bubbles: true, composed: true }));
      CL.fireChange(this);
    }

    _announce(text) { this._live.textContent = text; }

    _showError(message) { if (this._errorEl) this._errorEl.textContent = message || ''; }
  };

  // A hidden answer carrier that an element with its own inner crowd-form (entity annotation, Q&A
  // generation) puts in that form: collected like any control, it answers for its host (`_host`).
  // Subclass it once per tag: a custom element class can be registered under one name only.
  CL.HostedValue = class HostedValue extends CL.CrowdControl {
    _crowdName() { return this._host ? this._host._crowdName() : null; }
    _crowdValue() { return this._host ? this._host._crowdValue() : null; }
    _crowdEntries() { return this._host ? this._host._crowdEntries() : []; }
    _crowdValidate() { return this._host ? this._host._crowdValidate() : ''; }
    _crowdReset() { if (this._host) this._host._crowdReset(); }
    _crowdFocus() { if (this._host) this._host._crowdFocus(); }
    _crowdLabel() { return this._host ? this._host._crowdLabel() : ''; }
  };
})(window.CrowdLoop);
