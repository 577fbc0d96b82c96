// The attribute readers: CL.literalAttr, CL.stringListAttr, CL.boolAttr, CL.numAttr.
'use strict';

const test = require('node:test');
const assert = require('node:assert/strict');
const { loadCrowdLoop, fakeElement } = require('./load.js');

const CL = loadCrowdLoop();

// Runs fn with console.warn captured; returns [result, warnings].
function warnings(fn) {
  const seen = [];
  const original = console.warn;
  console.warn = (message) => seen.push(String(message));
  try {
    return [fn(), seen];
  } finally {
    console.warn = original;
  }
}

test('literalAttr: missing or blank gives the fallback silently', () => {
  const el = fakeElement({ blank: '  ' });
  const [values, seen] = warnings(() => [CL.literalAttr(el, 'absent', 'fb'), CL.literalAttr(el, 'blank', 'fb')]);
  assert.deepEqual(values, ['fb', 'fb']);
  assert.deepEqual(seen, []);
});

test('literalAttr: parses, and checks the expected type', () => {
  const el = fakeElement({ list: "['a', 'b']", obj: '{text: "x"}', bad: '[1,' }, 'crowd-classifier');
  assert.deepEqual(CL.literalAttr(el, 'list', null, 'array'), ['a', 'b']);
  assert.deepEqual(CL.literalAttr(el, 'obj', null, 'object'), { text: 'x' });
  const [values, seen] = warnings(() => [
    CL.literalAttr(el, 'list', 'fb', 'object'),
    CL.literalAttr(el, 'obj', 'fb', 'array'),
    CL.literalAttr(el, 'bad', 'fb'),
  ]);
  assert.deepEqual(values, ['fb', 'fb', 'fb']);
  assert.equal(seen.length, 3);
  assert.match(seen[0], /^<crowd-classifier> list: expected an object/);
  assert.match(seen[1], /^<crowd-classifier> obj: expected an array/);
  assert.match(seen[2], /^<crowd-classifier> bad: cannot parse "\[1," \(/);
});

test('stringListAttr: strings, nulls dropped, [] when not a list', () => {
  const el = fakeElement({ cats: "['a', 2, null, undefined, true]", text: 'not a list' });
  assert.deepEqual(CL.stringListAttr(el, 'cats'), ['a', '2', 'true']);
  const [value] = warnings(() => CL.stringListAttr(el, 'text'));
  assert.deepEqual(value, []);
  assert.deepEqual(CL.stringListAttr(el, 'absent'), []);
});

test('boolAttr: presence, and "false" only when asked', () => {
  const el = fakeElement({ on: '', yes: 'true', no: ' False ' });
  assert.equal(CL.boolAttr(el, 'on'), true);
  assert.equal(CL.boolAttr(el, 'yes'), true);
  assert.equal(CL.boolAttr(el, 'no'), true);
  assert.equal(CL.boolAttr(el, 'no', true), false);
  assert.equal(CL.boolAttr(el, 'absent', true), false);
});

test('numAttr: trimmed finite numbers, otherwise the fallback', () => {
  const el = fakeElement({ a: ' 2 ', b: '1e3', c: 'x', d: '', e: 'Infinity', f: '0x10' });
  assert.deepEqual(['a', 'b', 'c', 'd', 'e', 'f', 'absent'].map((n) => CL.numAttr(el, n, -1)), [2, 1000, -1, -1, -1, 16, -1]);
});
