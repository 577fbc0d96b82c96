/* crowd-semantic-segmentation and crowd-instance-segmentation: paint pixel masks.
 *
 * The mask is a per-pixel class index (0 = nothing) at the image's original size; classes are
 * labels (semantic) or instances (instance). The answer's labeledImage.pngImageData is a base64 PNG
 * of the same size: each painted pixel is its class colour (opaque, exact), the rest is
 * CL.CHOICES.segmentationBackground.
 *   semantic: {inputImageProperties, labelMappings: {"<label>": {color}}, labeledImage: {pngImageData}}
 *   instance: {inputImageProperties, instances: [{color, label}], labeledImage: {pngImageData}}
 * Only classes that cover at least one pixel are listed.
 *
 * Tools: brush (B), eraser (E), polygon fill (P); [ and ] change the brush size; Ctrl+Z undoes.
 * Mouse paints/erases by dragging; polygon: click corners, click the first one or double-click to
 * fill. Keyboard (image focused): arrows move the crosshair (Shift: 10 px), Enter paints a dab or
 * places a polygon corner (twice on the same spot fills), digits choose the label (instance: N adds
 * an instance of the chosen label). */
(function (CL) {
  'use strict';
  if (CL.copies > 1) return; // a second copy of the bundle (00-core.js)
  var h = CL.h;

  var rgbOf = CL.rgbOf;
  var hexOf = CL.hexOf;

  var SEG_CSS = [
    ':host { display: block; line-height: 1.4; }',
    CL.layoutCss(),
    '.header { font-weight: 700; margin: 0 0 8px; }',
    '.toolbar { display: flex; flex-wrap: wrap; gap: 6px; align-items: center; margin-bottom: 8px; }',
    '.opt { display: inline-flex; align-items: center; gap: 6px; padding: 4px 10px; border: 1px solid #c4c9ce; border-radius: 14px; cursor: pointer; }',
    '.opt:has(input:checked) { border-color: var(--crowd-accent); background: var(--crowd-selected-bg); font-weight: 600; }',
    '.opt input { margin: 0; accent-color: var(--crowd-accent); }',
    '.opt input:focus-visible, .toolbar button:focus-visible, .toolbar input[type=range]:focus-visible { outline: 3px solid var(--crowd-focus); outline-offset: 2px; }',
    '.swatch { width: 12px; height: 12px; border-radius: 3px; display: inline-block; }',
    '.toolbar button { font: inherit; padding: 4px 10px; border-radius: 14px; border: 1px solid #c4c9ce; background: #fff; cursor: pointer; }',
    '.toolbar label.size { display: inline-flex; align-items: center; gap: 6px; font-size: .9em; }',
    '.muted { color: var(--crowd-muted); font-style: italic; }',
    '.hint { color: var(--crowd-muted); font-size: .85em; margin: 6px 0 0; }',
    '.stage { cursor: crosshair; }',
    '.layer canvas.upper-canvas { opacity: .6; image-rendering: pixelated; }',
    '.error-text:empty { display: none; }',
    CL.IMAGE_VIEW_CSS,
    CL.INSTRUCTIONS_CSS
  ].join('\n');

  class SegmentationBase extends CL.Annotator {
    static get observedAttributes() { return ['src', 'labels', 'header', 'initial-value']; }

    constructor() {
      super();
      this._labels = null;
      this._classes = [];   // [{label, color}]; buffer value k+1 = class k
      this._active = -1;    // active class (instance mode) / -1
      this._labelIndex = 0; // chosen label
      this._tool = 'brush';
      this._size = 16;      // brush diameter in screen pixels
      this._undo = [];
      this._draft = null;
      this._cursor = null;
      this._modified = false;
      this._buffer = null;
    }

    get _instanceMode() { return false; }
    get _noun() { return 'segmentation'; }

    connectedCallback() {
      if (!this._view) this._build();
      CL.upgradeProperties(this, ['labels']);
    }

    _build() {
      var self = this;
      var root = CL.attachStyledShadow(this, SEG_CSS);
      CL.slotRegions(this, ['short-instructions', 'full-instructions']);
      var panel = CL.instructionsPanel(this);
      this._header = h('p', { class: 'header', part: 'header' });
      this._labelBar = h('div', { class: 'toolbar', role: 'radiogroup', 'aria-label': CL.t('label'), part: 'labels' });
      this._instanceBar = h('div', { class: 'toolbar', role: 'radiogroup', 'aria-label': CL.t('seg.instance'), part: 'instances', hidden: !this._instanceMode });
      var tools = h('div', { class: 'toolbar', role: 'radiogroup', 'aria-label': CL.t('seg.tool'), part: 'tools' });
      var toolName = CL.uid('tool');
      this._toolInputs = {};
      [['brush', CL.t('seg.brush')], ['eraser', CL.t('seg.eraser')], ['polygon', CL.t('seg.polygon')]].forEach(function (t) {
        var input = h('input', { type: 'radio', name: toolName, value: t[0] });
        input.checked = t[0] === self._tool;
        input.addEventListener('change', function () { self._setTool(t[0]); });
        self._toolInputs[t[0]] = input;
        tools.append(h('label', { class: 'opt' }, [input, h('span', { text: t[1] })]));
      });
      this._sizeInput = h('input', { type: 'range', min: '2', max: '80', value: String(this._size), 'aria-label': CL.t('seg.brush_size') });
      this._sizeInput.addEventListener('input', function () { self._size = Number(self._sizeInput.value); });
      var undo = h('button', { type: 'button', text: CL.t('undo') });
      undo.addEventListener('click', function () { self._undoLast(); });
      tools.append(h('label', { class: 'size' }, [CL.t('seg.size'), this._sizeInput]), undo);
      this._view = new CL.ImageView({
        focusable: true, role: 'application', label: CL.t('seg.image'),
        onLoad: function (natural) { self._allocate(natural); },
        onError: function () { self._showError(CL.t('image.load_failed')); },
        onView: function () { self._renderDraft(); }
      });
      this._hint = h('p', { class: 'hint', text: CL.t('seg.hint', { instances: this._instanceMode ? CL.t('seg.hint_instances') : '' }) });
      this._errorEl = h('div', { class: 'error-text', role: 'alert', part: 'error' });
      this._live = h('div', { class: 'visually-hidden', 'aria-live': 'polite' });
      root.append(h('div', { class: 'layout' }, [panel.aside, h('div', { class: 'main' },
        [this._header, this._labelBar, this._instanceBar, tools, this._view.stage, this._hint, this._errorEl, this._live, h('slot')])]), panel.dialog);
      this._wire();
      this._renderHeader();
      this._renderLabels();
      this._view.setSrc(this.getAttribute('src'));
    }

    attributeChangedCallback(name) {
      if (!this._view) return;
      if (name === 'src') this._view.setSrc(this.getAttribute('src'));
      else if (name === 'labels') this._renderLabels();
      else if (name === 'header') this._renderHeader();
      else if (name === 'initial-value' && this._buffer) this._loadInitial();
    }

    _renderHeader() {
      var header = this.getAttribute('header') || '';
      this._header.textContent = header;
      this._header.hidden = !header;
      this._view.stage.setAttribute('aria-label', header ? CL.t('seg.image_of', { header: header }) : CL.t('seg.image'));
    }

    /* ---- labels and classes ---- */

    _renderLabels() {
      var self = this;
      var labels = this._labelList();
      if (this._labelIndex >= labels.length) this._labelIndex = 0;
      var group = CL.uid('seglabel');
      this._labelBar.textContent = '';
      if (!labels.length) { this._labelBar.append(h('span', { class: 'muted', text: CL.t('no_labels') })); return; }
      labels.forEach(function (label, k) {
        var input = h('input', { type: 'radio', name: group, value: label });
        input.checked = k === self._labelIndex;
        input.addEventListener('change', function () { self._chooseLabel(k); });
        var swatch = self._instanceMode ? null : h('span', { class: 'swatch', style: 'background:' + self._classes[self._semanticClass(label)].color, 'aria-hidden': 'true' });
        self._labelBar.append(h('label', { class: 'opt', part: 'label' }, [input, swatch, h('span', { text: label })]));
      });
      if (this._instanceMode) this._renderInstances();
    }

    _chooseLabel(k) {
      var labels = this._labelList();
      if (k < 0 || k >= labels.length) return;
      this._labelIndex = k;
      var inputs = this._labelBar.querySelectorAll('input');
      if (inputs[k]) inputs[k].checked = true;
      this._announce(CL.t('entity.label', { label: labels[k] }));
    }

    // Semantic mode: one class per label, created (with its colour) when the label first appears,
    // so a label keeps its colour when the label list changes.
    _semanticClass(label) {
      for (var k = 0; k < this._classes.length; k++) if (this._classes[k].label === label) return k;
      this._classes.push({ label: label, color: this._nextColor() });
      return this._classes.length - 1;
    }

    _nextColor() {
      var used = new Set(this._classes.map(function (c) { return c.color; }));
      for (var k = 0; ; k++) { var c = CL.distinctColor(k); if (!used.has(c)) return c; }
    }

    _addInstance() {
      var label = this._labelList()[this._labelIndex];
      if (label === undefined) { this._showError(CL.t('seg.label_first')); return -1; }
      this._classes.push({ label: label, color: this._nextColor() });
      this._active = this._classes.length - 1;
      this._renderInstances();
      this._announce(CL.t('seg.new_instance', { label: label, n: this._countOf(label) }));
      return this._active;
    }

    _countOf(label) { return this._classes.filter(function (c) { return c.label === label; }).length; }

    _renderInstances() {
      var self = this;
      var bar = this._instanceBar;
      bar.textContent = '';
      var add = h('button', { type: 'button', text: CL.t('seg.add_instance') });
      add.addEventListener('click', function () { self._addInstance(); });
      var group = CL.uid('inst');
      var seen = {};
      this._classes.forEach(function (c, k) {
        seen[c.label] = (seen[c.label] || 0) + 1;
        var input = h('input', { type: 'radio', name: group, value: String(k) });
        input.checked = k === self._active;
        input.addEventListener('change', function () { self._active = k; });
        bar.append(h('label', { class: 'opt', part: 'instance' }, [input, h('span', { class: 'swatch', style: 'background:' + c.color, 'aria-hidden': 'true' }),
          h('span', { text: c.label + ' #' + seen[c.label] })]));
      });
      bar.append(add);
    }

    // The class index painting uses now (created on demand).
    _paintClass() {
      if (this._instanceMode) {
        if (this._active >= 0 && this._active < this._classes.length) return this._active;
        return this._addInstance();
      }
      var label = this._labelList()[this._labelIndex];
      if (label === undefined) { this._showError(CL.t('seg.label_first')); return -1; }
      return this._semanticClass(label);
    }

    _setTool(tool) {
      this._tool = tool;
      if (this._toolInputs[tool]) this._toolInputs[tool].checked = true;
      if (tool !== 'polygon') this._draft = null;
      this._renderDraft();
      this._announce(CL.t('seg.tool_is', { tool: CL.t('seg.' + tool) }));
    }

    /* ---- mask buffer ---- */

    _allocate(natural) {
      this._w = natural.width;
      this._h = natural.height;
      this._buffer = new Uint16Array(this._w * this._h);
      var ctx = this._view.canvas.getContext('2d');
      this._display = ctx.createImageData(this._w, this._h);
      this._undo = [];
      this._loadInitial();
    }

    _loadInitial() {
      var self = this;
      this._initialPresent = this.hasAttribute('initial-value') && this.getAttribute('initial-value').trim() !== '';
      this._buffer.fill(0);
      this._modified = false;
      if (this._instanceMode) this._classes = [];
      var init = this._initialPresent ? CL.literalAttr(this, 'initial-value', null, 'object') : null;
      if (!init || !init.src) { this._paintAll(); if (this._instanceMode) this._renderInstances(); return; }
      var colorToClass = new Map();
      if (this._instanceMode) {
        (Array.isArray(init.instances) ? init.instances : []).forEach(function (inst) {
          self._classes.push({ label: String(inst.label), color: String(inst.color).toLowerCase() });
          colorToClass.set(String(inst.color).toLowerCase(), self._classes.length - 1);
        });
        this._active = this._classes.length ? 0 : -1;
        this._renderInstances();
      } else {
        var maps = init.labelMappings || {};
        Object.keys(maps).forEach(function (label) {
          var color = String(maps[label] && maps[label].color || '').toLowerCase();
          if (!color) return;
          var existing = self._classes.findIndex(function (c) { return c.label === label; });
          if (existing >= 0) self._classes[existing].color = color;
          else self._classes.push({ label: label, color: color });
          colorToClass.set(color, existing >= 0 ? existing : self._classes.length - 1);
        });
        // a label whose automatic colour is now taken by a mapped label gets another one
        var mapped = new Set(Object.keys(maps));
        var taken = new Set(this._classes.filter(function (c) { return mapped.has(c.label); }).map(function (c) { return c.color; }));
        this._classes.forEach(function (c) {
          if (!mapped.has(c.label) && taken.has(c.color)) c.color = self._nextColor();
        });
        this._renderLabels();
      }
      var img = new Image();
      img.crossOrigin = 'anonymous';
      img.onload = function () {
        try {
          var c = h('canvas');
          c.width = self._w;
          c.height = self._h;
          var ctx = c.getContext('2d');
          ctx.drawImage(img, 0, 0, self._w, self._h);
          var data = ctx.getImageData(0, 0, self._w, self._h).data;
          for (var i = 0, p = 0; p < self._buffer.length; p++, i += 4) {
            if (data[i + 3] < 128) continue;
            var k = colorToClass.get(hexOf([data[i], data[i + 1], data[i + 2]]));
            if (k !== undefined) self._buffer[p] = k + 1;
          }
        } catch (err) {
          self._showError(CL.t('seg.unreadable'));
        }
        self._paintAll();
      };
      img.onerror = function () { self._showError(CL.t('seg.unloadable')); self._paintAll(); };
      img.src = init.src;
    }

    _paintAll() { this._refresh(0, 0, this._w, this._h); }

    // Copy the buffer's region into the display canvas (class colour, or transparent).
    _refresh(x0, y0, w, hgt) {
      if (!this._buffer) return;
      x0 = Math.max(0, Math.floor(x0)); y0 = Math.max(0, Math.floor(y0));
      var x1 = Math.min(this._w, Math.ceil(x0 + w)), y1 = Math.min(this._h, Math.ceil(y0 + hgt));
      if (x1 <= x0 || y1 <= y0) return;
      var rgb = this._classes.map(function (c) { return rgbOf(c.color); });
      var d = this._display.data, W = this._w, buf = this._buffer;
      for (var y = y0; y < y1; y++) {
        for (var x = x0; x < x1; x++) {
          var p = y * W + x, v = buf[p], i = p * 4;
          if (v && rgb[v - 1]) { var c = rgb[v - 1]; d[i] = c[0]; d[i + 1] = c[1]; d[i + 2] = c[2]; d[i + 3] = 255; }
          else d[i + 3] = 0;
        }
      }
      this._view.canvas.getContext('2d').putImageData(this._display, 0, 0, x0, y0, x1 - x0, y1 - y0);
    }

    _snapshot() {
      this._undo.push({ buffer: this._buffer.slice(), classes: this._classes.map(function (c) { return { label: c.label, color: c.color }; }) });
      if (this._undo.length > 10) this._undo.shift();
    }

    _undoLast() {
      var last = this._undo.pop();
      if (!last) return;
      this._buffer = last.buffer;
      if (this._instanceMode) { this._classes = last.classes; this._active = Math.min(this._active, this._classes.length - 1); this._renderInstances(); }
      this._paintAll();
      this._edited();
      this._announce(CL.t('seg.undone'));
    }

    // A filled disc of radius r (image px) centred on (cx, cy) set to value.
    _dab(cx, cy, r, value) {
      var W = this._w, H = this._h, buf = this._buffer;
      var y0 = Math.max(0, Math.floor(cy - r)), y1 = Math.min(H - 1, Math.ceil(cy + r));
      var x0 = Math.max(0, Math.floor(cx - r)), x1 = Math.min(W - 1, Math.ceil(cx + r));
      var r2 = r * r;
      for (var y = y0; y <= y1; y++) {
        var dy = y + 0.5 - cy;
        for (var x = x0; x <= x1; x++) {
          var dx = x + 0.5 - cx;
          if (dx * dx + dy * dy <= r2) buf[y * W + x] = value;
        }
      }
      return [x0, y0, x1 - x0 + 1, y1 - y0 + 1];
    }

    _stroke(a, b, value) {
      var r = Math.max(0.5, this._size / 2 / (this._view.scale || 1));
      var n = Math.max(1, Math.ceil(Math.hypot(b.x - a.x, b.y - a.y) / Math.max(0.5, r / 2)));
      var minX = Infinity, minY = Infinity, maxX = -Infinity, maxY = -Infinity;
      for (var k = 0; k <= n; k++) {
        var t = k / n;
        var box = this._dab(a.x + (b.x - a.x) * t, a.y + (b.y - a.y) * t, r, value);
        minX = Math.min(minX, box[0]); minY = Math.min(minY, box[1]);
        maxX = Math.max(maxX, box[0] + box[2]); maxY = Math.max(maxY, box[1] + box[3]);
      }
      this._refresh(minX, minY, maxX - minX, maxY - minY);
    }

    // Even-odd scanline fill of a polygon (pixel centres inside are set).
    _fillPolygon(points, value) {
      var W = this._w, H = this._h, buf = this._buffer;
      var ys = points.map(function (p) { return p.y; });
      var y0 = Math.max(0, Math.floor(Math.min.apply(null, ys))), y1 = Math.min(H - 1, Math.ceil(Math.max.apply(null, ys)));
      var minX = W, maxX = 0;
      for (var y = y0; y <= y1; y++) {
        var cy = y + 0.5, xs = [];
        for (var i = 0, j = points.length - 1; i < points.length; j = i++) {
          var a = points[i], b = points[j];
          if ((a.y > cy) !== (b.y > cy)) xs.push(a.x + (cy - a.y) * (b.x - a.x) / (b.y - a.y));
        }
        xs.sort(function (p, q) { return p - q; });
        for (var k = 0; k + 1 < xs.length; k += 2) {
          var xa = Math.max(0, Math.ceil(xs[k] - 0.5)), xb = Math.min(W - 1, Math.ceil(xs[k + 1] - 0.5) - 1);
          for (var x = xa; x <= xb; x++) buf[y * W + x] = value;
          if (xa <= xb) { minX = Math.min(minX, xa); maxX = Math.max(maxX, xb); }
        }
      }
      this._refresh(minX, y0, maxX - minX + 1, y1 - y0 + 1);
    }

    /* ---- input ---- */

    _wire() {
      var self = this;
      var stage = this._view.stage;
      var last = null, pointer = null;
      stage.addEventListener('pointerdown', function (ev) {
        if (ev.button !== 0 || !self._buffer) return;
        stage.focus({ preventScroll: true });
        self._cursor = null;
        var p = self._view.clamp(self._view.toImage(ev.clientX, ev.clientY));
        if (self._tool === 'polygon') { self._polygonPoint(p, false); return; }
        var value = self._tool === 'eraser' ? 0 : self._paintClass() + 1;
        if (value < 0) return;
        self._snapshot();
        pointer = { id: ev.pointerId, value: value };
        last = p;
        stage.setPointerCapture(ev.pointerId);
        self._stroke(p, p, value);
      });
      stage.addEventListener('pointermove', function (ev) {
        if (!self._buffer) return;
        var p = self._view.clamp(self._view.toImage(ev.clientX, ev.clientY));
        if (pointer && ev.pointerId === pointer.id) { self._stroke(last, p, pointer.value); last = p; return; }
        if (self._draft) { self._rubber = p; self._renderDraft(); }
      });
      stage.addEventListener('pointerup', function (ev) {
        if (pointer && ev.pointerId === pointer.id) { pointer = null; self._edited(); }
      });
      stage.addEventListener('dblclick', function (ev) { ev.preventDefault(); self._finishPolygon(); });
      stage.addEventListener('keydown', function (ev) { self._key(ev); });
    }

    _polygonPoint(p, keyboard) {
      if (!this._draft) { this._draft = [p]; this._renderDraft(); return; }
      var pts = this._draft, lastP = pts[pts.length - 1];
      var close = keyboard ? 0.5 : 8 / this._view.scale;
      if ((pts.length >= 3 && Math.hypot(p.x - pts[0].x, p.y - pts[0].y) <= close) || (keyboard && Math.hypot(p.x - lastP.x, p.y - lastP.y) < 0.5)) {
        this._finishPolygon();
        return;
      }
      pts.push(p);
      this._renderDraft();
    }

    _finishPolygon() {
      if (!this._draft) return;
      var pts = this._draft.filter(function (p, k, all) { return k === 0 || Math.hypot(p.x - all[k - 1].x, p.y - all[k - 1].y) >= 0.5; });
      if (pts.length < 3) { this._showError(CL.t('seg.polygon_corners')); return; }
      var value = this._paintClass() + 1;
      if (value <= 0) return;
      this._snapshot();
      this._draft = null;
      this._rubber = null;
      this._fillPolygon(pts, value);
      this._renderDraft();
      this._edited();
      this._announce(CL.t('seg.filled'));
    }

    _key(ev) {
      if (ev.target !== this._view.stage || !this._buffer) return;
      if ((ev.ctrlKey || ev.metaKey) && (ev.key === 'z' || ev.key === 'Z')) { ev.preventDefault(); this._undoLast(); return; }
      if (ev.ctrlKey || ev.metaKey || ev.altKey) return;
      var view = this._view;
      var step = ev.shiftKey ? 10 : 1;
      var delta = { ArrowLeft: [-step, 0], ArrowRight: [step, 0], ArrowUp: [0, -step], ArrowDown: [0, step] }[ev.key];
      if (delta) {
        ev.preventDefault();
        if (!this._cursor) this._cursor = { x: Math.floor(this._w / 2) + 0.5, y: Math.floor(this._h / 2) + 0.5 };
        else this._cursor = view.clamp({ x: this._cursor.x + delta[0], y: this._cursor.y + delta[1] });
        if (this._draft) this._rubber = this._cursor;
        view.reveal(this._cursor.x, this._cursor.y);
        this._renderDraft();
        return;
      }
      var key = ev.key.toLowerCase();
      if (ev.key === 'Enter') {
        ev.preventDefault();
        if (!this._cursor) this._cursor = { x: Math.floor(this._w / 2) + 0.5, y: Math.floor(this._h / 2) + 0.5 };
        var p = { x: this._cursor.x, y: this._cursor.y };
        if (this._tool === 'polygon') { this._polygonPoint(p, true); return; }
        var value = this._tool === 'eraser' ? 0 : this._paintClass() + 1;
        if (value < 0) return;
        this._snapshot();
        this._stroke(p, p, value);
        this._edited();
      } else if (ev.key === 'Escape') {
        this._draft = null; this._cursor = null; this._renderDraft();
      } else if (key === 'b') this._setTool('brush');
      else if (key === 'e') this._setTool('eraser');
      else if (key === 'p') this._setTool('polygon');
      else if (key === 'n' && this._instanceMode) this._addInstance();
      else if (ev.key === '[' || ev.key === ']') {
        this._size = Math.max(2, Math.min(80, this._size + (ev.key === '[' ? -2 : 2)));
        this._sizeInput.value = String(this._size);
        this._announce(CL.t('seg.size_is', { n: this._size }));
      } else if (/^[1-9]$/.test(ev.key)) {
        ev.preventDefault();
        this._chooseLabel(Number(ev.key) - 1);
      }
    }

    _renderDraft() {
      var svg = this._view.svg;
      while (svg.firstChild) svg.removeChild(svg.firstChild);
      var s = this._view.scale || 1;
      if (this._draft) {
        var pts = this._draft.slice();
        if (this._rubber) pts.push(this._rubber);
        svg.append(CL.svg('polyline', { points: pts.map(function (p) { return p.x + ',' + p.y; }).join(' '), fill: 'none', stroke: '#fff',
          'stroke-width': 2, 'stroke-dasharray': '6 4', 'vector-effect': 'non-scaling-stroke' }));
        this._draft.forEach(function (p) {
          svg.append(CL.svg('circle', { cx: p.x, cy: p.y, r: 4 / s, fill: '#fff', stroke: '#000', 'stroke-width': 1, 'vector-effect': 'non-scaling-stroke' }));
        });
      }
      if (this._cursor) {
        var c = this._cursor;
        var r = this._tool === 'polygon' ? 10 / s : Math.max(0.5, this._size / 2 / s);
        svg.append(CL.svg('circle', { cx: c.x, cy: c.y, r: r, fill: 'none', stroke: '#fff', 'stroke-width': 2, 'vector-effect': 'non-scaling-stroke' }));
        svg.append(CL.svg('circle', { cx: c.x, cy: c.y, r: 1.5 / s, fill: '#000' }));
      }
    }


    /* ---- answer ---- */

    _usedClasses() {
      var used = new Uint8Array(this._classes.length + 1);
      var buf = this._buffer;
      if (buf) for (var p = 0; p < buf.length; p++) used[buf[p]] = 1;
      return used;
    }

    _png() {
      if (!this._buffer) return '';
      var c = h('canvas');
      c.width = this._w;
      c.height = this._h;
      var ctx = c.getContext('2d');
      var out = ctx.createImageData(this._w, this._h);
      var d = out.data, buf = this._buffer;
      var rgb = this._classes.map(function (cl) { return rgbOf(cl.color); });
      var bg = CL.CHOICES.segmentationBackground === 'black' ? 255 : 0;
      for (var p = 0, i = 0; p < buf.length; p++, i += 4) {
        var v = buf[p];
        if (v && rgb[v - 1]) { var col = rgb[v - 1]; d[i] = col[0]; d[i + 1] = col[1]; d[i + 2] = col[2]; d[i + 3] = 255; }
        else d[i + 3] = bg;
      }
      ctx.putImageData(out, 0, 0);
      return c.toDataURL('image/png').replace(/^data:image\/png;base64,/, '');
    }

    _imageProperties() { return { height: this._h || 0, width: this._w || 0 }; }

    _crowdValue() {
      var used = this._usedClasses();
      var out = { inputImageProperties: this._imageProperties() };
      var classes = this._classes;
      if (this._instanceMode) {
        out.instances = classes.filter(function (c, k) { return used[k + 1]; }).map(function (c) { return { color: c.color, label: c.label }; });
      } else {
        out.labelMappings = {};
        classes.forEach(function (c, k) { if (used[k + 1]) out.labelMappings[c.label] = { color: c.color }; });
      }
      out.labeledImage = { pngImageData: this._png() };
      if (this._initialPresent) out.initialValueModified = this._modified;
      return out;
    }

    _crowdValidate() {
      var message = '';
      if (!this._buffer) message = CL.t('image.not_loaded');
      else if (this._draft) message = CL.t('seg.finish');
      this._showError(message);
      return message;
    }

    _crowdReset() { if (this._buffer) this._loadInitial(); }
    _crowdFocus() { this._view.stage.focus(); }

    get labels() { return this._labelList(); }
    set labels(list) {
      this._labels = Array.isArray(list) ? list.map(String) : null;
      if (this._view) this._renderLabels();
    }
  }

  class CrowdSemanticSegmentation extends SegmentationBase {}
  class CrowdInstanceSegmentation extends SegmentationBase {
    get _instanceMode() { return true; }
  }

  CL.defineControl('crowd-semantic-segmentation', CrowdSemanticSegmentation);
  CL.defineControl('crowd-instance-segmentation', CrowdInstanceSegmentation);
})(window.CrowdLoop);
