/* Layout-only and action-only elements (nothing in the answer): crowd-alert, crowd-badge,
 * crowd-card, crowd-instructions (short-summary, detailed-instructions, positive-example,
 * negative-example), crowd-modal, crowd-tabs + crowd-tab, crowd-icon-button, crowd-fab,
 * crowd-toast, and a minimal iron-icon. */
(function (CL) {
  'use strict';
  if (CL.copies > 1) return; // a second copy of the bundle (00-core.js)
  var h = CL.h;

  // Roving-focus tab list: [{tab: <button>, panel: Element}], activate(k) shows panel k.
  CL.wireTabs = function (tablist, items, onActivate) {
    function activate(k, focus) {
      items.forEach(function (it, j) {
        var on = j === k;
        it.tab.setAttribute('aria-selected', on ? 'true' : 'false');
        it.tab.tabIndex = on ? 0 : -1;
        if (it.panel) {
          if (it.panel.localName === 'crowd-tab') CL.setBoolAttr(it.panel, 'data-inactive', !on);
          else it.panel.hidden = !on;
        }
      });
      if (focus && items[k]) items[k].tab.focus();
      if (onActivate) onActivate(k);
    }
    items.forEach(function (it, k) {
      it.tab.addEventListener('click', function () { activate(k, false); });
    });
    tablist.addEventListener('keydown', function (ev) {
      var k = items.findIndex(function (it) { return it.tab === ev.target; });
      if (k < 0) k = items.findIndex(function (it) { return it.tab.getAttribute('aria-selected') === 'true'; });
      var n = items.length;
      var next = { ArrowRight: k + 1, ArrowLeft: k - 1, Home: 0, End: n - 1 }[ev.key];
      if (next === undefined || !n) return;
      ev.preventDefault();
      activate((next + n) % n, true);
    });
    return activate;
  };

  var TABS_CSS = [
    '[role=tablist] { display: flex; flex-wrap: wrap; gap: 2px; border-bottom: 2px solid #d5dbdb; margin-bottom: 12px; }',
    '[role=tab] { border: none; background: none; padding: 8px 14px; cursor: pointer; font-weight: 600; color: var(--crowd-muted);',
    '  border-bottom: 3px solid transparent; margin-bottom: -2px; border-radius: 6px 6px 0 0; }',
    '[role=tab][aria-selected=true] { color: var(--crowd-accent); border-bottom-color: var(--crowd-accent); }',
    '[role=tab]:hover { background: #f2f3f3; }'
  ].join('\n');

  /* --------------------------------------- crowd-alert ------------------------------------ */

  var ALERT_CSS = [
    ':host { display: block; margin: 8px 0; }',
    '.alert { display: flex; gap: 10px; align-items: flex-start; padding: 10px 14px; border-radius: 8px; border: 1px solid; border-left-width: 5px; }',
    '.info { background: #eef5fc; border-color: #0b63c5; }',
    '.success { background: #edf7ee; border-color: #1d8102; }',
    '.warning { background: #fff7e5; border-color: #b7791f; }',
    '.error { background: #fdecea; border-color: #c62828; }',
    '.sym { font-weight: 800; width: 1.3em; text-align: center; }',
    '.content { flex: 1; min-width: 0; overflow-wrap: anywhere; }',
    '.close { border: none; background: none; font-size: 1.3rem; line-height: 1; cursor: pointer; padding: 0 6px; border-radius: 4px; }'
  ].join('\n');
  var ALERT_SYMBOL = { info: 'i', success: '\u2713', warning: '!', error: '!' };

  class CrowdAlert extends HTMLElement {
    static get observedAttributes() { return ['type', 'dismissible']; }
    connectedCallback() {
      if (!this.shadowRoot) {
        var self = this;
        var root = CL.attachStyledShadow(this, ALERT_CSS);
        this._sym = h('span', { class: 'sym', 'aria-hidden': 'true' });
        this._close = h('button', { type: 'button', class: 'close', 'aria-label': CL.t('dismiss'), text: '\u00d7' });
        this._close.addEventListener('click', function () {
          self.hidden = true;
          self.dispatchEvent(new CustomEvent('dismiss', { bubbles: true }));
        });
        this._box = h('div', { part: 'alert' }, [this._sym, h('div', { class: 'content' }, [h('slot')]), this._close]);
        root.append(this._box);
      }
      this._render();
    }
    attributeChangedCallback() { if (this._box) this._render(); }
    _render() {
      var type = (this.getAttribute('type') || 'info').toLowerCase();
      if (!ALERT_SYMBOL[type]) type = 'info';
      this._box.className = 'alert ' + type;
      this._box.setAttribute('role', type === 'error' || type === 'warning' ? 'alert' : 'status');
      this._sym.textContent = ALERT_SYMBOL[type];
      this._close.hidden = !this.hasAttribute('dismissible');
    }
  }

  /* --------------------------------------- crowd-badge ------------------------------------ */

  var BADGE_CSS = [
    ':host { display: inline-block; z-index: 2; }',
    ':host([for]) { position: absolute; }',
    '.badge { display: inline-flex; align-items: center; justify-content: center; min-width: 22px; height: 22px; padding: 0 6px;',
    '  border-radius: 11px; background: var(--crowd-accent); color: #fff; font-size: 12px; font-weight: 700; }',
    'img.icon { width: 14px; height: 14px; }'
  ].join('\n');

  class CrowdBadge extends HTMLElement {
    static get observedAttributes() { return ['for', 'icon', 'label']; }
    connectedCallback() {
      if (!this.shadowRoot) {
        var root = CL.attachStyledShadow(this, BADGE_CSS);
        this._badge = h('span', { class: 'badge', part: 'badge' });
        root.append(this._badge);
        this._place = this._place.bind(this);
      }
      this._render();
      // Follow the target when the page reflows (images loading, content added above it...).
      var place = this._place;
      this._observer = new ResizeObserver(function () { place(); });
      this._observer.observe(document.documentElement);
      var id = this.getAttribute('for');
      var target = id && document.getElementById(id);
      if (target) this._observer.observe(target);
      window.addEventListener('resize', place);
      window.addEventListener('load', place);
      requestAnimationFrame(place);
    }
    disconnectedCallback() {
      window.removeEventListener('resize', this._place);
      window.removeEventListener('load', this._place);
      if (this._observer) this._observer.disconnect();
    }
    attributeChangedCallback() { if (this._badge) { this._render(); this._place(); } }
    _render() {
      this._badge.textContent = '';
      var icon = this.getAttribute('icon');
      if (icon) this._badge.append(CL.iconNode(icon));
      else this._badge.textContent = this.getAttribute('label') || '';
      this._badge.setAttribute('aria-label', this.getAttribute('label') || icon || '');
    }
    // Float over the top-right corner of the element named by `for`.
    _place() {
      var id = this.getAttribute('for');
      var target = id ? this.getRootNode().getElementById && this.getRootNode().getElementById(id) : null;
      if (!target || !this.isConnected) return;
      // Move by the difference between where the badge is and where it should be, so the
      // containing block (which may sit in some shadow tree) never needs to be known.
      var tr = target.getBoundingClientRect();
      var br = this.getBoundingClientRect();
      var style = getComputedStyle(this);
      var left = parseFloat(style.left) || 0;
      var top = parseFloat(style.top) || 0;
      this.style.left = (left + tr.right - br.width / 2 - br.left) + 'px';
      this.style.top = (top + tr.top - br.height / 2 - br.top) + 'px';
    }
  }

  /* ---------------------------------------- crowd-card ------------------------------------ */

  var CARD_CSS = [
    ':host { display: block; box-sizing: border-box; background: #fff; border-radius: 8px; box-shadow: 0 1px 4px rgba(0,0,0,.18), 0 0 0 1px rgba(0,0,0,.04); overflow: hidden; }',
    'img { display: block; width: 100%; height: auto; }',
    '.heading { font-size: 1.1rem; font-weight: 700; margin: 0; padding: 12px 16px 0; }',
    '.content { padding: 8px 16px 12px; }',
    ':host(:not([heading])) .content, :host([image]) .content { padding-top: 12px; }'
  ].join('\n');

  class CrowdCard extends HTMLElement {
    static get observedAttributes() { return ['heading', 'image']; }
    connectedCallback() {
      if (!this.shadowRoot) {
        var root = CL.attachStyledShadow(this, CARD_CSS);
        this._img = h('img', { alt: '', part: 'image' });
        this._heading = h('h2', { class: 'heading', part: 'heading' });
        root.append(this._img, this._heading, h('div', { class: 'content', part: 'content' }, [h('slot')]));
      }
      this._render();
    }
    attributeChangedCallback() { if (this._img) this._render(); }
    _render() {
      var img = this.getAttribute('image');
      this._img.hidden = !img;
      if (img) this._img.src = img; else this._img.removeAttribute('src');
      var heading = this.getAttribute('heading');
      this._heading.hidden = !heading;
      this._heading.textContent = heading || '';
    }
  }

  /* ------------------------------------ dialogs: modal, instructions ----------------------- */

  var DIALOG_HOST_CSS = [
    ':host { display: inline-block; }',
    CL.INSTRUCTIONS_CSS,
    TABS_CSS,
    '.examples h3 { font-size: 1rem; margin: 12px 0 6px; }',
    '.examples ::slotted(*) { display: block; border-left: 4px solid #1d8102; padding: 6px 12px; margin: 6px 0; background: #f3faf3; }',
    '.examples .bad ::slotted(*) { border-left-color: #c62828; background: #fdf3f2; }',
    '.examples .good:not(:has(slot)), .examples h3[hidden] { display: none; }',
    'dialog [role=tabpanel] ::slotted(*) { display: block; }'
  ].join('\n');

  function trigger(host, defaultText) {
    var type = (host.getAttribute('link-type') || 'link').toLowerCase();
    var btn = h('button', { type: 'button', part: 'trigger', class: type === 'button' ? 'btn' : 'linkbtn', text: host.getAttribute('link-text') || defaultText });
    return btn;
  }

  class CrowdModal extends HTMLElement {
    static get observedAttributes() { return ['link-text', 'link-type']; }
    connectedCallback() {
      if (!this.shadowRoot) {
        var root = CL.attachStyledShadow(this, DIALOG_HOST_CSS);
        this._dlg = CL.makeDialog(this.getAttribute('header') || this.getAttribute('link-text') || CL.t('details'), [h('slot')]);
        this._trigger = trigger(this, CL.t('modal.open'));
        this._trigger.addEventListener('click', this._dlg.open);
        root.append(this._trigger, this._dlg.dialog);
        var self = this;
        this.addEventListener('crowdloop-reveal', function () { self.open(); });
      }
    }
    attributeChangedCallback() {
      if (this._trigger) {
        var t = trigger(this, CL.t('modal.open'));
        t.addEventListener('click', this._dlg.open);
        this._trigger.replaceWith(t);
        this._trigger = t;
      }
    }
    open() { if (this._dlg) this._dlg.open(); }
    close() { if (this._dlg) this._dlg.dialog.close(); }
  }

  class CrowdInstructions extends HTMLElement {
    static get observedAttributes() { return ['link-text', 'link-type']; }
    connectedCallback() {
      if (this.shadowRoot) return;
      var self = this;
      var root = CL.attachStyledShadow(this, DIALOG_HOST_CSS);
      CL.slotRegions(this, ['short-summary', 'detailed-instructions', 'positive-example', 'negative-example']);
      var slots = {
        summary: h('slot', { name: 'short-summary' }),
        detailed: h('slot', { name: 'detailed-instructions' }),
        good: h('slot', { name: 'positive-example' }),
        bad: h('slot', { name: 'negative-example' })
      };
      var goodTitle = h('h3', { text: CL.t('instructions.good') });
      var badTitle = h('h3', { text: CL.t('instructions.bad') });
      var panels = [
        { label: CL.t('instructions.summary'), panel: h('div', { role: 'tabpanel' }, [slots.summary]), slots: [slots.summary] },
        { label: CL.t('instructions.detailed'), panel: h('div', { role: 'tabpanel' }, [slots.detailed]), slots: [slots.detailed] },
        { label: CL.t('instructions.examples'), panel: h('div', { role: 'tabpanel', class: 'examples' }, [goodTitle, h('div', { class: 'good' }, [slots.good]), badTitle, h('div', { class: 'bad' }, [slots.bad])]), slots: [slots.good, slots.bad] }
      ];
      var tablist = h('div', { role: 'tablist', 'aria-label': CL.t('instructions') });
      panels.forEach(function (p) {
        p.tab = h('button', { type: 'button', role: 'tab', text: p.label });
        tablist.append(p.tab);
      });
      var activate = CL.wireTabs(tablist, panels);
      this._dlg = CL.makeDialog(CL.t('instructions'), [tablist].concat(panels.map(function (p) { return p.panel; })));
      this._trigger = trigger(this, CL.t('instructions.open'));
      this._trigger.addEventListener('click', function () { self.open(); });
      root.append(this._trigger, this._dlg.dialog);
      function update() {
        panels.forEach(function (p) {
          var has = p.slots.some(function (s) { return s.assignedElements().length > 0; });
          p.tab.hidden = !has;
        });
        goodTitle.hidden = slots.good.assignedElements().length === 0;
        badTitle.hidden = slots.bad.assignedElements().length === 0;
      }
      Object.keys(slots).forEach(function (k) { slots[k].addEventListener('slotchange', update); });
      update();
      this._activateFirst = function () {
        var k = panels.findIndex(function (p) { return !p.tab.hidden; });
        activate(k < 0 ? 0 : k, false);
      };
      this._activateFirst();
    }
    attributeChangedCallback() {
      if (!this._trigger) return;
      var self = this;
      var t = trigger(this, CL.t('instructions.open'));
      t.addEventListener('click', function () { self.open(); });
      this._trigger.replaceWith(t);
      this._trigger = t;
    }
    open() {
      if (!this._dlg) return;
      this._activateFirst();
      this._dlg.open();
    }
    close() { if (this._dlg) this._dlg.dialog.close(); }
  }

  /* ------------------------------------- crowd-tabs / crowd-tab --------------------------- */

  class CrowdTabs extends HTMLElement {
    connectedCallback() {
      if (this.shadowRoot) return;
      var self = this;
      var root = CL.attachStyledShadow(this, ':host { display: block; }\n' + TABS_CSS);
      this._tablist = h('div', { role: 'tablist', part: 'tabs' });
      root.append(this._tablist, h('slot'));
      this._active = 0;
      var rebuild = function () { self._rebuild(); };
      new MutationObserver(rebuild).observe(this, { childList: true, subtree: true, attributes: true, attributeFilter: ['header'] });
      this.addEventListener('crowdloop-reveal', function (ev) {
        var tab = ev.composedPath().filter(function (n) { return n.localName === 'crowd-tab' && n.parentElement === self; })[0];
        var k = self._tabs().indexOf(tab);
        if (k >= 0 && self._activate) self._activate(k, false);
      });
      this._rebuild();
    }
    _tabs() {
      return Array.prototype.filter.call(this.children, function (c) { return c.localName === 'crowd-tab'; });
    }
    _rebuild() {
      var self = this;
      var tabs = this._tabs();
      var sig = tabs.map(function (t) { return t.getAttribute('header') || ''; }).join('\u0000') + '|' + tabs.length;
      if (sig === this._sig && tabs.every(function (t, k) { return self._items && self._items[k] && self._items[k].panel === t; })) return;
      this._sig = sig;
      this._tablist.textContent = '';
      this._items = tabs.map(function (t, k) {
        var b = h('button', { type: 'button', role: 'tab', text: t.getAttribute('header') || CL.t('tab', { n: k + 1 }) });
        self._tablist.append(b);
        t.setAttribute('role', 'tabpanel');
        t.setAttribute('aria-label', t.getAttribute('header') || CL.t('tab', { n: k + 1 }));
        return { tab: b, panel: t };
      });
      var items = this._items;
      this._activate = CL.wireTabs(this._tablist, items, function (k) { self._active = k; });
      this._activate(Math.min(this._active, Math.max(0, items.length - 1)), false);
    }
    get selected() { return this._active; }
    set selected(k) { if (this._activate) this._activate(Number(k) || 0, false); }
  }

  class CrowdTab extends HTMLElement {
    connectedCallback() {
      if (this.shadowRoot) return;
      var root = CL.attachStyledShadow(this, ':host { display: block; } :host([data-inactive]) { display: none; }');
      root.append(h('slot'));
    }
  }

  /* ------------------------------- crowd-icon-button, crowd-fab --------------------------- */

  var ROUND_CSS = [
    ':host { display: inline-block; vertical-align: middle; }',
    ':host([disabled]) { pointer-events: none; }',
    'button { width: 40px; height: 40px; border-radius: 50%; border: none; background: transparent; color: var(--crowd-accent);',
    '  display: inline-flex; align-items: center; justify-content: center; cursor: pointer; font-size: 20px; font-weight: 700; padding: 0; }',
    'button:hover { background: var(--crowd-selected-bg); }',
    'button:disabled { color: #8a949e; cursor: default; background: transparent; }',
    'button.fab { width: 56px; height: 56px; background: var(--crowd-accent); color: #fff; box-shadow: 0 3px 8px rgba(0,0,0,.3); }',
    'button.fab:hover { background: var(--crowd-accent-strong); }',
    'button.fab:disabled { background: #c4c9ce; box-shadow: none; color: #fff; }',
    'img.icon { width: 24px; height: 24px; }'
  ].join('\n');

  class RoundButton extends HTMLElement {
    static get observedAttributes() { return ['icon', 'label', 'title', 'disabled']; }
    constructor() {
      super();
      var self = this;
      this.addEventListener('click', function (ev) {
        if (self.disabled) { ev.preventDefault(); ev.stopImmediatePropagation(); }
      }, true);
    }
    get _fab() { return false; }
    connectedCallback() {
      if (!this.shadowRoot) {
        var root = CL.attachStyledShadow(this, ROUND_CSS, { delegatesFocus: true });
        this._btn = h('button', { type: 'button', part: 'button', class: this._fab ? 'fab' : '' });
        root.append(this._btn);
      }
      CL.upgradeProperties(this, ['disabled']);
      this._render();
    }
    attributeChangedCallback() { if (this._btn) this._render(); }
    _render() {
      var icon = this.getAttribute('icon');
      var label = this.getAttribute('label');
      this._btn.textContent = '';
      if (icon) this._btn.append(CL.iconNode(icon));
      else if (label) this._btn.append(label);
      this._btn.disabled = this.disabled;
      this._btn.setAttribute('aria-label', this.getAttribute('aria-label') || this.getAttribute('title') || label || (icon || 'button').replace(/^[\w-]+:/, ''));
    }
    get disabled() { return this.hasAttribute('disabled'); }
    set disabled(v) { CL.setBoolAttr(this, 'disabled', !!v); }
  }
  class CrowdIconButton extends RoundButton {}
  class CrowdFab extends RoundButton {
    get _fab() { return true; }
  }

  /* --------------------------------------- crowd-toast ------------------------------------ */

  var TOAST_CSS = [
    ':host { position: fixed; left: 50%; bottom: 24px; transform: translateX(-50%); z-index: 1000; display: none; }',
    ':host([opened]) { display: block; }',
    '.toast { background: #232f3e; color: #fff; padding: 10px 18px; border-radius: 8px; box-shadow: 0 4px 14px rgba(0,0,0,.3); max-width: calc(100vw - 32px); }'
  ].join('\n');

  class CrowdToast extends HTMLElement {
    static get observedAttributes() { return ['opened', 'text']; }
    connectedCallback() {
      if (!this.shadowRoot) {
        var root = CL.attachStyledShadow(this, TOAST_CSS);
        this._text = h('span');
        root.append(h('div', { class: 'toast', role: 'status', part: 'toast' }, [this._text, h('slot')]));
      }
      this._render();
    }
    attributeChangedCallback(name) {
      if (!this._text) return;
      this._render();
      if (name === 'opened' && this.hasAttribute('opened')) this._schedule();
    }
    _render() { this._text.textContent = this.getAttribute('text') || ''; }
    _schedule() {
      var self = this;
      clearTimeout(this._timer);
      var ms = CL.numAttr(this, 'duration', 3000);
      if (ms > 0) this._timer = setTimeout(function () { self.removeAttribute('opened'); }, ms);
    }
    show(text) {
      if (text !== undefined) this.setAttribute('text', text);
      document.querySelectorAll('crowd-toast[opened]').forEach(function (t) { t.removeAttribute('opened'); });
      this.setAttribute('opened', '');
    }
    open(text) { this.show(text); }
    hide() { this.removeAttribute('opened'); }
    close() { this.hide(); }
    get opened() { return this.hasAttribute('opened'); }
    set opened(v) { if (v) this.show(); else this.hide(); }
  }

  /* ---------------------------------------- iron-icon ------------------------------------- */

  class IronIcon extends HTMLElement {
    static get observedAttributes() { return ['icon', 'src']; }
    connectedCallback() {
      if (!this.shadowRoot) CL.attachStyledShadow(this, ':host { display: inline-flex; align-items: center; justify-content: center; min-width: 1em; } img.icon { width: 1.2em; height: 1.2em; }');
      this._render();
    }
    attributeChangedCallback() { if (this.shadowRoot) this._render(); }
    _render() {
      this.shadowRoot.textContent = '';
      var node = CL.iconNode(this.getAttribute('src') || this.getAttribute('icon'));
      if (node) this.shadowRoot.append(node);
    }
  }

  CL.define('crowd-alert', CrowdAlert);
  CL.define('crowd-badge', CrowdBadge);
  CL.define('crowd-card', CrowdCard);
  CL.define('crowd-modal', CrowdModal);
  CL.define('crowd-instructions', CrowdInstructions);
  CL.define('crowd-tabs', CrowdTabs);
  CL.define('crowd-tab', CrowdTab);
  CL.define('crowd-icon-button', CrowdIconButton);
  CL.define('crowd-fab', CrowdFab);
  CL.define('crowd-toast', CrowdToast);
  CL.define('iron-icon', IronIcon);
})(window.CrowdLoop);
