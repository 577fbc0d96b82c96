/* Shape annotators on an image: crowd-bounding-box, crowd-keypoint, crowd-polygon, crowd-line,
 * crowd-polyline. One base class; each element only says how a shape is drawn and answered.
 * Answers use the image's original pixels (rounded to integers) and carry
 * inputImageProperties {height, width}; with initial-value they add initialValueModified.
 *
 * Mouse: pick a label, then draw (box/line: drag, or click twice; point: click; polygon: click the
 * vertices, click the first one or double-click to close; polyline: click, double-click to finish).
 * Click a shape to select it, drag it or its handles; Delete removes it; wheel zooms, middle button
 * or Space+drag pans. Keyboard (image focused): arrows move a crosshair (Shift: 10 px), Enter places
 * a point there (Enter twice on the same spot finishes a polygon/polyline), digits pick a label,
 * arrows move the selected shape, Delete removes it, Escape cancels/deselects, +/-/0 zoom. */
(function (CL) {
  'use strict';
  if (CL.copies > 1) return; // a second copy of the bundle (00-core.js)
  var h = CL.h;

  var SHAPES_CSS = [
    ':host { display: block; line-height: 1.4; }',
    CL.layoutCss(),
    '.header { font-weight: 700; margin: 0 0 8px; }',
    '.toolbar { display: flex; flex-wrap: wrap; gap: 6px; align-items: center; margin-bottom: 8px; }',
    '.label-opt { display: inline-flex; align-items: center; gap: 6px; padding: 4px 10px; border: 1px solid #c4c9ce; border-radius: 14px; cursor: pointer; }',
    '.label-opt:has(input:checked) { border-color: var(--crowd-accent); background: var(--crowd-selected-bg); font-weight: 600; }',
    '.label-opt input { margin: 0; accent-color: var(--crowd-accent); }',
    '.label-opt input:focus-visible { outline: 3px solid var(--crowd-focus); outline-offset: 2px; }',
    '.swatch { width: 12px; height: 12px; border-radius: 3px; display: inline-block; }',
    '.no-labels { color: var(--crowd-muted); font-style: italic; }',
    '.hint { color: var(--crowd-muted); font-size: .85em; margin: 6px 0 0; }',
    '.stage { cursor: crosshair; }',
    '.shape { cursor: move; }',
    '.handle { cursor: grab; }',
    '.shapes-list { list-style: none; padding: 0; margin: 8px 0 0; display: flex; flex-wrap: wrap; gap: 6px; }',
    '.shapes-list li { display: inline-flex; align-items: center; border: 1px solid #d5dbdb; border-radius: 14px; overflow: hidden; }',
    '.shapes-list li.selected { border-color: var(--crowd-accent); background: var(--crowd-selected-bg); }',
    '.shapes-list button { border: none; background: none; padding: 3px 10px; cursor: pointer; font: inherit; font-size: .9em; }',
    '.shapes-list button.del { padding: 3px 8px; font-weight: 700; }',
    '.shapes-list button:focus-visible { outline: 3px solid var(--crowd-focus); outline-offset: -3px; }',
    '.error-text:empty { display: none; }',
    CL.IMAGE_VIEW_CSS,
    CL.INSTRUCTIONS_CSS
  ].join('\n');

  function dist(a, b) { return Math.hypot(a.x - b.x, a.y - b.y); }
  function copyPoints(points) { return points.map(function (p) { return { x: p.x, y: p.y }; }); }
  function num(v) { var n = Number(v); return isFinite(n) ? n : 0; }

  class ShapeAnnotator extends CL.Annotator {
    static get observedAttributes() { return ['src', 'labels', 'header', 'initial-value', 'label-colors']; }

    constructor() {
      super();
      this._shapes = [];
      this._selected = -1;
      this._draft = null;
      this._cursor = null;
      this._labels = null;
      this._activeLabel = 0;
      this._modified = false;
      this._drag = null;
    }

    /* ---- what subclasses define ---- */
    get _tool() { return 'box'; }            // box | point | polygon | line | polyline
    get _noun() { return 'shape'; }
    get _answerKey() { return 'shapes'; }
    _initialItems() { return []; }           // parsed initial-value -> [{label, points}]
    _item(shape) { return shape; }           // shape -> answer item

    connectedCallback() {
      if (!this._view) this._build();
      CL.upgradeProperties(this, ['labels']);
    }

    _build() {
      var self = this;
      var root = CL.attachStyledShadow(this, SHAPES_CSS);
      CL.slotRegions(this, ['short-instructions', 'full-instructions']);
      var panel = CL.instructionsPanel(this);
      this._header = h('p', { class: 'header', part: 'header' });
      this._labelBar = h('div', { class: 'toolbar', role: 'radiogroup', 'aria-label': CL.t('label'), part: 'labels' });
      this._view = new CL.ImageView({
        focusable: true, role: 'application', label: CL.t('shapes.image'),
        onLoad: function () { self._render(); },
        onError: function () { self._render(); },
        onView: function () { self._render(); }
      });
      this._hint = h('p', { class: 'hint', text: this._hintText() });
      this._list = h('ul', { class: 'shapes-list', 'aria-label': CL.t('shapes.annotations'), part: 'list' });
      this._errorEl = h('div', { class: 'error-text', role: 'alert', part: 'error' });
      this._live = h('div', { class: 'visually-hidden', 'aria-live': 'polite' });
      root.append(h('div', { class: 'layout' }, [panel.aside, h('div', { class: 'main' },
        [this._header, this._labelBar, this._view.stage, this._hint, this._list, this._errorEl, this._live, h('slot')])]), panel.dialog);
      this._wire();
      this._renderLabels();
      this._renderHeader();
      this._loadInitial();
      this._view.setSrc(this.getAttribute('src'));
    }

    attributeChangedCallback(name) {
      if (!this._view) return;
      if (name === 'src') this._view.setSrc(this.getAttribute('src'));
      else if (name === 'labels' || name === 'label-colors') { this._renderLabels(); this._render(); }
      else if (name === 'header') this._renderHeader();
      else if (name === 'initial-value') { this._loadInitial(); this._render(); }
    }

    _hintText() {
      var twice = this._tool === 'polygon' || this._tool === 'polyline' ? CL.t('shapes.twice') : '';
      return CL.t('shapes.hint.' + this._tool) + ' ' + CL.t('shapes.keyboard', { twice: twice });
    }

    _renderHeader() {
      var header = this.getAttribute('header') || '';
      this._header.textContent = header;
      this._header.hidden = !header;
      this._view.stage.setAttribute('aria-label', header ? CL.t('shapes.image_of', { header: header }) : CL.t('shapes.image'));
    }

    /* ---- labels ---- */

    _color(label) {
      var labels = this._labelList();
      var k = labels.indexOf(label);
      var custom = CL.literalAttr(this, 'label-colors', null, 'array');
      if (custom && k >= 0 && custom[k]) return String(custom[k]);
      if (k < 0) k = labels.length + (label ? label.length : 0);
      return CL.PALETTE[k % CL.PALETTE.length];
    }

    _renderLabels() {
      var self = this;
      var labels = this._labelList();
      if (this._activeLabel >= labels.length) this._activeLabel = 0;
      var group = CL.uid('label');
      this._labelBar.textContent = '';
      if (!labels.length) {
        this._labelBar.append(h('span', { class: 'no-labels', text: CL.t('no_labels') }));
        return;
      }
      labels.forEach(function (label, k) {
        var input = h('input', { type: 'radio', name: group, value: label });
        input.checked = k === self._activeLabel;
        input.addEventListener('change', function () { self._chooseLabel(k); });
        self._labelBar.append(h('label', { class: 'label-opt', part: 'label' },
          [input, h('span', { class: 'swatch', style: 'background:' + self._color(label), 'aria-hidden': 'true' }), h('span', { text: label })]));
      });
    }

    _chooseLabel(k) {
      var labels = this._labelList();
      if (k < 0 || k >= labels.length) return;
      this._activeLabel = k;
      var inputs = this._labelBar.querySelectorAll('input');
      if (inputs[k]) inputs[k].checked = true;
      if (this._selected >= 0 && this._shapes[this._selected].label !== labels[k]) {
        this._shapes[this._selected].label = labels[k];
        this._edited();
      }
      if (this._draft) this._draft.label = labels[k];
      this._render();
    }

    _currentLabel() {
      var labels = this._labelList();
      return labels.length ? labels[Math.min(this._activeLabel, labels.length - 1)] : null;
    }

    /* ---- initial value ---- */

    _loadInitial() {
      this._initialPresent = this.hasAttribute('initial-value') && this.getAttribute('initial-value').trim() !== '';
      var items = [];
      if (this._initialPresent) {
        var raw = CL.literalAttr(this, 'initial-value', null);
        try { items = this._initialItems(raw) || []; } catch (err) { items = []; }
      }
      this._shapes = items;
      this._selected = -1;
      this._draft = null;
      this._modified = false;
    }

    /* ---- pointer and keyboard ---- */

    _wire() {
      var self = this;
      var stage = this._view.stage;
      stage.addEventListener('pointerdown', function (ev) { self._pointerDown(ev); });
      stage.addEventListener('pointermove', function (ev) { self._pointerMove(ev); });
      stage.addEventListener('pointerup', function (ev) { self._pointerUp(ev); });
      stage.addEventListener('dblclick', function (ev) { ev.preventDefault(); self._finishDraft(); });
      stage.addEventListener('keydown', function (ev) { self._key(ev); });
    }

    _pointerDown(ev) {
      if (ev.button !== 0 || !this._view.natural) return;
      var p = this._view.clamp(this._view.toImage(ev.clientX, ev.clientY));
      var t = ev.target;
      this._view.stage.focus({ preventScroll: true });
      this._cursor = null;
      var vertex = t.getAttribute && t.getAttribute('data-vertex');
      var index = t.getAttribute && t.getAttribute('data-index');
      if (!this._draft && vertex !== null && vertex !== undefined && this._selected >= 0) {
        this._drag = { kind: 'vertex', vertex: Number(vertex), id: ev.pointerId, moved: false };
        this._view.stage.setPointerCapture(ev.pointerId);
        return;
      }
      if (!this._draft && index !== null && index !== undefined) {
        this._select(Number(index));
        this._drag = { kind: 'move', last: p, id: ev.pointerId, moved: false };
        this._view.stage.setPointerCapture(ev.pointerId);
        return;
      }
      this._place(p, ev.pointerId);
    }

    // One "click" (or Enter) at image point p while drawing.
    _place(p, pointerId) {
      var tool = this._tool;
      var label = this._currentLabel();
      if (label === null) { this._showError(CL.t('shapes.label_first')); return; }
      this._showError('');
      if (this._draft) {
        var pts = this._draft.points;
        if (tool === 'box' || tool === 'line') {
          pts[1] = p;
          this._finishDraft();
          return;
        }
        var last = pts[pts.length - 1];
        var close = pointerId === undefined ? 0.5 : 8 / this._view.scale;
        if (tool === 'polygon' && pts.length >= 3 && dist(p, pts[0]) <= close) { this._finishDraft(); return; }
        if (pointerId === undefined && dist(p, last) < 0.5) { this._finishDraft(); return; } // Enter twice
        pts.push(p);
        this._render();
        return;
      }
      this._select(-1);
      if (tool === 'point') {
        this._shapes.push({ label: label, points: [p] }); // not selected: the label stays for the next one
        this._edited();
        this._announce(CL.t('shapes.added', { noun: CL.t('shape.' + this._noun), n: this._shapes.length, label: label }));
        this._render();
        return;
      }
      this._draft = { label: label, points: tool === 'box' || tool === 'line' ? [p, p] : [p] };
      if (pointerId !== undefined && (tool === 'box' || tool === 'line')) {
        this._drag = { kind: 'draw', id: pointerId, start: { x: p.x, y: p.y } };
        this._view.stage.setPointerCapture(pointerId);
      }
      this._render();
    }

    _pointerMove(ev) {
      if (!this._view.natural) return;
      var p = this._view.clamp(this._view.toImage(ev.clientX, ev.clientY));
      var d = this._drag;
      if (d && ev.pointerId === d.id) {
        if (d.kind === 'draw') this._draft.points[1] = p;
        else if (d.kind === 'vertex') { this._setVertex(this._selected, d.vertex, p); d.moved = true; }
        else if (d.kind === 'move') { this._moveShape(this._selected, p.x - d.last.x, p.y - d.last.y); d.last = p; d.moved = true; }
        this._render();
        return;
      }
      if (this._draft && (this._tool === 'polygon' || this._tool === 'polyline' || this._tool === 'box' || this._tool === 'line')) {
        this._rubber = p;
        this._render();
      }
    }

    _pointerUp(ev) {
      var d = this._drag;
      if (!d || ev.pointerId !== d.id) return;
      this._drag = null;
      if (d.kind === 'draw') {
        var a = this._view.toStage(d.start.x, d.start.y);
        var end = this._draft.points[1];
        var b = this._view.toStage(end.x, end.y);
        if (dist(a, b) > 4) this._finishDraft(); // dragged: done; otherwise wait for a second click
        else this._render();
        return;
      }
      if (d.moved) { this._edited(); this._render(); }
    }

    _key(ev) {
      if (ev.target !== this._view.stage || ev.ctrlKey || ev.metaKey || ev.altKey) return;
      var view = this._view;
      if (!view.natural) return;
      var step = ev.shiftKey ? 10 : 1;
      var delta = { ArrowLeft: [-step, 0], ArrowRight: [step, 0], ArrowUp: [0, -step], ArrowDown: [0, step] }[ev.key];
      if (delta) {
        ev.preventDefault();
        if (this._selected >= 0 && !this._draft && !this._cursor) {
          this._moveShape(this._selected, delta[0], delta[1]);
          this._edited();
        } else {
          if (!this._cursor) this._cursor = { x: Math.round(view.natural.width / 2), y: Math.round(view.natural.height / 2) };
          else this._cursor = view.clamp({ x: this._cursor.x + delta[0], y: this._cursor.y + delta[1] });
          if (this._draft) this._rubber = this._cursor;
          view.reveal(this._cursor.x, this._cursor.y);
          this._announce(CL.t('shapes.crosshair', { x: Math.round(this._cursor.x), y: Math.round(this._cursor.y) }));
        }
        this._render();
      } else if (ev.key === 'Enter') {
        ev.preventDefault();
        if (!this._cursor) this._cursor = { x: Math.round(view.natural.width / 2), y: Math.round(view.natural.height / 2) };
        this._place({ x: this._cursor.x, y: this._cursor.y });
      } else if (ev.key === 'Escape') {
        if (this._draft) { this._draft = null; this._render(); ev.preventDefault(); }
        else if (this._selected >= 0 || this._cursor) { this._cursor = null; this._select(-1); ev.preventDefault(); }
      } else if (ev.key === 'Delete' || ev.key === 'Backspace') {
        if (this._selected >= 0) { ev.preventDefault(); this._remove(this._selected); }
      } else if (/^[1-9]$/.test(ev.key)) {
        ev.preventDefault();
        this._chooseLabel(Number(ev.key) - 1);
      }
    }

    /* ---- editing ---- */

    _finishDraft() {
      var d = this._draft;
      if (!d) return;
      var pts = d.points.filter(function (p, k, all) { return k === 0 || dist(p, all[k - 1]) >= 0.5; });
      var need = { box: 2, line: 2, polygon: 3, polyline: 2 }[this._tool] || 1;
      if (pts.length < need) {
        if (this._tool === 'box' || this._tool === 'line') return; // same spot twice: keep waiting
        this._showError(CL.t('shapes.min_points', { noun: CL.t('shape.' + this._noun), n: need }));
        return;
      }
      if (this._tool === 'box' && (Math.abs(pts[0].x - pts[1].x) < 1 || Math.abs(pts[0].y - pts[1].y) < 1)) return;
      this._draft = null;
      this._rubber = null;
      this._shapes.push({ label: d.label, points: copyPoints(pts) });
      this._selected = -1;
      this._showError('');
      this._edited();
      this._announce(CL.t('shapes.added', { noun: CL.t('shape.' + this._noun), n: this._shapes.length, label: d.label }));
      this._render();
    }

    _select(k) {
      this._selected = k;
      if (k >= 0) {
        var k2 = this._labelList().indexOf(this._shapes[k].label);
        if (k2 >= 0) {
          this._activeLabel = k2;
          var inputs = this._labelBar.querySelectorAll('input');
          if (inputs[k2]) inputs[k2].checked = true;
        }
      }
      this._render();
    }

    _remove(k) {
      var s = this._shapes.splice(k, 1)[0];
      this._selected = -1;
      this._edited();
      this._announce(CL.t('shapes.removed', { noun: CL.t('shape.' + this._noun), label: s.label }));
      this._render();
    }

    _moveShape(k, dx, dy) {
      var s = this._shapes[k];
      var n = this._view.natural;
      var minX = Math.min.apply(null, s.points.map(function (p) { return p.x; }));
      var maxX = Math.max.apply(null, s.points.map(function (p) { return p.x; }));
      var minY = Math.min.apply(null, s.points.map(function (p) { return p.y; }));
      var maxY = Math.max.apply(null, s.points.map(function (p) { return p.y; }));
      dx = Math.max(-minX, Math.min(n.width - maxX, dx));
      dy = Math.max(-minY, Math.min(n.height - maxY, dy));
      s.points.forEach(function (p) { p.x += dx; p.y += dy; });
    }

    _setVertex(k, v, p) {
      var s = this._shapes[k];
      if (this._tool === 'box') {
        // handles are the 4 corners: 0 top-left, 1 top-right, 2 bottom-right, 3 bottom-left
        var a = s.points[0], b = s.points[1];
        var x0 = Math.min(a.x, b.x), x1 = Math.max(a.x, b.x), y0 = Math.min(a.y, b.y), y1 = Math.max(a.y, b.y);
        if (v === 0 || v === 3) x0 = p.x; else x1 = p.x;
        if (v === 0 || v === 1) y0 = p.y; else y1 = p.y;
        s.points = [{ x: x0, y: y0 }, { x: x1, y: y1 }];
        return;
      }
      s.points[v] = p;
    }


    /* ---- drawing ---- */

    _render() {
      var view = this._view;
      var svg = view.svg;
      while (svg.firstChild) svg.removeChild(svg.firstChild);
      if (!view.natural) { this._renderList(); return; }
      var self = this;
      var s = view.scale || 1;
      this._shapes.forEach(function (shape, k) { self._drawShape(svg, shape, k, k === self._selected, s); });
      if (this._draft) {
        var d = this._draft;
        var pts = d.points.slice();
        if (this._rubber && (this._tool === 'polygon' || this._tool === 'polyline')) pts.push(this._rubber);
        else if (this._rubber && (this._tool === 'box' || this._tool === 'line') && !this._drag) pts[1] = this._rubber;
        this._drawShape(svg, { label: d.label, points: pts }, -1, false, s, true);
      }
      if (this._cursor) {
        var c = this._cursor, r = 10 / s;
        [['line', { x1: c.x - r, y1: c.y, x2: c.x + r, y2: c.y }], ['line', { x1: c.x, y1: c.y - r, x2: c.x, y2: c.y + r }]].forEach(function (l) {
          svg.append(CL.svg(l[0], Object.assign({ stroke: '#fff', 'stroke-width': 3, 'vector-effect': 'non-scaling-stroke', class: 'cursor' }, l[1])));
          svg.append(CL.svg(l[0], Object.assign({ stroke: '#000', 'stroke-width': 1, 'vector-effect': 'non-scaling-stroke' }, l[1])));
        });
      }
      this._renderList();
    }

    _drawShape(svg, shape, k, selected, s, draft) {
      var color = this._color(shape.label);
      var common = { stroke: color, 'stroke-width': selected ? 3 : 2, 'vector-effect': 'non-scaling-stroke',
        'stroke-dasharray': draft ? '6 4' : null, class: draft ? 'draft' : 'shape', 'data-index': draft ? null : k };
      var pts = shape.points;
      var el;
      var tool = this._tool;
      if (tool === 'box') {
        var a = pts[0], b = pts[1] || pts[0];
        el = CL.svg('rect', Object.assign({ x: Math.min(a.x, b.x), y: Math.min(a.y, b.y), width: Math.abs(a.x - b.x), height: Math.abs(a.y - b.y),
          fill: color, 'fill-opacity': selected ? 0.25 : 0.12 }, common));
      } else if (tool === 'point') {
        el = CL.svg('circle', Object.assign({ cx: pts[0].x, cy: pts[0].y, r: (selected ? 7 : 5) / s, fill: color, 'fill-opacity': 0.9 }, common, { stroke: '#fff' }));
      } else {
        var attr = pts.map(function (p) { return p.x + ',' + p.y; }).join(' ');
        var closed = tool === 'polygon' && !draft;
        el = CL.svg(closed ? 'polygon' : 'polyline', Object.assign({ points: attr, fill: closed ? color : 'none', 'fill-opacity': closed ? (selected ? 0.25 : 0.12) : null }, common));
        if (!closed) {
          // a wider transparent stroke makes thin lines easy to click
          svg.append(CL.svg('polyline', { points: attr, fill: 'none', stroke: 'transparent', 'stroke-width': 12, 'vector-effect': 'non-scaling-stroke',
            class: 'shape', 'data-index': draft ? null : k, 'pointer-events': draft ? 'none' : 'stroke' }));
        }
      }
      if (draft) el.setAttribute('pointer-events', 'none');
      svg.append(el);
      var anchor = tool === 'box' ? { x: Math.min(pts[0].x, (pts[1] || pts[0]).x), y: Math.min(pts[0].y, (pts[1] || pts[0]).y) } : pts[0];
      if (!draft && shape.label) {
        var text = CL.svg('text', { x: anchor.x + 3 / s, y: anchor.y - 5 / s, fill: color, 'font-size': 13 / s, 'font-weight': 700,
          stroke: '#fff', 'stroke-width': 3, 'paint-order': 'stroke', 'vector-effect': 'non-scaling-stroke', 'pointer-events': 'none' });
        text.textContent = shape.label;
        svg.append(text);
      }
      if (selected || draft) {
        var handles = tool === 'box' ? this._corners(pts) : pts;
        handles.forEach(function (p, v) {
          if (tool === 'point') return;
          svg.append(CL.svg('circle', { cx: p.x, cy: p.y, r: 5 / s, fill: '#fff', stroke: color, 'stroke-width': 2, 'vector-effect': 'non-scaling-stroke',
            class: 'handle', 'data-vertex': draft ? null : v, 'pointer-events': draft ? 'none' : null }));
        });
      }
    }

    _corners(pts) {
      var a = pts[0], b = pts[1] || pts[0];
      var x0 = Math.min(a.x, b.x), x1 = Math.max(a.x, b.x), y0 = Math.min(a.y, b.y), y1 = Math.max(a.y, b.y);
      return [{ x: x0, y: y0 }, { x: x1, y: y0 }, { x: x1, y: y1 }, { x: x0, y: y1 }];
    }

    _renderList() {
      var self = this;
      var focused = this.shadowRoot.activeElement;
      var refocus = focused && this._list.contains(focused) ? focused.getAttribute('data-key') : null;
      this._list.textContent = '';
      this._shapes.forEach(function (shape, k) {
        var noun = CL.t('shape.' + self._noun);
        var name = CL.t('shapes.item', { noun: noun.charAt(0).toUpperCase() + noun.slice(1), n: k + 1, label: shape.label });
        var sel = h('button', { type: 'button', text: name, 'aria-pressed': k === self._selected ? 'true' : 'false', 'data-key': 's' + k });
        var del = h('button', { type: 'button', class: 'del', text: '\u00d7', 'aria-label': CL.t('delete', { name: name }), 'data-key': 'd' + k });
        sel.addEventListener('click', function () { self._cursor = null; self._select(k); self._view.stage.focus({ preventScroll: true }); });
        del.addEventListener('click', function () { self._remove(k); });
        self._list.append(h('li', { class: k === self._selected ? 'selected' : '' }, [h('span', { class: 'swatch', style: 'margin-left:8px;background:' + self._color(shape.label), 'aria-hidden': 'true' }), sel, del]));
      });
      if (refocus) {
        var again = this._list.querySelector('[data-key="' + refocus + '"]');
        if (again) again.focus();
      }
    }

    /* ---- answer ---- */

    _imageProperties() {
      var n = this._view && this._view.natural;
      return { height: n ? n.height : 0, width: n ? n.width : 0 };
    }

    _crowdValue() {
      var out = {};
      var self = this;
      out[this._answerKey] = this._shapes.map(function (s) { return self._item(s); });
      out.inputImageProperties = this._imageProperties();
      if (this._initialPresent) out.initialValueModified = this._modified;
      return out;
    }

    _crowdValidate() {
      var message = '';
      if (!this._view || !this._view.natural) message = CL.t('image.not_loaded');
      else if (this._draft) message = CL.t('shapes.finish', { noun: CL.t('shape.' + this._noun) });
      this._showError(message);
      return message;
    }

    _crowdReset() {
      this._loadInitial();
      this._cursor = null;
      this._render();
    }

    _crowdFocus() { this._view.stage.focus(); }

    get labels() { return this._labelList(); }
    set labels(list) {
      this._labels = Array.isArray(list) ? list.map(String) : null;
      if (this._view) { this._renderLabels(); this._render(); }
    }
  }

  function listFrom(raw, key) {
    if (Array.isArray(raw)) return raw;
    if (raw && typeof raw === 'object' && Array.isArray(raw[key])) return raw[key];
    return [];
  }
  function vertices(item) {
    return (item && Array.isArray(item.vertices) ? item.vertices : []).map(function (v) { return { x: num(v.x), y: num(v.y) }; });
  }
  function round(p) { return { x: CL.round(p.x), y: CL.round(p.y) }; }

  class CrowdBoundingBox extends ShapeAnnotator {
    get _tool() { return 'box'; }
    get _noun() { return 'box'; }
    get _answerKey() { return 'boundingBoxes'; }
    _initialItems(raw) {
      return listFrom(raw, 'boundingBoxes').map(function (b) {
        var left = num(b.left), top = num(b.top);
        return { label: String(b.label), points: [{ x: left, y: top }, { x: left + num(b.width), y: top + num(b.height) }] };
      });
    }
    _item(s) {
      var a = s.points[0], b = s.points[1];
      var left = CL.round(Math.min(a.x, b.x)), top = CL.round(Math.min(a.y, b.y));
      return { label: s.label, left: left, top: top, width: CL.round(Math.max(a.x, b.x)) - left, height: CL.round(Math.max(a.y, b.y)) - top };
    }
  }

  class CrowdKeypoint extends ShapeAnnotator {
    get _tool() { return 'point'; }
    get _noun() { return 'point'; }
    get _answerKey() { return 'keypoints'; }
    _initialItems(raw) {
      var labels = this._labelList();
      return listFrom(raw, 'keypoints').filter(function (p) { return labels.indexOf(String(p.label)) >= 0; })
        .map(function (p) { return { label: String(p.label), points: [{ x: num(p.x), y: num(p.y) }] }; });
    }
    _item(s) { var p = round(s.points[0]); return { label: s.label, x: p.x, y: p.y }; }
  }

  class CrowdPolygon extends ShapeAnnotator {
    get _tool() { return 'polygon'; }
    get _noun() { return 'polygon'; }
    get _answerKey() { return 'polygons'; }
    _initialItems(raw) {
      return listFrom(raw, 'polygons').map(function (p) { return { label: String(p.label), points: vertices(p) }; })
        .filter(function (p) { return p.points.length >= 3; });
    }
    _item(s) { return { label: s.label, vertices: s.points.map(round) }; }
  }

  class CrowdLine extends ShapeAnnotator {
    get _tool() { return 'line'; }
    get _noun() { return 'line'; }
    get _answerKey() { return 'lines'; }
    _initialItems(raw) {
      return listFrom(raw, 'lines').map(function (p) { return { label: String(p.label), points: vertices(p).slice(0, 2) }; })
        .filter(function (p) { return p.points.length === 2; });
    }
    _item(s) { return { label: s.label, vertices: s.points.map(round) }; }
  }

  class CrowdPolyline extends ShapeAnnotator {
    get _tool() { return 'polyline'; }
    get _noun() { return 'polyline'; }
    get _answerKey() { return 'polylines'; }
    _initialItems(raw) {
      return listFrom(raw, 'polylines').map(function (p) { return { label: String(p.label), points: vertices(p) }; })
        .filter(function (p) { return p.points.length >= 2; });
    }
    _item(s) { return { label: s.label, vertices: s.points.map(round) }; }
  }

  CL.ShapeAnnotator = ShapeAnnotator;
  CL.defineControl('crowd-bounding-box', CrowdBoundingBox);
  CL.defineControl('crowd-keypoint', CrowdKeypoint);
  CL.defineControl('crowd-polygon', CrowdPolygon);
  CL.defineControl('crowd-line', CrowdLine);
  CL.defineControl('crowd-polyline', CrowdPolyline);
})(window.CrowdLoop);
