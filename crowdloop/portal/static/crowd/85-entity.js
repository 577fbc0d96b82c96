/* crowd-entity-annotation: tag spans of a text. Answer {name: {entities: [{label, startOffset,
 * endOffset}]}} (endOffset = first character after the span; units in CL.CHOICES.entityOffsetUnits).
 *
 * Self-contained: its open shadow root holds its own crowd-form (with the Submit button), so
 * templates can do el.shadowRoot.querySelector('crowd-form').form.appendChild(node) to add more
 * questions. Placed inside an outer crowd-form it renders no form of its own and answers through
 * the outer one.
 *
 * Mouse: select text, it is tagged with the chosen label; selecting exactly an existing span
 * relabels it; the x on a span removes it. Keyboard (text focused): arrows move the caret
 * (Ctrl: by word), Shift extends the selection, Enter tags it, Delete removes the span at the
 * caret, digits choose the label. */
(function (CL) {
  'use strict';
  if (CL.copies > 1) return; // a second copy of the bundle (00-core.js)
  var h = CL.h;

  var ENTITY_CSS = [
    ':host { display: block; line-height: 1.4; }',
    CL.layoutCss(),
    '.header { font-weight: 700; margin: 0 0 8px; }',
    '.toolbar { display: flex; flex-wrap: wrap; gap: 6px; margin-bottom: 10px; }',
    '.label-opt { display: inline-flex; align-items: center; gap: 6px; padding: 4px 10px; border: 1px solid #c4c9ce; border-radius: 14px; cursor: pointer; }',
    '.label-opt:has(input:checked) { border-color: var(--crowd-accent); background: var(--crowd-selected-bg); font-weight: 600; }',
    '.label-opt input { margin: 0; accent-color: var(--crowd-accent); }',
    '.label-opt input:focus-visible { outline: 3px solid var(--crowd-focus); outline-offset: 2px; }',
    '.swatch { width: 12px; height: 12px; border-radius: 3px; display: inline-block; }',
    '.text { white-space: pre-wrap; overflow-wrap: anywhere; line-height: 2.2; font-size: 1.05rem; border: 1px solid #d5dbdb; border-radius: 8px;',
    '  padding: 10px 14px; background: #fff; cursor: text; }',
    '.text:focus-visible { outline: 3px solid var(--crowd-focus); outline-offset: 2px; }',
    '.ent { border-radius: 3px; padding: 2px 0; }',
    '.ent.first { padding-left: 2px; } .ent.last { padding-right: 2px; }',
    '.kbsel { background: #b3d4fc !important; }',
    '.caret { display: inline-block; width: 0; height: 1.2em; vertical-align: text-bottom; border-left: 2px solid #111; margin-right: -2px; }',
    '.tag { font-size: .7em; font-weight: 700; vertical-align: super; margin: 0 2px 0 1px; padding: 0 3px; border-radius: 3px; color: #fff;',
    '  user-select: none; -webkit-user-select: none; white-space: nowrap; }',
    '.tag button { border: none; background: none; color: inherit; font: inherit; cursor: pointer; padding: 0 0 0 3px; }',
    '.tag button:focus-visible { outline: 2px solid var(--crowd-focus); }',
    '.hint { color: var(--crowd-muted); font-size: .85em; margin: 6px 0 0; }',
    '.list { list-style: none; padding: 0; margin: 8px 0 0; display: flex; flex-wrap: wrap; gap: 6px; }',
    '.list li { display: inline-flex; align-items: center; gap: 6px; border: 1px solid #d5dbdb; border-radius: 14px; padding: 2px 4px 2px 10px; font-size: .9em; }',
    '.list button { border: none; background: none; cursor: pointer; font-weight: 700; padding: 2px 6px; border-radius: 10px; }',
    '.list button:focus-visible { outline: 3px solid var(--crowd-focus); }',
    '.error-text:empty { display: none; }',
    CL.INSTRUCTIONS_CSS
  ].join('\n');

  function isWordChar(c) { return /[\p{L}\p{N}_]/u.test(c); }

  // The answer carrier inside the inner crowd-form: collected like any control, answers for its host.
  class EntityValue extends CL.HostedValue {}
  CL.defineControl('crowdloop-entity-value', EntityValue);

  class CrowdEntityAnnotation extends CL.Annotator {
    static get observedAttributes() { return ['text', 'labels', 'header', 'initial-value']; }

    constructor() {
      super();
      this._entities = [];
      this._active = 0;
      this._caret = 0;
      this._anchor = null; // keyboard selection anchor (null: no selection)
    }

    connectedCallback() {
      if (!this._textEl) this._build();
    }

    _build() {
      var self = this;
      this._embedded = !!(this.parentElement && this.parentElement.closest('crowd-form'));
      var root = CL.attachStyledShadow(this, ENTITY_CSS);
      CL.slotRegions(this, ['short-instructions', 'full-instructions']);
      var panel = CL.instructionsPanel(this);
      this._header = h('p', { class: 'header', part: 'header' });
      this._labelBar = h('div', { class: 'toolbar', role: 'radiogroup', 'aria-label': CL.t('label'), part: 'labels' });
      this._textEl = h('div', { class: 'text', part: 'text', tabindex: '0', role: 'textbox', 'aria-readonly': 'true', 'aria-multiline': 'true' });
      this._hint = h('p', { class: 'hint', text: CL.t('entity.hint') });
      this._list = h('ul', { class: 'list', 'aria-label': CL.t('entity.tagged_spans'), part: 'list' });
      this._errorEl = h('div', { class: 'error-text', role: 'alert' });
      this._live = h('div', { class: 'visually-hidden', 'aria-live': 'polite' });
      // The widget's own inputs stay outside the inner crowd-form, which only holds the answer
      // carrier, the controls scripts append to its .form, and the Submit button.
      var main = h('div', { class: 'main' }, [this._header, this._labelBar, this._textEl, this._hint, this._list, this._errorEl, this._live]);
      if (!this._embedded) {
        var carrier = document.createElement('crowdloop-entity-value');
        carrier._host = this;
        carrier.hidden = true;
        main.append(h('crowd-form', { part: 'form' }, [carrier]));
      }
      root.append(h('div', { class: 'layout' }, [panel.aside, main]), panel.dialog);
      this._textEl.addEventListener('mouseup', function () { self._fromSelection(); });
      this._textEl.addEventListener('keydown', function (ev) { self._key(ev); });
      // Show the caret only for keyboard focus: re-rendering under a starting mouse selection
      // would destroy the nodes the selection is anchored in.
      this._textEl.addEventListener('focus', function () { if (self._textEl.matches(':focus-visible')) self._renderText(); });
      this._textEl.addEventListener('blur', function () { if (self._caretShown) self._renderText(); });
      this._textEl.addEventListener('click', function (ev) {
        var btn = ev.target.closest && ev.target.closest('button[data-remove]');
        if (btn) self._remove(Number(btn.getAttribute('data-remove')));
      });
      this._renderHeader();
      this._renderLabels();
      this._loadInitial();
      this._render();
    }

    attributeChangedCallback(name) {
      if (!this._textEl) return;
      if (name === 'header') this._renderHeader();
      else if (name === 'labels') { this._renderLabels(); this._render(); }
      else { if (name === 'initial-value' || name === 'text') this._loadInitial(); this._render(); }
    }

    _text() { return this.getAttribute('text') || ''; }

    _labelDefs() {
      return CL.literalAttr(this, 'labels', [], 'array').map(function (l) {
        if (typeof l === 'string') return { label: l, short: l, full: l };
        l = l || {};
        var label = String(l.label === undefined ? '' : l.label);
        return { label: label, short: String(l.shortDisplayName || label), full: String(l.fullDisplayName || l.longDisplayName || label) };
      }).filter(function (l) { return l.label; });
    }

    _def(label) {
      return this._labelDefs().filter(function (d) { return d.label === label; })[0] || { label: label, short: label, full: label };
    }

    _color(label) {
      var k = this._labelDefs().map(function (d) { return d.label; }).indexOf(label);
      return CL.PALETTE[(k < 0 ? 7 : k) % CL.PALETTE.length];
    }

    _renderHeader() {
      var header = this.getAttribute('header') || '';
      this._header.textContent = header;
      this._header.hidden = !header;
      this._textEl.setAttribute('aria-label', header || CL.t('entity.text'));
    }

    _renderLabels() {
      var self = this;
      var defs = this._labelDefs();
      if (this._active >= defs.length) this._active = 0;
      var group = CL.uid('ent');
      this._labelBar.textContent = '';
      defs.forEach(function (d, k) {
        var input = h('input', { type: 'radio', name: group, value: d.label });
        input.checked = k === self._active;
        input.addEventListener('change', function () { self._active = k; });
        self._labelBar.append(h('label', { class: 'label-opt', part: 'label' },
          [input, h('span', { class: 'swatch', style: 'background:' + self._color(d.label), 'aria-hidden': 'true' }), h('span', { text: d.full })]));
      });
    }

    _chooseLabel(k) {
      var inputs = this._labelBar.querySelectorAll('input');
      if (!inputs[k]) return;
      this._active = k;
      inputs[k].checked = true;
      this._announce(CL.t('entity.label', { label: this._labelDefs()[k].full }));
    }

    /* ---- offsets (UTF-16 inside; converted at the edges) ---- */

    _toUnits(i) { return CL.toOffsetUnits(this._text(), i); }

    _fromUnits(n) { return CL.fromOffsetUnits(this._text(), n); }

    _loadInitial() {
      var self = this;
      var len = this._text().length;
      var raw = CL.literalAttr(this, 'initial-value', [], null);
      if (raw && !Array.isArray(raw) && Array.isArray(raw.entities)) raw = raw.entities;
      this._entities = (Array.isArray(raw) ? raw : []).map(function (e) {
        return { label: String(e.label), start: self._fromUnits(Number(e.startOffset)), end: self._fromUnits(Number(e.endOffset)) };
      }).filter(function (e) { return e.start >= 0 && e.end <= len && e.start < e.end; });
      this._caret = Math.min(this._caret, len);
    }

    /* ---- creating and removing spans ---- */

    _tag(start, end) {
      var defs = this._labelDefs();
      if (!defs.length) return;
      if (start > end) { var t = start; start = end; end = t; }
      var text = this._text();
      // trim surrounding whitespace from the selection
      while (start < end && /\s/.test(text[start])) start++;
      while (end > start && /\s/.test(text[end - 1])) end--;
      if (start >= end) return;
      var label = defs[Math.min(this._active, defs.length - 1)].label;
      var same = this._entities.filter(function (e) { return e.start === start && e.end === end; })[0];
      if (same) {
        same.label = label;
      } else if (this._entities.some(function (e) { return e.start < end && start < e.end; })) {
        this._showError(CL.t('entity.overlap'));
        return;
      } else {
        this._entities.push({ label: label, start: start, end: end });
      }
      this._showError('');
      this._announce(CL.t('entity.tagged', { text: text.slice(start, end), label: this._def(label).full }));
      this._changed();
    }

    _remove(k) {
      var e = this._entities.splice(k, 1)[0];
      if (!e) return;
      this._announce(CL.t('entity.removed', { label: this._def(e.label).full, text: this._text().slice(e.start, e.end) }));
      this._changed();
      this._textEl.focus();
    }

    _changed() {
      this._sort();
      this._render();
      this.dispatchEvent(new Event('input', { bubbles: true, composed: true }));
      CL.fireChange(this);
    }

    _sort() { this._entities.sort(function (a, b) { return a.start - b.start || a.end - b.end; }); }

    // Mouse selection inside the text -> offsets.
    _fromSelection() {
      this._keyboard = false;
      var sel = this.shadowRoot.getSelection ? this.shadowRoot.getSelection() : document.getSelection();
      if (!sel || sel.rangeCount === 0 || sel.isCollapsed) return;
      var range = sel.getRangeAt(0);
      var a = this._offsetOf(range.startContainer, range.startOffset);
      var b = this._offsetOf(range.endContainer, range.endOffset);
      if (a === null || b === null || a === b) return;
      sel.removeAllRanges();
      this._anchor = null;
      this._caret = Math.max(a, b);
      this._tag(a, b);
    }

    _offsetOf(node, offset) {
      if (!this._textEl.contains(node)) return null;
      var el = node.nodeType === 3 ? node.parentElement : node;
      var seg = el.closest && el.closest('[data-start]');
      if (seg && node.nodeType === 3) return Number(seg.getAttribute('data-start')) + offset;
      if (node === this._textEl || (el && !seg)) {
        // offset counts child nodes: use the nearest segment before it
        var kids = Array.prototype.slice.call((seg || el).childNodes, 0, offset);
        for (var k = kids.length - 1; k >= 0; k--) {
          var s = kids[k].nodeType === 1 && (kids[k].matches('[data-start]') ? kids[k] : kids[k].querySelector && kids[k].querySelector('[data-start]:last-of-type'));
          if (s) return Number(s.getAttribute('data-end'));
        }
        return 0;
      }
      return seg ? Number(seg.getAttribute(offset === 0 ? 'data-start' : 'data-end')) : null;
    }

    /* ---- keyboard ---- */

    _key(ev) {
      if (ev.target !== this._textEl) return;
      this._keyboard = true;
      var text = this._text();
      var len = text.length;
      var move = null;
      if (ev.key === 'ArrowLeft' || ev.key === 'ArrowRight') {
        var dir = ev.key === 'ArrowLeft' ? -1 : 1;
        move = this._caret;
        if (ev.ctrlKey || ev.altKey) {
          if (dir < 0) { while (move > 0 && !isWordChar(text[move - 1])) move--; while (move > 0 && isWordChar(text[move - 1])) move--; }
          else { while (move < len && !isWordChar(text[move])) move++; while (move < len && isWordChar(text[move])) move++; }
        } else {
          move += dir;
          // never stop inside a surrogate pair
          if (move > 0 && move < len && /[\udc00-\udfff]/.test(text[move]) && /[\ud800-\udbff]/.test(text[move - 1])) move += dir;
        }
      } else if (ev.key === 'Home') move = 0;
      else if (ev.key === 'End') move = len;
      if (move !== null) {
        ev.preventDefault();
        move = Math.max(0, Math.min(len, move));
        if (ev.shiftKey) { if (this._anchor === null) this._anchor = this._caret; }
        else this._anchor = null;
        this._caret = move;
        this._renderText();
        if (this._anchor !== null && this._anchor !== this._caret) {
          var a = Math.min(this._anchor, this._caret), b = Math.max(this._anchor, this._caret);
          this._announce(CL.t('entity.selected', { text: text.slice(a, b) }));
        }
        return;
      }
      if (ev.key === 'Enter' && !ev.ctrlKey && !ev.metaKey) {
        ev.preventDefault();
        if (this._anchor !== null && this._anchor !== this._caret) {
          var s = this._anchor, e = this._caret;
          this._anchor = null;
          this._tag(s, e);
        }
      } else if (ev.key === 'Escape') {
        this._anchor = null;
        this._renderText();
      } else if (ev.key === 'Delete' || ev.key === 'Backspace') {
        var caret = this._caret;
        var k = this._entities.findIndex(function (en) { return en.start <= caret && caret <= en.end; });
        if (k >= 0) { ev.preventDefault(); this._remove(k); }
      } else if (/^[1-9]$/.test(ev.key) && !ev.ctrlKey && !ev.metaKey) {
        ev.preventDefault();
        this._chooseLabel(Number(ev.key) - 1);
      }
    }

    /* ---- rendering ---- */

    _render() {
      this._renderText();
      this._renderList();
    }

    _renderText() {
      var self = this;
      var text = this._text();
      var focused = this.shadowRoot.activeElement === this._textEl && (this._keyboard || this._textEl.matches(':focus-visible'));
      this._caretShown = focused;
      var selA = this._anchor === null ? -1 : Math.min(this._anchor, this._caret);
      var selB = this._anchor === null ? -1 : Math.max(this._anchor, this._caret);
      var cuts = new Set([0, text.length]);
      this._entities.forEach(function (e) { cuts.add(e.start); cuts.add(e.end); });
      if (selA >= 0) { cuts.add(selA); cuts.add(selB); }
      if (focused) cuts.add(this._caret);
      var points = Array.from(cuts).sort(function (a, b) { return a - b; });
      var frag = document.createDocumentFragment();
      var caretDone = false;
      for (var k = 0; k < points.length; k++) {
        var a = points[k];
        if (focused && !caretDone && a === this._caret && selA < 0) {
          frag.append(h('span', { class: 'caret', 'aria-hidden': 'true', 'data-ui': '' }));
          caretDone = true;
        }
        if (k === points.length - 1) break;
        var b = points[k + 1];
        var ent = this._entities.findIndex(function (e) { return e.start <= a && b <= e.end; });
        var seg = h('span', { 'data-start': a, 'data-end': b, text: text.slice(a, b) });
        if (ent >= 0) {
          var e = this._entities[ent];
          seg.className = 'ent' + (a === e.start ? ' first' : '') + (b === e.end ? ' last' : '');
          seg.style.background = this._color(e.label) + '40';
          seg.style.boxShadow = 'inset 0 -2px 0 ' + this._color(e.label);
        }
        if (selA >= 0 && a >= selA && b <= selB) seg.classList.add('kbsel');
        frag.append(seg);
        if (ent >= 0 && b === this._entities[ent].end) {
          var en = this._entities[ent];
          var def = self._def(en.label);
          frag.append(h('span', { class: 'tag', 'data-ui': '', style: 'background:' + this._color(en.label), title: def.full }, [
            def.short,
            h('button', { type: 'button', tabindex: '-1', 'data-remove': ent, 'aria-label': CL.t('entity.remove', { label: def.full, text: text.slice(en.start, en.end) }), text: '\u00d7' })
          ]));
        }
      }
      this._textEl.textContent = '';
      this._textEl.append(frag);
    }

    _renderList() {
      var self = this;
      var text = this._text();
      this._list.textContent = '';
      this._entities.forEach(function (e, k) {
        var def = self._def(e.label);
        var name = def.full + ': ' + text.slice(e.start, e.end);
        var del = h('button', { type: 'button', 'aria-label': CL.t('remove', { name: name }), text: '\u00d7' });
        del.addEventListener('click', function () { self._remove(k); });
        self._list.append(h('li', {}, [h('span', { class: 'swatch', style: 'background:' + self._color(e.label), 'aria-hidden': 'true' }), h('span', { text: name }), del]));
      });
    }


    /* ---- form-control interface ---- */

    _crowdValue() {
      var self = this;
      return { entities: this._entities.map(function (e) { return { label: e.label, startOffset: self._toUnits(e.start), endOffset: self._toUnits(e.end) }; }) };
    }

    _crowdReset() {
      this._loadInitial();
      this._anchor = null;
      this._render();
    }

    _crowdFocus() { this._textEl.focus(); }
  }

  CL.defineControl('crowd-entity-annotation', CrowdEntityAnnotation);
})(window.CrowdLoop);
