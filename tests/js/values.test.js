// The other pure helpers of 01-values.js: words, offsets, rounding, ranking order, colours.
'use strict';

const test = require('node:test');
const assert = require('node:assert/strict');
const { loadCrowdLoop } = require('./load.js');

test('countWords and wordRange', () => {
  const CL = loadCrowdLoop();
  assert.deepEqual(['', '   ', 'one', ' two  words\n', 'a\tb\u00a0c', null, undefined].map(CL.countWords), [0, 0, 1, 2, 3, 0, 0]);
  assert.equal(CL.wordRange(2, 2), '2');
  assert.equal(CL.wordRange(1, 5), '1\u20135');
  assert.equal(CL.wordRange(3, null), 'at least 3');
  assert.equal(CL.wordRange(3), 'at least 3');
});

test('offsets: UTF-16 indices, or code points when CHOICES say so', () => {
  const CL = loadCrowdLoop();
  const text = 'a\u{1F600}b c';
  assert.equal(CL.toOffsetUnits(text, 3), 3);
  assert.equal(CL.fromOffsetUnits(text, 3), 3);
  CL.CHOICES.entityOffsetUnits = 'codepoints';
  assert.equal(CL.toOffsetUnits(text, 3), 2); // 'a', the emoji (two UTF-16 units)
  assert.equal(CL.fromOffsetUnits(text, 2), 3);
  for (let i = 0; i <= text.length; i++) {
    if (i === 2) continue; // inside the surrogate pair
    assert.equal(CL.fromOffsetUnits(text, CL.toOffsetUnits(text, i)), i);
  }
});

test('round follows CHOICES.roundCoordinates', () => {
  const CL = loadCrowdLoop();
  assert.deepEqual([1.4, 1.5, -0.6].map(CL.round), [1, 2, -1]);
  CL.CHOICES.roundCoordinates = false;
  assert.equal(CL.round(1.4), 1.4);
});

test('rankingOrder: response numbers from best to worst, ties in response order', () => {
  const CL = loadCrowdLoop();
  assert.deepEqual(CL.rankingOrder([2, 1, 3]), [2, 1, 3]);
  assert.deepEqual(CL.rankingOrder([3, 1, 2]), [2, 3, 1]);
  assert.deepEqual(CL.rankingOrder([1, 2, 1]), [1, 3, 2]);
});

test('distinctColor: the palette first, then distinct hex colours', () => {
  const CL = loadCrowdLoop();
  assert.equal(CL.PALETTE.length, 10);
  assert.deepEqual([0, 1, 9].map(CL.distinctColor), [CL.PALETTE[0], CL.PALETTE[1], CL.PALETTE[9]]);
  const colours = Array.from({ length: 60 }, (_, k) => CL.distinctColor(k));
  for (const c of colours) assert.match(c, /^#[0-9a-f]{6}$/);
  assert.equal(new Set(colours).size, colours.length);
});

test('rgbOf and hexOf round-trip; unreadable colours are black', () => {
  const CL = loadCrowdLoop();
  assert.deepEqual(CL.rgbOf('#1F77b4'), [31, 119, 180]);
  assert.deepEqual(CL.rgbOf(' 0a0b0c '), [10, 11, 12]);
  assert.deepEqual(CL.rgbOf('red'), [0, 0, 0]);
  assert.equal(CL.hexOf([31, 119, 180]), '#1f77b4');
  assert.equal(CL.hexOf([0, 5, 255]), '#0005ff');
  for (const c of CL.PALETTE) assert.equal(CL.hexOf(CL.rgbOf(c)), c);
});

test('loading defines nothing outside the stand-in window', () => {
  const before = Object.keys(globalThis).sort();
  loadCrowdLoop();
  assert.deepEqual(Object.keys(globalThis).sort(), before);
});
