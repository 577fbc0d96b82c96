/* Pure helpers: no DOM, no state. They read only the namespace (CL.CHOICES) and the arguments, so
 * Node's test runner loads this file without a browser (tests/js/, `node --test`). The attribute
 * readers take anything with getAttribute(name) (an element, or a stand-in in the tests). */
(function (CL) {
  'use strict';
  if (CL.copies > 1) return; // a second copy of the bundle (00-core.js)
  var CHOICES = CL.CHOICES;

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

  /* ------------------------------------ answer entries ------------------------------------ */

  // A form control's _crowdEntries() returns entries {name, kind, value, key, checked}:
  //   kind 'text'       {name: value}, left out when the value is empty (CHOICES.omitEmptyText);
  //   kind 'value'      {name: value} as is;
  //   kind 'checkable'  {name: {key: checked, ...}}, merged with the other checkables of that name;
  //   kind 'merge'      every key of `value` at the top level of the answer.
  // Merge entries in document order (catalog §2.2): later non-checkable values overwrite earlier
  // ones; checkable controls sharing a name merge into one {value: bool} object.
  function mergeEntries(entries) {
    var out = new Map();
    var checkable = new Set();
    entries.forEach(function (e) {
      if (e.kind === 'checkable') {
        var obj = checkable.has(e.name) ? out.get(e.name) : null;
        if (!obj) {
          obj = new Map();
          out.set(e.name, obj);
          checkable.add(e.name);
        }
        obj.set(String(e.key), !!e.checked);
        return;
      }
      if (e.kind === 'text' && CHOICES.omitEmptyText && (e.value === '' || e.value === null || e.value === undefined)) return;
      if (e.kind === 'merge' && e.value && typeof e.value === 'object') { // top-level keys (legacy text ranking)
        Object.keys(e.value).forEach(function (k) { out.set(k, e.value[k]); checkable.delete(k); });
        return;
      }
      out.set(e.name, e.value);
      checkable.delete(e.name);
    });
    var answer = {};
    out.forEach(function (v, k) {
      var value = v instanceof Map ? Object.fromEntries(v) : v;
      Object.defineProperty(answer, k, { value: value, enumerable: true, writable: true, configurable: true });
    });
    // JSON round trip: exactly what the portal stores (no undefined, NaN => null).
    return JSON.parse(JSON.stringify(answer));
  }
  CL.mergeEntries = mergeEntries;

  /* ------------------------------ a stored answer, shown again ---------------------------- */
  // 12-answer.js fills a task's controls from a submitted answer (the requester console's read-only
  // view). These read one answer value the way the control wrote it.

  // Is the option `key` checked in `value`? A checkable answer ({key: true|false}), a list of chosen
  // values (select multiple, a multi-label classifier), or the one chosen value.
  CL.answerChecks = function (value, key) {
    key = String(key);
    if (value === null || value === undefined) return false;
    if (Array.isArray(value)) return value.some(function (v) { return String(v) === key; });
    if (typeof value === 'object') return Object.prototype.hasOwnProperty.call(value, key) && value[key] === true;
    return String(value) === key;
  };

  // The text a text field shows for `value`: '' for nothing, JSON for a list or an object.
  CL.answerText = function (value) {
    if (value === null || value === undefined) return '';
    return typeof value === 'object' ? JSON.stringify(value) : String(value);
  };

  /* ------------------------------------ text and numbers ---------------------------------- */

  // Words in a text (runs of non-space characters).
  CL.countWords = function (s) {
    var t = String(s || '').trim();
    return t ? t.split(/\s+/).length : 0;
  };

  // "3", "2\u20135" or "at least 2": a word-count range for messages (max null: no upper bound).
  CL.wordRange = function (min, max) {
    if (max !== null && max !== undefined) return min === max ? String(min) : min + '\u2013' + max;
    return CL.t('qa.at_least', { n: min });
  };

  // Text offsets: elements keep UTF-16 indices (JavaScript strings) and answer in
  // CHOICES.entityOffsetUnits ('utf16', or 'codepoints' = Python str indices).
  CL.toOffsetUnits = function (text, i) {
    return CHOICES.entityOffsetUnits === 'codepoints' ? Array.from(String(text).slice(0, i)).length : i;
  };
  CL.fromOffsetUnits = function (text, n) {
    if (CHOICES.entityOffsetUnits !== 'codepoints') return n;
    return Array.from(String(text)).slice(0, n).join('').length;
  };

  // Image coordinates in answers (CHOICES.roundCoordinates: whole pixels).
  CL.round = function (v) { return CHOICES.roundCoordinates ? Math.round(v) : v; };

  // crowd-text-ranking: ranks[i] = rank of response i (1 = best, null = unranked) => the 1-based
  // response numbers from best to worst (ties keep response order).
  CL.rankingOrder = function (ranks) {
    return ranks.map(function (r, i) { return { r: r, i: i }; }).sort(function (a, b) { return a.r - b.r || a.i - b.i; })
      .map(function (x) { return x.i + 1; });
  };

  /* ---------------------------------------- colours --------------------------------------- */

  // matplotlib "tab10", the palette of AWS's examples.
  CL.PALETTE = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f', '#bcbd22', '#17becf'];

  // Distinct colours: the tab10 palette, then golden-angle hues.
  CL.distinctColor = function (k) {
    if (k < CL.PALETTE.length) return CL.PALETTE[k];
    var hue = ((k - CL.PALETTE.length) * 137.508 + 20) % 360;
    var light = [0.45, 0.6, 0.35][Math.floor((k - CL.PALETTE.length) / 12) % 3];
    var s = 0.7, c = (1 - Math.abs(2 * light - 1)) * s, x = c * (1 - Math.abs((hue / 60) % 2 - 1)), m = light - c / 2;
    var rgb = hue < 60 ? [c, x, 0] : hue < 120 ? [x, c, 0] : hue < 180 ? [0, c, x] : hue < 240 ? [0, x, c] : hue < 300 ? [x, 0, c] : [c, 0, x];
    return '#' + rgb.map(function (v) { return ('0' + Math.round((v + m) * 255).toString(16)).slice(-2); }).join('');
  };

  // '#rrggbb' <-> [r, g, b] (0-255); anything unreadable is black.
  CL.rgbOf = function (hex) {
    var m = /^#?([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})$/i.exec(String(hex).trim());
    return m ? [parseInt(m[1], 16), parseInt(m[2], 16), parseInt(m[3], 16)] : [0, 0, 0];
  };
  CL.hexOf = function (rgb) {
    return '#' + rgb.map(function (v) { return ('0' + v.toString(16)).slice(-2); }).join('');
  };
})(window.CrowdLoop);
