// CL.parseLiteral: the lenient JavaScript-literal parser behind every list/object attribute.
'use strict';

const test = require('node:test');
const assert = require('node:assert/strict');
const { loadCrowdLoop } = require('./load.js');

const CL = loadCrowdLoop();
const parse = CL.parseLiteral;

test('JSON parses as JSON', () => {
  assert.deepEqual(parse('{"a": [1, 2.5, -3e2], "b": null, "c": "x"}'), { a: [1, 2.5, -300], b: null, c: 'x' });
  assert.deepEqual(parse('[]'), []);
  assert.deepEqual(parse('{}'), {});
});

test('JavaScript spellings: quotes, unquoted keys, trailing commas, comments', () => {
  assert.deepEqual(parse("['Cat','Dog',]"), ['Cat', 'Dog']);
  assert.deepEqual(parse('{ text: `None of the above`, }'), { text: 'None of the above' });
  assert.deepEqual(parse("{'label': 'person', $x: 1, _y: 2, 3: 'three'}"), { label: 'person', $x: 1, _y: 2, 3: 'three' });
  assert.deepEqual(parse('[ // a comment\n 1, /* another */ 2 ]'), [1, 2]);
  assert.deepEqual(parse('\ufeff\u00a0 [1]\u2028'), [1]);
});

test('numbers and the other literals', () => {
  assert.deepEqual(parse('[0x10, 0XfF, +4, .5, 5., 1e2, -2.5E-1]'), [16, 255, 4, 0.5, 5, 100, -0.25]);
  assert.deepEqual(parse('[true, false, null, undefined]'), [true, false, null, null]);
  assert.ok(Number.isNaN(parse('NaN')));
  assert.equal(parse('Infinity'), Infinity);
  assert.equal(parse('-Infinity'), -Infinity);
});

test('string escapes', () => {
  assert.equal(parse("'it\\'s'"), "it's");
  assert.equal(parse('"say \\"hi\\""'), 'say "hi"');
  assert.equal(parse("'\\n\\t\\r\\b\\f\\v\\0'"), '\n\t\r\b\f\v\0');
  assert.equal(parse("'\\u00e9\\x41\\u{1F600}'"), '\u00e9A\u{1F600}');
  assert.equal(parse("'one \\\ntwo'"), 'one two'); // line continuation
  assert.equal(parse("'\\q'"), 'q'); // unknown escapes keep the character
});

test('"__proto__" is an ordinary key, never the prototype', () => {
  const value = parse('{"__proto__": {"polluted": true}}');
  assert.deepEqual(Object.keys(value), ['__proto__']);
  assert.equal(Object.getPrototypeOf(value), Object.prototype);
  assert.equal({}.polluted, undefined);
});

test('garbage is a SyntaxError that says where', () => {
  for (const text of ["['a',", '{a: }', '[1 2]', 'alert(1)', "['a'] trailing", "{'a': b}", '`x', '', '/* open', "'\\x4'", "'\\u{110000"]) {
    assert.throws(() => parse(text), SyntaxError, text);
  }
  assert.throws(() => parse('[1, 2 3]'), /at 6 in/);
});
