"""Single-label, multi-label and verification results (spec §8.2, §8.3).

Answers. A single-label answer is the first value of answerContent that is an object with a string
`label` (`{"crowd-image-classifier": {"label": "dog"}}`, `{"crowd-classifier": {"label": …}}`, whatever
name the template gave the element). A multi-label answer is the first object value with a `labels` list
(`{"x": {"labels": ["a", "b"]}}`). A label that is not in the job's label list is ignored: for single-label
the whole answer is dropped, for multi-label just that label (the rest of the answer counts, and a worker
who chose nothing known still counts as a worker). An object left with no usable answer gets no result
(the caller counts it as failed).

Single-label (ImageMultiClass, TextMultiClass): value = the class index (int) chosen by the Dawid-Skene EM
over the whole batch (dawidskene.py); confidence = min(round(max posterior, 2), 0.95) — the cap is what the
one real job shows. With one answer: that answer, confidence 0.0. Ties (equal posteriors, e.g. one worker
each way) are broken by a generator seeded from the job name and datasetObjectId: deterministic.

Verification (VerificationBoundingBox, VerificationSemanticSegmentation): the same EM on the judgement
(the label file lists the judgements, e.g. ["good", "bad"]); value = the class index *as a string*, type
groundtruth/label-verification, `worker-feedback: [{"comment": …}]` from every answer that carries a
non-blank string `comment` — a top-level answer field (`<crowd-text-area name="comment">`) or a key next to
`label` — in answer order, omitted when there is none (as the docs say).

Multi-label (ImageMultiClassMultiLabel, TextMultiClassMultiLabel): value = every class index chosen by at
least one worker, most-chosen first (ties in order of first appearance); `confidence-map` = the share of
workers who chose the class, rounded to 2 and capped at 0.95 like single-label; 0.0 with one worker.
Metadata key order: that of the real 2024 job (the docs' example orders them differently).
"""

from __future__ import annotations

from typing import Any

from crowdloop.groundtruth.dawidskene import estimate
from crowdloop.groundtruth.model import Consolidated, DataObject, Job, score, tie_breaker

CAP = 0.95
_TIE = 1e-9


def label_of(content: dict[str, Any]) -> Any:
    """The `label` of a single-label answer, None when there is none."""
    for value in content.values():
        if isinstance(value, dict) and isinstance(value.get("label"), str):
            return value["label"]
    return None


def labels_of(content: dict[str, Any]) -> list[Any] | None:
    """The `labels` of a multi-label answer, None when the answer has none."""
    for value in content.values():
        if isinstance(value, dict) and isinstance(value.get("labels"), list):
            return list(value["labels"])
    return None


def comment_of(content: dict[str, Any]) -> str | None:
    candidates = [content.get("comment")]
    candidates += [v.get("comment") for v in content.values() if isinstance(v, dict) and "label" in v]
    for comment in candidates:
        if isinstance(comment, str) and comment.strip():
            return comment
    return None


def _decide(job: Job, obj: DataObject, answers: list[tuple[int, int]], posterior: list[float]) -> tuple[int, float]:
    """(class, confidence) for one object."""
    if len(answers) == 1:
        return answers[0][1], 0.0
    voted = sorted({k for _, k in answers})
    best = max(posterior[k] for k in voted)
    tied = [k for k in voted if posterior[k] >= best - _TIE]
    chosen = tied[0] if len(tied) == 1 else tie_breaker(job.job_name, obj.dataset_object_id).choice(tied)
    return chosen, min(score(posterior[chosen], len(answers)), CAP)


def _fit(job: Job, objects: list[DataObject]) -> list[tuple[DataObject, int, float]]:
    workers: dict[str, int] = {}
    rows: list[tuple[DataObject, list[tuple[int, int]]]] = []
    for obj in objects:
        answers = []
        for annotation in obj.annotations:
            k = job.index_of(label_of(annotation.content))
            if k is not None:
                answers.append((workers.setdefault(annotation.worker_id, len(workers)), k))
        if answers:
            rows.append((obj, answers))
    posteriors = estimate([answers for _, answers in rows], len(workers), len(job.labels))
    return [
        (obj, *_decide(job, obj, answers, posterior))
        for (obj, answers), posterior in zip(rows, posteriors, strict=True)
    ]


def single_label(job: Job, objects: list[DataObject], output_type: str) -> dict[str, Consolidated]:
    results = {}
    for obj, k, confidence in _fit(job, objects):
        metadata = {
            "confidence": confidence,
            "job-name": job.job_ref,
            "class-name": job.labels[k],
            "human-annotated": "yes",
            "creation-date": job.date,
            "type": output_type,
        }
        results[obj.dataset_object_id] = Consolidated({job.label_attribute_name: k, job.metadata_key: metadata})
    return results


def verification(job: Job, objects: list[DataObject], output_type: str) -> dict[str, Consolidated]:
    results = {}
    for obj, k, confidence in _fit(job, objects):
        metadata: dict[str, Any] = {
            "class-name": job.labels[k],
            "confidence": confidence,
            "type": output_type,
            "job-name": job.job_ref,
            "human-annotated": "yes",
            "creation-date": job.date,
        }
        comments = [c for c in (comment_of(a.content) for a in obj.annotations) if c is not None]
        if comments:
            metadata["worker-feedback"] = [{"comment": c} for c in comments]
        results[obj.dataset_object_id] = Consolidated({job.label_attribute_name: str(k), job.metadata_key: metadata})
    return results


def multi_label(job: Job, objects: list[DataObject], output_type: str) -> dict[str, Consolidated]:
    results = {}
    for obj in objects:
        chosen: dict[int, int] = {}  # class -> workers who chose it, in order of first appearance
        workers = 0
        for annotation in obj.annotations:
            labels = labels_of(annotation.content)
            if labels is None:
                continue
            workers += 1
            for k in dict.fromkeys(job.index_of(label) for label in labels):
                if k is not None:
                    chosen[k] = chosen.get(k, 0) + 1
        if not workers:
            continue
        value = sorted(chosen, key=lambda k: -chosen[k])
        metadata = {
            "job-name": job.job_ref,
            "confidence-map": {str(k): min(score(chosen[k] / workers, workers), CAP) for k in value},
            "class-map": {str(k): job.labels[k] for k in value},
            "type": output_type,
            "human-annotated": "yes",
            "creation-date": job.date,
        }
        results[obj.dataset_object_id] = Consolidated({job.label_attribute_name: value, job.metadata_key: metadata})
    return results
