/* DOM helpers shared by every element: element and SVG builders, the shared look (CL.BASE_CSS)
 * and styled shadow roots, property upgrade, ids, events, icons. */
(function (CL) {
  'use strict';
  if (CL.copies > 1) return; // a second copy of the bundle (00-core.js)

  CL.setBoolAttr = function (el, name, on) {
    if (on) { if (!el.hasAttribute(name)) el.setAttribute(name, ''); } else el.removeAttribute(name);
  };

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

  var SVG = 'http://www.w3.org/2000/svg';
  CL.svg = function (tag, attrs) {
    var el = document.createElementNS(SVG, tag);
    Object.keys(attrs || {}).forEach(function (k) {
      if (attrs[k] !== null && attrs[k] !== undefined) el.setAttribute(k, attrs[k]);
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
})(window.CrowdLoop);
