/* crowd-input and crowd-text-area: text fields. Answer {name: "text"}, omitted when empty. */
(function (CL) {
  'use strict';
  if (CL.copies > 1) return; // a second copy of the bundle (00-core.js)
  var h = CL.h;

  var FIELD_CSS = [
    ':host { display: block; margin: 6px 0; }',
    '.field { display: flex; flex-direction: column; gap: 4px; }',
    '.label { font-size: 0.9em; color: var(--crowd-muted); font-weight: 600; }',
    'input, textarea { font: inherit; width: 100%; padding: 8px 10px; border: 1px solid var(--crowd-border); border-radius: 6px;',
    '  background: var(--crowd-surface); color: inherit; }',
    'textarea { resize: vertical; line-height: 1.4; min-height: 2.4em; }',
    'input:focus-visible, textarea:focus-visible { outline: 3px solid var(--crowd-focus); outline-offset: 1px; }',
    'input:focus, textarea:focus { border-color: var(--crowd-accent); }',
    'input[aria-invalid="true"], textarea[aria-invalid="true"] { border-color: var(--crowd-error); border-width: 2px; }',
    'input:disabled, textarea:disabled { background: #f2f3f3; color: #8a949e; }',
    '.below { display: flex; justify-content: space-between; gap: 8px; min-height: 0; }',
    '.error-text:empty, .counter:empty { display: none; }',
    '.counter { margin-left: auto; font-size: 0.85em; color: var(--crowd-muted); }'
  ].join('\n');

  class TextField extends CL.CrowdControl {
    static get observedAttributes() {
      return ['label', 'placeholder', 'value', 'type', 'required', 'disabled', 'min-length', 'max-length',
        'allowed-pattern', 'auto-validate', 'error-message', 'rows', 'max-rows', 'char-counter', 'name', 'readonly',
        'min', 'max', 'step'];
    }

    constructor() {
      super();
      this._dirty = false;
      this._field = null;
    }

    get _multiline() { return false; }

    connectedCallback() {
      if (!this._field) this._build();
      CL.upgradeProperties(this, ['value', 'disabled', 'required']);
      if (this.hasAttribute('auto-focus') && !this._focusedOnce) {
        this._focusedOnce = true;
        var f = this._field;
        requestAnimationFrame(function () { f.focus(); });
      }
    }

    _build() {
      var self = this;
      var root = CL.attachStyledShadow(this, FIELD_CSS, { delegatesFocus: true });
      var id = CL.uid('field');
      this._labelEl = h('label', { class: 'label', part: 'label', for: id });
      this._field = this._multiline ? h('textarea', { id: id, part: 'textarea input' }) : h('input', { id: id, part: 'input' });
      this._errorEl = h('div', { class: 'error-text', id: id + '-err', part: 'error' });
      this._counter = h('div', { class: 'counter', 'aria-live': 'polite' });
      this._field.setAttribute('aria-describedby', this._errorEl.id);
      root.append(h('div', { class: 'field', part: 'field' }, [this._labelEl, this._field, h('div', { class: 'below' }, [this._errorEl, this._counter])]), h('slot'));
      this._field.value = this.getAttribute('value') || '';
      this._sync();
      this._field.addEventListener('beforeinput', function (ev) { self._filter(ev); });
      this._field.addEventListener('input', function () {
        self._dirty = true;
        self._afterInput();
        if (self.hasAttribute('auto-validate')) self._crowdValidate();
        else self._showError('');
      });
      this._field.addEventListener('change', function () { CL.fireChange(self); });
    }

    attributeChangedCallback(name) {
      if (!this._field) return;
      if (name === 'value' && !this._dirty) this._field.value = this.getAttribute('value') || '';
      this._sync();
    }

    _sync() {
      var f = this._field;
      var label = this.getAttribute('label');
      this._labelEl.textContent = label || '';
      this._labelEl.hidden = !label;
      if (label) f.removeAttribute('aria-label');
      else f.setAttribute('aria-label', this.getAttribute('placeholder') || this.getAttribute('name') || (this._multiline ? CL.t('input.text') : CL.t('input.input')));
      f.placeholder = this.getAttribute('placeholder') || '';
      f.disabled = CL.boolAttr(this, 'disabled');
      f.readOnly = CL.boolAttr(this, 'readonly');
      if (CL.boolAttr(this, 'required')) f.setAttribute('aria-required', 'true'); else f.removeAttribute('aria-required');
      var max = CL.numAttr(this, 'max-length', null);
      if (max !== null && max >= 0) f.maxLength = max; else f.removeAttribute('maxlength');
      var min = CL.numAttr(this, 'min-length', null);
      if (min !== null && min >= 0) f.minLength = min; else f.removeAttribute('minlength');
      if (this._multiline) {
        f.rows = Math.max(1, CL.numAttr(this, 'rows', 3));
      } else {
        var type = (this.getAttribute('type') || 'text').toLowerCase();
        if (['submit', 'button', 'reset', 'image', 'checkbox', 'radio', 'hidden'].indexOf(type) >= 0) type = 'text';
        try { f.type = type; } catch (err) { f.type = 'text'; }
        // Numbers: any decimal unless the template sets a step (a model's 125.5 must stay valid).
        var self = this;
        ['min', 'max', 'step'].forEach(function (a) {
          if (self.hasAttribute(a)) f.setAttribute(a, self.getAttribute(a)); else f.removeAttribute(a);
        });
        if (type === 'number' && !this.hasAttribute('step')) f.step = 'any';
      }
      this._afterInput();
    }

    _afterInput() {
      var f = this._field;
      if (CL.boolAttr(this, 'char-counter')) {
        var max = CL.numAttr(this, 'max-length', null);
        this._counter.textContent = f.value.length + (max !== null ? '/' + max : '');
      } else {
        this._counter.textContent = '';
      }
      if (this._multiline) this._autogrow();
    }

    _autogrow() {
      var f = this._field;
      var maxRows = CL.numAttr(this, 'max-rows', null);
      if (!f.isConnected) return;
      var style = getComputedStyle(f);
      var line = parseFloat(style.lineHeight) || 20;
      var extra = parseFloat(style.paddingTop) + parseFloat(style.paddingBottom) + parseFloat(style.borderTopWidth) + parseFloat(style.borderBottomWidth);
      var minH = Math.max(1, CL.numAttr(this, 'rows', 3)) * line + extra;
      f.style.height = 'auto';
      var want = Math.max(minH, f.scrollHeight + parseFloat(style.borderTopWidth) + parseFloat(style.borderBottomWidth));
      if (maxRows) want = Math.min(want, maxRows * line + extra);
      f.style.height = want + 'px';
    }

    // allowed-pattern: characters that do not match the pattern are dropped while typing/pasting.
    _filter(ev) {
      var pattern = this.getAttribute('allowed-pattern');
      if (!pattern || typeof ev.data !== 'string' || !ev.data) return;
      var re;
      try { re = new RegExp(pattern); } catch (err) { return; }
      var chars = Array.from(ev.data);
      var kept = chars.filter(function (c) { return re.test(c); }).join('');
      if (kept.length === ev.data.length) return;
      ev.preventDefault();
      if (kept) {
        var f = this._field;
        f.setRangeText(kept, f.selectionStart, f.selectionEnd, 'end');
        f.dispatchEvent(new Event('input', { bubbles: true, composed: true }));
      }
    }

    _showError(message) {
      if (!this._errorEl) return;
      this._errorEl.textContent = message || '';
      if (message) this._field.setAttribute('aria-invalid', 'true');
      else this._field.removeAttribute('aria-invalid');
    }

    /* ---- form-control interface ---- */

    _crowdValidate() {
      if (!this._field || CL.boolAttr(this, 'disabled')) { this._showError(''); return ''; }
      var f = this._field;
      var custom = this.getAttribute('error-message');
      var message = '';
      var min = CL.numAttr(this, 'min-length', null);
      if (CL.boolAttr(this, 'required') && f.value.trim() === '') message = custom || CL.t('form.fill_field');
      else if (f.value !== '' && min !== null && f.value.length < min) message = custom || CL.t('input.min_length', { n: min });
      else if (!f.checkValidity()) message = custom || f.validationMessage;
      this._showError(message);
      return message;
    }

    get _crowdKind() { return 'text'; }

    _crowdValue() { return this.value; }

    _crowdReset() {
      this._dirty = false;
      if (this._field) this._field.value = this.getAttribute('value') || '';
      this._showError('');
      if (this._field) this._afterInput();
    }

    _crowdFocus() { if (this._field) this._field.focus(); }

    _crowdLabel() { return this.getAttribute('label') || this.getAttribute('placeholder') || this.getAttribute('name'); }

    /* ---- properties ---- */

    get value() { return this._field ? this._field.value : (this.getAttribute('value') || ''); }
    set value(v) {
      var s = v === null || v === undefined ? '' : String(v);
      if (!this._field) { this.setAttribute('value', s); return; }
      this._dirty = true;
      this._field.value = s;
      this._afterInput();
    }
    get disabled() { return CL.boolAttr(this, 'disabled'); }
    set disabled(v) { CL.setBoolAttr(this, 'disabled', !!v); }
    get required() { return CL.boolAttr(this, 'required'); }
    set required(v) { CL.setBoolAttr(this, 'required', !!v); }
    get invalid() { return !!(this._errorEl && this._errorEl.textContent); }
    validate() { return this._crowdValidate() === ''; }
  }

  class CrowdInput extends TextField {}
  class CrowdTextArea extends TextField {
    get _multiline() { return true; }
  }

  CL.defineControl('crowd-input', CrowdInput);
  CL.defineControl('crowd-text-area', CrowdTextArea);
})(window.CrowdLoop);
