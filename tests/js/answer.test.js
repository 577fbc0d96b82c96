// The helpers 12-answer.js fills a stored answer with (01-values.js): which options an answer checks
// and what text a field shows.
'use strict';

const test = require('node:test');
const assert = require('node:assert/strict');
const { loadCrowdLoop } = require('./load.js');

test('answerChecks: checkable objects, lists and single values', () => {
  const CL = loadCrowdLoop();
  assert.equal(CL.answerChecks({ cat: true, dog: false }, 'cat'), true);
  assert.equal(CL.answerChecks({ cat: true, dog: false }, 'dog'), false);
  assert.equal(CL.answerChecks({ cat: 'yes' }, 'cat'), false); // only true checks
  assert.equal(CL.answerChecks({}, 'toString'), false); // not an inherited property
  assert.equal(CL.answerChecks(['a', 2], '2'), true);
  assert.equal(CL.answerChecks(['a', 2], 'b'), false);
  assert.equal(CL.answerChecks('left', 'left'), true);
  assert.equal(CL.answerChecks(3, '3'), true);
  assert.equal(CL.answerChecks(null, 'null'), false);
  assert.equal(CL.answerChecks(undefined, 'undefined'), false);
});

test('answerText: strings as they are, nothing as empty, structures as JSON', () => {
  const CL = loadCrowdLoop();
  assert.equal(CL.answerText('a <b>'), 'a <b>');
  assert.equal(CL.answerText(4.5), '4.5');
  assert.equal(CL.answerText(false), 'false');
  assert.equal(CL.answerText(null), '');
  assert.equal(CL.answerText(undefined), '');
  assert.equal(CL.answerText({ label: 'x' }), '{"label":"x"}');
  assert.equal(CL.answerText([1, 'b']), '[1,"b"]');
});
