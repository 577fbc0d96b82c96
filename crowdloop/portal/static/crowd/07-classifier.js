/* CL.ClassifierBase: a category picker next to a classification target, the base of
 * crowd-classifier, crowd-classifier-multi-select (50-classifiers.js) and the image classifiers
 * (80-image.js). Answer {name: {label}} or, multi-select, {name: {labels: [...]}}.
 * Regions: classification-target, short-instructions, full-instructions. The shadow root keeps the
 * class names templates reach for (.annotation-area .category-picker-wrapper,
 * .awsui-app-layout__navigation, .awsui-modal-dialog). CL.CLASSIFIER_CSS also styles the
 * moderation-labels picker (95-aws-services.js). */
(function (CL) {
  'use strict';
  if (CL.copies > 1) return; // a second copy of the bundle (00-core.js)
  var h = CL.h;

  var CLASSIFIER_CSS = [
    ':host { display: block; line-height: 1.4; }',
    CL.layoutCss(),
    '.annotation-area { display: flex; flex-wrap: wrap; gap: 20px; align-items: flex-start; min-width: 0; }',
    '.target { flex: 1 1 340px; min-width: 0; overflow-wrap: anywhere; }',
    '.target ::slotted(*) { display: block; }',
    '.category-picker-wrapper { flex: 1 1 240px; max-width: 420px; border: 1px solid #d5dbdb; border-radius: 8px; padding: 12px 14px; background: #fff; }',
    '@media (max-width: 720px) { .category-picker-wrapper { max-width: none; } }',
    '.header { font-weight: 700; margin: 0 0 10px; }',
    '.picker { display: flex; flex-direction: column; gap: 4px; }',
    '.option { display: flex; align-items: flex-start; gap: 10px; padding: 8px 10px; border: 1px solid #d5dbdb; border-radius: 6px; cursor: pointer; }',
    '.option:hover { background: #f6f8fa; }',
    '.option:has(input:checked) { border-color: var(--crowd-accent); background: var(--crowd-selected-bg); }',
    '.option:has(input:disabled) { opacity: .55; cursor: default; }',
    '.option input { margin: 2px 0 0; width: 18px; height: 18px; flex: none; accent-color: var(--crowd-accent); }',
    '.option input:focus-visible { outline: 3px solid var(--crowd-focus); outline-offset: 2px; }',
    '.key { margin-left: auto; color: var(--crowd-muted); font-size: .8em; border: 1px solid #d5dbdb; border-radius: 4px; padding: 0 5px; }',
    '.exclusion { margin-top: 8px; padding-top: 8px; border-top: 1px dashed #c4c9ce; }',
    '.exclusion:empty { display: none; }',
    '.error-text:empty { display: none; }',
    '.rest ::slotted(*) { display: block; }',
    CL.INSTRUCTIONS_CSS
  ].join('\n');

  class ClassifierBase extends CL.CrowdControl {
    static get observedAttributes() { return ['categories', 'header', 'exclusion-category', 'initial-value', 'disabled']; }

    constructor() {
      super();
      this._picker = null;
      this._categories = null; // set through the property; otherwise from the attribute
    }

    get _multi() { return false; }
    get _regions() { return ['short-instructions', 'full-instructions', 'classification-target']; }
    _buildTarget() {
      return h('div', { class: 'target', part: 'target' }, [h('slot', { name: 'classification-target' })]);
    }

    connectedCallback() {
      if (!this._picker) this._build();
      CL.upgradeProperties(this, ['categories', 'value']);
      if (this._pendingValue !== undefined) {
        var v = this._pendingValue;
        this._pendingValue = undefined;
        this.value = v;
      }
    }

    _build() {
      var self = this;
      var root = CL.attachStyledShadow(this, CLASSIFIER_CSS + (this._extraCss || ''));
      CL.slotRegions(this, this._regions);
      var panel = CL.instructionsPanel(this);
      var headerId = CL.uid('hdr');
      this._header = h('p', { class: 'header', id: headerId, part: 'header' });
      this._picker = h('div', { class: 'picker', role: this._multi ? 'group' : 'radiogroup', 'aria-labelledby': headerId, part: 'picker' });
      this._exclusion = h('div', { class: 'exclusion' });
      this._errorEl = h('div', { class: 'error-text', role: 'alert', part: 'error' });
      this._wrapper = h('div', { class: 'category-picker-wrapper', part: 'categories' }, [this._header, this._picker, this._exclusion, this._errorEl]);
      this._target = this._buildTarget();
      root.append(h('div', { class: 'layout' }, [panel.aside,
        h('div', { class: 'annotation-area', part: 'annotation-area' }, [this._target, this._wrapper, h('div', { class: 'rest' }, [h('slot')])])]),
      panel.dialog);
      this._picker.addEventListener('change', function (ev) { self._onPick(ev); });
      this._exclusion.addEventListener('change', function (ev) { self._onPick(ev); });
      this._wrapper.addEventListener('keydown', function (ev) { self._shortcut(ev); });
      this._renderOptions();
      this._applyInitial();
    }

    attributeChangedCallback(name) {
      if (!this._picker) return;
      if (name === 'initial-value') { this._applyInitial(); return; }
      this._renderOptions();
    }

    _categoryList() {
      return this._categories ? this._categories.slice() : CL.stringListAttr(this, 'categories');
    }

    _exclusionText() {
      if (!this.hasAttribute('exclusion-category')) return null;
      var ex = CL.literalAttr(this, 'exclusion-category', null);
      if (ex && typeof ex === 'object' && ex.text !== undefined) return String(ex.text);
      if (typeof ex === 'string' && ex) return ex;
      return 'None of the above';
    }

    _renderOptions() {
      var keep = this._selectedLabels();
      var keepExcl = this._exclusionChecked();
      var self = this;
      var type = this._multi ? 'checkbox' : 'radio';
      var group = CL.uid('cat');
      var header = this.getAttribute('header') || '';
      this._header.textContent = header;
      this._header.hidden = !header;
      if (!header) this._picker.setAttribute('aria-label', CL.t('categories')); else this._picker.removeAttribute('aria-label');
      var cats = this._categoryList();
      var exclusion = this._exclusionText();
      if (!this._multi && exclusion !== null && cats.indexOf(exclusion) < 0) cats.push(exclusion);
      var disabled = this.hasAttribute('disabled');
      this._picker.textContent = '';
      cats.forEach(function (cat, k) {
        var input = h('input', { type: type, name: group, value: cat });
        input.checked = keep.indexOf(cat) >= 0;
        input.disabled = disabled;
        self._picker.append(h('label', { class: 'option', part: 'option' },
          [input, h('span', { class: 'text', text: cat }), k < 9 ? h('span', { class: 'key', 'aria-hidden': 'true', text: String(k + 1) }) : null]));
      });
      this._exclusion.textContent = '';
      if (this._multi && exclusion !== null) {
        var ex = h('input', { type: 'checkbox', value: exclusion, 'data-exclusion': '' });
        ex.checked = keepExcl;
        ex.disabled = disabled;
        this._exclusion.append(h('label', { class: 'option', part: 'option exclusion-option' }, [ex, h('span', { class: 'text', text: exclusion })]));
        this._applyExclusion();
      }
    }

    _inputs() { return Array.prototype.slice.call(this._picker ? this._picker.querySelectorAll('input') : []); }
    _exclusionInput() { return this._exclusion ? this._exclusion.querySelector('input') : null; }
    _exclusionChecked() { var ex = this._exclusionInput(); return !!(ex && ex.checked); }

    _selectedLabels() {
      return this._inputs().filter(function (i) { return i.checked; }).map(function (i) { return i.value; });
    }

    _applyExclusion() {
      var on = this._exclusionChecked();
      var disabled = this.hasAttribute('disabled');
      this._inputs().forEach(function (i) {
        if (on) i.checked = false;
        i.disabled = on || disabled;
      });
    }

    _applyInitial() {
      var init = this.getAttribute('initial-value');
      if (init === null || init === '') return;
      var values;
      try { values = CL.parseLiteral(init); } catch (err) { values = init; }
      if (values && typeof values === 'object' && !Array.isArray(values)) values = values.labels || values.label;
      this._select(Array.isArray(values) ? values.map(String) : [String(values)], false);
    }

    _select(labels, fromUser) {
      var multi = this._multi;
      var ex = this._exclusionInput();
      if (ex) ex.checked = multi && labels.length === 1 && labels[0] === ex.value && this._categoryList().indexOf(ex.value) < 0;
      this._applyExclusion();
      var first = true;
      this._inputs().forEach(function (i) {
        var on = labels.indexOf(i.value) >= 0 && (multi || first);
        if (on && !multi) first = false;
        i.checked = on;
      });
      this._showError('');
      if (fromUser) this._changed();
    }

    _onPick(ev) {
      if (ev.target && ev.target.hasAttribute && ev.target.hasAttribute('data-exclusion')) this._applyExclusion();
      ev.stopPropagation(); // the native change is not composed anyway; fire our own below
      this._showError('');
      this._changed();
    }

    _changed() {
      this.dispatchEvent(new Event('input', { bubbles: true, composed: true }));
      CL.fireChange(this);
    }

    // Digits 1-9 pick the n-th category while focus is in the category panel.
    _shortcut(ev) {
      if (ev.ctrlKey || ev.metaKey || ev.altKey || !/^[1-9]$/.test(ev.key)) return;
      var input = this._inputs()[Number(ev.key) - 1];
      if (!input || input.disabled) return;
      ev.preventDefault();
      if (this._multi) input.checked = !input.checked; else input.checked = true;
      input.focus();
      this._showError('');
      this._changed();
    }

    _showError(message) {
      if (this._errorEl) this._errorEl.textContent = message || '';
    }

    /* ---- form-control interface ---- */

    _crowdValue() {
      if (this._multi) {
        if (this._exclusionChecked()) return { labels: CL.CHOICES.exclusionAsLabel ? [this._exclusionInput().value] : [] };
        return { labels: this._selectedLabels() };
      }
      var label = this._selectedLabels()[0];
      return label === undefined ? null : { label: label };
    }

    _crowdValidate() {
      var message = '';
      if (this._multi) {
        if (CL.CHOICES.multiSelectRequiresOne && !this._exclusionChecked() && this._selectedLabels().length === 0) {
          message = CL.t('classifier.choose_one_or_more');
        }
      } else if (CL.CHOICES.classifierRequiresChoice && this._selectedLabels().length === 0) {
        message = CL.t('classifier.choose');
      }
      this._showError(message);
      return message;
    }

    _crowdReset() {
      var ex = this._exclusionInput();
      if (ex) ex.checked = false;
      this._applyExclusion();
      this._inputs().forEach(function (i) { i.checked = false; });
      this._applyInitial();
      this._showError('');
    }

    _crowdFocus() {
      var inputs = this._inputs().filter(function (i) { return !i.disabled; });
      var target = inputs.filter(function (i) { return i.checked; })[0] || inputs[0] || this._exclusionInput();
      if (target) {
        target.focus();
        this._wrapper.scrollIntoView({ block: 'nearest' });
      }
    }

    _crowdLabel() { return this.getAttribute('header') || this.getAttribute('name'); }

    /* ---- properties ---- */

    get categories() { return this._categoryList(); }
    set categories(list) {
      this._categories = Array.isArray(list) ? list.map(String) : null;
      if (this._picker) this._renderOptions();
    }
    // crowd-classifier: the chosen label (string) or null; multi-select: array of chosen labels.
    get value() {
      if (this._multi) {
        var a = this._crowdValue();
        return a.labels;
      }
      var one = this._crowdValue();
      return one ? one.label : null;
    }
    set value(v) {
      if (!this._picker) { this._pendingValue = v; return; }
      var list = v === null || v === undefined ? [] : Array.isArray(v) ? v : (typeof v === 'object' ? [].concat(v.labels || v.label || []) : [v]);
      this._select(list.map(String), false);
    }
  }

  CL.ClassifierBase = ClassifierBase;
  CL.CLASSIFIER_CSS = CLASSIFIER_CSS;
})(window.CrowdLoop);
