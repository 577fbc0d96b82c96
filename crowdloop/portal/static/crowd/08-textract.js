/* Textract blocks, pure (no DOM; unit-tested in tests/js like 01-values.js): read and write block
 * fields in either case (Textract's API "BlockType", A2I's "blockType"), follow relationships, and
 * apply a worker's review of crowd-textract-analyze-document to the blocks (CL.textract.reviewedBlocks,
 * encoding: CL.CHOICES.textract*). */
(function (CL) {
  'use strict';
  if (CL.copies > 1) return; // a second copy of the bundle (00-core.js)

  // Read a field whatever its case: get(b, 'BlockType') finds BlockType or blockType.
  function lower1(s) { return s.charAt(0).toLowerCase() + s.slice(1); }
  function get(obj, name) {
    if (!obj || typeof obj !== 'object') return undefined;
    if (obj[name] !== undefined) return obj[name];
    return obj[lower1(name)];
  }
  function pascalOf(obj) {
    if (!obj || typeof obj !== 'object') return false;
    return Object.keys(obj).some(function (k) { return /^[A-Z]/.test(k); });
  }
  function put(obj, name, value, pascal) {
    delete obj[name];
    delete obj[lower1(name)];
    obj[pascal ? name : lower1(name)] = value;
  }
  function relIds(b, type) {
    var rels = get(b, 'Relationships');
    var out = [];
    (Array.isArray(rels) ? rels : []).forEach(function (r) {
      if (String(get(r, 'Type')).toUpperCase() === type) out = out.concat(get(r, 'Ids') || []);
    });
    return out;
  }
  function setRel(b, type, ids, pascal) {
    var rels = get(b, 'Relationships');
    rels = (Array.isArray(rels) ? rels : []).filter(function (r) { return String(get(r, 'Type')).toUpperCase() !== type; });
    if (ids.length) {
      var r = {};
      r[pascal ? 'Type' : 'type'] = type;
      r[pascal ? 'Ids' : 'ids'] = ids;
      rels.push(r);
    }
    if (rels.length) put(b, 'Relationships', rels, pascal);
    else { delete b.Relationships; delete b.relationships; }
  }
  function entityTypes(b) {
    var t = get(b, 'EntityTypes');
    return (Array.isArray(t) ? t : []).map(function (x) { return String(x).toUpperCase(); });
  }
  function normKey(s) {
    return String(s || '').toLowerCase().replace(/\s+/g, ' ').replace(/[\s:.\-]+$/, '').trim();
  }

  CL.textract = {
    get: get, put: put, pascalOf: pascalOf, relIds: relIds, setRel: setRel, entityTypes: entityTypes, normKey: normKey
  };

  // The blocks a review answers with: a copy of `blocks` where each pair of `pairs` ({keyBlock,
  // valueBlock, key, origKey, value, origValue, rejected, blank}) is applied and each key of
  // `missing` ({name, decision: '' | 'found' | 'missing', value}) the worker found is added.
  // options.pascal: the case of new fields; options.keyEdit: corrected key texts count.
  CL.textract.reviewedBlocks = function (blocks, pairs, missing, options) {
    var pascal = !!options.pascal;
    var out = JSON.parse(JSON.stringify(blocks));
    var byId = {};
    out.forEach(function (b) { var id = get(b, 'Id'); if (id !== undefined) byId[String(id)] = b; });
    var drop = {};
    var added = [];
    var n = { word: 0, key: 0, value: 0 };
    function newId(kind) { n[kind] += 1; return 'crowdloop-' + kind + '-' + n[kind]; }
    function words(text, like) {
      return String(text).trim().split(/\s+/).filter(Boolean).map(function (t) {
        var w = {};
        put(w, 'BlockType', 'WORD', pascal);
        put(w, 'Id', newId('word'), pascal);
        put(w, 'Text', t, pascal);
        put(w, 'Confidence', 100, pascal);
        if (like && get(like, 'Geometry') !== undefined) put(w, 'Geometry', JSON.parse(JSON.stringify(get(like, 'Geometry'))), pascal);
        if (like && get(like, 'Page') !== undefined) put(w, 'Page', get(like, 'Page'), pascal);
        added.push(w);
        return get(w, 'Id');
      });
    }
    function retext(b, text) {
      var p = pascalOf(b) || (pascal && !Object.keys(b).length);
      setRel(b, 'CHILD', words(text, b), p);
    }
    pairs.forEach(function (p) {
      var kb = byId[String(get(p.keyBlock, 'Id'))];
      var vb = p.valueBlock ? byId[String(get(p.valueBlock, 'Id'))] : null;
      if (p.rejected && CL.CHOICES.textractRejectedPair === 'remove') {
        if (kb) drop[String(get(kb, 'Id'))] = true;
        if (vb) drop[String(get(vb, 'Id'))] = true;
        return;
      }
      if (kb && p.key.trim() !== p.origKey.trim() && options.keyEdit) retext(kb, p.key);
      if (!vb) return;
      if (p.blank) setRel(vb, 'CHILD', [], pascalOf(vb));
      else if (p.value.trim() !== p.origValue.trim()) retext(vb, p.value);
    });
    missing.forEach(function (m) {
      if (m.decision !== 'found' || !m.value.trim()) return;
      var kb = {}, vb = {};
      put(kb, 'BlockType', 'KEY_VALUE_SET', pascal);
      put(kb, 'Id', newId('key'), pascal);
      put(kb, 'EntityTypes', ['KEY'], pascal);
      put(kb, 'Confidence', 100, pascal);
      put(vb, 'BlockType', 'KEY_VALUE_SET', pascal);
      put(vb, 'Id', newId('value'), pascal);
      put(vb, 'EntityTypes', ['VALUE'], pascal);
      put(vb, 'Confidence', 100, pascal);
      added.push(kb, vb);
      setRel(kb, 'VALUE', [get(vb, 'Id')], pascal);
      setRel(kb, 'CHILD', words(m.name, null), pascal);
      setRel(vb, 'CHILD', words(m.value, null), pascal);
    });
    return out.filter(function (b) { return !drop[String(get(b, 'Id'))]; }).concat(added);
  };
})(window.CrowdLoop);
