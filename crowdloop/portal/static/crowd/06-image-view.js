/* CL.ImageView: the zoomable, pannable image the image elements share (image classifiers, shapes,
 * segmentation, the AWS task types), with image <-> screen coordinates; CL.IMAGE_VIEW_CSS styles it.
 * Coordinates handed to answers are always in the original image's pixels. */
(function (CL) {
  'use strict';
  if (CL.copies > 1) return; // a second copy of the bundle (00-core.js)
  var h = CL.h;

  CL.IMAGE_VIEW_CSS = [
    '.stage { position: relative; overflow: hidden; background: #2b2f33; border-radius: 8px; min-height: 200px; height: 60vh;',
    '  touch-action: none; user-select: none; -webkit-user-select: none; }',
    '.stage:focus-visible { outline: 3px solid var(--crowd-focus); outline-offset: 2px; }',
    '.layer { position: absolute; left: 0; top: 0; transform-origin: 0 0; }',
    '.layer img, .layer canvas, .layer svg { position: absolute; left: 0; top: 0; width: 100%; height: 100%; }',
    '.layer img { image-rendering: auto; pointer-events: none; }',
    '.layer canvas.upper-canvas { pointer-events: none; }',
    '.layer svg { overflow: visible; }',
    '.layer .overlay-img { opacity: .5; }',
    '.zoom { position: absolute; right: 8px; top: 8px; display: flex; gap: 4px; z-index: 2; }',
    '.zoom button { width: 32px; height: 32px; border-radius: 6px; border: 1px solid #c4c9ce; background: rgba(255,255,255,.92); font-weight: 700; cursor: pointer; }',
    '.zoom button:focus-visible { outline: 3px solid var(--crowd-focus); }',
    '.img-status { position: absolute; inset: 0; display: flex; align-items: center; justify-content: center; color: #fff; padding: 16px; text-align: center; }',
    '.img-status:empty { display: none; }'
  ].join('\n');

  // A zoomable, pannable image. `layer` holds the <img>, a canvas.upper-canvas and an <svg> whose
  // viewBox is the image's natural size, so shapes are drawn in image pixels.
  function ImageView(opts) {
    var self = this;
    this.opts = opts || {};
    this.natural = null;
    this.scale = 1;
    this.tx = 0;
    this.ty = 0;
    this.fitted = true;
    this.img = h('img', { alt: opts.alt || '', draggable: 'false', part: 'image' });
    this.canvas = h('canvas', { class: 'upper-canvas' });
    this.svg = CL.svg('svg', { class: 'shapes', 'aria-hidden': 'true' });
    this.layer = h('div', { class: 'layer' }, [this.img, this.canvas, this.svg]);
    this.status = h('div', { class: 'img-status', role: 'status' });
    var zin = h('button', { type: 'button', 'aria-label': CL.t('image.zoom_in'), text: '+' });
    var zout = h('button', { type: 'button', 'aria-label': CL.t('image.zoom_out'), text: '\u2212' });
    var zfit = h('button', { type: 'button', 'aria-label': CL.t('image.fit'), text: '\u2922' });
    zin.addEventListener('click', function () { self.zoomBy(1.25); });
    zout.addEventListener('click', function () { self.zoomBy(0.8); });
    zfit.addEventListener('click', function () { self.fit(); });
    this.stage = h('div', { class: 'stage', part: 'stage', tabindex: opts.focusable ? '0' : null, role: opts.role || null,
      'aria-label': opts.label || null }, [this.layer, this.status, h('div', { class: 'zoom' }, [zin, zout, zfit])]);
    this.img.addEventListener('load', function () {
      self.natural = { width: self.img.naturalWidth, height: self.img.naturalHeight };
      self.canvas.width = self.natural.width;
      self.canvas.height = self.natural.height;
      self.svg.setAttribute('viewBox', '0 0 ' + self.natural.width + ' ' + self.natural.height);
      self.status.textContent = '';
      self.sizeStage();
      self.fit();
      if (self.opts.onLoad) self.opts.onLoad(self.natural);
    });
    this.img.addEventListener('error', function () {
      self.natural = null;
      self.status.textContent = CL.t('image.load_failed');
      if (self.opts.onError) self.opts.onError();
    });
    this.stage.addEventListener('wheel', function (ev) {
      if (!self.natural) return;
      ev.preventDefault();
      var r = self.stage.getBoundingClientRect();
      self.zoomBy(ev.deltaY < 0 ? 1.15 : 1 / 1.15, ev.clientX - r.left, ev.clientY - r.top);
    }, { passive: false });
    // Pan: middle button, or left button while Space is held (or when opts.panWithLeft()).
    var pan = null;
    this.stage.addEventListener('pointerdown', function (ev) {
      var left = ev.button === 0 && (self.spaceHeld || (self.opts.panWithLeft && self.opts.panWithLeft(ev)));
      if (ev.button !== 1 && !left) return;
      ev.preventDefault();
      ev.stopImmediatePropagation();
      pan = { x: ev.clientX, y: ev.clientY, id: ev.pointerId };
      self.stage.setPointerCapture(ev.pointerId);
    }, true);
    this.stage.addEventListener('pointermove', function (ev) {
      if (!pan || ev.pointerId !== pan.id) return;
      self.panBy(ev.clientX - pan.x, ev.clientY - pan.y);
      pan.x = ev.clientX;
      pan.y = ev.clientY;
    });
    this.stage.addEventListener('pointerup', function (ev) { if (pan && ev.pointerId === pan.id) pan = null; });
    this.stage.addEventListener('keydown', function (ev) {
      if (ev.key === ' ' && ev.target === self.stage) { self.spaceHeld = true; }
      if (ev.ctrlKey || ev.metaKey || ev.altKey) return;
      if (ev.key === '+' || ev.key === '=') { ev.preventDefault(); self.zoomBy(1.25); }
      else if (ev.key === '-' || ev.key === '_') { ev.preventDefault(); self.zoomBy(0.8); }
      else if (ev.key === '0') { ev.preventDefault(); self.fit(); }
    });
    this.stage.addEventListener('keyup', function (ev) { if (ev.key === ' ') self.spaceHeld = false; });
    new ResizeObserver(function () { if (self.natural) { self.sizeStage(); if (self.fitted) self.fit(); else self.apply(); } }).observe(this.stage);
  }

  ImageView.prototype.setSrc = function (src) {
    this.natural = null;
    if (!src) { this.img.removeAttribute('src'); this.status.textContent = CL.t('image.none'); return; }
    this.status.textContent = CL.t('image.loading');
    this.img.src = src;
  };

  // Height follows the image's aspect ratio, at most 70% of the viewport.
  ImageView.prototype.sizeStage = function () {
    if (!this.natural || this.opts.fixedHeight) return;
    var w = this.stage.clientWidth || 600;
    var want = Math.round(Math.min(window.innerHeight * 0.7, Math.max(200, w * this.natural.height / this.natural.width)));
    if (Math.abs(parseFloat(this.stage.style.height || '0') - want) > 1) this.stage.style.height = want + 'px';
  };

  ImageView.prototype.fit = function () {
    if (!this.natural) return;
    var w = this.stage.clientWidth, hgt = this.stage.clientHeight;
    this.scale = Math.min(w / this.natural.width, hgt / this.natural.height);
    if (!isFinite(this.scale) || this.scale <= 0) this.scale = 1;
    this.tx = (w - this.natural.width * this.scale) / 2;
    this.ty = (hgt - this.natural.height * this.scale) / 2;
    this.fitted = true;
    this.apply();
  };

  ImageView.prototype.zoomBy = function (factor, cx, cy) {
    if (!this.natural) return;
    if (cx === undefined) { cx = this.stage.clientWidth / 2; cy = this.stage.clientHeight / 2; }
    var next = Math.max(0.05, Math.min(40, this.scale * factor));
    var f = next / this.scale;
    this.tx = cx - (cx - this.tx) * f;
    this.ty = cy - (cy - this.ty) * f;
    this.scale = next;
    this.fitted = false;
    this.apply();
  };

  ImageView.prototype.panBy = function (dx, dy) {
    this.tx += dx;
    this.ty += dy;
    this.fitted = false;
    this.apply();
  };

  // Keep image point (x, y) inside the visible stage (used by the keyboard cursor).
  ImageView.prototype.reveal = function (x, y) {
    if (!this.natural) return;
    var p = this.toStage(x, y);
    var w = this.stage.clientWidth, hgt = this.stage.clientHeight, m = 24;
    var dx = p.x < m ? m - p.x : p.x > w - m ? w - m - p.x : 0;
    var dy = p.y < m ? m - p.y : p.y > hgt - m ? hgt - m - p.y : 0;
    if (dx || dy) this.panBy(dx, dy);
  };

  ImageView.prototype.apply = function () {
    if (!this.natural) return;
    var s = this.layer.style;
    s.width = this.natural.width + 'px';
    s.height = this.natural.height + 'px';
    s.transform = 'translate(' + this.tx + 'px,' + this.ty + 'px) scale(' + this.scale + ')';
    if (this.opts.onView) this.opts.onView();
  };

  ImageView.prototype.toImage = function (clientX, clientY) {
    var r = this.stage.getBoundingClientRect();
    return { x: (clientX - r.left - this.tx) / this.scale, y: (clientY - r.top - this.ty) / this.scale };
  };

  ImageView.prototype.toStage = function (x, y) {
    return { x: x * this.scale + this.tx, y: y * this.scale + this.ty };
  };

  ImageView.prototype.clamp = function (p) {
    if (!this.natural) return p;
    return { x: Math.max(0, Math.min(this.natural.width, p.x)), y: Math.max(0, Math.min(this.natural.height, p.y)) };
  };

  CL.ImageView = ImageView;
})(window.CrowdLoop);
