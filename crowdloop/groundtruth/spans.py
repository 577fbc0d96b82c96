"""Named-entity spans (NamedEntityRecognition) — spec §8.2, §8.3.

Answer: the first object value of answerContent with an `entities` list (crowd-entity-annotation,
`{"crowd-entity-annotation": {"entities": [{"startOffset", "endOffset", "label"}]}}`). An entity whose
label is not in the label file or whose offsets are not integers with 0 ≤ start < end is dropped. A worker
whose answer has the list (even empty) counts as one of the object's N workers; an object with no such
answer gets no result.

Offsets: the output's are Unicode code points (spec §8.2: Python `str` indices of the line's text), while
crowdloop's crowd-entity-annotation answers JavaScript (UTF-16) indices (docs/crowd-elements.md,
`entityOffsetUnits`) — they differ after any character outside the BMP (emoji). When the line carries its
text in `source` (what the NER task UI shows), answer offsets are converted to code points before
clustering (an offset inside a surrogate pair widens the span to the whole character); the worker-response
files keep the answers as given. A `source-ref` line's text is not at hand: its offsets pass through.

Consolidation (the docs' description, thresholds ours): spans of different workers are clustered by the
Jaccard index of their character ranges, ≥ 0.5 (greedy complete linkage, clusters.py; labels do not have
to agree). Each cluster gives one entity: start and end are each the mode of the members' values, or their
lower median when there is no single mode; the label is the one most members gave, ties broken by a
generator seeded from the job name, datasetObjectId and the span (deterministic). A span only one worker
marked is kept. Confidence = (members with the winning label / N) * (mean pairwise Jaccard of the cluster,
1 for a cluster of one), rounded to 2; with a single worker it is `0` (an int, as in the docs' example).
Entities are listed in order of first appearance (the first worker's spans in their order, then spans
only later workers marked), which keeps a single worker's order as the docs' example shows.
`annotations.labels` echoes the label file's label objects (`label_objects`; `{"label": …}` objects made
from `labels` when not given).
"""

from __future__ import annotations

import bisect
import statistics
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from itertools import combinations
from typing import Any

from crowdloop.groundtruth.clusters import greedy
from crowdloop.groundtruth.model import Consolidated, DataObject, Job, score, tie_breaker

THRESHOLD = 0.5


@dataclass(frozen=True)
class Span:
    worker: int
    start: int
    end: int
    label: int


def jaccard(a: Span, b: Span) -> float:
    overlap = max(0, min(a.end, b.end) - max(a.start, b.start))
    return overlap / ((a.end - a.start) + (b.end - b.start) - overlap)


def _offset(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None


def code_points(text: Any) -> Callable[[int, bool], int]:
    """Converts a UTF-16 index of `text` to a code point index (see the module docstring); `end` rounds an
    index inside a surrogate pair up, a start rounds it down. The identity when `text` is not a string or
    has no character outside the BMP; past the end of the text, indices keep their distance to it."""
    if not isinstance(text, str) or all(ord(c) <= 0xFFFF for c in text):
        return lambda unit, end: unit
    starts = [0]  # starts[k] = UTF-16 index of code point k; the last entry is the text's UTF-16 length
    for c in text:
        starts.append(starts[-1] + (2 if ord(c) > 0xFFFF else 1))

    def convert(unit: int, end: bool) -> int:
        if unit >= starts[-1]:
            return len(text) + unit - starts[-1]
        return bisect.bisect_left(starts, unit) if end else bisect.bisect_right(starts, unit) - 1

    return convert


def spans_of(
    job: Job, worker: int, answer: list[Any], convert: Callable[[int, bool], int] = lambda unit, end: unit
) -> list[Span]:
    found = []
    for raw in answer:
        if not isinstance(raw, dict):
            continue
        start, end, k = _offset(raw.get("startOffset")), _offset(raw.get("endOffset")), job.index_of(raw.get("label"))
        if start is not None and end is not None and k is not None and start < end:
            found.append(Span(worker, convert(start, False), convert(end, True), k))
    return found


def answer_of(content: dict[str, Any]) -> list[Any] | None:
    for value in content.values():
        if isinstance(value, dict) and isinstance(value.get("entities"), list):
            return list(value["entities"])
    return None


def cluster(spans: list[Span]) -> list[list[int]]:
    """Spans grouped (indices into `spans`, see clusters.greedy)."""
    return greedy([s.worker for s in spans], lambda i, j: jaccard(spans[i], spans[j]), THRESHOLD)


def _boundary(values: list[int]) -> int:
    counts = Counter(values)
    top = max(counts.values())
    modes = [v for v, c in counts.items() if c == top]
    return modes[0] if len(modes) == 1 else int(statistics.median_low(values))


def _entity(job: Job, obj: DataObject, group: list[Span], workers: int) -> tuple[Span, float | int]:
    start, end = _boundary([s.start for s in group]), _boundary([s.end for s in group])
    if end <= start:
        start, end = group[0].start, group[0].end
    votes = Counter(s.label for s in group)
    top = max(votes.values())
    tied = sorted(k for k, n in votes.items() if n == top)
    label = (
        tied[0] if len(tied) == 1 else tie_breaker(job.job_name, obj.dataset_object_id, f"{start}:{end}").choice(tied)
    )
    pairs = list(combinations(group, 2))
    mean = sum(jaccard(a, b) for a, b in pairs) / len(pairs) if pairs else 1.0
    confidence: float | int = 0 if workers <= 1 else score(votes[label] / workers * mean, workers)
    return Span(-1, start, end, label), confidence


def named_entities(
    job: Job, objects: list[DataObject], output_type: str, label_objects: list[dict[str, Any]] | None
) -> dict[str, Consolidated]:
    echo = list(label_objects) if label_objects is not None else [{"label": label} for label in job.labels]
    results = {}
    for obj in objects:
        answers = [a for a in (answer_of(n.content) for n in obj.annotations) if a is not None]
        if not answers:
            continue
        convert = code_points(obj.line.get("source"))
        spans = [span for worker, answer in enumerate(answers) for span in spans_of(job, worker, answer, convert)]
        groups = cluster(spans)
        found = [_entity(job, obj, [spans[i] for i in members], len(answers)) for members in groups]
        value = {
            "annotations": {
                "labels": echo,
                "entities": [
                    {"label": job.labels[s.label], "startOffset": s.start, "endOffset": s.end} for s, _ in found
                ],
            }
        }
        metadata = {
            "job-name": job.job_ref,
            "type": output_type,
            "creation-date": job.date,
            "human-annotated": "yes",
            "entities": [{"confidence": confidence} for _, confidence in found],
        }
        results[obj.dataset_object_id] = Consolidated({job.label_attribute_name: value, job.metadata_key: metadata})
    return results
