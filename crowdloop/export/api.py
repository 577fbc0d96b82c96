"""The Python API: one Export run reads the sources, maps loops to items, filters them, keeps the agreement
statistics and yields Arrow record batches of the requested dataset. export() writes them and the card;
iter_rows() and to_dataset() hand them to Python code.

    >>> from crowdloop.export import iter_rows, to_dataset
    >>> rows = iter_rows("fd-ranking", store=store)                     # a flow definition in the store
    >>> dataset = to_dataset("./a2i-results", dataset="preferences", policy="adjacent", consensus="mean-rank")
"""

from __future__ import annotations

import gc
import tempfile
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from crowdloop import __version__
from crowdloop.errors import InvalidInput
from crowdloop.export.agreement import Agreement
from crowdloop.export.batches import BATCH_ITEMS, ItemBatch, batches, make_batch
from crowdloop.export.card import write_card
from crowdloop.export.deps import require
from crowdloop.export.mapping import Mapper, Mapping, load_mapping
from crowdloop.export.model import Consensus, Item, Judgment, Kind, Policy, ProblemLog, RawLoop
from crowdloop.export.pairs import (
    KtoOptions,
    PairOptions,
    kto_label_rows,
    kto_rows,
    pair_rows,
    preference_batch,
    preference_schema,
)
from crowdloop.export.parallel import CHUNK_LOOPS
from crowdloop.export.rows import label_consensus_rows, label_rows, ranking_rows, rating_rows, schema
from crowdloop.export.sources import Source, StoreSource, open_source
from crowdloop.export.writers import card_paths, check_output, open_writer
from crowdloop.model import HumanLoopStatus

DATASETS = ("preferences", "kto", "rankings", "ratings", "labels")
_KINDS = {
    "preferences": (Kind.RANKING, Kind.RATING),
    "kto": (Kind.RANKING, Kind.RATING, Kind.LABEL),
    "rankings": (Kind.RANKING, Kind.RATING),
    "ratings": (Kind.RATING,),
    "labels": (Kind.LABEL,),
    "report": (Kind.RANKING, Kind.RATING, Kind.LABEL),
}  # report: statistics only, no rows


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


@dataclass(frozen=True)
class ExportOptions:
    dataset: str = "preferences"
    policy: Policy = Policy.ALL
    ties: bool = False
    consensus: Consensus | None = None
    conversational: bool = False
    mapping: Mapping | None = None
    dimension: str | None = None
    kto_threshold: float | None = None
    min_agreement: float | None = None
    min_annotators: int = 1
    exclude_workers: tuple[str, ...] = ()
    include_stopped: bool = False

    def describe(self) -> dict[str, Any]:
        described = {k: v for k, v in asdict(self).items() if k != "mapping"}
        described["exclude_workers"] = list(self.exclude_workers)
        return {k: (v.value if hasattr(v, "value") else v) for k, v in described.items()}


def make_options(
    dataset: str = "preferences",
    *,
    policy: str | Policy = Policy.ALL,
    ties: bool = False,
    consensus: str | Consensus | None = None,
    conversational: bool = False,
    mapping: str | Path | Mapping | None = None,
    **rest: Any,
) -> ExportOptions:
    """ExportOptions from plain values (strings for the enums, a path for the mapping file)."""
    if dataset not in _KINDS:
        raise InvalidInput(f"dataset must be one of {', '.join(DATASETS)}, not {dataset!r}", "dataset")
    try:
        chosen_policy, chosen_consensus = Policy(policy), Consensus(consensus) if consensus else None
    except ValueError as exc:
        raise InvalidInput(str(exc)) from exc
    if mapping is not None and not isinstance(mapping, Mapping):
        mapping = load_mapping(mapping)
    if "exclude_workers" in rest:
        rest["exclude_workers"] = tuple(rest["exclude_workers"])
    return ExportOptions(dataset, chosen_policy, ties, chosen_consensus, conversational, mapping, **rest)


@dataclass
class Export:
    """One pass over the sources. Iterate batches() once; afterwards card() describes what was produced."""

    sources: Sequence[Source]
    options: ExportOptions = field(default_factory=ExportOptions)
    on_loop: Callable[[], None] | None = None
    batch_items: int = BATCH_ITEMS
    jobs: int | None = None  # processes for store sources (None: one per CPU, at most 4); 1: this one only
    chunk_loops: int = CHUNK_LOOPS  # store sources are read in chunks of this many loops

    def __post_init__(self) -> None:
        self.problems = ProblemLog()
        self.mapper = Mapper(self.problems, self.options.mapping, self.options.dimension)
        lowest = self.options.mapping.lowest_is_best if self.options.mapping else True
        self.agreement = Agreement(lowest_is_best=lowest)
        self.counts: dict[str, int] = {
            "loops_read": 0,
            "items_mapped": 0,
            "answers_excluded_by_worker": 0,
            "items_below_min_annotators": 0,
            "items_below_min_agreement": 0,
            "items_exported": 0,
            "rows": 0,
        }
        self.kind: Kind | None = None
        self.created_at = datetime.now(UTC)
        self.chat_prompts = self.options.conversational and self.options.dataset in ("preferences", "kto")
        self.workers_used = 0  # worker processes of the last batches() (0: none)
        self.worker_peaks: dict[int, int] = {}  # worker pid -> its peak resident memory in KiB

    def schema(self) -> Any:
        o = self.options
        if o.dataset == "preferences":
            return preference_schema(PairOptions(o.policy, o.ties, o.consensus, o.conversational))
        return schema(o.dataset, o.consensus is not None, o.conversational)

    def items(self) -> Iterator[Item]:
        excluded = set(self.options.exclude_workers)
        for source in self.sources:
            for loop in source.loops(self.problems):
                self.counts["loops_read"] += 1
                if self.on_loop is not None:
                    self.on_loop()
                if excluded:
                    loop = self._without_workers(loop, excluded)
                item = self.mapper.map(loop)
                if item is None:
                    continue
                self.counts["items_mapped"] += 1
                if self.kind is None:
                    self._check_kind(item.kind)
                    self.kind = item.kind
                if type(item.prompt) is not str and not self.chat_prompts:
                    self._refuse_chat(item)
                if len(item.judgments) < self.options.min_annotators:
                    self.counts["items_below_min_annotators"] += 1
                    continue
                yield item

    def _without_workers(self, loop: RawLoop, excluded: set[str]) -> RawLoop:
        kept = tuple(a for a in loop.answers if a.worker_id not in excluded)
        self.counts["answers_excluded_by_worker"] += len(loop.answers) - len(kept)
        return RawLoop(loop.name, loop.flow, loop.input, kept, loop.origin) if len(kept) != len(loop.answers) else loop

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
        allowed = _KINDS[self.options.dataset]
        if kind not in allowed:
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

    def batches(self) -> Iterator[Any]:
        """Arrow record batches of the dataset, in item order. Store sources are read in chunks, by several
        processes unless jobs is 1 (crowdloop.export.parallel); the result is the same either way."""
        if self._chunked():
            from crowdloop.export.parallel import chunked_batches, default_jobs

            yield from chunked_batches(self, self.jobs or default_jobs())
            return
        pa = require("pyarrow")
        target = self.schema()
        collected: list[Item] = []
        stream = batches(self.items(), self.batch_items)
        while True:
            with paused_gc():
                record = self._next_record(stream, target, collected)
            if record is None:
                break
            yield record
        if collected:
            record = pa.Table.from_pylist(label_consensus_rows(collected), schema=target).combine_chunks()
            for part in record.to_batches():
                self.counts["rows"] += part.num_rows
                yield part

    def _chunked(self) -> bool:
        """Store sources only, and not a dataset that needs every item at once (Dawid-Skene labels)."""
        every_item = self.options.dataset == "labels" and self.options.consensus is not None
        return bool(self.sources) and not every_item and all(isinstance(s, StoreSource) for s in self.sources)

    def _next_record(self, stream: Iterator[ItemBatch], target: Any, collected: list[Item]) -> Any:
        """The record batch of the next batch of items that has any after filtering (None at the end). The items
        are freed when this returns, before the collector runs again."""
        o = self.options
        for batch in stream:
            kept = self._filter(batch)
            if not kept.items:
                continue
            if o.dataset == "labels" and o.consensus is not None:
                collected.extend(kept.items)  # Dawid-Skene needs every item: labels are small
                continue
            record = self._record(kept, target)
            self.counts["rows"] += record.num_rows
            return record
        return None

    def _filter(self, batch: ItemBatch) -> ItemBatch:
        agreement = self.agreement.item_agreement(batch)
        keep = np.ones(len(batch.items), dtype=bool)
        if self.options.min_agreement is not None:
            keep = ~np.isnan(agreement) & (agreement >= self.options.min_agreement - 1e-12)
            self.counts["items_below_min_agreement"] += int((~keep).sum())
        self.agreement.add(batch, agreement, keep)
        self.counts["items_exported"] += int(keep.sum())
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

    def analyse(self) -> dict[str, Any]:
        """Read everything for the agreement statistics only (no rows); returns the card."""
        stream = batches(self.items(), self.batch_items)
        while True:
            with paused_gc():
                batch = next(stream, None)
                if batch is None:
                    break
                self._filter(batch)
                del batch  # freed before the collector runs again
        return self.card()

    def loops_expected(self) -> int | None:
        """How many loops the sources hold, when they can tell cheaply (store sources)."""
        total = 0
        for source in self.sources:
            count = getattr(source, "count", None)
            if count is None:
                return None
            total += count()
        return total

    def rows(self) -> Iterator[dict[str, Any]]:
        for record in self.batches():
            yield from record.to_pylist()

    def card(self, output: dict[str, Any] | None = None) -> dict[str, Any]:
        return {
            "crowdloop_version": __version__,
            "created_at": self.created_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "output": {"dataset": self.options.dataset, "rows": self.counts["rows"], **(output or {})},
            "options": self.options.describe(),
            "sources": [source.describe() for source in self.sources],
            "mapping": self.mapper.mappings(),
            "counts": dict(self.counts),
            "problems": self.problems.as_dict(),
            "agreement": self.agreement.summary(),
        }


def open_sources(
    specs: str | Sequence[str],
    *,
    store: Any = None,
    s3_client: Any = None,
    database_url: str | None = None,
    data_dir: str | None = None,
    include_stopped: bool = False,
) -> list[Source]:
    """Sources for `specs` (flow definition names or ARNs, folders, s3:// prefixes). The store is opened
    (read-only use; never created or migrated: StoreNotReady when missing or outdated) from database_url /
    data_dir / CROWDLOOP_* settings when a spec needs it."""
    if isinstance(specs, str):
        specs = [specs]
    statuses = (
        (HumanLoopStatus.COMPLETED.value, HumanLoopStatus.STOPPED.value)
        if include_stopped
        else (HumanLoopStatus.COMPLETED.value,)
    )
    result: list[Source] = []
    for spec in specs:
        needs_store = not spec.startswith("s3://") and not Path(spec).expanduser().is_dir()
        if needs_store and store is None:
            from crowdloop.config import load_settings
            from crowdloop.store import open_existing_store

            settings = load_settings({"database_url": database_url, "data_dir": data_dir})
            store = open_existing_store(settings.resolved_database_url)
        result.append(open_source(spec, store=store, s3_client=s3_client, statuses=statuses))
    return result


def run(
    sources: str | Sequence[str],
    dataset: str = "preferences",
    *,
    store: Any = None,
    s3_client: Any = None,
    database_url: str | None = None,
    data_dir: str | None = None,
    jobs: int | None = None,
    **options: Any,
) -> Export:
    """An Export over the given sources (see make_options for the options); jobs: processes reading store
    sources (default: one per CPU, at most 4)."""
    chosen = make_options(dataset, **options)
    return Export(
        open_sources(
            sources,
            store=store,
            s3_client=s3_client,
            database_url=database_url,
            data_dir=data_dir,
            include_stopped=chosen.include_stopped,
        ),
        chosen,
        jobs=jobs,
    )


def iter_rows(sources: str | Sequence[str], dataset: str = "preferences", **options: Any) -> Iterator[dict[str, Any]]:
    """The rows of a dataset as dicts, streamed (constant memory in the number of loops)."""
    return run(sources, dataset, **options).rows()


def to_dataset(
    sources: str | Sequence[str], dataset: str = "preferences", *, cache_dir: str | Path | None = None, **options: Any
) -> Any:
    """A datasets.Dataset of the rows. They stream to a Parquet file and then to an Arrow cache file in
    cache_dir (default: a new temporary folder, left for the dataset to use)."""
    datasets = require("datasets")
    folder = Path(cache_dir) if cache_dir is not None else Path(tempfile.mkdtemp(prefix="crowdloop-dataset-"))
    folder.mkdir(parents=True, exist_ok=True)
    job = run(sources, dataset, **options)
    writer = open_writer(folder / "rows.parquet", "parquet", job.schema())
    try:
        for record in job.batches():
            writer.write(record)
    finally:
        writer.close()
    return datasets.Dataset.from_parquet(str(folder / "rows.parquet"), cache_dir=str(folder / "cache"))


@dataclass
class ExportResult:
    path: Path
    card_markdown: Path
    card_json: Path
    card: dict[str, Any]


def export(job: Export, output: str | Path, output_format: str) -> ExportResult:
    """Write the dataset and its card; returns the card."""
    path = Path(output).expanduser()
    check_output(path, output_format)
    writer = open_writer(path, output_format, job.schema())
    try:
        for record in job.batches():
            writer.write(record)
    finally:
        writer.close()
    style = "conversational" if job.options.conversational else "standard"
    card = job.card(
        {"path": str(path), "format": output_format, "style": style, "columns": [f.name for f in job.schema()]}
    )
    markdown, document = card_paths(path, output_format)
    write_card(card, markdown, document)
    return ExportResult(path, markdown, document, card)


__all__ = [
    "DATASETS",
    "Export",
    "ExportOptions",
    "ExportResult",
    "Judgment",
    "export",
    "iter_rows",
    "make_options",
    "open_sources",
    "run",
    "to_dataset",
]
