"""The per-loop work of an export, the same for one pass over any sources and for one chunk of a store
source: loops -> items (mapping, worker and flagged-answer exclusion, kind checks, min_annotators) -> batches of items
filtered by agreement -> Arrow record batches of the dataset. Every figure goes into one Tally.

    Pipeline(options, tally).records(loops)   the record batches, in loop order
    Pipeline(options, tally).analyse(loops)   the statistics only (crowdloop report)
    schema(options)                           the Arrow schema of the dataset's rows
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np

from crowdloop.errors import InvalidInput
from crowdloop.export import worker_columns
from crowdloop.export.batches import BATCH_ITEMS, ItemBatch, batches, make_batch
from crowdloop.export.deps import require
from crowdloop.export.mapping import Mapper
from crowdloop.export.model import Item, Kind, RawLoop
from crowdloop.export.options import KINDS, ExportOptions
from crowdloop.export.pairs import (
    KtoOptions,
    PairOptions,
    kto_label_rows,
    kto_rows,
    pair_rows,
    preference_batch,
    preference_schema,
)
from crowdloop.export.rows import label_consensus_rows, label_rows, ranking_rows, rating_rows
from crowdloop.export.rows import schema as row_schema
from crowdloop.export.tally import Tally


@contextmanager
def paused_gc() -> Iterator[None]:
    """No cyclic garbage collection while a batch is made. Reading a batch allocates a million small objects
    (parsed JSON, tuples) that reference counting frees, none in cycles; the collector's passes over them
    took 40% of an export's time. It runs again between batches, so user code never sees it off."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def schema(options: ExportOptions) -> Any:
    """The Arrow schema of the dataset's rows (with the worker-score columns when asked for)."""
    found = _rows_schema(options)
    if options.worker_scores is not None and "annotator" in found.names:
        return worker_columns.with_columns(found)
    return found


def _rows_schema(options: ExportOptions) -> Any:
    o = options
    if o.dataset == "preferences":
        return preference_schema(PairOptions(o.policy, o.ties, o.consensus, o.conversational))
    return row_schema(o.dataset, o.consensus is not None, o.conversational)


class Pipeline:
    """Loops to record batches with these options, counted into `tally`; on_loop is called for each loop."""

    def __init__(
        self,
        options: ExportOptions,
        tally: Tally,
        batch_items: int = BATCH_ITEMS,
        on_loop: Callable[[], None] | None = None,
    ) -> None:
        self.options = options
        self.tally = tally
        self.batch_items = batch_items
        self.on_loop = on_loop
        self.mapper = Mapper(tally.problems, options.mapping, options.dimension, tally.detected)

    def items(self, loops: Iterable[RawLoop]) -> Iterator[Item]:
        excluded = set(self.options.exclude_workers)
        drop_flagged = not self.options.include_flagged
        counts, chat_prompts = self.tally.counts, self.options.chat_prompts
        for loop in loops:
            counts["loops_read"] += 1
            if self.on_loop is not None:
                self.on_loop()
            if excluded:
                loop = self._without_workers(loop, excluded)
            if True in (flags := [a[4] for a in loop.answers]):  # RawAnswer.flagged, read fast
                if drop_flagged:
                    loop = self._without_flagged(loop)
                else:
                    counts["flagged_answers_kept"] += flags.count(True)
            item = self.mapper.map(loop)
            if item is None:
                continue
            counts["items_mapped"] += 1
            if self.tally.kind is None:
                self._check_kind(item.kind)
                self.tally.kind = item.kind
            if type(item.prompt) is not str and not chat_prompts:
                self._refuse_chat(item)
            if len(item.judgments) < self.options.min_annotators:
                counts["items_below_min_annotators"] += 1
                continue
            yield item

    def records(self, loops: Iterable[RawLoop]) -> Iterator[Any]:
        """Arrow record batches of the dataset, in item order."""
        pa = require("pyarrow")
        target = _rows_schema(self.options)
        scores = self.options.worker_scores if "annotator" in target.names else None
        collected: list[Item] = []
        stream = batches(self.items(loops), self.batch_items)
        while True:
            with paused_gc():
                record = self._next_record(stream, target, collected)
            if record is None:
                break
            yield record if scores is None else worker_columns.add_columns(record, scores)
        if collected:
            record = pa.Table.from_pylist(label_consensus_rows(collected), schema=target).combine_chunks()
            for part in record.to_batches():
                self.tally.counts["rows"] += part.num_rows
                yield part if scores is None else worker_columns.add_columns(part, scores)

    def analyse(self, loops: Iterable[RawLoop]) -> None:
        """Read everything for the agreement statistics only (no rows)."""
        stream = batches(self.items(loops), self.batch_items)
        while True:
            with paused_gc():
                batch = next(stream, None)
                if batch is None:
                    break
                self._filter(batch)
                del batch  # freed before the collector runs again

    def _without_workers(self, loop: RawLoop, excluded: set[str]) -> RawLoop:
        kept = tuple(a for a in loop.answers if a.worker_id not in excluded)
        self.tally.counts["answers_excluded_by_worker"] += len(loop.answers) - len(kept)
        return RawLoop(loop.name, loop.flow, loop.input, kept, loop.origin) if len(kept) != len(loop.answers) else loop

    def _without_flagged(self, loop: RawLoop) -> RawLoop:
        """The loop without its flagged answers (faster than crowdloop:min-seconds), counted for the card."""
        kept = tuple(a for a in loop.answers if not a.flagged)
        self.tally.counts["answers_excluded_flagged"] += len(loop.answers) - len(kept)
        return RawLoop(loop.name, loop.flow, loop.input, kept, loop.origin)

    def _refuse_chat(self, item: Item) -> None:
        dataset = self.options.dataset
        if dataset in ("preferences", "kto"):
            raise InvalidInput(
                f"The prompt of {item.item_id} is a list of chat messages, which a text prompt column "
                "cannot hold: export with --conversational (TRL's conversational format keeps "
                "the turns as they are).",
                "conversational",
            )
        raise InvalidInput(
            f"The prompt of {item.item_id} is a list of chat messages, which {dataset} rows (a text "
            "prompt) cannot hold: export preferences or kto with --conversational.",
            "conversational",
        )

    def _check_kind(self, kind: Kind) -> None:
        if kind not in KINDS[self.options.dataset]:
            hint = {
                Kind.LABEL: "labels (or kto with desirable labels in a mapping file)",
                Kind.RANKING: "preferences, rankings or kto",
                Kind.RATING: "preferences, rankings, ratings or kto",
            }
            raise InvalidInput(
                f"The answers are {kind.value}s, which cannot make a {self.options.dataset} dataset; "
                f"export {hint[kind]}.",
                "dataset",
            )

    def _next_record(self, stream: Iterator[ItemBatch], target: Any, collected: list[Item]) -> Any:
        """The record batch of the next batch of items that has any after filtering (None at the end). The items
        are freed when this returns, before the collector runs again."""
        for batch in stream:
            kept = self._filter(batch)
            if not kept.items:
                continue
            if self.options.every_item_at_once:
                collected.extend(kept.items)  # Dawid-Skene needs every item: labels are small
                continue
            record = self._record(kept, target)
            self.tally.counts["rows"] += record.num_rows
            return record
        return None

    def _filter(self, batch: ItemBatch) -> ItemBatch:
        agreement = self.tally.agreement.item_agreement(batch)
        keep = np.ones(len(batch.items), dtype=bool)
        counts, minimum = self.tally.counts, self.options.min_agreement
        if minimum is not None:
            keep = ~np.isnan(agreement) & (agreement >= minimum - 1e-12)
            counts["items_below_min_agreement"] += int((~keep).sum())
        self.tally.agreement.add(batch, agreement, keep)
        counts["items_exported"] += int(keep.sum())
        if keep.all():
            batch.agreement = agreement
            return batch
        kept = [item for item, k in zip(batch.items, keep.tolist(), strict=True) if k]
        if not kept:
            return ItemBatch([], batch.kind)
        filtered = make_batch(kept)
        filtered.agreement = agreement[keep]
        return filtered

    def _record(self, batch: ItemBatch, target: Any) -> Any:
        pa = require("pyarrow")
        o = self.options
        if o.dataset == "preferences":
            options = PairOptions(o.policy, o.ties, o.consensus, o.conversational)
            return preference_batch(batch, pair_rows(batch, options), options)
        if o.dataset == "kto":
            if batch.kind is Kind.LABEL:
                desirable = o.mapping.desirable if o.mapping else ()
                if not desirable:
                    raise InvalidInput(
                        "KTO rows from labels need `desirable = [...]` labels in the mapping file.", "mapping"
                    )
                rows = kto_label_rows(batch, desirable, o.conversational)
            else:
                rows = kto_rows(batch, KtoOptions(o.consensus, o.kto_threshold, o.conversational))
        elif o.dataset == "rankings":
            assert batch.agreement is not None
            rows = ranking_rows(batch, o.consensus is not None, batch.agreement)
        elif o.dataset == "ratings":
            rows = rating_rows(batch, o.consensus is not None)
        else:
            rows = label_rows(batch)
        return pa.RecordBatch.from_pylist(rows, schema=target)
