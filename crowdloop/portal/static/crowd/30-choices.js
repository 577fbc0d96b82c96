/* crowd-checkbox, crowd-radio-group, crowd-radio-button, crowd-toggle-button.
 * Answer for each: {name: {value: true|false}}; controls sharing a name merge into one object.
 * The host element itself is the ARIA widget (role checkbox/radio/switch, focusable, Space toggles);
 * its text content is the label. */
(function (CL) {
  'use strict';
  if (CL.copies > 1) return; // a second copy of the bundle (00-core.js)
  var h = CL.h;

  var CHECK_CSS = [
    ':host { display: inline-flex; align-items: flex-start; gap: 8px; cursor: pointer; padding: 4px 2px; border-radius: 6px;',
    '  user-select: none; -webkit-user-select: none; vertical-align: middle; line-height: 1.35; }',
    ':host(:focus-visible) { outline: 3px solid var(--crowd-focus); outline-offset: 2px; }',
    ':host([disabled]) { cursor: default; opacity: .55; }',
    '.box { flex: none; width: 20px; height: 20px; margin-top: 1px; border: 2px solid var(--crowd-border); border-radius: 4px;',
    '  display: inline-flex; align-items: center; justify-content: center; background: #fff; color: #fff; font-size: 14px; font-weight: 700; }',
    ':host([checked]) .box { background: var(--crowd-accent); border-color: var(--crowd-accent); }',
    '.box::after { content: ""; }',
    ':host([checked]) .box::after { content: "\\2713"; }',
    ':host([data-invalid]) .box { border-color: var(--crowd-error); }',
    '.label { min-width: 0; }',
    '.error-text:empty { display: none; }'
  ].join('\n');

  var RADIO_CSS = CHECK_CSS + '\n' + [
    '.box { border-radius: 50%; }',
    ':host([checked]) .box { background: #fff; }',
    ':host([checked]) .box::after { content: ""; width: 10px; height: 10px; border-radius: 50%; background: var(--crowd-accent); }'
  ].join('\n');

  var TOGGLE_CSS = CHECK_CSS + '\n' + [
    '.box { width: 40px; height: 22px; border-radius: 11px; background: #c4c9ce; border-color: #c4c9ce; justify-content: flex-start; padding: 1px; }',
    '.box::after { content: ""; width: 16px; height: 16px; border-radius: 50%; background: #fff; box-shadow: 0 1px 2px rgba(0,0,0,.3); transition: transform .12s; }',
    ':host([checked]) .box { background: var(--crowd-accent); border-color: var(--crowd-accent); }',
    ':host([checked]) .box::after { content: ""; transform: translateX(18px); }',
    ':host([invalid]:not([checked])) .box { background: #f3b9b4; border-color: var(--crowd-error); }'
  ].join('\n');

  class Checkable extends CL.CrowdControl {
    static get observedAttributes() { return ['checked', 'disabled', 'invalid', 'required']; }

    constructor() {
      super();
      var self = this;
      this.addEventListener('click', function (ev) {
        if (self.disabled || CL.fromNestedControl(self, ev)) return;
        self._activate(true);
      });
      this.addEventListener('keydown', function (ev) {
        if (self.disabled || ev.target !== self) return;
        if (ev.key === ' ' || (ev.key === 'Enter' && self._role === 'switch')) {
          ev.preventDefault();
          self._activate(true);
        } else {
          self._keydown(ev);
        }
      });
    }

    get _role() { return 'checkbox'; }
    get _css() { return CHECK_CSS; }
    _keydown() {}

    connectedCallback() {
      if (!this.shadowRoot) {
        this._defaultChecked = this.hasAttribute('checked');
        var root = CL.attachStyledShadow(this, this._css);
        this._errorEl = h('div', { class: 'error-text', part: 'error' });
        var slot = h('slot');
        root.append(h('span', { class: 'box', part: 'box', 'aria-hidden': 'true' }),
          h('span', { class: 'label', part: 'label' }, [slot, this._errorEl]));
        slot.addEventListener('slotchange', this._syncName.bind(this));
      }
      CL.upgradeProperties(this, ['checked', 'disabled', 'value', 'name']);
      this.setAttribute('role', this._role);
      this._sync();
      this._syncName();
      this._connected();
    }

    _connected() {}

    attributeChangedCallback() {
      if (this.shadowRoot) this._sync();
    }

    _sync() {
      this.setAttribute('aria-checked', this.checked ? 'true' : 'false');
      if (this.disabled) this.setAttribute('aria-disabled', 'true'); else this.removeAttribute('aria-disabled');
      if (this.hasAttribute('required')) this.setAttribute('aria-required', 'true'); else this.removeAttribute('aria-required');
      this._syncTabStop();
    }

    _syncTabStop() {
      if (this.disabled) this.removeAttribute('tabindex');
      else if (this.getAttribute('tabindex') === null) this.setAttribute('tabindex', '0');
    }

    _syncName() {
      // Without text content the widget needs a name from somewhere.
      if (this.textContent.trim() || this.hasAttribute('aria-labelledby')) {
        if (this._autoLabel) { this.removeAttribute('aria-label'); this._autoLabel = false; }
        return;
      }
      if (!this.hasAttribute('aria-label') || this._autoLabel) {
        this.setAttribute('aria-label', this.getAttribute('name') || this.getAttribute('value') || this._role);
        this._autoLabel = true;
      }
    }

    _activate(fromUser) {
      this.checked = !this.checked;
      this._afterChange(fromUser);
    }

    _afterChange(fromUser) {
      this._showError('');
      if (fromUser) {
        this.dispatchEvent(new Event('input', { bubbles: true, composed: true }));
        CL.fireChange(this);
      }
    }

    _showError(message) {
      if (!this._errorEl) return;
      this._errorEl.textContent = message || '';
      if (message) { this.setAttribute('aria-invalid', 'true'); this.setAttribute('data-invalid', ''); }
      else { this.removeAttribute('aria-invalid'); this.removeAttribute('data-invalid'); }
    }

    /* ---- form-control interface ---- */

    // {value: checked}; controls sharing a name merge into one object (kind 'checkable').
    _crowdValue() {
      var out = {};
      Object.defineProperty(out, this.value, { value: this.checked, enumerable: true, writable: true, configurable: true });
      return out;
    }

    _crowdEntries() {
      var name = this._crowdName();
      return name ? [{ name: name, kind: 'checkable', key: this.value, checked: this.checked }] : [];
    }

    _requiredMessage() { return CL.t('checkbox.required'); }

    _crowdValidate() {
      var message = '';
      if (this.hasAttribute('required') && !this.disabled && !this.checked) message = this._requiredMessage();
      this._showError(message);
      return message;
    }

    _crowdReset() {
      this.checked = !!this._defaultChecked;
      this._showError('');
    }

    _crowdFocus() { this.focus(); }

    _crowdLabel() { return (this.textContent || '').replace(/\s+/g, ' ').trim() || this.getAttribute('name'); }

    /* ---- properties ---- */

    get checked() { return this.hasAttribute('checked'); }
    set checked(v) { CL.setBoolAttr(this, 'checked', !!v); }
    get disabled() { return this.hasAttribute('disabled'); }
    set disabled(v) { CL.setBoolAttr(this, 'disabled', !!v); }
    get required() { return this.hasAttribute('required'); }
    set required(v) { CL.setBoolAttr(this, 'required', !!v); }
    get value() { var v = this.getAttribute('value'); return v === null ? 'on' : v; }
    set value(v) { this.setAttribute('value', v === null || v === undefined ? 'on' : String(v)); }
  }

  class CrowdCheckbox extends Checkable {}

  class CrowdToggleButton extends Checkable {
    get _role() { return 'switch'; }
    get _css() { return TOGGLE_CSS; }
    _requiredMessage() { return CL.t('toggle.required'); }
    get invalid() { return this.hasAttribute('invalid'); }
    set invalid(v) { CL.setBoolAttr(this, 'invalid', !!v); }
  }

  /* ---------------------------------- radio buttons ---------------------------------- */

  function groupOf(radio) {
    return radio.parentElement ? radio.parentElement.closest('crowd-radio-group') : null;
  }

  // Buttons that are mutually exclusive with `radio`: the buttons of its crowd-radio-group (whatever
  // their names), or, outside a group, the ungrouped buttons with the same name in the same tree.
  function groupMembers(radio) {
    var group = groupOf(radio);
    var root = radio.getRootNode();
    if (group) {
      return Array.prototype.filter.call(group.querySelectorAll('crowd-radio-button'), function (r) { return groupOf(r) === group; });
    }
    var name = radio.getAttribute('name');
    if (!name || !root.querySelectorAll) return [radio];
    return Array.prototype.filter.call(root.querySelectorAll('crowd-radio-button'), function (r) {
      return !groupOf(r) && r.getAttribute('name') === name;
    });
  }

  class CrowdRadioButton extends Checkable {
    get _role() { return 'radio'; }
    get _css() { return RADIO_CSS; }

    _connected() { this._refreshGroup(); }

    _activate(fromUser) {
      if (this.checked) return;
      this.checked = true;
      var self = this;
      groupMembers(this).forEach(function (r) {
        if (r !== self && r.checked) r.checked = false;
      });
      this._refreshGroup();
      this._afterChange(fromUser);
      var group = groupOf(this);
      if (fromUser && group) group.dispatchEvent(new CustomEvent('crowd-radio-group-changed', { bubbles: true, detail: { value: this.value } }));
    }

    // Roving tab stop: only the checked (or else the first enabled) button of a group is tabbable.
    _syncTabStop() {
      if (this._refreshing) return;
      this._refreshGroup();
    }

    _refreshGroup() {
      var members = groupMembers(this).filter(function (r) { return r.shadowRoot; });
      if (!members.length) return;
      var enabled = members.filter(function (r) { return !r.disabled; });
      var stop = enabled.filter(function (r) { return r.checked; })[0] || enabled[0];
      members.forEach(function (r) {
        r._refreshing = true;
        if (r.disabled) r.removeAttribute('tabindex');
        else r.setAttribute('tabindex', r === stop ? '0' : '-1');
        r._refreshing = false;
      });
    }

    _keydown(ev) {
      var delta = { ArrowDown: 1, ArrowRight: 1, ArrowUp: -1, ArrowLeft: -1 }[ev.key];
      if (!delta) return;
      ev.preventDefault();
      var members = groupMembers(this).filter(function (r) { return !r.disabled; });
      var k = members.indexOf(this);
      if (k < 0 || members.length < 2) return;
      var next = members[(k + delta + members.length) % members.length];
      next.focus();
      next._activate(true);
    }

    _crowdValidate() { this._showError(''); return ''; } // `required` is not supported (catalog)
  }

  var GROUP_CSS = ':host { display: flex; flex-direction: column; align-items: flex-start; gap: 2px; margin: 4px 0; }';

  class CrowdRadioGroup extends HTMLElement {
    connectedCallback() {
      if (!this.shadowRoot) {
        var root = CL.attachStyledShadow(this, GROUP_CSS);
        root.append(h('slot'));
      }
      this.setAttribute('role', 'radiogroup');
    }
    // The value of the checked button of this group (null when none).
    get value() {
      var self = this;
      var checked = Array.prototype.filter.call(this.querySelectorAll('crowd-radio-button'), function (r) {
        return r.checked && groupOf(r) === self;
      })[0];
      return checked ? checked.value : null;
    }
  }

  CL.defineControl('crowd-checkbox', CrowdCheckbox);
  CL.defineControl('crowd-toggle-button', CrowdToggleButton);
  CL.defineControl('crowd-radio-button', CrowdRadioButton);
  CL.define('crowd-radio-group', CrowdRadioGroup);
})(window.CrowdLoop);
