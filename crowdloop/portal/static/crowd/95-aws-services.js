/* The A2I built-in task types: crowd-rekognition-detect-moderation-labels and
 * crowd-textract-analyze-document. Neither has a name: the answer key is the service path.
 *
 *   {"AWS/Rekognition/DetectModerationLabels/Image/V3": {"moderationLabels": [<chosen categories>]}}
 *     chosen categories exactly as given in `categories` (objects {name, parentName} or strings);
 *     "None" => [].
 *   {"AWS/Textract/AnalyzeDocument/Forms/V1": {"blocks": [<Textract blocks>]}}
 *     the `initial-value` blocks with the worker's review applied (CL.textract.reviewedBlocks in
 *     08-textract.js; encoding: CL.CHOICES.textract*).
 *     Block keys keep the case they came in (Textract API "BlockType" or A2I "blockType"); blocks we
 *     add follow the case of the first input block. */
(function (CL) {
  'use strict';
  if (CL.copies > 1) return; // a second copy of the bundle (00-core.js)
  var h = CL.h;

  var REKOGNITION_KEY = 'AWS/Rekognition/DetectModerationLabels/Image/V3';
  var TEXTRACT_KEY = 'AWS/Textract/AnalyzeDocument/Forms/V1';

  var SERVICE_CSS = [
    CL.IMAGE_VIEW_CSS,
    '.target { flex: 1 1 420px; }',
    '.group-name { font-size: .8em; text-transform: uppercase; letter-spacing: .04em; color: var(--crowd-muted); margin: 10px 0 2px; }',
    '.option .parent { display: block; font-size: .8em; color: var(--crowd-muted); }'
  ].join('\n');

  /* ------------------------------ moderation labels -------------------------------------- */

  class CrowdRekognitionDetectModerationLabels extends CL.CrowdControl {
    static get observedAttributes() { return ['src', 'header', 'categories', 'exclusion-category']; }

    connectedCallback() {
      if (!this._picker) this._build();
    }

    _build() {
      var self = this;
      var root = CL.attachStyledShadow(this, CL.CLASSIFIER_CSS + '\n' + SERVICE_CSS);
      CL.slotRegions(this, ['short-instructions', 'full-instructions']);
      var panel = CL.instructionsPanel(this);
      var headerId = CL.uid('hdr');
      this._header = h('p', { class: 'header', id: headerId, part: 'header' });
      this._picker = h('div', { class: 'picker', role: 'group', 'aria-labelledby': headerId, part: 'picker' });
      this._none = h('div', { class: 'exclusion' });
      this._errorEl = h('div', { class: 'error-text', role: 'alert', part: 'error' });
      this._wrapper = h('div', { class: 'category-picker-wrapper', part: 'categories' }, [this._header, this._picker, this._none, this._errorEl]);
      this._view = new CL.ImageView({ alt: CL.t('aws.image') });
      this._view.setSrc(this.getAttribute('src'));
      root.append(h('div', { class: 'layout' }, [panel.aside,
        h('div', { class: 'annotation-area', part: 'annotation-area' }, [h('div', { class: 'target', part: 'target' }, [this._view.stage]), this._wrapper])]),
      panel.dialog);
      this._wrapper.addEventListener('change', function (ev) { self._onPick(ev); });
      this._render();
    }

    attributeChangedCallback(name) {
      if (!this._picker) return;
      if (name === 'src') this._view.setSrc(this.getAttribute('src'));
      else this._render();
    }

    _categories() {
      return CL.literalAttr(this, 'categories', [], 'array').filter(function (c) {
        return typeof c === 'string' ? c !== '' : !!(c && typeof c === 'object' && c.name !== undefined && c.name !== '');
      });
    }

    _noneText() {
      if (this.hasAttribute('exclusion-category')) {
        var ex = CL.literalAttr(this, 'exclusion-category', null);
        if (ex && typeof ex === 'object' && ex.text !== undefined) return String(ex.text);
        if (typeof ex === 'string' && ex) return ex;
        return 'None';
      }
      return CL.CHOICES.moderationAlwaysNone ? 'None' : null;
    }

    _render() {
      var self = this;
      var keep = this._chosen().map(function (c) { return JSON.stringify(c); });
      var header = this.getAttribute('header') || '';
      this._header.textContent = header;
      this._header.hidden = !header;
      if (!header) this._picker.setAttribute('aria-label', CL.t('categories')); else this._picker.removeAttribute('aria-label');
      this._picker.textContent = '';
      this._cats = this._categories();
      this._cats.forEach(function (c, k) {
        var name = typeof c === 'string' ? c : String(c.name);
        var parent = typeof c === 'string' ? '' : String(c.parentName || '');
        var input = h('input', { type: 'checkbox', value: String(k) });
        input.checked = keep.indexOf(JSON.stringify(c)) >= 0;
        self._picker.append(h('label', { class: 'option', part: 'option' },
          [input, h('span', { class: 'text' }, [document.createTextNode(name), parent ? h('span', { class: 'parent', text: parent }) : null])]));
      });
      this._none.textContent = '';
      var none = this._noneText();
      if (none !== null) {
        var ex = h('input', { type: 'checkbox', 'data-none': '' });
        this._none.append(h('label', { class: 'option', part: 'option none-option' }, [ex, h('span', { class: 'text', text: none })]));
      }
    }

    _inputs() { return Array.prototype.slice.call(this._picker.querySelectorAll('input')); }
    _noneInput() { return this._none.querySelector('input'); }
    _noneChosen() { var n = this._noneInput(); return !!(n && n.checked); }

    _chosen() {
      if (!this._picker || !this._cats) return [];
      var cats = this._cats;
      return this._inputs().filter(function (i) { return i.checked; }).map(function (i) { return cats[Number(i.value)]; });
    }

    _onPick(ev) {
      var t = ev.target;
      if (t && t.hasAttribute && t.hasAttribute('data-none')) {
        var on = t.checked;
        this._inputs().forEach(function (i) { if (on) i.checked = false; i.disabled = on; });
      }
      ev.stopPropagation();
      this._errorEl.textContent = '';
      this.dispatchEvent(new Event('input', { bubbles: true, composed: true }));
      CL.fireChange(this);
    }

    _crowdValue() {
      var labels = this._noneChosen() ? [] : this._chosen().map(function (c) { return JSON.parse(JSON.stringify(c)); });
      return { moderationLabels: labels };
    }

    _crowdName() { return REKOGNITION_KEY; }

    _crowdValidate() {
      var message = '';
      if (CL.CHOICES.moderationRequiresChoice && !this._noneChosen() && this._chosen().length === 0) {
        message = this._noneInput() ? CL.t('aws.choose_or_none') : CL.t('aws.choose');
      }
      this._errorEl.textContent = message;
      return message;
    }

    _crowdReset() {
      var n = this._noneInput();
      if (n) n.checked = false;
      this._inputs().forEach(function (i) { i.checked = false; i.disabled = false; });
      this._errorEl.textContent = '';
    }

    _crowdFocus() {
      var first = this._inputs()[0] || this._noneInput();
      if (first) { first.focus(); this._wrapper.scrollIntoView({ block: 'nearest' }); }
    }

    _crowdLabel() { return this.getAttribute('header') || CL.t('aws.moderation'); }

    get value() { return this._crowdValue().moderationLabels; }
  }

  CL.defineControl('crowd-rekognition-detect-moderation-labels', CrowdRekognitionDetectModerationLabels);

  /* -------------------------------- Textract forms --------------------------------------- */

  var get = CL.textract.get, pascalOf = CL.textract.pascalOf, relIds = CL.textract.relIds;
  var entityTypes = CL.textract.entityTypes, normKey = CL.textract.normKey;

  var TEXTRACT_CSS = [
    ':host { display: block; line-height: 1.4; }',
    CL.layoutCss({ narrow: 760 }),
    '.header { font-weight: 700; margin: 0 0 10px; }',
    '.work { display: grid; grid-template-columns: minmax(0, 3fr) minmax(280px, 2fr); gap: 20px; align-items: start; }',
    '@media (max-width: 960px) { .work { grid-template-columns: minmax(0, 1fr); } }',
    CL.IMAGE_VIEW_CSS,
    '.layer svg rect { cursor: pointer; }',
    '.side h2 { font-size: 1rem; margin: 0 0 8px; }',
    '.side h2.second { margin-top: 18px; }',
    '.pairs { display: flex; flex-direction: column; gap: 10px; max-height: 75vh; overflow: auto; padding: 2px; }',
    '.kv { border: 1px solid #d5dbdb; border-radius: 8px; padding: 8px 12px; background: #fff; }',
    '.kv.current { border-color: var(--crowd-accent); box-shadow: 0 0 0 2px var(--crowd-selected-bg); }',
    '.kv[aria-invalid="true"] { border-color: var(--crowd-error); }',
    '.kv.rejected .fields { opacity: .5; }',
    '.field { display: flex; flex-direction: column; gap: 2px; margin: 4px 0; }',
    '.field label, .field .label { font-size: .85em; font-weight: 600; color: var(--crowd-muted); }',
    '.keytext { font-weight: 600; overflow-wrap: anywhere; }',
    'input[type=text] { font: inherit; width: 100%; padding: 5px 8px; border: 1px solid var(--crowd-border); border-radius: 6px; }',
    'input[type=text]:disabled { background: #f2f3f3; color: #8a949e; }',
    'input[type=text]:focus-visible { outline: 3px solid var(--crowd-focus); outline-offset: 1px; }',
    '.checks { display: flex; flex-wrap: wrap; gap: 4px 14px; margin-top: 4px; }',
    '.checks label { display: inline-flex; align-items: center; gap: 6px; font-size: .9em; cursor: pointer; }',
    '.checks input { width: 16px; height: 16px; accent-color: var(--crowd-accent); }',
    '.checks input:focus-visible { outline: 3px solid var(--crowd-focus); outline-offset: 2px; }',
    '.conf { font-size: .8em; color: var(--crowd-muted); }',
    '.empty { color: var(--crowd-muted); font-style: italic; }',
    '.error-text:empty { display: none; }',
    CL.INSTRUCTIONS_CSS
  ].join('\n');

  class CrowdTextractAnalyzeDocument extends CL.CrowdControl {
    static get observedAttributes() { return ['src', 'header', 'initial-value', 'keys', 'no-key-edit', 'block-types']; }

    connectedCallback() {
      if (!this._pairsEl) this._build();
    }

    _build() {
      var self = this;
      var root = CL.attachStyledShadow(this, TEXTRACT_CSS);
      CL.slotRegions(this, ['short-instructions', 'full-instructions']);
      var panel = CL.instructionsPanel(this);
      this._header = h('p', { class: 'header', part: 'header' });
      this._view = new CL.ImageView({ alt: CL.t('aws.document'), onLoad: function () { self._drawBoxes(); } });
      this._view.setSrc(this.getAttribute('src'));
      this._view.svg.addEventListener('click', function (ev) {
        var r = ev.target.closest && ev.target.closest('[data-pair]');
        if (r) self._select(Number(r.getAttribute('data-pair')), true);
      });
      this._pairsEl = h('div', { class: 'pairs', part: 'pairs', role: 'list', 'aria-label': CL.t('aws.pairs') });
      this._missingEl = h('div', { class: 'pairs', part: 'missing-keys', role: 'list', 'aria-label': CL.t('aws.missing') });
      this._missingHead = h('h2', { class: 'second', text: CL.t('aws.missing') });
      this._errorEl = h('div', { class: 'error-text', role: 'alert', part: 'error' });
      var side = h('div', { class: 'side' }, [h('h2', { text: CL.t('aws.pairs') }), this._pairsEl, this._missingHead, this._missingEl, this._errorEl]);
      root.append(h('div', { class: 'layout' }, [panel.aside, h('div', { class: 'main' }, [this._header,
        h('div', { class: 'work' }, [h('div', { class: 'target', part: 'target' }, [this._view.stage]), side])])]), panel.dialog);
      this._current = -1;
      this._load();
    }

    attributeChangedCallback(name) {
      if (!this._pairsEl) return;
      if (name === 'src') this._view.setSrc(this.getAttribute('src'));
      else this._load();
    }

    _load() {
      var self = this;
      var header = this.getAttribute('header') || '';
      this._header.textContent = header;
      this._header.hidden = !header;
      var raw = CL.literalAttr(this, 'initial-value', [], null);
      if (raw && !Array.isArray(raw) && typeof raw === 'object') raw = get(raw, 'Blocks') || [];
      this._blocks = (Array.isArray(raw) ? raw : []).filter(function (b) { return b && typeof b === 'object'; });
      this._pascal = this._blocks.length ? pascalOf(this._blocks[0]) : false;
      this._byId = {};
      this._blocks.forEach(function (b) { var id = get(b, 'Id'); if (id !== undefined) self._byId[String(id)] = b; });
      var types = CL.stringListAttr(this, 'block-types').map(function (t) { return t.toUpperCase(); });
      var kv = !types.length || types.indexOf('KEY_VALUE_SET') >= 0;
      this._pairs = !kv ? [] : this._blocks.filter(function (b) {
        return String(get(b, 'BlockType')).toUpperCase() === 'KEY_VALUE_SET' && entityTypes(b).indexOf('KEY') >= 0;
      }).map(function (kb) {
        var vb = relIds(kb, 'VALUE').map(function (id) { return self._byId[String(id)]; }).filter(Boolean)[0] || null;
        var keyText = self._childText(kb);
        var valueText = vb ? self._childText(vb) : '';
        return { keyBlock: kb, valueBlock: vb, key: keyText, value: valueText, origKey: keyText, origValue: valueText,
          rejected: false, blank: false };
      });
      var detected = this._pairs.map(function (p) { return normKey(p.key); });
      this._missing = CL.literalAttr(this, 'keys', [], 'array').map(function (k) {
        if (typeof k === 'string') return { name: k, aliases: [] };
        if (!k || typeof k !== 'object') return null;
        var name = get(k, 'ImportantFormKey');
        var aliases = get(k, 'ImportantFormKeyAliases');
        return name === undefined || name === null ? null : { name: String(name), aliases: Array.isArray(aliases) ? aliases.map(String) : [] };
      }).filter(function (k) {
        if (!k || !k.name) return false;
        return [k.name].concat(k.aliases).every(function (n) { return detected.indexOf(normKey(n)) < 0; });
      }).map(function (k) { return { name: k.name, decision: '', value: '' }; });
      this._render();
      this._drawBoxes();
    }

    _childText(b) {
      var self = this;
      return relIds(b, 'CHILD').map(function (id) {
        var c = self._byId[String(id)];
        if (!c) return '';
        var type = String(get(c, 'BlockType')).toUpperCase();
        if (type === 'SELECTION_ELEMENT') return String(get(c, 'SelectionStatus')).toUpperCase() === 'SELECTED' ? '[x]' : '[ ]';
        var t = get(c, 'Text');
        return t === undefined || t === null ? '' : String(t);
      }).filter(function (t) { return t !== ''; }).join(' ');
    }

    _render() {
      var self = this;
      var keyEdit = !this.hasAttribute('no-key-edit');
      this._pairsEl.textContent = '';
      if (!this._pairs.length) this._pairsEl.append(h('p', { class: 'empty', text: CL.t('aws.no_pairs') }));
      this._pairs.forEach(function (p, k) {
        var base = CL.uid('kv');
        var card = h('div', { class: 'kv' + (p.rejected ? ' rejected' : ''), role: 'listitem', 'data-pair': String(k), part: 'pair' });
        card.addEventListener('focusin', function () { self._select(k, false); });
        card.addEventListener('click', function () { self._select(k, false); });
        var keyNode;
        if (keyEdit) {
          keyNode = h('input', { type: 'text', id: base + '-k', 'data-field': 'key' });
          keyNode.value = p.key;
          keyNode.disabled = p.rejected;
          keyNode.addEventListener('input', function () { p.key = keyNode.value; self._changed(); });
        } else {
          keyNode = h('div', { class: 'keytext', id: base + '-k', text: p.key || CL.t('aws.no_key_text') });
        }
        var value = h('input', { type: 'text', id: base + '-v', 'data-field': 'value', 'aria-label': CL.t('aws.value_of', { key: p.key || CL.t('aws.key_n', { n: k + 1 }) }) });
        value.value = p.blank ? '' : p.value;
        value.disabled = p.rejected || p.blank;
        value.addEventListener('input', function () { p.value = value.value; card.removeAttribute('aria-invalid'); self._changed(); });
        var reject = h('input', { type: 'checkbox', 'data-field': 'rejected' });
        reject.checked = p.rejected;
        reject.addEventListener('change', function () { p.rejected = reject.checked; self._changed(true); });
        var blank = h('input', { type: 'checkbox', 'data-field': 'blank' });
        blank.checked = p.blank;
        blank.disabled = p.rejected;
        blank.addEventListener('change', function () { p.blank = blank.checked; self._changed(true); });
        var conf = get(p.valueBlock || p.keyBlock, 'Confidence');
        card.append(
          h('div', { class: 'fields' }, [
            h('div', { class: 'field' }, [keyEdit ? h('label', { for: keyNode.id, text: CL.t('aws.key') }) : h('span', { class: 'label', text: CL.t('aws.key') }), keyNode]),
            h('div', { class: 'field' }, [h('label', { for: value.id, text: CL.t('aws.value') }), value,
              typeof conf === 'number' ? h('span', { class: 'conf', text: CL.t('aws.confidence', { n: Math.round(conf) }) }) : null])]),
          h('div', { class: 'checks' }, [
            h('label', {}, [reject, h('span', { text: CL.t('aws.not_pair') })]),
            h('label', {}, [blank, h('span', { text: CL.t('aws.blank') })])]),
          h('div', { class: 'error-text', 'data-error': '' }));
        self._pairsEl.append(card);
      });
      this._missingHead.hidden = this._missingEl.hidden = !this._missing.length;
      this._missingEl.textContent = '';
      this._missing.forEach(function (m, k) {
        var group = CL.uid('mk');
        var card = h('div', { class: 'kv', role: 'listitem', 'data-missing': String(k), part: 'missing-key' });
        var found = h('input', { type: 'radio', name: group, value: 'found', 'data-field': 'found' });
        var notFound = h('input', { type: 'radio', name: group, value: 'notfound', 'data-field': 'notfound' });
        found.checked = m.decision === 'found';
        notFound.checked = m.decision === 'notfound';
        var value = h('input', { type: 'text', 'data-field': 'value', 'aria-label': CL.t('aws.value_of', { key: m.name }), placeholder: CL.t('aws.as_written') });
        value.value = m.value;
        value.disabled = m.decision !== 'found';
        var pick = function () {
          m.decision = found.checked ? 'found' : notFound.checked ? 'notfound' : '';
          value.disabled = m.decision !== 'found';
          card.removeAttribute('aria-invalid');
          if (m.decision === 'found') value.focus();
          self._changed();
        };
        found.addEventListener('change', pick);
        notFound.addEventListener('change', pick);
        value.addEventListener('input', function () { m.value = value.value; card.removeAttribute('aria-invalid'); self._changed(); });
        card.append(h('div', { class: 'keytext', text: m.name }),
          h('div', { class: 'checks', role: 'radiogroup', 'aria-label': m.name }, [
            h('label', {}, [found, h('span', { text: CL.t('aws.found') })]),
            h('label', {}, [notFound, h('span', { text: CL.t('aws.not_found') })])]),
          h('div', { class: 'field' }, [value]),
          h('div', { class: 'error-text', 'data-error': '' }));
        self._missingEl.append(card);
      });
    }

    _box(b) {
      var bb = get(get(b, 'Geometry'), 'BoundingBox');
      if (!bb || !this._view.natural) return null;
      var W = this._view.natural.width, H = this._view.natural.height;
      var l = Number(get(bb, 'Left')), t = Number(get(bb, 'Top')), w = Number(get(bb, 'Width')), hh = Number(get(bb, 'Height'));
      if (![l, t, w, hh].every(isFinite)) return null;
      return { x: l * W, y: t * H, width: w * W, height: hh * H };
    }

    _drawBoxes() {
      var self = this;
      var svg = this._view.svg;
      svg.textContent = '';
      if (!this._view.natural) return;
      this._pairs.forEach(function (p, k) {
        [[p.keyBlock, CL.PALETTE[0]], [p.valueBlock, CL.PALETTE[1]]].forEach(function (pair) {
          var r = pair[0] && self._box(pair[0]);
          if (!r) return;
          var current = k === self._current;
          svg.append(CL.svg('rect', { x: r.x, y: r.y, width: r.width, height: r.height, fill: pair[1], 'fill-opacity': current ? 0.3 : 0.1,
            stroke: pair[1], 'stroke-width': current ? 3 : 1.5, 'vector-effect': 'non-scaling-stroke', 'data-pair': String(k),
            'stroke-dasharray': p.rejected ? '4 3' : null }));
        });
      });
    }

    _markCurrent() {
      var k = this._current;
      this._pairsEl.querySelectorAll('.kv').forEach(function (c) { c.classList.toggle('current', Number(c.getAttribute('data-pair')) === k); });
      this._drawBoxes();
    }

    _select(k, focusCard) {
      if (this._current === k && !focusCard) return;
      this._current = k;
      this._markCurrent();
      if (focusCard) {
        var input = this._pairsEl.querySelector('[data-pair="' + k + '"] input[data-field="value"]');
        if (input && !input.disabled) input.focus();
        var card = this._pairsEl.querySelector('[data-pair="' + k + '"]');
        if (card) card.scrollIntoView({ block: 'nearest' });
      }
    }

    _changed(rerender) {
      this._errorEl.textContent = '';
      if (rerender) {
        var active = this.shadowRoot.activeElement;
        var where = active && active.closest('[data-pair]');
        var field = active && active.getAttribute('data-field');
        this._render();
        this._markCurrent();
        if (where && field) {
          var again = this._pairsEl.querySelector('[data-pair="' + where.getAttribute('data-pair') + '"] [data-field="' + field + '"]');
          if (again) again.focus();
        }
      }
      this.dispatchEvent(new Event('input', { bubbles: true, composed: true }));
      CL.fireChange(this);
    }

    /* ---- answer ---- */

    _crowdValue() {
      var options = { pascal: this._pascal, keyEdit: !this.hasAttribute('no-key-edit') };
      return { blocks: CL.textract.reviewedBlocks(this._blocks, this._pairs, this._missing, options) };
    }

    _problems() {
      var out = [];
      this._pairs.forEach(function (p, k) {
        if (!p.rejected && !p.blank && p.valueBlock && !p.value.trim()) {
          out.push({ pair: k, message: CL.t('aws.type_value_or_blank', { key: p.key || CL.t('aws.key_n', { n: k + 1 }) }) });
        }
      });
      this._missing.forEach(function (m, k) {
        if (CL.CHOICES.textractRequireMissingKeyDecision && !m.decision) out.push({ missing: k, message: CL.t('aws.find_key', { key: m.name }) });
        else if (m.decision === 'found' && !m.value.trim()) out.push({ missing: k, message: CL.t('aws.type_value', { key: m.name }) });
      });
      return out;
    }

    _crowdName() { return TEXTRACT_KEY; }

    _crowdValidate() {
      var self = this;
      var problems = this._problems();
      this.shadowRoot.querySelectorAll('[data-error]').forEach(function (e) { e.textContent = ''; });
      this.shadowRoot.querySelectorAll('.kv[aria-invalid]').forEach(function (e) { e.removeAttribute('aria-invalid'); });
      problems.forEach(function (pr) {
        var card = pr.missing !== undefined ? self._missingEl.querySelector('[data-missing="' + pr.missing + '"]')
          : self._pairsEl.querySelector('[data-pair="' + pr.pair + '"]');
        if (!card) return;
        card.setAttribute('aria-invalid', 'true');
        card.querySelector('[data-error]').textContent = pr.message;
      });
      this._firstProblem = problems[0] || null;
      var message = problems.length ? problems[0].message : '';
      this._errorEl.textContent = problems.length > 1 ? CL.t('aws.items', { n: problems.length }) : '';
      return message;
    }

    _crowdReset() { this._load(); }

    _crowdFocus() {
      var pr = this._firstProblem;
      var card = null;
      if (pr) card = pr.missing !== undefined ? this._missingEl.querySelector('[data-missing="' + pr.missing + '"]')
        : this._pairsEl.querySelector('[data-pair="' + pr.pair + '"]');
      var target = card && (card.querySelector('input:not([disabled])'));
      target = target || this._pairsEl.querySelector('input:not([disabled])');
      if (target) { target.focus(); target.scrollIntoView({ block: 'nearest' }); }
    }

    _crowdLabel() { return this.getAttribute('header') ? CL.t('aws.pairs') : CL.t('aws.review'); }

    get value() { return this._crowdValue().blocks; }
  }

  CL.defineControl('crowd-textract-analyze-document', CrowdTextractAnalyzeDocument);
})(window.CrowdLoop);
