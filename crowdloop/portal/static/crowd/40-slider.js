/* crowd-slider (+ crowd-slider-label children): a numeric scale. Answer {name: number}. */
(function (CL) {
  'use strict';
  if (CL.copies > 1) return; // a second copy of the bundle (00-core.js)
  var h = CL.h;
  var THUMB = 22; // px, keep in sync with the CSS below

  var SLIDER_CSS = [
    ':host { display: block; margin: 8px 0; min-width: 160px; }',
    '.row { display: flex; align-items: center; gap: 12px; }',
    '.track { position: relative; flex: 1 1 auto; padding: 26px 0 4px; }',
    ':host(:not([pin])) .track { padding-top: 4px; }',
    'input[type=range] { -webkit-appearance: none; appearance: none; width: 100%; height: 28px; background: transparent; margin: 0; cursor: pointer; position: relative; z-index: 1; }',
    'input[type=range]::-webkit-slider-runnable-track { height: 6px; border-radius: 3px; background: linear-gradient(to right, var(--crowd-accent) var(--fill, 0%), #c4c9ce var(--fill, 0%)); }',
    'input[type=range]::-webkit-slider-thumb { -webkit-appearance: none; width: ' + THUMB + 'px; height: ' + THUMB + 'px; margin-top: -8px; border-radius: 50%;',
    '  background: #fff; border: 3px solid var(--crowd-accent); box-shadow: 0 1px 3px rgba(0,0,0,.3); }',
    ':host([data-unset]) input[type=range]::-webkit-slider-thumb { border-color: #8a949e; border-style: dashed; }',
    ':host([data-unset]) input[type=range]::-webkit-slider-runnable-track { background: #c4c9ce; }',
    'input[type=range]:focus-visible { outline: 3px solid var(--crowd-focus); outline-offset: 3px; border-radius: 4px; }',
    'input[type=range]:disabled { cursor: default; opacity: .5; }',
    '.secondary { position: absolute; left: 0; height: 6px; top: auto; bottom: 15px; border-radius: 3px; background: var(--crowd-slider-secondary-color, #9ec5ee); pointer-events: none; }',
    '.pin { position: absolute; top: 0; transform: translateX(-50%); background: var(--crowd-accent); color: #fff; font-size: 12px;',
    '  font-weight: 700; border-radius: 10px; padding: 1px 7px; white-space: nowrap; }',
    ':host([data-unset]) .pin { background: #8a949e; }',
    '.ticks { position: relative; height: 1.4em; font-size: 0.85em; color: var(--crowd-muted); }',
    '.ticks:empty { display: none; }',
    '.tick { position: absolute; transform: translateX(-50%); white-space: nowrap; }',
    '.current { min-width: 3.5em; font-variant-numeric: tabular-nums; color: var(--crowd-muted); }',
    ':host([pin]) .current { display: none; }',
    '.editable { width: 5em; font: inherit; padding: 4px 6px; border: 1px solid var(--crowd-border); border-radius: 6px; }',
    '::slotted(crowd-slider-label) { display: none; }',
    '.error-text:empty { display: none; }'
  ].join('\n');

  class CrowdSlider extends CL.CrowdControl {
    static get observedAttributes() {
      return ['min', 'max', 'step', 'value', 'pin', 'editable', 'secondary-progress', 'disabled', 'required', 'name', 'aria-label'];
    }

    constructor() {
      super();
      this._set = false;   // the worker (or the template) chose a value
      this._range = null;
    }

    connectedCallback() {
      if (!this._range) this._build();
      CL.upgradeProperties(this, ['value', 'disabled', 'min', 'max', 'step']);
    }

    _build() {
      var self = this;
      var root = CL.attachStyledShadow(this, SLIDER_CSS, { delegatesFocus: true });
      this._range = h('input', { type: 'range', part: 'slider' });
      this._pin = h('div', { class: 'pin', 'aria-hidden': 'true', part: 'pin' });
      this._secondary = h('div', { class: 'secondary', hidden: true });
      this._ticks = h('div', { class: 'ticks', 'aria-hidden': 'true' });
      this._current = h('output', { class: 'current', 'aria-hidden': 'true' });
      this._number = h('input', { type: 'number', class: 'editable', hidden: true });
      this._errorEl = h('div', { class: 'error-text', part: 'error' });
      var slot = h('slot');
      root.append(h('div', { class: 'row' }, [h('div', { class: 'track' }, [this._pin, this._secondary, this._range, this._ticks]), this._number, this._current]),
        this._errorEl, slot);
      this._set = this.hasAttribute('value');
      this._sync();
      this._range.value = this._initialValue();
      this._show();

      var touch = function () { if (!self.disabled) self._markSet(); };
      this._range.addEventListener('pointerdown', touch);
      this._range.addEventListener('keydown', function (ev) {
        if (['ArrowLeft', 'ArrowRight', 'ArrowUp', 'ArrowDown', 'Home', 'End', 'PageUp', 'PageDown'].indexOf(ev.key) >= 0) touch();
      });
      this._range.addEventListener('input', function () { self._markSet(); self._show(); });
      this._range.addEventListener('change', function () { self._markSet(); self._show(); CL.fireChange(self); });
      this._number.addEventListener('change', function () {
        if (self._number.value === '') return;
        self._range.value = self._number.value;
        self._markSet();
        self._show();
        CL.fireChange(self);
      });
      slot.addEventListener('slotchange', function () { self._renderTicks(); });
      new MutationObserver(function () { self._renderTicks(); }).observe(this, { subtree: true, childList: true, characterData: true, attributes: true, attributeFilter: ['position'] });
    }

    attributeChangedCallback(name) {
      if (!this._range) return;
      this._sync();
      if (name === 'value' && this.hasAttribute('value')) {
        this._range.value = this._initialValue();
        this._set = true;
      }
      this._show();
    }

    _bounds() {
      var min = CL.numAttr(this, 'min', 0);
      var max = CL.numAttr(this, 'max', 100);
      if (max < min) max = min;
      var step = CL.numAttr(this, 'step', 1);
      if (!(step > 0)) step = 1;
      return { min: min, max: max, step: step };
    }

    _initialValue() {
      var b = this._bounds();
      return String(CL.numAttr(this, 'value', b.min));
    }

    _sync() {
      var b = this._bounds();
      var r = this._range;
      r.min = String(b.min);
      r.max = String(b.max);
      r.step = String(b.step);
      r.disabled = this.disabled;
      this._number.min = r.min;
      this._number.max = r.max;
      this._number.step = r.step;
      this._number.disabled = r.disabled;
      this._number.hidden = !this.hasAttribute('editable');
      this._pin.hidden = !this.hasAttribute('pin');
      r.setAttribute('aria-label', this.getAttribute('aria-label') || this.getAttribute('name') || CL.t('slider'));
      this._number.setAttribute('aria-label', CL.t('slider.value', { name: this.getAttribute('aria-label') || this.getAttribute('name') || CL.t('slider') }));
      if (this.hasAttribute('required')) r.setAttribute('aria-required', 'true'); else r.removeAttribute('aria-required');
      var sp = CL.numAttr(this, 'secondary-progress', null);
      this._secondary.hidden = sp === null;
      if (sp !== null) this._secondary.style.width = this._percent(sp) + '%';
      this._renderTicks();
    }

    _percent(v) {
      var b = this._bounds();
      if (b.max === b.min) return 0;
      return Math.max(0, Math.min(100, ((v - b.min) / (b.max - b.min)) * 100));
    }

    // CSS left offset of a value's thumb centre (the thumb travels inside the track).
    _left(v) {
      var p = this._percent(v);
      return 'calc(' + p + '% + ' + ((0.5 - p / 100) * THUMB).toFixed(2) + 'px)';
    }

    _show() {
      var v = Number(this._range.value);
      var unset = !this._set;
      CL.setBoolAttr(this, 'data-unset', unset);
      this._range.style.setProperty('--fill', this._percent(v) + '%');
      this._pin.textContent = unset ? '\u2013' : String(v);
      this._pin.style.left = this._left(v);
      this._current.textContent = unset ? CL.t('slider.not_set') : String(v);
      this._range.setAttribute('aria-valuetext', unset ? CL.t('slider.not_set') : String(v));
      if (document.activeElement !== this || this.shadowRoot.activeElement !== this._number) this._number.value = unset ? '' : String(v);
    }

    _renderTicks() {
      if (!this._ticks) return;
      var self = this;
      var labels = Array.prototype.filter.call(this.children, function (c) { return c.localName === 'crowd-slider-label'; });
      this._ticks.textContent = '';
      labels.forEach(function (l) {
        var pos = CL.numAttr(l, 'position', null);
        if (pos === null) return;
        self._ticks.append(h('span', { class: 'tick', style: 'left: ' + self._left(pos), text: l.textContent.trim() }));
      });
    }

    _markSet() {
      if (!this._set) {
        this._set = true;
        this._showError('');
        this._show();
      }
    }

    _showError(message) {
      this._errorEl.textContent = message || '';
      if (message) this._range.setAttribute('aria-invalid', 'true'); else this._range.removeAttribute('aria-invalid');
    }

    /* ---- form-control interface ---- */

    // The number; nothing while untouched unless CHOICES.sliderEmitUntouched.
    _crowdValue() {
      if (!this._set && !CL.CHOICES.sliderEmitUntouched) return null;
      return this.value;
    }

    _crowdValidate() {
      var message = '';
      if (this.hasAttribute('required') && !this.disabled && CL.CHOICES.sliderRequiredMeansSet && !this._set) {
        message = CL.t('slider.required');
      }
      this._showError(message);
      return message;
    }

    _crowdReset() {
      this._set = this.hasAttribute('value');
      this._range.value = this._initialValue();
      this._showError('');
      this._show();
    }

    _crowdFocus() { this._range.focus(); }

    _crowdLabel() { return this.getAttribute('aria-label') || this.getAttribute('name'); }

    /* ---- properties ---- */

    get value() {
      if (this._range) return Number(this._range.value);
      return CL.numAttr(this, 'value', CL.numAttr(this, 'min', 0));
    }
    set value(v) {
      if (!this._range) { this.setAttribute('value', String(v)); return; }
      if (v === null || v === undefined || v === '') return;
      this._range.value = String(v);
      this._set = true;
      this._showError('');
      this._show();
    }
    get min() { return this._bounds().min; }
    set min(v) { this.setAttribute('min', String(v)); }
    get max() { return this._bounds().max; }
    set max(v) { this.setAttribute('max', String(v)); }
    get step() { return this._bounds().step; }
    set step(v) { this.setAttribute('step', String(v)); }
    get disabled() { return this.hasAttribute('disabled'); }
    set disabled(v) { CL.setBoolAttr(this, 'disabled', !!v); }
  }

  CL.defineControl('crowd-slider', CrowdSlider);
  // <crowd-slider-label position="N">text</crowd-slider-label>: read by the slider (tick labels);
  // defined so that it matches :defined and its text never shows on its own.
  CL.define('crowd-slider-label', class CrowdSliderLabel extends HTMLElement {});
})(window.CrowdLoop);
