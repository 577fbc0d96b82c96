// Loads the crowd elements' DOM-free library files (00-core.js, 01-values.js, 08-textract.js)
// into a fresh stand-in `window` (with the English catalog, as the bundle has it) and returns its
// CrowdLoop namespace. Each call starts over, so a
// test may change CL.CHOICES freely. The files run as functions of this realm, so deepStrictEqual
// can compare what they return with literals here.
'use strict';

const fs = require('node:fs');
const path = require('node:path');
const vm = require('node:vm');

const FOLDER = path.join(__dirname, '..', '..', 'crowdloop', 'portal', 'static', 'crowd');
// The files that run without a DOM (no document, no customElements): loading them here proves it.
const PURE_FILES = ['00-core.js', '01-values.js', '08-textract.js'];

function loadCrowdLoop() {
  const window = {};
  for (const name of PURE_FILES) {
    const file = path.join(FOLDER, name);
    vm.compileFunction(fs.readFileSync(file, 'utf8'), ['window'], { filename: file })(window);
  }
  // The English catalog the server puts into the bundle (crowdloop.portal.assets): CL.t falls back to it.
  const catalog = path.join(__dirname, '..', '..', 'crowdloop', 'locale', 'en', 'crowd.json');
  window.CrowdLoop.EN = JSON.parse(fs.readFileSync(catalog, 'utf8'));
  return window.CrowdLoop;
}

// An element stand-in for the attribute readers: getAttribute() and localName, nothing else.
function fakeElement(attributes, localName) {
  return {
    localName: localName || 'crowd-test',
    getAttribute(name) {
      return Object.prototype.hasOwnProperty.call(attributes, name) ? attributes[name] : null;
    },
  };
}

module.exports = { loadCrowdLoop, fakeElement };
