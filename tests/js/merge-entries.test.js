// CL.mergeEntries: how crowd-form turns the controls' _crowdEntries() into the answer.
'use strict';

const test = require('node:test');
const assert = require('node:assert/strict');
const { loadCrowdLoop } = require('./load.js');

test('later values win; empty text is left out', () => {
  const CL = loadCrowdLoop();
  const answer = CL.mergeEntries([
    { name: 'a', kind: 'text', value: 'first' },
    { name: 'a', kind: 'text', value: 'second' },
    { name: 'empty', kind: 'text', value: '' },
    { name: 'n', kind: 'value', value: 0 },
    { name: 'o', kind: 'value', value: { label: 'x' } },
  ]);
  assert.deepEqual(answer, { a: 'second', n: 0, o: { label: 'x' } });
});

test('CHOICES.omitEmptyText false keeps empty text', () => {
  const CL = loadCrowdLoop();
  CL.CHOICES.omitEmptyText = false;
  assert.deepEqual(CL.mergeEntries([{ name: 'empty', kind: 'text', value: '' }]), { empty: '' });
});

test('checkables sharing a name merge into one object of booleans', () => {
  const CL = loadCrowdLoop();
  const answer = CL.mergeEntries([
    { name: 'pets', kind: 'checkable', key: 'cat', checked: true },
    { name: 'pets', kind: 'checkable', key: 'dog', checked: 0 },
    { name: 'one', kind: 'checkable', key: 1, checked: 'yes' },
  ]);
  assert.deepEqual(answer, { pets: { cat: true, dog: false }, one: { 1: true } });
});

test('a value after a checkable replaces it, and a checkable after a value starts over', () => {
  const CL = loadCrowdLoop();
  assert.deepEqual(
    CL.mergeEntries([
      { name: 'k', kind: 'checkable', key: 'a', checked: true },
      { name: 'k', kind: 'value', value: 'plain' },
      { name: 'k', kind: 'checkable', key: 'b', checked: true },
    ]),
    { k: { b: true } },
  );
});

test("'merge' entries put their keys at the top level", () => {
  const CL = loadCrowdLoop();
  const answer = CL.mergeEntries([
    { name: 'ordinalRankingDimensions', kind: 'value', value: 'old' },
    { name: '', kind: 'merge', value: { ordinalRankingDimensions: [{ name: 'Clarity', responseRankings: [1, 2] }] } },
  ]);
  assert.deepEqual(answer, { ordinalRankingDimensions: [{ name: 'Clarity', responseRankings: [1, 2] }] });
});

test('the answer is JSON: no undefined, NaN is null, "__proto__" is a plain key', () => {
  const CL = loadCrowdLoop();
  const answer = CL.mergeEntries([
    { name: 'u', kind: 'value', value: undefined },
    { name: 'nan', kind: 'value', value: NaN },
    { name: 'nested', kind: 'value', value: { keep: 1, drop: undefined } },
    { name: '__proto__', kind: 'value', value: { polluted: true } },
  ]);
  assert.deepEqual(Object.keys(answer), ['nan', 'nested', '__proto__']);
  assert.equal(answer.nan, null);
  assert.deepEqual(answer.nested, { keep: 1 });
  assert.equal(Object.getPrototypeOf(answer), Object.prototype);
  assert.equal({}.polluted, undefined);
});
