/* crowd-text-ranking (V2): rank N responses to a prompt on one or more dimensions.
 * Answer (shape choices in CL.CHOICES.textRanking*):
 *   {"<name>": {"ordinalRankingDimensions": [{"name": "Clarity", "responseRankings": [2, 1, 3]}, ...]}}
 * responseRankings[i] = rank of responses[i], 1 = best; equal ranks only where allowTie. */
(function (CL) {
  'use strict';
  if (CL.copies > 1) return; // a second copy of the bundle (00-core.js)
  var h = CL.h;

  var RANKING_CSS = [
    ':host { display: block; line-height: 1.45; }',
    CL.layoutCss(),
    '.work { display: grid; grid-template-columns: minmax(0, 1.6fr) minmax(260px, 1fr); gap: 20px; align-items: start; }',
    '@media (max-width: 900px) { .work { grid-template-columns: minmax(0, 1fr); } }',
    'h2 { font-size: 1rem; margin: 0 0 6px; }',
    'h3 { font-size: .95rem; margin: 0 0 4px; }',
    '.prompt, .response { border: 1px solid #d5dbdb; border-radius: 8px; padding: 10px 14px; background: #fff; margin-bottom: 12px; }',
    '.prompt { background: #f6f8fa; }',
    '.text { white-space: pre-wrap; overflow-wrap: anywhere; }',
    '.dimension { border: 1px solid #d5dbdb; border-radius: 8px; padding: 10px 14px 12px; margin: 0 0 12px; background: #fff; }',
    '.dimension legend { font-weight: 700; padding: 0 4px; }',
    '.hint { color: var(--crowd-muted); font-size: .85em; margin: 0 0 8px; }',
    '.rank-row { display: flex; align-items: center; justify-content: space-between; gap: 10px; padding: 4px 0; }',
    'select { font: inherit; padding: 4px 8px; border: 1px solid var(--crowd-border); border-radius: 6px; min-width: 5.5em; background: #fff; }',
    'select:focus-visible { outline: 3px solid var(--crowd-focus); outline-offset: 1px; }',
    'select[aria-invalid="true"] { border-color: var(--crowd-error); border-width: 2px; }',
    '.error-text:empty { display: none; }',
    CL.INSTRUCTIONS_CSS
  ].join('\n');

  class CrowdTextRanking extends CL.CrowdControl {
    static get observedAttributes() { return ['text', 'responses', 'ordinal-ranking-dimensions']; }

    connectedCallback() {
      if (!this._work) this._build();
    }

    _build() {
      var root = CL.attachStyledShadow(this, RANKING_CSS);
      CL.slotRegions(this, ['short-instructions', 'full-instructions']);
      var panel = CL.instructionsPanel(this);
      this._work = h('div', { class: 'work' });
      root.append(h('div', { class: 'layout' }, [panel.aside, h('div', { class: 'main' }, [this._work, h('slot')])]), panel.dialog);
      this._render();
    }

    attributeChangedCallback() {
      if (this._work) this._render();
    }

    _responses() { return CL.stringListAttr(this, 'responses'); }

    _dimensions() {
      var raw = CL.literalAttr(this, 'ordinal-ranking-dimensions', [], 'array');
      return raw.map(function (d, k) {
        if (typeof d === 'string') return { name: d, allowTie: false };
        d = d || {};
        return { name: d.name === undefined ? 'Dimension ' + (k + 1) : String(d.name), allowTie: d.allowTie === true || d.allowTie === 'true' };
      });
    }

    _render() {
      var self = this;
      var previous = this._rankings || [];
      var responses = this._responses();
      var dims = this._dimensions();
      this._dims = dims;
      this._n = responses.length;
      var left = h('div', { class: 'texts' }, [h('section', { class: 'prompt', part: 'prompt' }, [h('h2', { text: CL.t('ranking.prompt') }), h('div', { class: 'text', text: this.getAttribute('text') || '' })])]);
      responses.forEach(function (r, i) {
        left.append(h('section', { class: 'response', part: 'response' }, [h('h3', { text: CL.t('ranking.response', { n: i + 1 }) }), h('div', { class: 'text', text: r })]));
      });
      var right = h('div', { class: 'dimensions' });
      this._selects = [];
      this._errors = [];
      this._rankings = dims.map(function (d, di) {
        var ranks = responses.map(function (_, i) { return previous[di] && previous[di][i] || null; });
        return ranks;
      });
      dims.forEach(function (d, di) {
        var error = h('div', { class: 'error-text', role: 'alert' });
        var fs = h('fieldset', { class: 'dimension', part: 'dimension' }, [h('legend', { text: d.name }),
          h('p', { class: 'hint', text: CL.t('ranking.hint') + ' ' + (d.allowTie ? CL.t('ranking.ties_allowed') : CL.t('ranking.no_ties')) })]);
        var row = [];
        responses.forEach(function (_, i) {
          var sel = h('select', { 'aria-label': d.name + ': rank of response ' + (i + 1) });
          sel.append(h('option', { value: '', text: '\u2013' }));
          for (var r = 1; r <= responses.length; r++) sel.append(h('option', { value: String(r), text: String(r) }));
          var current = self._rankings[di][i];
          sel.value = current ? String(current) : '';
          sel.addEventListener('change', function () { self._pick(di, i, sel.value ? Number(sel.value) : null); });
          row.push(sel);
          fs.append(h('label', { class: 'rank-row' }, [h('span', { text: CL.t('ranking.response', { n: i + 1 }) }), sel]));
        });
        fs.append(error);
        self._selects.push(row);
        self._errors.push(error);
        right.append(fs);
      });
      this._work.textContent = '';
      this._work.append(left, right);
    }

    // Ranks are never moved behind the worker's back (keyboard users step through the options, and
    // each step fires "change"); a rank used twice where ties are not allowed is flagged at once.
    _pick(di, i, rank) {
      this._rankings[di][i] = rank;
      this._flagDuplicates(di);
      this.dispatchEvent(new Event('input', { bubbles: true, composed: true }));
      CL.fireChange(this);
    }

    _duplicates(di) {
      var ranks = this._rankings[di];
      var out = [];
      if (this._dims[di].allowTie) return out;
      ranks.forEach(function (r, i) {
        if (r && ranks.indexOf(r) !== ranks.lastIndexOf(r)) out.push(i);
      });
      return out;
    }

    _flagDuplicates(di) {
      var dup = this._duplicates(di);
      this._errors[di].textContent = dup.length ? CL.t('ranking.duplicate') : '';
      this._selects[di].forEach(function (s, i) {
        if (dup.indexOf(i) >= 0) s.setAttribute('aria-invalid', 'true'); else s.removeAttribute('aria-invalid');
      });
    }

    _crowdValue() {
      var C = CL.CHOICES;
      var dims = (this._dims || []).map(function (d, di) {
        var ranks = this._rankings[di].slice();
        var list = ranks;
        if (!C.textRankingRankPerResponse) list = CL.rankingOrder(ranks);
        var item = {};
        if (C.textRankingIncludeName) item.name = d.name;
        item.responseRankings = list;
        return item;
      }, this);
      return { ordinalRankingDimensions: dims };
    }

    /* ---- form-control interface ---- */

    _crowdEntries() {
      var name = this._crowdName();
      var value = this._crowdValue();
      if (CL.CHOICES.textRankingNesting === 'name' && name) return [{ name: name, kind: 'value', value: value }];
      return [{ name: '', kind: 'merge', value: value }];
    }

    _crowdValidate() {
      var first = '';
      var self = this;
      (this._dims || []).forEach(function (d, di) {
        var ranks = self._rankings[di];
        var message = '';
        var bad = [];
        ranks.forEach(function (r, i) { if (!r) bad.push(i); });
        if (bad.length) {
          message = CL.t('ranking.rank_every', { name: d.name });
        } else {
          bad = self._duplicates(di);
          if (bad.length) message = CL.t('ranking.duplicate_for', { name: d.name });
        }
        self._errors[di].textContent = message;
        self._selects[di].forEach(function (s, i) {
          if (bad.indexOf(i) >= 0) s.setAttribute('aria-invalid', 'true'); else s.removeAttribute('aria-invalid');
        });
        if (message && !first) {
          first = message;
          self._firstInvalid = self._selects[di][bad[0]];
        }
      });
      return first;
    }

    _crowdReset() {
      this._rankings = [];
      this._render();
    }

    _crowdFocus() { if (this._firstInvalid) this._firstInvalid.focus(); }

    _crowdLabel() { return this.getAttribute('name') || CL.t('ranking'); }
  }

  CL.defineControl('crowd-text-ranking', CrowdTextRanking);
})(window.CrowdLoop);
