/* crowd-form (answer collection, validation, submission) and crowd-button. */
(function (CL) {
  'use strict';
  if (CL.copies > 1) return; // a second copy of the bundle (00-core.js)
  var h = CL.h;
  var CHOICES = CL.CHOICES;

  var FORM_CSS = [
    ':host { display: block; line-height: 1.4; }',
    CL.layoutCss({ asideMax: 300 }),
    '.footer { display: flex; flex-wrap: wrap; align-items: center; justify-content: flex-end; gap: 12px; margin-top: 16px; }',
    '.footer:has(> .submit[hidden]):has(> .form-message:empty) { display: none; }',
    '.form-message { flex: 1 1 240px; }',
    '.form-message:empty { display: none; }',
    '.form-message.error { color: var(--crowd-error); background: #fdecea; border: 1px solid #f3b9b4; border-radius: 6px; padding: 8px 12px; font-weight: 600; }',
    '.form-message.ok { color: #1d6b2f; }',
    CL.INSTRUCTIONS_CSS
  ].join('\n');

  var NATIVE = 'input,select,textarea';
  var SKIP_INPUT_TYPES = ['submit', 'button', 'reset', 'image', 'file'];

  // A required native field left empty: our own text, in the worker's language (the browser's own
  // validationMessage is in the browser's language, whatever the page's); other problems keep the browser's.
  function missingMessage(el) {
    if (!el.validity || !el.validity.valueMissing) return '';
    if (el.localName === 'select') return CL.t('form.select_item');
    if (el.type === 'checkbox') return CL.t('checkbox.required');
    if (el.type === 'radio') return CL.t('form.choose_option');
    return CL.t('form.fill_field');
  }

  function isNative(el) {
    var t = el.localName;
    return t === 'input' || t === 'select' || t === 'textarea';
  }

  // Answer entries for one native control (catalog §2.3).
  function nativeEntries(el) {
    var name = el.name;
    if (!name) return [];
    if (CHOICES.skipDisabledNative && el.matches(':disabled')) return [];
    var tag = el.localName;
    if (tag === 'input') {
      var type = el.type;
      if (SKIP_INPUT_TYPES.indexOf(type) >= 0) return [];
      if (type === 'checkbox' || type === 'radio') {
        if (CHOICES.nativeCheckable === 'merged') return [{ name: name, kind: 'checkable', key: el.value, checked: el.checked }];
        return el.checked ? [{ name: name, kind: 'value', value: el.value }] : [];
      }
      return [{ name: name, kind: 'text', value: el.value }];
    }
    if (tag === 'select' && el.multiple) {
      if (CHOICES.nativeSelectMultiple === 'merged') {
        return Array.prototype.map.call(el.options, function (o) {
          return { name: name, kind: 'checkable', key: o.value, checked: o.selected };
        });
      }
      var values = Array.prototype.map.call(el.selectedOptions, function (o) { return o.value; });
      return values.length ? [{ name: name, kind: 'value', value: values }] : [];
    }
    return [{ name: name, kind: 'text', value: el.value }];
  }

  function clean(text, max) {
    var t = (text || '').replace(/\s+/g, ' ').trim();
    return t.length > max ? t.slice(0, max - 1).trimEnd() + '\u2026' : t;
  }

  function labelledBy(el) {
    var ids = (el.getAttribute('aria-labelledby') || '').split(/\s+/).filter(Boolean);
    return ids.map(function (id) { var n = el.ownerDocument.getElementById(id); return n ? n.textContent : ''; }).join(' ');
  }

  // The last piece of visible text before the control inside its form: for a bare <select> under a question
  // (the seed template), the text the worker reads just above it.
  var SKIPPED = ['SCRIPT', 'STYLE', 'TEMPLATE', 'OPTION', 'SELECT', 'TEXTAREA', 'BUTTON', 'NOSCRIPT'];
  function textBefore(el, form) {
    if (!form || !form.contains(el)) return '';
    var walker = el.ownerDocument.createTreeWalker(form, NodeFilter.SHOW_TEXT);
    var found = '';
    for (var node = walker.nextNode(); node; node = walker.nextNode()) {
      if (!(node.compareDocumentPosition(el) & Node.DOCUMENT_POSITION_FOLLOWING)) break;
      var parent = node.parentElement;
      if (!parent || SKIPPED.indexOf(parent.tagName) >= 0 || parent.closest('select,textarea,button,[hidden],[aria-hidden="true"]')) continue;
      if (!node.textContent.trim() || !parent.getClientRects().length) continue;
      found = node.textContent;
    }
    return clean(found, 60);
  }

  // How the form's message names a control: by what the worker sees (its label, header, the text above it),
  // its form field name only when there is nothing else.
  function describeControl(el, form) {
    var name = el.getAttribute('name') || '';
    var own = el._crowdLabel ? el._crowdLabel() : '';
    if (own && own !== name) return clean(own, 80);
    var label = el.getAttribute('aria-label') || labelledBy(el) || (el.labels && el.labels.length ? el.labels[0].textContent : '') ||
      el.getAttribute('label') || el.getAttribute('header') || el.getAttribute('placeholder') || '';
    if (clean(label, 80)) return clean(label, 80);
    var near = textBefore(el, form);
    if (near) return '\u201c' + near + '\u201d';
    return clean(own || name, 80);
  }

  class CrowdForm extends HTMLElement {
    constructor() {
      super();
      this._built = false;
      this._locked = false;
      this._dispatching = false;
      this._formEl = null;
    }

    connectedCallback() {
      if (!this._built) this._build();
      if (CL.forms.indexOf(this) < 0) CL.forms.push(this);
    }

    disconnectedCallback() {
      var k = CL.forms.indexOf(this);
      if (k >= 0) CL.forms.splice(k, 1);
    }

    _build() {
      this._built = true;
      var self = this;
      var root = CL.attachStyledShadow(this, FORM_CSS);
      CL.slotRegions(this, ['short-instructions', 'full-instructions']);
      var panel = CL.instructionsPanel(this);
      this._autoButton = h('button', { type: 'button', class: 'btn primary submit', part: 'submit-button', text: CL.t('form.submit') });
      this._autoButton.addEventListener('click', function () { self._attempt(self._autoButton, 'button'); });
      this._message = h('div', { class: 'form-message', part: 'message', role: 'alert' });
      var footer = h('div', { class: 'footer', part: 'footer' }, [this._message, this._autoButton]);
      root.append(h('div', { class: 'layout' }, [panel.aside, h('div', { class: 'main' }, [h('slot'), footer])]), panel.dialog);

      var update = this._updateAutoButton.bind(this);
      new MutationObserver(update).observe(this, { childList: true, subtree: true, attributes: true, attributeFilter: ['form-action'] });
      update();

      // A <form> of the template nested in crowd-form must never navigate the frame; a real submit
      // button in it submits the task.
      this.addEventListener('submit', function (ev) {
        if (ev.target === self) return;
        ev.preventDefault();
        ev.stopPropagation();
        if (ev.submitter) self._attempt(ev.submitter, 'button');
      }, true);
      // Plain <button> / <input type=submit> outside any native form: native semantics = submit,
      // unless a click handler called preventDefault().
      this.addEventListener('click', function (ev) {
        var t = ev.target;
        if (!(t instanceof Element)) return;
        var btn = t.closest('button, input[type=submit], input[type=image]');
        if (!btn || btn.form || !self.contains(btn) || btn.closest('crowd-form') !== self) return;
        if ((btn.type !== 'submit' && btn.type !== 'image') || btn.disabled) return;
        setTimeout(function () { if (!ev.defaultPrevented) self._attempt(btn, 'button'); }, 0);
      });
      var clear = function (ev) {
        if (self._message.classList.contains('error')) self._setMessage('');
        var t = ev.target;
        if (t && t.removeAttribute && t.getAttribute('aria-invalid') === 'true' && isNative(t)) t.removeAttribute('aria-invalid');
      };
      this.addEventListener('input', clear);
      this.addEventListener('change', clear);
    }

    _submitButtons() {
      var self = this;
      return Array.prototype.filter.call(this.querySelectorAll('crowd-button[form-action="submit" i]'),
        function (b) { return b.closest('crowd-form') === self; });
    }

    _updateAutoButton() {
      if (this._autoButton) this._autoButton.hidden = this._submitButtons().length > 0;
    }

    /* ---- public API used by templates ---- */

    // The native <form> inside crowd-form (created on first use, display: contents); controls
    // appended to it are part of the answer.
    get form() {
      if (!this._formEl || this._formEl.parentNode !== this) {
        this._formEl = h('form', { novalidate: true, style: 'display: contents' });
        this.appendChild(this._formEl);
      }
      return this._formEl;
    }

    // Same path as the Submit button: validation, "submit" event / onsubmit, answer, post.
    submit() { return this._attempt(null, 'script'); }
    requestSubmit(submitter) { return this._attempt(submitter || null, 'script'); }

    reset() {
      this._controls().forEach(function (el) {
        if (!isNative(el)) { if (el._crowdReset) el._crowdReset(); return; }
        if (el.localName === 'select') {
          Array.prototype.forEach.call(el.options, function (o) { o.selected = o.defaultSelected; });
        } else if (el.type === 'checkbox' || el.type === 'radio') {
          el.checked = el.defaultChecked;
        } else if (SKIP_INPUT_TYPES.indexOf(el.type) < 0) {
          el.value = el.defaultValue;
        }
        el.removeAttribute('aria-invalid');
      });
      this._setMessage('');
      this.dispatchEvent(new Event('reset', { bubbles: true }));
    }

    checkValidity() { return this._problems().length === 0; }

    reportValidity() {
      var problems = this._problems();
      if (problems.length) this._showProblems(problems, false);
      return problems.length === 0;
    }

    // The answerContent object the form would submit now.
    serialize() {
      var entries = [];
      this._controls().forEach(function (el) {
        if (isNative(el)) { entries.push.apply(entries, nativeEntries(el)); return; }
        if (!el._crowdEntries) return;
        if (CHOICES.skipDisabledCrowd && el.disabled) return;
        entries.push.apply(entries, el._crowdEntries());
      });
      return CL.mergeEntries(entries);
    }

    /* ---- internals ---- */

    _controls() {
      var self = this;
      var selector = NATIVE + (CL.controlTags.length ? ',' + CL.controlTags.join(',') : '');
      var own = Array.prototype.filter.call(this.querySelectorAll(selector), function (el) {
        return el.closest('crowd-form') === self;
      });
      // Controls outside any crowd-form that name this one (crowd-form-element-id="<id>").
      if (this.id) {
        Array.prototype.forEach.call(document.querySelectorAll('[crowd-form-element-id]'), function (el) {
          if (el.getAttribute('crowd-form-element-id') === self.id && CL.isControl(el) && !el.closest('crowd-form')) own.push(el);
        });
      }
      return own;
    }

    _problems() {
      var problems = [];
      var radioNames = new Set();
      this._controls().forEach(function (el) {
        var message = '';
        if (isNative(el)) {
          if (!el.willValidate || el.checkValidity()) { el.removeAttribute('aria-invalid'); return; }
          if (el.type === 'radio') {
            if (radioNames.has(el.name)) return;
            radioNames.add(el.name);
          }
          message = missingMessage(el) || el.validationMessage || CL.t('form.fill_field');
          el.setAttribute('aria-invalid', 'true');
        } else if (el._crowdValidate) {
          message = el._crowdValidate();
        }
        if (message) problems.push({ el: el, message: message });
      });
      return problems;
    }

    _showProblems(problems, post) {
      var first = problems[0];
      var label = describeControl(first.el, this);
      var text = CL.t('form.complete_first', { label: label ? label + ': ' : '', message: first.message }) +
        (problems.length > 1 ? CL.tn('form.more_fields', problems.length - 1) : '');
      this._setMessage(text, 'error');
      // Let containers (crowd-tab, crowd-modal...) reveal the control, then focus it.
      first.el.dispatchEvent(new CustomEvent('crowdloop-reveal', { bubbles: true, composed: true }));
      if (first.el._crowdFocus) first.el._crowdFocus();
      else if (typeof first.el.focus === 'function') first.el.focus();
      if (post) CL.post({ type: 'invalid', message: text });
    }

    _setMessage(text, kind) {
      if (!this._message) return;
      this._message.textContent = text || '';
      this._message.className = 'form-message' + (kind ? ' ' + kind : '');
      this._message.setAttribute('role', kind === 'error' ? 'alert' : 'status');
    }

    _requestSubmitFromOutside(source) {
      var buttons = this._submitButtons();
      if (buttons.length && buttons.every(function (b) { return b.disabled; })) {
        var text = CL.t('form.not_available');
        this._setMessage(text, 'error');
        CL.post({ type: 'invalid', message: text });
        return false;
      }
      return this._attempt(null, source);
    }

    _attempt(submitter, source) {
      if (this._locked || this._dispatching) return false;
      var problems = this._problems();
      if (problems.length) {
        this._showProblems(problems, true);
        return false;
      }
      this._setMessage('');
      var ev;
      var sub = submitter instanceof HTMLElement ? submitter : null;
      try {
        ev = new SubmitEvent('submit', { bubbles: true, cancelable: true, submitter: sub });
      } catch (err) {
        ev = new Event('submit', { bubbles: true, cancelable: true });
      }
      this._dispatching = true;
      var proceed;
      try {
        proceed = this.dispatchEvent(ev);
      } finally {
        this._dispatching = false;
      }
      if (!proceed) return false;
      var answer = this.serialize();
      this._lock();
      CL.post({ type: 'submit', answer: answer });
      this.dispatchEvent(new CustomEvent('crowdloop-submitted', { bubbles: true, detail: { answer: answer, source: source } }));
      return true;
    }

    _lock() {
      this._locked = true;
      this._autoButton.disabled = true;
      this._autoButton.textContent = CL.t('form.submitted');
      this._setMessage(CL.t('form.submitted_message'), 'ok');
    }

    _unlock(message) {
      this._locked = false;
      this._autoButton.disabled = false;
      this._autoButton.textContent = CL.t('form.submit');
      this._setMessage(message || '', message ? 'error' : '');
    }
  }
  CL.define('crowd-form', CrowdForm);

  /* ------------------------------------- crowd-button ------------------------------------- */

  var BUTTON_CSS = [
    ':host { display: inline-block; vertical-align: middle; }',
    ':host([disabled]), :host([loading]) { pointer-events: none; }',
    '.btn { text-decoration: none; }',
    '.btn.link { border-color: transparent; background: none; text-decoration: underline; padding: 6px 8px; }',
    '.btn.icon { padding: 6px; min-width: 36px; border-radius: 50%; }',
    '.btn.icon-right { flex-direction: row-reverse; }',
    '.icon.glyph { font-size: 1.15em; line-height: 1; }',
    'img.icon { width: 1.2em; height: 1.2em; }',
    '.spinner { width: 1em; height: 1em; border: 2px solid currentColor; border-right-color: transparent; border-radius: 50%;',
    '  animation: spin .8s linear infinite; }',
    '@keyframes spin { to { transform: rotate(360deg); } }'
  ].join('\n');

  class CrowdButton extends HTMLElement {
    static get observedAttributes() {
      return ['disabled', 'loading', 'variant', 'icon', 'icon-align', 'icon-url', 'href', 'target'];
    }

    constructor() {
      super();
      var self = this;
      // Disabled/loading buttons swallow clicks before any template handler runs.
      this.addEventListener('click', function (ev) {
        if (self.disabled || self.loading) {
          ev.preventDefault();
          ev.stopImmediatePropagation();
        }
      }, true);
      this.addEventListener('click', function (ev) {
        var action = (self.getAttribute('form-action') || '').toLowerCase();
        if (action !== 'submit' && action !== 'reset') return;
        var form = self.closest('crowd-form') || CL.primaryForm();
        if (!form) return;
        setTimeout(function () {
          if (ev.defaultPrevented) return;
          if (action === 'submit') form._attempt(self, 'button');
          else form.reset();
        }, 0);
      });
    }

    connectedCallback() {
      CL.upgradeProperties(this, ['disabled', 'loading']);
      if (!this.shadowRoot) CL.attachStyledShadow(this, BUTTON_CSS, { delegatesFocus: true });
      this._render();
    }

    attributeChangedCallback() {
      if (this.shadowRoot) this._render();
    }

    _render() {
      var root = this.shadowRoot;
      var href = this.getAttribute('href');
      var variant = (this.getAttribute('variant') || 'normal').toLowerCase();
      var inner;
      if (href) {
        inner = h('a', { part: 'button', href: href, target: this.getAttribute('target') });
      } else {
        inner = h('button', { part: 'button', type: 'button' });
        inner.disabled = this.disabled || this.loading;
      }
      var cls = 'btn ' + (variant === 'primary' ? 'primary' : variant === 'link' ? 'link' : variant === 'icon' ? 'icon' : 'normal');
      if ((this.getAttribute('icon-align') || '').toLowerCase() === 'right') cls += ' icon-right';
      inner.className = cls;
      if (this.loading) {
        inner.setAttribute('aria-busy', 'true');
        inner.append(h('span', { class: 'spinner', 'aria-hidden': 'true' }));
      } else {
        var icon = CL.iconNode(this.getAttribute('icon-url') || this.getAttribute('icon'));
        if (icon) inner.append(icon);
      }
      inner.append(h('slot'));
      if (variant === 'icon' && !this.textContent.trim()) {
        inner.setAttribute('aria-label', this.getAttribute('title') || this.getAttribute('icon') || CL.t('button'));
      }
      if (this._inner) this._inner.replaceWith(inner);
      else root.append(inner);
      this._inner = inner;
    }

    get disabled() { return this.hasAttribute('disabled'); }
    set disabled(v) { CL.setBoolAttr(this, 'disabled', !!v); }
    get loading() { return this.hasAttribute('loading'); }
    set loading(v) { CL.setBoolAttr(this, 'loading', !!v); }
    get formAction() { return this.getAttribute('form-action'); }
    set formAction(v) { if (v) this.setAttribute('form-action', v); else this.removeAttribute('form-action'); }
  }
  CL.define('crowd-button', CrowdButton);
})(window.CrowdLoop);
