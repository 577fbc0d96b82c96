"""Worker-score columns of an export (`--worker-scores`, docs/export.md "Worker scores"): for each row, the
score of the worker in its `annotator` column (consensus rows: one per annotator listed).

    worker_agreement      leave-one-out agreement with the other workers of the same items (the report's
                          "agreement with others", over every answer of the sources, flagged ones included)
    worker_gold_accuracy  mean score on the flow definition's gold items (docs/quality.md); null without any

The scores come from a first pass over the same sources (api.run analyses them first), so a row's figure describes its
worker across the whole export, not just the row's item. The columns are added to each Arrow record batch
with vectorised lookups (pyarrow.compute.index_in + take): no Python work per row.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from crowdloop.export.deps import require

COLUMNS = ("worker_agreement", "worker_gold_accuracy")
Scores = tuple[tuple[str, float | None, float | None], ...]


def scores_from(card: dict[str, Any], gold_accuracy: Mapping[str, float] | None = None) -> Scores:
    """Each worker's (id, agreement with the others, gold accuracy) from an analysis card of the sources (the
    report's "agreement with others" per worker) and the gold accuracies known (store sources)."""
    accuracy = gold_accuracy or {}
    found = {str(row["worker"]): row.get("agreement_with_others") for row in card["agreement"]["workers"]}
    return tuple((worker, found.get(worker), accuracy.get(worker)) for worker in sorted(set(found) | set(accuracy)))


def gold_accuracies(sources: Sequence[object]) -> dict[str, float]:
    """Each worker's gold accuracy on the flow definitions of the store sources among these (crowdloop.gold's
    counters; a worker of several flows: the mean over their gold answers of all of them)."""
    from crowdloop import gold
    from crowdloop.export.sources import StoreSource

    answered: dict[str, int] = {}
    total: dict[str, float] = {}
    for source in sources:
        if not isinstance(source, StoreSource):
            continue
        with source.store.read() as conn:
            for worker, found in gold.accuracies(conn, source.flow_id).items():
                if found.accuracy is not None and found.gold_answered:
                    answered[worker] = answered.get(worker, 0) + found.gold_answered
                    total[worker] = total.get(worker, 0.0) + found.accuracy * found.gold_answered
    return {worker: total[worker] / answered[worker] for worker in answered}


def with_columns(schema: Any) -> Any:
    """The schema with the two columns, typed like its annotator column (a list on consensus rows)."""
    pa = require("pyarrow")
    listed = pa.types.is_list(schema.field("annotator").type)
    number = pa.list_(pa.float64()) if listed else pa.float64()
    for name in COLUMNS:
        schema = schema.append(pa.field(name, number))
    return schema


def add_columns(record: Any, scores: Scores) -> Any:
    """The record batch with the two columns looked up from its annotator column."""
    pa = require("pyarrow")
    pc = require("pyarrow.compute")
    names = pa.array([worker for worker, _, _ in scores], type=pa.string())
    annotator = record.column(record.schema.get_field_index("annotator"))
    listed = pa.types.is_list(annotator.type)
    flat = annotator.flatten() if listed else annotator
    if pa.types.is_dictionary(flat.type):
        flat = flat.dictionary_decode()
    where = pc.index_in(flat.cast(pa.string()), value_set=names)
    columns = list(record.columns)
    fields = list(record.schema)
    for position, name in enumerate(COLUMNS, start=1):
        values = pa.array([entry[position] for entry in scores], type=pa.float64()).take(where)
        if listed:  # the annotator lists' offsets, from 0 even when the batch is a slice
            values = pa.ListArray.from_arrays(pc.subtract(annotator.offsets, annotator.offsets[0]), values)
        columns.append(values)
        fields.append(pa.field(name, values.type))
    return pa.RecordBatch.from_arrays(columns, schema=pa.schema(fields))
