/* crowdloop crowd HTML elements: a self-hosted implementation of the A2I / Ground Truth
 * "crowd-*" custom elements. Plain JS, no build step. The server concatenates every file in this
 * folder in file-name order and serves the result for both
 * https://assets.crowd.aws/crowd-html-elements.js and .../crowd-html-elements-v2.js.
 *
 * Files: 00-core.js (this file: shared helpers, answer-shape CHOICES, portal protocol),
 * 10-form.js (crowd-form, crowd-button), 20-inputs.js, 30-choices.js, 40-slider.js,
 * 50-classifiers.js, 60-ranking.js, 65-qa.js (question-answer generation), 70-layout.js, 80-image.js
 * (image viewer, image classifiers), 81-shapes.js (box, keypoint, polygon, line, polyline),
 * 85-entity.js, 90-segmentation.js, 95-aws-services.js (Textract forms, Rekognition moderation).
 * docs/crowd-elements.md describes every element. Every file after this one is an IIFE over
 * window.CrowdLoop and registers its elements with CL.define(), which is a no-op for names that are
 * already defined, so the bundle tolerates being included twice (V1 + V2 script tags on one page).
 *
 * PORTAL PROTOCOL (window.postMessage; the task UI runs in an iframe with
 * sandbox="allow-scripts allow-forms", so its origin is opaque and every message uses "*"):
 *
 *   frame -> parent  {crowdloop: 1, type: "ready"}
 *                    once, after DOMContentLoaded, right after the document event
 *                    "all-crowd-elements-ready" has been dispatched.
 *   frame -> parent  {crowdloop: 1, type: "submit", answer: {...answerContent...}}
 *                    when a crowd-form submits successfully (validation passed, no submit handler
 *                    called preventDefault). `answer` is the JSON-safe answerContent object.
 *                    The form then stays locked (no second submission) unless the parent sends
 *                    "submit-failed".
 *   frame -> parent  {crowdloop: 1, type: "invalid", message: "..."}
 *                    when a submission attempt is blocked by validation; the same message is shown
 *                    in the form next to the Submit button.
 *   parent -> frame  {crowdloop: 1, type: "submit-request"}
 *                    behave as if the worker pressed Submit (the portal sends it on Ctrl+Enter).
 *                    If the template's submit buttons are all disabled, this is answered with
 *                    "invalid" instead.
 *   parent -> frame  {crowdloop: 1, type: "submit-failed", message?: "..."}   (crowdloop extension)
 *                    the portal could not store the answer: unlock the form and show the message.
 *   parent -> frame  {crowdloop: 1, type: "ready-request"}   (crowdloop extension)
 *                    answered with "ready" again once the elements are ready: the page's script may
 *                    start after a fast frame (e.g. one in its own process) already said "ready".
 *
 * Messages to the frame are accepted only from window.parent. When there is no parent
 * (window.parent === window, e.g. a template opened directly in a test browser) every outgoing
 * message is posted to the frame's own window instead, so tests can observe it with a "message"
 * listener. Ctrl+Enter (or Cmd+Enter) pressed inside the frame also submits.
 */
(function () {
  'use strict';
  if (window.CrowdLoop) return; // second copy of the bundle on the same page
  var CL = (window.CrowdLoop = {});

  /* ------------------------------------------------------------------------------------------
   * CHOICES: every answer-shape / behaviour decision that the catalog marks [unconfirmed] or
   * [inferred]. Correct them here (and in docs/crowd-elements.md); no other file hard-codes them.
   * ------------------------------------------------------------------------------------------ */
  CL.CHOICES = {
    // Native <input type=checkbox|radio name=N value=V>: 'merged' => {"N": {"V": true, "V2": false}}
    // (same as crowd-checkbox; catalog §2.3 recommendation); 'value' => {"N": "V"} (checked ones,
    // the last checked wins, nothing when none is checked).
    nativeCheckable: 'merged',
    // <select multiple name=N>: 'array' => {"N": ["a", "b"]} (omitted when nothing is selected);
    // 'merged' => {"N": {"a": true, "b": true, "c": false}}.
    nativeSelectMultiple: 'array',
    // Disabled native controls are skipped (browser form semantics).
    skipDisabledNative: true,
    // Disabled crowd-* controls still contribute (keeps answer keys stable for consumers).
    skipDisabledCrowd: false,
    // Empty text-like values (crowd-input, crowd-text-area, native text/hidden/select) => no key.
    omitEmptyText: true,
    // crowd-slider: an untouched slider still emits its current value (a number).
    sliderEmitUntouched: true,
    // crowd-slider[required]: the worker must have set the value (moved it, or `value` was given).
    sliderRequiredMeansSet: true,
    // crowd-classifier / crowd-image-classifier: block submit until a category is chosen.
    classifierRequiresChoice: true,
    // crowd-classifier-multi-select / crowd-image-classifier-multi-select: require >= 1 label.
    multiSelectRequiresOne: true,
    // exclusion-category chosen in a multi-select: true => {"labels": ["<exclusion text>"]},
    // false => {"labels": []}.
    exclusionAsLabel: true,
    // crowd-text-ranking: 'name' => {"<name>": {"ordinalRankingDimensions": [...]}} when the
    // element has a name (top level when it has none); 'top' => always at the top level.
    textRankingNesting: 'name',
    // crowd-text-ranking: each dimension item carries the dimension name: {name, responseRankings}.
    textRankingIncludeName: true,
    // crowd-text-ranking: responseRankings[i] is the rank (1 = best) of responses[i].
    textRankingRankPerResponse: true,
    // crowd-entity-annotation offsets: 'utf16' (JavaScript string indices) or 'codepoints'
    // (Python str indices). They differ only for characters outside the BMP (emoji...).
    entityOffsetUnits: 'utf16',
    // Image annotators: coordinates rounded to whole pixels.
    roundCoordinates: true,
    // Segmentation PNG: unpainted pixels 'transparent' (0,0,0,0) or 'black' (0,0,0,255).
    segmentationBackground: 'transparent',
    // crowd-question-answer-generation (answer shape undocumented by AWS; see docs):
    // the answer key when the element has no name (its tag name, like the unnamed element in AWS's
    // Ground Truth Lambda example "{\"crowd-entity-annotation\": {...}}");
    qaUnnamedKey: 'crowd-question-answer-generation',
    // every pair needs a tag when the tag field is shown (question-tags or custom tags allowed);
    qaTagRequired: true,
    // every pair needs >= 1 reference unless it is marked "about the whole passage";
    qaReferenceRequired: true,
    // a whole-passage pair is answered with one reference covering the passage (false: []).
    qaWholePassageAsReference: true,
    // crowd-rekognition-detect-moderation-labels: always offer "None of these" (AWS's own
    // instructions say "If no categories apply, choose None" without an exclusion-category), and
    // block submit until a category or None is chosen.
    moderationAlwaysNone: true,
    moderationRequiresChoice: true,
    // crowd-textract-analyze-document (how reviews are encoded in `blocks` is undocumented):
    // 'remove' => a pair marked "not a key-value pair" loses its KEY and VALUE blocks (its WORD
    // blocks stay); corrected text => new WORD blocks (Id "crowdloop-word-N") replace the CHILD
    // relationship; "value is blank" => the VALUE block has no CHILD words; a missing important key
    // the worker found => new KEY and VALUE blocks without Geometry; "key not found" => nothing.
    textractRejectedPair: 'remove',
    // every important key that was not detected needs a decision (found: its value / not found).
    textractRequireMissingKeyDecision: true
  };

  /* ---------------------------------- attribute parsing ----------------------------------- */

  // JavaScript-literal-ish parser (never eval): single/double/back-quoted strings, unquoted keys,
  // trailing commas, // and /* */ comments, true/false/null/undefined, numbers (incl. hex).
  function parseLiteral(text) {
    var s = String(text);
    var i = 0;
    function fail(msg) {
      throw new SyntaxError((msg || 'unexpected character') + ' at ' + i + ' in ' + JSON.stringify(s.slice(0, 80)));
    }
    function ws() {
      for (;;) {
        var c = s[i];
        if (c === ' ' || c === '\t' || c === '\n' || c === '\r' || c === '\f' || c === '\v' ||
            c === '\u00a0' || c === '\ufeff' || c === '\u2028' || c === '\u2029') { i++; continue; }
        if (c === '/' && s[i + 1] === '/') { while (i < s.length && s[i] !== '\n') i++; continue; }
        if (c === '/' && s[i + 1] === '*') {
          var end = s.indexOf('*/', i + 2);
          if (end < 0) fail('unclosed comment');
          i = end + 2;
          continue;
        }
        return;
      }
    }
    function str() {
      var q = s[i++];
      var out = '';
      for (;;) {
        if (i >= s.length) fail('unclosed string');
        var c = s[i++];
        if (c === q) return out;
        if (c !== '\\') { out += c; continue; }
        var e = s[i++];
        switch (e) {
          case 'n': out += '\n'; break;
          case 't': out += '\t'; break;
          case 'r': out += '\r'; break;
          case 'b': out += '\b'; break;
          case 'f': out += '\f'; break;
          case 'v': out += '\v'; break;
          case '0': out += '\0'; break;
          case '\r': if (s[i] === '\n') i++; break; // line continuation
          case '\n': case '\u2028': case '\u2029': break;
          case 'x': out += String.fromCharCode(parseInt(hex(2), 16)); break;
          case 'u':
            if (s[i] === '{') {
              var close = s.indexOf('}', i);
              if (close < 0) fail('bad unicode escape');
              out += String.fromCodePoint(parseInt(s.slice(i + 1, close), 16));
              i = close + 1;
            } else {
              out += String.fromCharCode(parseInt(hex(4), 16));
            }
            break;
          default: out += e;
        }
      }
    }
    function hex(n) {
      var h = s.slice(i, i + n);
      if (!/^[0-9a-fA-F]+$/.test(h) || h.length !== n) fail('bad escape');
      i += n;
      return h;
    }
    function ident() {
      var m = /^[A-Za-z_$\u00c0-\uffff][\w$\u00c0-\uffff]*/.exec(s.slice(i));
      if (!m) fail();
      i += m[0].length;
      return m[0];
    }
    function num() {
      var m = /^[+-]?(0[xX][0-9a-fA-F]+|(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?|Infinity)/.exec(s.slice(i));
      if (!m) fail('bad number');
      i += m[0].length;
      return Number(m[0].replace(/^\+/, ''));
    }
    function value() {
      ws();
      var c = s[i];
      if (c === '{') return obj();
      if (c === '[') return arr();
      if (c === '"' || c === "'" || c === '`') return str();
      if (c === '-' || c === '+' || c === '.' || (c >= '0' && c <= '9')) return num();
      var id = ident();
      if (id === 'true') return true;
      if (id === 'false') return false;
      if (id === 'null' || id === 'undefined') return null;
      if (id === 'NaN') return NaN;
      if (id === 'Infinity') return Infinity;
      i -= id.length;
      fail('unexpected identifier ' + id);
    }
    function obj() {
      i++;
      var out = {};
      for (;;) {
        ws();
        if (s[i] === '}') { i++; return out; }
        var c = s[i];
        var key;
        if (c === '"' || c === "'" || c === '`') key = str();
        else if ((c >= '0' && c <= '9') || c === '-' || c === '.') key = String(num());
        else key = ident();
        ws();
        if (s[i] !== ':') fail("expected ':'");
        i++;
        Object.defineProperty(out, key, { value: value(), enumerable: true, writable: true, configurable: true });
        ws();
        if (s[i] === ',') { i++; continue; }
        if (s[i] === '}') { i++; return out; }
        fail("expected ',' or '}'");
      }
    }
    function arr() {
      i++;
      var out = [];
      for (;;) {
        ws();
        if (s[i] === ']') { i++; return out; }
        out.push(value());
        ws();
        if (s[i] === ',') { i++; continue; }
        if (s[i] === ']') { i++; return out; }
        fail("expected ',' or ']'");
      }
    }
    var result = value();
    ws();
    if (i < s.length) fail('trailing characters');
    return result;
  }
  CL.parseLiteral = parseLiteral;

  // Parse a JS-literal-ish attribute. Missing or empty => fallback; unparsable => console.warn and
  // fallback. `expect` ('array' | 'object') also rejects values of the wrong type.
  CL.literalAttr = function (el, name, fallback, expect) {
    var raw = el.getAttribute(name);
    if (raw === null || raw.trim() === '') return fallback;
    var value;
    try {
      value = parseLiteral(raw);
    } catch (err) {
      console.warn('<' + el.localName + '> ' + name + ': cannot parse ' + JSON.stringify(raw) + ' (' + err.message + ')');
      return fallback;
    }
    if (expect === 'array' && !Array.isArray(value)) {
      console.warn('<' + el.localName + '> ' + name + ': expected an array');
      return fallback;
    }
    if (expect === 'object' && (value === null || typeof value !== 'object' || Array.isArray(value))) {
      console.warn('<' + el.localName + '> ' + name + ': expected an object');
      return fallback;
    }
    return value;
  };

  // Array of strings (categories, labels). Non-string items are converted with String().
  CL.stringListAttr = function (el, name) {
    var list = CL.literalAttr(el, name, [], 'array');
    return list.filter(function (x) { return x !== null && x !== undefined; }).map(String);
  };

  // Presence-based boolean (disabled="true", checked="", pin ...). With `falseString` the literal
  // "false" counts as false (only for attributes documented as boolean-valued strings).
  CL.boolAttr = function (el, name, falseString) {
    var raw = el.getAttribute(name);
    if (raw === null) return false;
    if (falseString && raw.trim().toLowerCase() === 'false') return false;
    return true;
  };

  CL.numAttr = function (el, name, fallback) {
    var raw = el.getAttribute(name);
    if (raw === null || raw.trim() === '') return fallback;
    var n = Number(raw.trim());
    return isFinite(n) ? n : fallback;
  };

  CL.setBoolAttr = function (el, name, on) {
    if (on) { if (!el.hasAttribute(name)) el.setAttribute(name, ''); } else el.removeAttribute(name);
  };

  /* ------------------------------------- DOM helpers -------------------------------------- */

  CL.h = function (tag, attrs, children) {
    var el = document.createElement(tag);
    if (attrs) {
      Object.keys(attrs).forEach(function (k) {
        var v = attrs[k];
        if (v === null || v === undefined || v === false) return;
        if (k === 'text') el.textContent = v;
        else if (k === 'class') el.className = v;
        else if (k.slice(0, 2) === 'on' && typeof v === 'function') el.addEventListener(k.slice(2), v);
        else el.setAttribute(k, v === true ? '' : v);
      });
    }
    (children || []).forEach(function (c) {
      if (c !== null && c !== undefined && c !== false) el.append(c);
    });
    return el;
  };

  var sheetCache = new Map();
  CL.sheet = function (css) {
    var sheet = sheetCache.get(css);
    if (!sheet) {
      sheet = new CSSStyleSheet();
      sheet.replaceSync(css);
      sheetCache.set(css, sheet);
    }
    return sheet;
  };

  // Shared look: system font, one accent colour, a clearly visible keyboard focus ring.
  CL.BASE_CSS = [
    ':host { font-family: system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;',
    '  --crowd-accent: #0b63c5; --crowd-accent-strong: #084c97; --crowd-error: #c62828;',
    '  --crowd-border: #8a949e; --crowd-muted: #545b64; --crowd-surface: #fff; --crowd-focus: #0b63c5;',
    '  --crowd-selected-bg: #e8f1fb; box-sizing: border-box; }',
    ':host([hidden]) { display: none !important; }',
    '*, *::before, *::after { box-sizing: inherit; }',
    ':focus { outline: none; }',
    ':focus-visible { outline: 3px solid var(--crowd-focus); outline-offset: 2px; }',
    '[hidden] { display: none !important; }',
    'button { font: inherit; }',
    '.btn { display: inline-flex; align-items: center; justify-content: center; gap: 6px; min-height: 36px;',
    '  padding: 6px 18px; border-radius: 18px; border: 2px solid var(--crowd-accent); background: #fff;',
    '  color: var(--crowd-accent); font-weight: 600; cursor: pointer; line-height: 1.2; }',
    '.btn:hover { background: var(--crowd-selected-bg); }',
    '.btn.primary { background: var(--crowd-accent); color: #fff; }',
    '.btn.primary:hover { background: var(--crowd-accent-strong); border-color: var(--crowd-accent-strong); }',
    '.btn[disabled], .btn[aria-disabled="true"] { border-color: #c4c9ce; color: #8a949e; background: #f2f3f3; cursor: default; }',
    '.linkbtn { background: none; border: none; padding: 2px 0; color: var(--crowd-accent); text-decoration: underline; cursor: pointer; }',
    '.error-text { color: var(--crowd-error); font-size: 0.875em; margin-top: 4px; }',
    '.visually-hidden { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; }'
  ].join('\n');

  CL.attachStyledShadow = function (host, css, options) {
    var root = host.attachShadow(Object.assign({ mode: 'open' }, options || {}));
    root.adoptedStyleSheets = [CL.sheet(CL.BASE_CSS), CL.sheet(css || '')];
    return root;
  };

  // A property assigned before the element was upgraded shadows the class accessor; re-apply it.
  CL.upgradeProperties = function (el, names) {
    names.forEach(function (name) {
      if (Object.prototype.hasOwnProperty.call(el, name)) {
        var v = el[name];
        delete el[name];
        el[name] = v;
      }
    });
  };

  var uid = 0;
  CL.uid = function (prefix) { uid += 1; return (prefix || 'crowd') + '-' + uid; };

  CL.fire = function (el, type, detail) {
    return el.dispatchEvent(new CustomEvent(type, { bubbles: true, composed: true, cancelable: true, detail: detail }));
  };

  // Re-dispatch a plain bubbling "change" on the host (native "change" is not composed, so it would
  // not leave the shadow root; templates listen for it on the crowd element).
  CL.fireChange = function (el) {
    el.dispatchEvent(new Event('change', { bubbles: true }));
  };

  // True when `ev` happened inside another crowd control nested in `host`'s light DOM (markup
  // swallowed by a self-closed custom element), so `host` must not react to it.
  CL.fromNestedControl = function (host, ev) {
    var path = ev.composedPath();
    for (var k = 0; k < path.length; k++) {
      var node = path[k];
      if (node === host) return false;
      if (node.nodeType === 1 && node !== host && (CL.isControl(node) || node.localName === 'a' ||
          node.localName === 'button' || node.localName === 'input' || node.localName === 'select' ||
          node.localName === 'textarea' || node.localName === 'crowd-button') &&
          node.getRootNode() === host.getRootNode()) return true;
    }
    return false;
  };

  /* ---------------------------------------- icons ----------------------------------------- */

  // A few iron-icons names drawn as text glyphs; anything containing "/" or "." is an image URL.
  var GLYPHS = {
    'add': '+', 'add-circle': '\u2295', 'add-circle-outline': '\u2295', 'remove': '\u2212', 'close': '\u00d7',
    'clear': '\u00d7', 'cancel': '\u2297', 'check': '\u2713', 'done': '\u2713', 'check-circle': '\u2713',
    'search': '\u2315', 'delete': '\u232b', 'undo': '\u21b6', 'redo': '\u21b7', 'refresh': '\u21bb',
    'arrow-back': '\u2190', 'arrow-forward': '\u2192', 'arrow-upward': '\u2191', 'arrow-downward': '\u2193',
    'chevron-left': '\u2039', 'chevron-right': '\u203a', 'expand-more': '\u2304', 'expand-less': '\u2303',
    'info': 'i', 'info-outline': 'i', 'help': '?', 'help-outline': '?', 'warning': '!', 'error': '!',
    'error-outline': '!', 'star': '\u2605', 'star-border': '\u2606', 'favorite': '\u2665',
    'favorite-border': '\u2661', 'zoom-in': '\u2295', 'zoom-out': '\u2296', 'menu': '\u2630',
    'more-vert': '\u22ee', 'more-horiz': '\u22ef', 'edit': '\u270e', 'create': '\u270e', 'send': '\u27a4',
    'flag': '\u2691', 'thumb-up': '\u25b2', 'thumb-down': '\u25bc', 'label': '\u25b8', 'play-arrow': '\u25b6',
    'pause': '\u2016', 'stop': '\u25a0', 'visibility': '\u25c9', 'visibility-off': '\u25cc'
  };
  CL.iconNode = function (icon) {
    if (!icon) return null;
    if (/[\/.]/.test(icon)) return CL.h('img', { src: icon, alt: '', class: 'icon', part: 'icon' });
    var name = icon.replace(/^[\w-]+:/, '');
    return CL.h('span', { class: 'icon glyph', part: 'icon', 'aria-hidden': 'true', text: GLYPHS[name] || '\u2022' });
  };

  /* ----------------------------------- element registry ----------------------------------- */

  CL.controlTags = [];
  CL.define = function (name, cls) {
    if (!customElements.get(name)) customElements.define(name, cls);
  };
  // Form controls implement: _crowdEntries() -> [{name, kind: 'text'|'value'|'checkable', value,
  // key, checked}], _crowdValidate() -> '' | message (and shows it inline), _crowdReset(),
  // _crowdFocus().
  CL.defineControl = function (name, cls) {
    if (CL.controlTags.indexOf(name) < 0) CL.controlTags.push(name);
    CL.define(name, cls);
  };
  CL.isControl = function (node) {
    return !!node && node.nodeType === 1 && CL.controlTags.indexOf(node.localName) >= 0;
  };

  // What the editing annotators (shapes, segmentation, entity annotation) share: report an edit to the
  // page, speak a status line to screen readers (`_live`), show or clear the inline error (`_errorEl`).
  CL.Annotator = class extends HTMLElement {
    _edited() {
      this._modified = true;
      this._showError('');
      this.dispatchEvent(new Event('input', { bubbles: true, composed: true }));
      CL.fireChange(this);
    }

    _announce(text) { this._live.textContent = text; }

    _showError(message) { if (this._errorEl) this._errorEl.textContent = message || ''; }
  };

  // A hidden answer carrier that an element with its own inner crowd-form (entity annotation, Q&A
  // generation) puts in that form: collected like any control, it answers for its host (`_host`).
  // Subclass it once per tag: a custom element class can be registered under one name only.
  CL.HostedValue = class extends HTMLElement {
    _crowdEntries() { return this._host ? this._host._crowdEntries() : []; }
    _crowdValidate() { return this._host ? this._host._crowdValidate() : ''; }
    _crowdReset() { if (this._host) this._host._crowdReset(); }
    _crowdFocus() { if (this._host) this._host._crowdFocus(); }
    _crowdLabel() { return this._host ? this._host._crowdLabel() : ''; }
  };

  /* --------------------------- instructions layout (shared by hosts) ---------------------- */

  // Give direct children whose tag is in `names` the slot of the same name, now and whenever
  // children are added (during parsing children arrive after connectedCallback).
  CL.slotRegions = function (host, names) {
    function assign() {
      for (var c = host.firstElementChild; c; c = c.nextElementSibling) {
        if (names.indexOf(c.localName) >= 0 && !c.hasAttribute('slot')) c.setAttribute('slot', c.localName);
      }
    }
    assign();
    new MutationObserver(assign).observe(host, { childList: true });
  };

  CL.INSTRUCTIONS_CSS = [
    '.instructions { background: #f6f8fa; border: 1px solid #d5dbdb; border-radius: 8px; padding: 12px 16px;',
    '  line-height: 1.45; overflow-wrap: anywhere; align-self: start; }',
    '.instructions h2 { font-size: 1rem; margin: 0 0 8px; }',
    '.instructions ::slotted(*) { display: block; }',
    '.full-link { margin-top: 8px; }',
    'dialog.awsui-modal-dialog { width: min(860px, calc(100vw - 24px)); max-height: calc(100vh - 48px);',
    '  border: none; border-radius: 10px; padding: 0; box-shadow: 0 8px 32px rgba(0,0,0,.3); }',
    'dialog::backdrop { background: rgba(0,0,0,.45); }',
    'dialog .dlg-head { display: flex; align-items: center; justify-content: space-between; gap: 12px;',
    '  padding: 12px 16px; border-bottom: 1px solid #d5dbdb; position: sticky; top: 0; background: #fff; }',
    'dialog .dlg-head h2 { font-size: 1.1rem; margin: 0; }',
    'dialog .dlg-body { padding: 12px 16px 20px; line-height: 1.5; overflow-wrap: anywhere; }',
    'dialog .dlg-body ::slotted(*) { display: block; }',
    '.close { border: none; background: none; font-size: 1.6rem; line-height: 1; cursor: pointer; padding: 2px 8px; border-radius: 6px; }',
    '.close:hover { background: #eef0f2; }'
  ].join('\n');

  // A modal dialog with a title, a close button and a body; returns {dialog, title, body, open()}.
  CL.makeDialog = function (titleText, bodyNodes, extraClass) {
    var titleId = CL.uid('dlg-title');
    var title = CL.h('h2', { id: titleId, text: titleText });
    var closeBtn = CL.h('button', { type: 'button', class: 'close', 'aria-label': 'Close', text: '\u00d7' });
    var body = CL.h('div', { class: 'dlg-body' }, bodyNodes);
    var dialog = CL.h('dialog', { class: 'awsui-modal-dialog' + (extraClass ? ' ' + extraClass : ''), 'aria-labelledby': titleId },
      [CL.h('div', { class: 'dlg-head' }, [title, closeBtn]), body]);
    closeBtn.addEventListener('click', function () { dialog.close(); });
    dialog.addEventListener('click', function (ev) { if (ev.target === dialog) dialog.close(); }); // backdrop
    return {
      dialog: dialog, title: title, body: body,
      open: function () { if (!dialog.open) dialog.showModal(); closeBtn.focus(); }
    };
  };

  // Sidebar (short-instructions) + "View full instructions" modal (full-instructions) for a host
  // whose direct region children were slotted with CL.slotRegions. Returns {aside, dialog}.
  CL.instructionsPanel = function (host) {
    var shortSlot = CL.h('slot', { name: 'short-instructions' });
    var fullSlot = CL.h('slot', { name: 'full-instructions' });
    var heading = CL.h('h2', { text: 'Instructions' });
    var dlg = CL.makeDialog('Full instructions', [fullSlot]);
    var fullBtn = CL.h('button', { type: 'button', class: 'linkbtn full-link', text: 'View full instructions', hidden: true });
    fullBtn.addEventListener('click', dlg.open);
    var aside = CL.h('aside', { class: 'instructions awsui-app-layout__navigation', part: 'instructions', hidden: true },
      [heading, shortSlot, fullBtn]);
    function update() {
      var shorts = shortSlot.assignedElements();
      var fulls = fullSlot.assignedElements();
      aside.hidden = shorts.length === 0 && fulls.length === 0;
      fullBtn.hidden = fulls.length === 0;
      var sh = shorts.length && shorts[0].getAttribute('header');
      heading.textContent = sh || 'Instructions';
      var fh = fulls.length && fulls[0].getAttribute('header');
      dlg.title.textContent = fh || 'Full instructions';
      aside.setAttribute('aria-label', heading.textContent);
    }
    shortSlot.addEventListener('slotchange', update);
    fullSlot.addEventListener('slotchange', update);
    update();
    return { aside: aside, dialog: dlg.dialog, openFull: dlg.open, update: update };
  };

  /* ------------------------------------ portal protocol ----------------------------------- */

  CL.post = function (message) {
    var data = Object.assign({ crowdloop: 1 }, message);
    var target = window.parent && window.parent !== window ? window.parent : window;
    target.postMessage(data, '*');
  };

  // crowd-form instances register themselves here (connected order).
  CL.forms = [];
  CL.primaryForm = function () {
    var connected = CL.forms.filter(function (f) { return f.isConnected; });
    // Prefer a top-level (light DOM) form, then forms inside widgets' shadow roots.
    for (var k = 0; k < connected.length; k++) if (connected[k].getRootNode() === document) return connected[k];
    return connected[0] || null;
  };

  CL.requestSubmit = function (source) {
    var form = CL.primaryForm();
    if (!form) {
      CL.post({ type: 'invalid', message: 'This task has no form to submit.' });
      return false;
    }
    return form._requestSubmitFromOutside(source);
  };

  window.addEventListener('message', function (ev) {
    var data = ev.data;
    if (!data || typeof data !== 'object' || data.crowdloop !== 1) return;
    if (ev.source !== window.parent) return;
    if (data.type === 'submit-request') CL.requestSubmit('portal');
    else if (data.type === 'ready-request') { if (CL.ready) CL.post({ type: 'ready' }); }
    else if (data.type === 'submit-failed') {
      CL.forms.forEach(function (f) { if (f._locked) f._unlock(data.message || 'Submitting failed, please try again.'); });
    }
  });

  window.addEventListener('keydown', function (ev) {
    if (ev.key === 'Enter' && (ev.ctrlKey || ev.metaKey) && !ev.altKey && !ev.defaultPrevented) {
      ev.preventDefault();
      CL.requestSubmit('keyboard');
    }
  }, true);

  /* -------------------------------------- readiness --------------------------------------- */

  CL.ready = false;
  function announceReady() {
    if (CL.ready) return;
    CL.ready = true;
    document.dispatchEvent(new CustomEvent('all-crowd-elements-ready', { bubbles: true }));
    CL.post({ type: 'ready' });
  }
  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', announceReady);
  else setTimeout(announceReady, 0);
})();
