/* crowd-classifier ({name: {label}}) and crowd-classifier-multi-select ({name: {labels: [...]}}):
 * CL.ClassifierBase (07-classifier.js) with the classification-target slot as the target. */
(function (CL) {
  'use strict';
  if (CL.copies > 1) return; // a second copy of the bundle (00-core.js)
  var ClassifierBase = CL.ClassifierBase;

  class CrowdClassifier extends ClassifierBase {}
  class CrowdClassifierMultiSelect extends ClassifierBase {
    get _multi() { return true; }
  }

  CL.defineControl('crowd-classifier', CrowdClassifier);
  CL.defineControl('crowd-classifier-multi-select', CrowdClassifierMultiSelect);
})(window.CrowdLoop);
