/* crowd-question-answer-generation (V2): the worker writes question/answer pairs about a passage,
 * tags each question and marks the passage text that supports it.
 *
 * Answer (AWS does not document it; provisional shape from the catalog, see CL.CHOICES.qa*):
 *   {name: {questionAnswerPairs: [{question, answer, tag, references: [{startOffset, endOffset}]}]}}
 * Offsets use CL.CHOICES.entityOffsetUnits, endOffset = first character after the span. A pair
 * about the whole passage gets one reference covering all of it (CHOICES.qaWholePassageAsReference).
 *
 * Placement: inside a crowd-form it answers through that form. With crowd-form-element-id="ID" it
 * answers through that crowd-form (which may be hidden) and shows its own Submit button. Alone, it
 * holds its own crowd-form in its shadow root. Instructions: a short-instructions child or the
 * `instructions` attribute (plain text).
 *
 * References: select text in the passage and press "Add selected text", or type a phrase from the
 * passage in the search field and press Enter / "Find and add" (keyboard path). */
(function (CL) {
  'use strict';
  if (CL.copies > 1) return; // a second copy of the bundle (00-core.js)
  var h = CL.h;

  var QA_CSS = [
    ':host { display: block; line-height: 1.4; }',
    CL.layoutCss({ narrow: 760 }),
    '.attr-instructions { white-space: pre-line; margin: 0; }',
    '.work { display: grid; grid-template-columns: minmax(0, 1fr) minmax(0, 1fr); gap: 20px; align-items: start; }',
    '@media (max-width: 960px) { .work { grid-template-columns: minmax(0, 1fr); } }',
    '.passage-box { position: sticky; top: 8px; }',
    '.passage-box h2, .pairs-head h2 { font-size: 1rem; margin: 0 0 8px; }',
    '.passage { white-space: pre-wrap; overflow-wrap: anywhere; line-height: 1.9; border: 1px solid #d5dbdb; border-radius: 8px;',
    '  padding: 10px 14px; background: #fff; max-height: 70vh; overflow: auto; }',
    '.passage mark { background: none; color: inherit; border-radius: 3px; padding: 1px 0; }',
    '.passage mark.active { outline: 2px solid #111; }',
    '.hint { color: var(--crowd-muted); font-size: .85em; margin: 6px 0 0; }',
    '.pairs { display: flex; flex-direction: column; gap: 14px; }',
    '.pair { border: 1px solid #d5dbdb; border-left: 6px solid var(--pair-color, #888); border-radius: 8px; padding: 10px 14px; background: #fff; }',
    '.pair.current { box-shadow: 0 0 0 2px var(--crowd-selected-bg); }',
    '.pair[aria-invalid="true"] { border-color: var(--crowd-error); border-left-color: var(--pair-color, #888); }',
    '.pair-head { display: flex; align-items: center; justify-content: space-between; gap: 8px; margin-bottom: 6px; }',
    '.pair-head h3 { font-size: .95rem; margin: 0; }',
    '.field { display: flex; flex-direction: column; gap: 3px; margin: 8px 0; }',
    '.field > label, .field > .label { font-size: .9em; font-weight: 600; color: var(--crowd-muted); }',
    'textarea, input[type=text], select { font: inherit; width: 100%; padding: 6px 9px; border: 1px solid var(--crowd-border); border-radius: 6px; background: #fff; }',
    'textarea { resize: vertical; min-height: 2.6em; }',
    'textarea:focus-visible, input:focus-visible, select:focus-visible { outline: 3px solid var(--crowd-focus); outline-offset: 1px; }',
    '[aria-invalid="true"] { border-color: var(--crowd-error); }',
    '.count { font-size: .8em; color: var(--crowd-muted); align-self: flex-end; }',
    '.count.bad { color: var(--crowd-error); font-weight: 600; }',
    '.refs { list-style: none; padding: 0; margin: 4px 0; display: flex; flex-wrap: wrap; gap: 6px; }',
    '.refs:empty { display: none; }',
    '.refs li { display: inline-flex; align-items: center; gap: 4px; border: 1px solid #d5dbdb; border-radius: 14px; padding: 2px 4px 2px 10px; font-size: .9em; max-width: 100%; }',
    '.refs li span { overflow: hidden; text-overflow: ellipsis; white-space: nowrap; max-width: 28ch; }',
    '.refs button { border: none; background: none; cursor: pointer; font-weight: 700; padding: 2px 6px; border-radius: 10px; }',
    '.refs button:focus-visible { outline: 3px solid var(--crowd-focus); }',
    '.row { display: flex; flex-wrap: wrap; gap: 6px; align-items: center; }',
    '.row input[type=text] { flex: 1 1 160px; width: auto; }',
    '.btn.small { min-height: 30px; padding: 3px 12px; font-size: .9em; }',
    '.whole { display: inline-flex; gap: 6px; align-items: center; margin-top: 4px; }',
    '.whole input { width: 18px; height: 18px; accent-color: var(--crowd-accent); }',
    '.pairs-foot { display: flex; flex-wrap: wrap; gap: 10px; align-items: center; margin-top: 12px; }',
    '.status { color: var(--crowd-muted); font-size: .9em; }',
    '.error-text:empty { display: none; }',
    '.own-submit { display: flex; justify-content: flex-end; margin-top: 16px; }',
    CL.INSTRUCTIONS_CSS
  ].join('\n');

  var words = CL.countWords;
  var range = CL.wordRange;

  // Answer carrier placed in the element's own crowd-form (standalone use).
  class QaValue extends CL.HostedValue {}
  CL.defineControl('crowdloop-qa-value', QaValue);

  class CrowdQuestionAnswerGeneration extends CL.CrowdControl {
    static get observedAttributes() {
      return ['text', 'question-tags', 'allow-custom-question-tags', 'min-questions', 'max-questions',
        'question-min-words', 'question-max-words', 'answer-min-words', 'answer-max-words', 'instructions'];
    }

    constructor() {
      super();
      this._pairs = [];
      this._current = 0;
      this._nextId = 1;
    }

    connectedCallback() {
      if (!this._pairsEl) this._build();
    }

    /* ---- settings ---- */

    _text() { return this.getAttribute('text') || ''; }
    _min(name, fallback) { return Math.max(0, Math.floor(CL.numAttr(this, name, fallback))); }
    _max(name) {
      var v = CL.numAttr(this, name, null);
      return v === null ? null : Math.max(0, Math.floor(v));
    }
    _tags() { return CL.stringListAttr(this, 'question-tags'); }
    _customTags() { return CL.boolAttr(this, 'allow-custom-question-tags', true); }
    _tagField() { return this._tags().length > 0 || this._customTags(); }
    _minPairs() { return Math.max(1, this._min('min-questions', 1)); }
    _maxPairs() { var m = this._max('max-questions'); return m === null ? null : Math.max(m, this._minPairs()); }

    /* ---- building ---- */

    _build() {
      var self = this;
      this._outer = this.parentElement ? this.parentElement.closest('crowd-form') : null;
      var root = CL.attachStyledShadow(this, QA_CSS);
      CL.slotRegions(this, ['short-instructions', 'full-instructions']);
      var panel = CL.instructionsPanel(this);
      this._panel = panel;
      this._attrInstructions = h('p', { class: 'attr-instructions', hidden: true });
      panel.aside.insertBefore(this._attrInstructions, panel.aside.children[2] || null);

      this._passage = h('div', { class: 'passage', part: 'passage', tabindex: '0', role: 'document', 'aria-label': CL.t('qa.passage') });
      this._passage.addEventListener('mouseup', function () { self._rememberSelection(); });
      this._passage.addEventListener('keyup', function () { self._rememberSelection(); });
      var passageBox = h('section', { class: 'passage-box', 'aria-label': CL.t('qa.passage') }, [
        h('h2', { text: CL.t('qa.passage') }), this._passage,
        h('p', { class: 'hint', text: CL.t('qa.passage_hint') })]);

      this._pairsEl = h('div', { class: 'pairs', part: 'pairs' });
      this._addBtn = h('button', { type: 'button', class: 'btn', part: 'add-pair', text: CL.t('qa.add_pair') });
      this._addBtn.addEventListener('click', function () { self._addPair(true); });
      this._status = h('span', { class: 'status', 'aria-live': 'polite' });
      this._errorEl = h('div', { class: 'error-text', role: 'alert', part: 'error' });
      var pairsBox = h('section', { class: 'pairs-box', 'aria-label': CL.t('qa.pairs') }, [
        h('div', { class: 'pairs-head' }, [h('h2', { text: CL.t('qa.pairs') })]),
        this._pairsEl, h('div', { class: 'pairs-foot' }, [this._addBtn, this._status]), this._errorEl]);

      var main = h('div', { class: 'main' }, [h('div', { class: 'work' }, [passageBox, pairsBox])]);
      var linkedId = this.getAttribute('crowd-form-element-id');
      if (!this._outer && linkedId) {
        // Answers through the named crowd-form (collected by its id); show a Submit button here.
        var submit = h('button', { type: 'button', class: 'btn primary', text: CL.t('form.submit') });
        submit.addEventListener('click', function () {
          var form = document.getElementById(linkedId);
          if (form && typeof form.requestSubmit === 'function') form.requestSubmit();
        });
        main.append(h('div', { class: 'own-submit' }, [submit]));
      } else if (!this._outer) {
        var carrier = document.createElement('crowdloop-qa-value');
        carrier._host = this;
        carrier.hidden = true;
        main.append(h('crowd-form', { part: 'form' }, [carrier]));
      }
      root.append(h('div', { class: 'layout' }, [panel.aside, main]), panel.dialog);
      this._sel = null;
      var self2 = this;
      panel.aside.addEventListener('slotchange', function () { if (self2.getAttribute('instructions')) panel.aside.hidden = false; });
      this._syncInstructions();
      this._reset();
    }

    attributeChangedCallback(name) {
      if (!this._pairsEl) return;
      if (name === 'instructions') { this._syncInstructions(); return; }
      if (name === 'text') this._pairs.forEach(function (p) { p.refs = []; });
      while (this._pairs.length < this._minPairs()) this._pairs.push(this._newPair());
      this._renderPairs();
      this._renderPassage();
    }

    _syncInstructions() {
      var text = this.getAttribute('instructions');
      this._attrInstructions.textContent = text ? text.replace(/^[ \t]+/gm, '') : '';
      this._attrInstructions.hidden = !text;
      this._panel.update();
      if (text) this._panel.aside.hidden = false;
    }

    _newPair() {
      return { id: this._nextId++, question: '', answer: '', tag: '', custom: false, customTag: '', refs: [], whole: false };
    }

    _reset() {
      this._pairs = [];
      for (var k = 0; k < this._minPairs(); k++) this._pairs.push(this._newPair());
      this._current = 0;
      this._renderPairs();
      this._renderPassage();
    }

    _color(k) { return CL.PALETTE[k % CL.PALETTE.length]; }

    _renderPassage() {
      var text = this._text();
      var self = this;
      // boundaries of every reference; each piece is coloured by the first pair covering it
      var cuts = [0, text.length];
      this._pairs.forEach(function (p) { p.refs.forEach(function (r) { cuts.push(r.start, r.end); }); });
      cuts = cuts.filter(function (c, i, a) { return a.indexOf(c) === i; }).sort(function (a, b) { return a - b; });
      this._passage.textContent = '';
      for (var i = 0; i + 1 < cuts.length; i++) {
        var a = cuts[i], b = cuts[i + 1];
        var owner = -1;
        for (var k = 0; k < self._pairs.length && owner < 0; k++) {
          if (self._pairs[k].refs.some(function (r) { return r.start <= a && b <= r.end; })) owner = k;
        }
        var piece = text.slice(a, b);
        if (owner < 0) {
          this._passage.append(h('span', { 'data-start': String(a), text: piece }));
        } else {
          var c = this._color(owner);
          this._passage.append(h('mark', { 'data-start': String(a), class: owner === this._current ? 'active' : null,
            style: 'background:' + c + '33; box-shadow: inset 0 -3px 0 ' + c, title: CL.t('qa.pair', { n: owner + 1 }), text: piece }));
        }
      }
    }

    _renderPairs() {
      var self = this;
      var focusId = null;
      var active = this.shadowRoot.activeElement;
      if (active && active.id) focusId = active.id;
      this._pairsEl.textContent = '';
      this._pairs.forEach(function (p, k) { self._pairsEl.append(self._pairCard(p, k)); });
      var max = this._maxPairs();
      this._addBtn.disabled = max !== null && this._pairs.length >= max;
      this._status.textContent = CL.tn('qa.count', this._pairs.length) +
        ' (' + (max === null ? CL.t('qa.at_least', { n: this._minPairs() }) : this._minPairs() + '\u2013' + max) + ')';
      if (focusId) {
        var again = this.shadowRoot.getElementById(focusId);
        if (again) again.focus();
      }
    }

    _pairCard(p, k) {
      var self = this;
      var base = 'qa' + p.id;
      var qMin = this._min('question-min-words', 1), qMax = this._max('question-max-words');
      var aMin = this._min('answer-min-words', 1), aMax = this._max('answer-max-words');
      var card = h('article', { class: 'pair' + (k === this._current ? ' current' : ''), part: 'pair', 'data-pair': String(k),
        style: '--pair-color:' + this._color(k), 'aria-labelledby': base + '-h' });
      card.addEventListener('focusin', function () {
        if (self._current !== k) {
          self._current = k;
          self._pairsEl.querySelectorAll('.pair').forEach(function (c, i) { c.classList.toggle('current', i === k); });
          self._renderPassage();
        }
      });
      var remove = h('button', { type: 'button', class: 'btn small', text: CL.t('qa.remove'), 'aria-label': CL.t('qa.remove_pair', { n: k + 1 }) });
      remove.disabled = this._pairs.length <= this._minPairs();
      remove.addEventListener('click', function () { self._removePair(k); });
      card.append(h('div', { class: 'pair-head' }, [h('h3', { id: base + '-h', text: 'Q&A pair ' + (k + 1) }), remove]));

      function textField(key, label, min, max) {
        var id = base + '-' + key;
        var area = h('textarea', { id: id, rows: '2', 'data-field': key });
        area.value = p[key];
        var count = h('span', { class: 'count', id: id + '-count' });
        area.setAttribute('aria-describedby', count.id);
        var update = function () {
          var n = words(area.value);
          count.textContent = CL.tn('qa.words', n) + ' (' + range(min, max) + ')';
          count.classList.toggle('bad', n > 0 && (n < min || (max !== null && n > max)));
        };
        area.addEventListener('input', function () {
          p[key] = area.value;
          area.removeAttribute('aria-invalid');
          update();
          self._changed(false);
        });
        update();
        return h('div', { class: 'field' }, [h('label', { for: id, text: label }), area, count]);
      }
      card.append(textField('question', CL.t('qa.question'), qMin, qMax));
      card.append(textField('answer', CL.t('qa.answer'), aMin, aMax));

      if (this._tagField()) {
        var tags = this._tags();
        var selId = base + '-tag';
        var select = h('select', { id: selId, 'data-field': 'tag' });
        select.append(h('option', { value: '', text: CL.t('qa.choose_tag') }));
        tags.forEach(function (t) { select.append(h('option', { value: 't:' + t, text: t })); });
        if (this._customTags()) select.append(h('option', { value: 'custom', text: CL.t('qa.custom_tag') }));
        select.value = p.custom ? 'custom' : (p.tag ? 't:' + p.tag : '');
        var custom = h('input', { type: 'text', id: base + '-custom', 'data-field': 'custom-tag', 'aria-label': CL.t('qa.custom_tag_for', { n: k + 1 }),
          placeholder: CL.t('qa.type_tag'), hidden: !p.custom });
        custom.value = p.customTag;
        select.addEventListener('change', function () {
          p.custom = select.value === 'custom';
          p.tag = select.value.slice(0, 2) === 't:' ? select.value.slice(2) : '';
          custom.hidden = !p.custom;
          select.removeAttribute('aria-invalid');
          if (p.custom) custom.focus();
          self._changed(false);
        });
        custom.addEventListener('input', function () {
          p.customTag = custom.value;
          custom.removeAttribute('aria-invalid');
          self._changed(false);
        });
        card.append(h('div', { class: 'field' }, [h('label', { for: selId, text: CL.t('qa.question_tag') }), select, custom]));
      }

      // references
      var refList = h('ul', { class: 'refs', 'aria-label': CL.t('qa.references_of', { n: k + 1 }) });
      var text = this._text();
      p.refs.forEach(function (r, i) {
        var del = h('button', { type: 'button', 'aria-label': CL.t('qa.remove_reference', { text: text.slice(r.start, r.end) }), text: '\u00d7' });
        del.addEventListener('click', function () { p.refs.splice(i, 1); self._changed(true); });
        refList.append(h('li', {}, [h('span', { text: '\u201c' + text.slice(r.start, r.end) + '\u201d', title: text.slice(r.start, r.end) }), del]));
      });
      var addSel = h('button', { type: 'button', class: 'btn small', text: CL.t('qa.add_selection'), 'data-action': 'add-selection' });
      addSel.addEventListener('click', function () { self._addSelection(k); });
      var findId = base + '-find';
      var find = h('input', { type: 'text', id: findId, 'data-field': 'find', 'aria-label': CL.t('qa.find_for', { n: k + 1 }),
        placeholder: CL.t('qa.find_placeholder') });
      var findBtn = h('button', { type: 'button', class: 'btn small', text: CL.t('qa.find') });
      var doFind = function () {
        if (self._addFound(k, find.value)) { find.value = ''; }
      };
      findBtn.addEventListener('click', doFind);
      find.addEventListener('keydown', function (ev) { if (ev.key === 'Enter') { ev.preventDefault(); doFind(); } });
      var whole = h('input', { type: 'checkbox', id: base + '-whole', 'data-field': 'whole' });
      whole.checked = p.whole;
      whole.addEventListener('change', function () { p.whole = whole.checked; self._changed(true); });
      var disabledRefs = p.whole;
      addSel.disabled = find.disabled = findBtn.disabled = disabledRefs;
      card.append(h('div', { class: 'field' }, [h('span', { class: 'label', text: CL.t('qa.supporting') }), refList,
        h('div', { class: 'row' }, [addSel, find, findBtn]),
        h('label', { class: 'whole', for: whole.id }, [whole, h('span', { text: CL.t('qa.whole') })])]));
      card.append(h('div', { class: 'error-text', 'data-error': '' }));
      return card;
    }

    _addPair(focus) {
      var max = this._maxPairs();
      if (max !== null && this._pairs.length >= max) return;
      this._pairs.push(this._newPair());
      this._current = this._pairs.length - 1;
      this._changed(true);
      if (focus) {
        var area = this._pairsEl.querySelector('[data-pair="' + this._current + '"] textarea');
        if (area) area.focus();
      }
    }

    _removePair(k) {
      if (this._pairs.length <= this._minPairs()) return;
      this._pairs.splice(k, 1);
      this._current = Math.min(this._current, this._pairs.length - 1);
      this._changed(true);
      var btn = this._pairsEl.querySelector('[data-pair="' + this._current + '"] textarea');
      (btn || this._addBtn).focus();
    }

    /* ---- references ---- */

    _rememberSelection() {
      var sel = this.shadowRoot.getSelection ? this.shadowRoot.getSelection() : document.getSelection();
      if (!sel || sel.rangeCount === 0 || sel.isCollapsed) return;
      var r = sel.getRangeAt(0);
      var a = this._offsetOf(r.startContainer, r.startOffset);
      var b = this._offsetOf(r.endContainer, r.endOffset);
      if (a === null || b === null || a === b) return;
      this._sel = { start: Math.min(a, b), end: Math.max(a, b) };
    }

    _offsetOf(node, offset) {
      if (!this._passage.contains(node)) return null;
      if (node.nodeType === 3) {
        var piece = node.parentElement.closest('[data-start]');
        return piece ? Number(piece.getAttribute('data-start')) + offset : null;
      }
      if (node === this._passage) {
        var kids = this._passage.childNodes;
        if (offset >= kids.length) return this._text().length;
        return Number(kids[offset].getAttribute('data-start'));
      }
      var seg = node.closest && node.closest('[data-start]');
      if (!seg) return null;
      return Number(seg.getAttribute('data-start')) + (offset > 0 ? seg.textContent.length : 0);
    }

    _addSelection(k) {
      this._rememberSelection();
      if (!this._sel) {
        this._pairError(k, CL.t('qa.select_first'));
        return;
      }
      var r = this._sel;
      this._sel = null;
      var sel = this.shadowRoot.getSelection ? this.shadowRoot.getSelection() : document.getSelection();
      if (sel) sel.removeAllRanges();
      this._addRef(k, r.start, r.end);
    }

    _addFound(k, phrase) {
      var q = String(phrase || '').trim();
      if (!q) { this._pairError(k, CL.t('qa.type_to_find')); return false; }
      var text = this._text();
      var at = text.indexOf(q);
      if (at < 0) at = text.toLowerCase().indexOf(q.toLowerCase());
      if (at < 0) { this._pairError(k, CL.t('qa.not_in_passage', { text: q })); return false; }
      // prefer an occurrence not yet referenced by this pair
      var p = this._pairs[k];
      var from = at;
      while (p.refs.some(function (r) { return r.start === from; })) {
        var next = text.toLowerCase().indexOf(q.toLowerCase(), from + 1);
        if (next < 0) break;
        from = next;
      }
      this._addRef(k, from, from + q.length);
      return true;
    }

    _addRef(k, start, end) {
      var text = this._text();
      while (start < end && /\s/.test(text[start])) start++;
      while (end > start && /\s/.test(text[end - 1])) end--;
      if (start >= end) return;
      var p = this._pairs[k];
      if (!p) return;
      // merge with overlapping references of the same pair
      var merged = { start: start, end: end };
      p.refs = p.refs.filter(function (r) {
        if (r.start <= merged.end && merged.start <= r.end) {
          merged.start = Math.min(merged.start, r.start);
          merged.end = Math.max(merged.end, r.end);
          return false;
        }
        return true;
      });
      p.refs.push(merged);
      p.refs.sort(function (a, b) { return a.start - b.start; });
      this._current = k;
      this._changed(true);
    }

    _pairError(k, message) {
      var card = this._pairsEl.querySelector('[data-pair="' + k + '"]');
      var err = card && card.querySelector('[data-error]');
      if (err) err.textContent = message;
    }

    _changed(rerender) {
      this._errorEl.textContent = '';
      if (rerender) {
        this._renderPairs();
        this._renderPassage();
      } else {
        this._pairsEl.querySelectorAll('[data-error]').forEach(function (e) { e.textContent = ''; });
        this._pairsEl.querySelectorAll('.pair[aria-invalid]').forEach(function (e) { e.removeAttribute('aria-invalid'); });
      }
      this.dispatchEvent(new Event('input', { bubbles: true, composed: true }));
      CL.fireChange(this);
    }

    /* ---- answer ---- */

    _units(i) { return CL.toOffsetUnits(this._text(), i); }

    _crowdValue() {
      var self = this;
      var len = this._text().length;
      return {
        questionAnswerPairs: this._pairs.map(function (p) {
          var refs = p.whole ? (CL.CHOICES.qaWholePassageAsReference ? [{ start: 0, end: len }] : []) : p.refs;
          return {
            question: p.question.trim(),
            answer: p.answer.trim(),
            tag: p.custom ? p.customTag.trim() : p.tag,
            references: refs.map(function (r) { return { startOffset: self._units(r.start), endOffset: self._units(r.end) }; })
          };
        })
      };
    }

    // [{pair, field, message}] for every problem, in order.
    _problems() {
      var out = [];
      var qMin = this._min('question-min-words', 1), qMax = this._max('question-max-words');
      var aMin = this._min('answer-min-words', 1), aMax = this._max('answer-max-words');
      var tagField = this._tagField();
      var min = this._minPairs();
      if (this._pairs.length < min) out.push({ pair: -1, field: null, message: CL.t('qa.min_pairs', { n: min }) });
      this._pairs.forEach(function (p, k) {
        var n = words(p.question);
        if (n < qMin || (qMax !== null && n > qMax)) out.push({ pair: k, field: 'question', message: CL.t('qa.question_words', { range: range(qMin, qMax), n: n }) });
        n = words(p.answer);
        if (n < aMin || (aMax !== null && n > aMax)) out.push({ pair: k, field: 'answer', message: CL.t('qa.answer_words', { range: range(aMin, aMax), n: n }) });
        if (tagField && CL.CHOICES.qaTagRequired) {
          if (p.custom && !p.customTag.trim()) out.push({ pair: k, field: 'custom-tag', message: CL.t('qa.type_custom_tag') });
          else if (!p.custom && !p.tag) out.push({ pair: k, field: 'tag', message: CL.t('qa.choose_question_tag') });
        }
        if (CL.CHOICES.qaReferenceRequired && !p.whole && p.refs.length === 0) {
          out.push({ pair: k, field: 'find', message: CL.t('qa.need_reference') });
        }
      });
      return out;
    }

    _crowdName() { return this.getAttribute('name') || CL.CHOICES.qaUnnamedKey; }

    _crowdValidate() {
      var self = this;
      var problems = this._problems();
      this._pairsEl.querySelectorAll('[data-error]').forEach(function (e) { e.textContent = ''; });
      this._pairsEl.querySelectorAll('[aria-invalid]').forEach(function (e) { e.removeAttribute('aria-invalid'); });
      problems.forEach(function (pr) {
        if (pr.pair < 0) return;
        var card = self._pairsEl.querySelector('[data-pair="' + pr.pair + '"]');
        if (!card) return;
        card.setAttribute('aria-invalid', 'true');
        var err = card.querySelector('[data-error]');
        if (err && !err.textContent) err.textContent = pr.message.charAt(0).toUpperCase() + pr.message.slice(1);
        var field = card.querySelector('[data-field="' + pr.field + '"]');
        if (field) field.setAttribute('aria-invalid', 'true');
      });
      this._firstProblem = problems[0] || null;
      if (!problems.length) { this._errorEl.textContent = ''; return ''; }
      var first = problems[0];
      var message = first.pair < 0 ? first.message : CL.t('qa.pair_problem', { n: first.pair + 1, message: first.message });
      this._errorEl.textContent = message + (problems.length > 1 ? CL.t('qa.problems', { n: problems.length }) : '');
      return message;
    }

    _crowdReset() { this._reset(); this._errorEl.textContent = ''; }

    _crowdFocus() {
      var pr = this._firstProblem;
      var target = null;
      if (pr && pr.pair >= 0) {
        var card = this._pairsEl.querySelector('[data-pair="' + pr.pair + '"]');
        target = card && (card.querySelector('[data-field="' + pr.field + '"]:not([disabled]):not([hidden])') || card.querySelector('textarea'));
      } else if (pr) {
        target = this._addBtn;
      }
      target = target || this._pairsEl.querySelector('textarea');
      if (target) { target.focus(); target.scrollIntoView({ block: 'nearest' }); }
    }

    _crowdLabel() { return CL.t('qa.pairs'); }
  }

  CL.defineControl('crowd-question-answer-generation', CrowdQuestionAnswerGeneration);
})(window.CrowdLoop);
