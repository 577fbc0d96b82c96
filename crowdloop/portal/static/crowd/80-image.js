/* The image classifiers: crowd-image-classifier ({name: {label, workerComment?}}) and
 * crowd-image-classifier-multi-select ({name: {labels: [...], workerComment?}}), built on
 * CL.ClassifierBase (07-classifier.js) with a CL.ImageView (06-image-view.js) as the target. */
(function (CL) {
  'use strict';
  if (CL.copies > 1) return; // a second copy of the bundle (00-core.js)
  var h = CL.h;

  var IMAGE_CLASSIFIER_CSS = [
    CL.IMAGE_VIEW_CSS,
    '.target { flex: 1 1 420px; }',
    '.comment { margin-top: 10px; }',
    '.comment-text { white-space: pre-wrap; overflow-wrap: anywhere; color: var(--crowd-muted); margin: 4px 0 0; }',
    '.comment-text:empty { display: none; }',
    'textarea.comment-input { width: 100%; min-height: 6em; font: inherit; padding: 8px; border: 1px solid var(--crowd-border); border-radius: 6px; margin-top: 8px; }',
    '.dlg-actions { display: flex; justify-content: flex-end; gap: 8px; margin-top: 12px; }'
  ].join('\n');

  function overlayShapes(view, overlay) {
    if (!overlay || typeof overlay !== 'object') return;
    if (overlay.boundingBox && Array.isArray(overlay.boundingBox.value)) {
      var labels = overlay.boundingBox.labels || [];
      overlay.boundingBox.value.forEach(function (b) {
        var color = CL.PALETTE[Math.max(0, labels.indexOf(b.label)) % CL.PALETTE.length];
        view.svg.append(CL.svg('rect', { x: b.left, y: b.top, width: b.width, height: b.height, fill: color, 'fill-opacity': 0.15,
          stroke: color, 'stroke-width': 2, 'vector-effect': 'non-scaling-stroke' }));
        var t = CL.svg('text', { x: b.left + 2, y: b.top - 4, fill: color, 'font-size': 14, 'font-weight': 700, class: 'overlay-label' });
        t.textContent = b.label === undefined ? '' : String(b.label);
        view.svg.append(t);
      });
    }
    var seg = overlay.semanticSegmentation || overlay.instanceSegmentation;
    if (seg && seg.src) {
      view.layer.insertBefore(h('img', { class: 'overlay-img', src: seg.src, alt: '' }), view.canvas);
    }
  }

  class ImageClassifierBase extends CL.ClassifierBase {
    static get observedAttributes() { return CL.ClassifierBase.observedAttributes.concat(['src', 'overlay']); }
    get _regions() { return ['short-instructions', 'full-instructions', 'worker-comment']; }
    get _extraCss() { return IMAGE_CLASSIFIER_CSS; }

    _buildTarget() {
      var self = this;
      this._view = new CL.ImageView({ alt: this.getAttribute('header') || CL.t('image.to_classify'), onView: function () { self._scaleOverlay(); } });
      this._view.setSrc(this.getAttribute('src'));
      overlayShapes(this._view, CL.literalAttr(this, 'overlay', null, 'object'));
      return h('div', { class: 'target', part: 'target' }, [this._view.stage]);
    }

    _scaleOverlay() {
      var s = this._view.scale || 1;
      this._view.svg.querySelectorAll('.overlay-label').forEach(function (t) { t.setAttribute('font-size', String(14 / s)); });
    }

    _build() {
      super._build();
      // worker-comment: a link under the categories opens a dialog with the guidance and a textarea.
      var self = this;
      this._comment = '';
      var slot = h('slot', { name: 'worker-comment' });
      this._commentInput = h('textarea', { class: 'comment-input', 'aria-label': CL.t('comment') });
      var save = h('button', { type: 'button', class: 'btn primary', text: CL.t('save') });
      var cancel = h('button', { type: 'button', class: 'btn', text: CL.t('cancel') });
      this._commentDlg = CL.makeDialog(CL.t('comment.add'), [slot, this._commentInput, h('div', { class: 'dlg-actions' }, [cancel, save])]);
      this._commentLink = h('button', { type: 'button', class: 'linkbtn', text: CL.t('comment.add') });
      this._commentText = h('p', { class: 'comment-text' });
      this._commentBox = h('div', { class: 'comment', hidden: true }, [this._commentLink, this._commentText]);
      this._wrapper.insertBefore(this._commentBox, this._errorEl);
      this.shadowRoot.append(this._commentDlg.dialog);
      this._commentLink.addEventListener('click', function () {
        self._commentInput.value = self._comment;
        self._commentDlg.open();
        self._commentInput.focus();
      });
      cancel.addEventListener('click', function () { self._commentDlg.dialog.close(); });
      save.addEventListener('click', function () {
        self._comment = self._commentInput.value.trim();
        self._commentText.textContent = self._comment;
        self._commentDlg.dialog.close();
        self._commentLink.focus();
        self._changed();
      });
      var update = function () {
        var wc = slot.assignedElements()[0];
        self._commentBox.hidden = !wc;
        if (!wc) return;
        self._commentLink.textContent = wc.getAttribute('link-text') || CL.t('comment.add');
        self._commentDlg.title.textContent = wc.getAttribute('header') || CL.t('comment.add');
        self._commentInput.placeholder = wc.getAttribute('placeholder') || '';
      };
      slot.addEventListener('slotchange', update);
      update();
    }

    attributeChangedCallback(name) {
      if (!this._picker) return;
      if (name === 'src') { this._view.setSrc(this.getAttribute('src')); return; }
      if (name === 'overlay') return;
      super.attributeChangedCallback(name);
    }

    _crowdValue() {
      var a = super._crowdValue();
      if (a && this._comment) a.workerComment = this._comment;
      return a;
    }

    _crowdReset() {
      super._crowdReset();
      this._comment = '';
      if (this._commentText) this._commentText.textContent = '';
    }
  }

  class CrowdImageClassifier extends ImageClassifierBase {}
  class CrowdImageClassifierMultiSelect extends ImageClassifierBase {
    get _multi() { return true; }
  }

  CL.defineControl('crowd-image-classifier', CrowdImageClassifier);
  CL.defineControl('crowd-image-classifier-multi-select', CrowdImageClassifierMultiSelect);
})(window.CrowdLoop);
