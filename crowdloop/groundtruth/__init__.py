"""Ground Truth built-in task types and their consolidation: pure functions, no store, no HTTP, no I/O.

tasktypes      the PRE-/ACS-<Type> names, what each type writes, task-type inference from the ARNs
consolidation  the public face: the PRE-<Type> task input, consolidate(), the custom-job metadata
model          WorkerAnnotation, DataObject, Consolidated and the shared metadata helpers
dawidskene     the modified Dawid-Skene EM behind single-label classification and verification
classification single-label, multi-label and verification results
boxes          bounding boxes and their adjustment
spans          named-entity spans
segmentation   semantic segmentation masks and their adjustment (the `segmentation` extra)
masks          its pixel work: the only module importing Pillow and numpy, inside its functions
clusters       the greedy complete-linkage clustering that boxes and spans share
custom         ACS-PassThrough and custom jobs (with or without a consolidation Lambda)
"""
