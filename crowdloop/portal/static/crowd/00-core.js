/* crowdloop crowd HTML elements: a self-hosted implementation of the A2I / Ground Truth
 * "crowd-*" custom elements. Plain JS, no build step. The server concatenates every file in this
 * folder in file-name order and serves the result for both
 * https://assets.crowd.aws/crowd-html-elements.js and .../crowd-html-elements-v2.js.
 *
 * Library files (00-08; no element is defined in them, later files build on them):
 *   00-core.js          this file: the namespace window.CrowdLoop (CL), the answer-shape CHOICES and
 *                       CL.t / CL.tn, the elements' own texts in the worker's language (below)
 *   01-values.js        pure helpers, no DOM: attribute parsing (CL.parseLiteral...), answer merging
 *                       (CL.mergeEntries), text offsets, word counts, colours; unit-tested by
 *                       `node --test tests/js/*.test.js` (loaded there without a browser)
 *   02-dom.js           DOM helpers: CL.h, CL.svg, shared styles (CL.BASE_CSS), shadow roots, events, icons
 *   03-control.js       the element registry and CL.CrowdControl, the base class of every form
 *                       control (the interface crowd-form collects answers through), CL.Annotator,
 *                       CL.HostedValue
 *   04-layout.js        the instructions sidebar + dialog and the two-column layout (CL.layoutCss)
 *   05-portal.js        the portal protocol (postMessage) and readiness
 *   06-image-view.js    CL.ImageView (zoom/pan image viewer) and CL.IMAGE_VIEW_CSS
 *   07-classifier.js    CL.ClassifierBase (category picker) and CL.CLASSIFIER_CSS
 *   08-textract.js      Textract blocks (CL.textract), pure like 01-values.js: field access in either
 *                       case, relationships, the worker's review applied to the blocks
 * Element files: 10-form.js (crowd-form, crowd-button), 20-inputs.js, 30-choices.js, 40-slider.js,
 * 50-classifiers.js, 60-ranking.js, 65-qa.js (question-answer generation), 70-layout.js,
 * 80-image.js (image classifiers), 81-shapes.js (box, keypoint, polygon, line, polyline),
 * 85-entity.js, 90-segmentation.js, 95-aws-services.js (Textract forms, Rekognition moderation).
 * docs/crowd-elements.md describes every element and how to add one.
 *
 * Every file after this one is an IIFE over window.CrowdLoop that starts with
 * `if (CL.copies > 1) return;`: a page that includes the bundle twice (V1 + V2 script tags) runs
 * only the first copy. Elements register with CL.define() / CL.defineControl().
 */
(function () {
  'use strict';
  if (window.CrowdLoop) { // a second copy of the bundle on the same page: the files after this one skip
    window.CrowdLoop.copies += 1;
    return;
  }
  var CL = (window.CrowdLoop = { copies: 1 });

  /* ------------------------------------------------------------------------------------------
   * CHOICES: every answer-shape / behaviour decision that the catalog marks [unconfirmed] or
   * [inferred]. Correct them here (and in docs/crowd-elements.md); no other file hard-codes them.
   * ------------------------------------------------------------------------------------------ */
  CL.CHOICES = {
    // Native <input type=checkbox|radio name=N value=V>: 'merged' => {"N": {"V": true, "V2": false}}
    // (same as crowd-checkbox; catalog §2.3 recommendation); 'value' => {"N": "V"} (checked ones,
    // the last checked wins, nothing when none is checked).
    nativeCheckable: 'merged',
    // <select multiple name=N>: 'array' => {"N": ["a", "b"]} (omitted when nothing is selected);
    // 'merged' => {"N": {"a": true, "b": true, "c": false}}.
    nativeSelectMultiple: 'array',
    // Disabled native controls are skipped (browser form semantics).
    skipDisabledNative: true,
    // Disabled crowd-* controls still contribute (keeps answer keys stable for consumers).
    skipDisabledCrowd: false,
    // Empty text-like values (crowd-input, crowd-text-area, native text/hidden/select) => no key.
    omitEmptyText: true,
    // crowd-slider: an untouched slider still emits its current value (a number).
    sliderEmitUntouched: true,
    // crowd-slider[required]: the worker must have set the value (moved it, or `value` was given).
    sliderRequiredMeansSet: true,
    // crowd-classifier / crowd-image-classifier: block submit until a category is chosen.
    classifierRequiresChoice: true,
    // crowd-classifier-multi-select / crowd-image-classifier-multi-select: require >= 1 label.
    multiSelectRequiresOne: true,
    // exclusion-category chosen in a multi-select: true => {"labels": ["<exclusion text>"]},
    // false => {"labels": []}.
    exclusionAsLabel: true,
    // crowd-text-ranking: 'name' => {"<name>": {"ordinalRankingDimensions": [...]}} when the
    // element has a name (top level when it has none); 'top' => always at the top level.
    textRankingNesting: 'name',
    // crowd-text-ranking: each dimension item carries the dimension name: {name, responseRankings}.
    textRankingIncludeName: true,
    // crowd-text-ranking: responseRankings[i] is the rank (1 = best) of responses[i].
    textRankingRankPerResponse: true,
    // crowd-entity-annotation offsets: 'utf16' (JavaScript string indices) or 'codepoints'
    // (Python str indices). They differ only for characters outside the BMP (emoji...).
    entityOffsetUnits: 'utf16',
    // Image annotators: coordinates rounded to whole pixels.
    roundCoordinates: true,
    // Segmentation PNG: unpainted pixels 'transparent' (0,0,0,0) or 'black' (0,0,0,255).
    segmentationBackground: 'transparent',
    // crowd-question-answer-generation (answer shape undocumented by AWS; see docs):
    // the answer key when the element has no name (its tag name, like the unnamed element in AWS's
    // Ground Truth Lambda example "{\"crowd-entity-annotation\": {...}}");
    qaUnnamedKey: 'crowd-question-answer-generation',
    // every pair needs a tag when the tag field is shown (question-tags or custom tags allowed);
    qaTagRequired: true,
    // every pair needs >= 1 reference unless it is marked "about the whole passage";
    qaReferenceRequired: true,
    // a whole-passage pair is answered with one reference covering the passage (false: []).
    qaWholePassageAsReference: true,
    // crowd-rekognition-detect-moderation-labels: always offer "None of these" (AWS's own
    // instructions say "If no categories apply, choose None" without an exclusion-category), and
    // block submit until a category or None is chosen.
    moderationAlwaysNone: true,
    moderationRequiresChoice: true,
    // crowd-textract-analyze-document (how reviews are encoded in `blocks` is undocumented):
    // 'remove' => a pair marked "not a key-value pair" loses its KEY and VALUE blocks (its WORD
    // blocks stay); corrected text => new WORD blocks (Id "crowdloop-word-N") replace the CHILD
    // relationship; "value is blank" => the VALUE block has no CHILD words; a missing important key
    // the worker found => new KEY and VALUE blocks without Geometry; "key not found" => nothing.
    textractRejectedPair: 'remove',
    // every important key that was not detected needs a decision (found: its value / not found).
    textractRequireMissingKeyDecision: true
  };

  /* ------------------------------------------------------------------------------------------
   * Our own texts (button labels, validation messages...; never the requester's template texts) go
   * through CL.t(key, params). The English catalog (crowdloop/locale/en/crowd.json) is put into the
   * bundle by the server as CL.EN; the worker's language comes as a JSON data block
   * <script type="application/json" id="crowdloop-messages"> in the frame document (crowdloop.i18n).
   * A key missing there falls back to English, then to the key itself. {name} fields are filled
   * from params. tests/domain/test_i18n_catalogs.py checks every key used has en and ko texts.
   * ------------------------------------------------------------------------------------------ */
  var own = Object.prototype.hasOwnProperty;
  CL.EN = {};
  CL.messages = null; // the frame's catalog, read on first use

  function readMessages() {
    try {
      var el = document.getElementById('crowdloop-messages');
      var parsed = el ? JSON.parse(el.textContent) : {};
      return parsed && typeof parsed === 'object' ? parsed : {};
    } catch (e) { // no document (node --test), or a malformed block
      return {};
    }
  }

  CL.t = function (key, params) {
    if (CL.messages === null) CL.messages = readMessages();
    var text = own.call(CL.messages, key) ? CL.messages[key] : own.call(CL.EN, key) ? CL.EN[key] : key;
    return String(text).replace(/\{(\w+)\}/g, function (field, name) {
      return params && own.call(params, name) ? String(params[name]) : field;
    });
  };

  // The text for a count: key + '.one' when n is 1, key + '.other' otherwise ({n} is the count).
  CL.tn = function (key, n, params) {
    var all = { n: n };
    if (params) Object.keys(params).forEach(function (k) { all[k] = params[k]; });
    return CL.t(key + (n === 1 ? '.one' : '.other'), all);
  };
})();
