// CL.textract (08-textract.js): Textract block fields in either case, and a worker's review of
// crowd-textract-analyze-document applied to the blocks.
'use strict';

const test = require('node:test');
const assert = require('node:assert/strict');
const { loadCrowdLoop } = require('./load.js');

// A document with two detected pairs, "Name: Ann Lee" and "Date: (blank)", in Textract's own case.
function documentBlocks() {
  return [
    { BlockType: 'KEY_VALUE_SET', Id: 'k1', EntityTypes: ['KEY'], Relationships: [{ Type: 'VALUE', Ids: ['v1'] }, { Type: 'CHILD', Ids: ['w1'] }] },
    { BlockType: 'KEY_VALUE_SET', Id: 'v1', EntityTypes: ['VALUE'], Page: 1, Geometry: { BoundingBox: { Left: 0.5 } }, Relationships: [{ Type: 'CHILD', Ids: ['w2', 'w3'] }] },
    { BlockType: 'WORD', Id: 'w1', Text: 'Name:' },
    { BlockType: 'WORD', Id: 'w2', Text: 'Ann' },
    { BlockType: 'WORD', Id: 'w3', Text: 'Lee' },
    { BlockType: 'KEY_VALUE_SET', Id: 'k2', EntityTypes: ['KEY'], Relationships: [{ Type: 'VALUE', Ids: ['v2'] }, { Type: 'CHILD', Ids: ['w4'] }] },
    { BlockType: 'KEY_VALUE_SET', Id: 'v2', EntityTypes: ['VALUE'] },
    { BlockType: 'WORD', Id: 'w4', Text: 'Date' },
  ];
}

// The element's view of a pair, unchanged by the worker.
function pair(blocks, keyId, valueId, key, value) {
  const byId = Object.fromEntries(blocks.map((b) => [b.Id, b]));
  return { keyBlock: byId[keyId], valueBlock: byId[valueId], key, origKey: key, value, origValue: value, rejected: false, blank: false };
}

test('fields are read in either case and written in the one asked for', () => {
  const { textract: T } = loadCrowdLoop();
  assert.equal(T.get({ BlockType: 'WORD' }, 'BlockType'), 'WORD');
  assert.equal(T.get({ blockType: 'LINE' }, 'BlockType'), 'LINE');
  assert.equal(T.get(null, 'BlockType'), undefined);
  assert.equal(T.pascalOf({ BlockType: 'WORD' }), true);
  assert.equal(T.pascalOf({ blockType: 'WORD' }), false);
  const b = { blockType: 'WORD' };
  T.put(b, 'BlockType', 'LINE', true);
  assert.deepEqual(b, { BlockType: 'LINE' });
  T.put(b, 'BlockType', 'WORD', false);
  assert.deepEqual(b, { blockType: 'WORD' });
  assert.deepEqual(T.entityTypes({ entityTypes: ['key', 'Value'] }), ['KEY', 'VALUE']);
  assert.equal(T.normKey('  Date  of\tBirth :. '), 'date of birth');
});

test('relationships: ids by type, replaced or removed', () => {
  const { textract: T } = loadCrowdLoop();
  const b = { relationships: [{ type: 'child', ids: ['a'] }, { type: 'CHILD', ids: ['b'] }, { type: 'VALUE', ids: ['v'] }] };
  assert.deepEqual(T.relIds(b, 'CHILD'), ['a', 'b']);
  T.setRel(b, 'CHILD', ['c'], false);
  assert.deepEqual(b, { relationships: [{ type: 'VALUE', ids: ['v'] }, { type: 'CHILD', ids: ['c'] }] });
  T.setRel(b, 'VALUE', [], false);
  T.setRel(b, 'CHILD', [], false);
  assert.deepEqual(b, {});
});

test('an untouched review answers the blocks as they came, as a copy', () => {
  const CL = loadCrowdLoop();
  const blocks = documentBlocks();
  const pairs = [pair(blocks, 'k1', 'v1', 'Name:', 'Ann Lee'), pair(blocks, 'k2', 'v2', 'Date', '')];
  const out = CL.textract.reviewedBlocks(blocks, pairs, [], { pascal: true, keyEdit: true });
  assert.deepEqual(out, documentBlocks());
  assert.notEqual(out[0], blocks[0]);
});

test('corrected text gets new WORD blocks; blank values lose their words; rejected pairs go', () => {
  const CL = loadCrowdLoop();
  const blocks = documentBlocks();
  const name = pair(blocks, 'k1', 'v1', 'Name:', 'Ann Lee');
  name.value = ' Anna  Lee ';
  name.key = 'Full name';
  const out = CL.textract.reviewedBlocks(blocks, [name], [], { pascal: true, keyEdit: false });
  const byId = Object.fromEntries(out.map((b) => [b.Id, b]));
  assert.deepEqual(byId.k1, documentBlocks()[0]); // keyEdit false: the key text stays
  assert.deepEqual(byId.v1.Relationships, [{ Type: 'CHILD', Ids: ['crowdloop-word-1', 'crowdloop-word-2'] }]);
  assert.deepEqual(byId['crowdloop-word-1'], { BlockType: 'WORD', Id: 'crowdloop-word-1', Text: 'Anna', Confidence: 100, Geometry: { BoundingBox: { Left: 0.5 } }, Page: 1 });
  assert.equal(byId['crowdloop-word-2'].Text, 'Lee');

  const blank = pair(blocks, 'k1', 'v1', 'Name:', 'Ann Lee');
  blank.blank = true;
  const rejected = pair(blocks, 'k2', 'v2', 'Date', '');
  rejected.rejected = true;
  const out2 = CL.textract.reviewedBlocks(blocks, [blank, rejected], [], { pascal: true, keyEdit: true });
  assert.deepEqual(out2.map((b) => b.Id), ['k1', 'v1', 'w1', 'w2', 'w3', 'w4']);
  assert.equal(out2[1].Relationships, undefined);
});

test('CHOICES.textractRejectedPair other than "remove" keeps a rejected pair', () => {
  const CL = loadCrowdLoop();
  CL.CHOICES.textractRejectedPair = 'keep';
  const blocks = documentBlocks();
  const rejected = pair(blocks, 'k2', 'v2', 'Date', '');
  rejected.rejected = true;
  assert.deepEqual(CL.textract.reviewedBlocks(blocks, [rejected], [], { pascal: true, keyEdit: true }), documentBlocks());
});

test('a missing key the worker found becomes a KEY and a VALUE block, in the case of the input', () => {
  const CL = loadCrowdLoop();
  const missing = [
    { name: 'Phone number', decision: 'found', value: '555 0100' },
    { name: 'Email', decision: 'missing', value: '' },
    { name: 'Fax', decision: 'found', value: '  ' },
  ];
  const out = CL.textract.reviewedBlocks([], [], missing, { pascal: false, keyEdit: true });
  assert.deepEqual(out, [
    { blockType: 'KEY_VALUE_SET', id: 'crowdloop-key-1', entityTypes: ['KEY'], confidence: 100,
      relationships: [{ type: 'VALUE', ids: ['crowdloop-value-1'] }, { type: 'CHILD', ids: ['crowdloop-word-1', 'crowdloop-word-2'] }] },
    { blockType: 'KEY_VALUE_SET', id: 'crowdloop-value-1', entityTypes: ['VALUE'], confidence: 100,
      relationships: [{ type: 'CHILD', ids: ['crowdloop-word-3', 'crowdloop-word-4'] }] },
    { blockType: 'WORD', id: 'crowdloop-word-1', text: 'Phone', confidence: 100 },
    { blockType: 'WORD', id: 'crowdloop-word-2', text: 'number', confidence: 100 },
    { blockType: 'WORD', id: 'crowdloop-word-3', text: '555', confidence: 100 },
    { blockType: 'WORD', id: 'crowdloop-word-4', text: '0100', confidence: 100 },
  ]);
});
