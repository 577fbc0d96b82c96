"""The Python API: one Export run reads the sources, maps loops to items, filters them, keeps the agreement
statistics and yields Arrow record batches of the requested dataset. export() writes them and the card;
iter_rows() and to_dataset() hand them to Python code.

    >>> from crowdloop.export import iter_rows, to_dataset
    >>> rows = iter_rows("fd-ranking", store=store)                     # a flow definition in the store
    >>> dataset = to_dataset("./a2i-results", dataset="preferences", policy="adjacent", consensus="mean-rank")
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from crowdloop import __version__, workers
from crowdloop.config import load_settings
from crowdloop.export import worker_columns
from crowdloop.export.batches import BATCH_ITEMS
from crowdloop.export.card import write_card
from crowdloop.export.deps import require
from crowdloop.export.mapping import describe_mappings
from crowdloop.export.model import Judgment, Problem, ProblemLog, RawLoop
from crowdloop.export.options import DATASETS, ExportOptions, make_options
from crowdloop.export.parallel import CHUNK_LOOPS, ChunkPlan, WorkerUse, chunked_batches, default_jobs
from crowdloop.export.pipeline import Pipeline, schema
from crowdloop.export.sources import Source, StoreSource, open_source
from crowdloop.export.tally import Tally
from crowdloop.export.templatechecks import template_problems
from crowdloop.export.writers import card_paths, check_output, open_writer
from crowdloop.model import HumanLoopStatus
from crowdloop.store import open_existing_store


@dataclass
class Export:
    """One pass over the sources. Iterate batches() once; afterwards card() describes what was produced.

    Store sources are read in chunks (crowdloop.export.parallel), by several processes unless jobs is 1;
    other sources in one pass (crowdloop.export.pipeline). Either way the figures add up in `tally`."""

    sources: Sequence[Source]
    options: ExportOptions = field(default_factory=ExportOptions)
    on_loop: Callable[[], None] | None = None
    batch_items: int = BATCH_ITEMS
    jobs: int | None = None  # processes for store sources (None: one per CPU, at most 4); 1: this one only
    chunk_loops: int = CHUNK_LOOPS  # store sources are read in chunks of this many loops

    def __post_init__(self) -> None:
        self.tally = Tally.start(self.options)
        self.workers = WorkerUse()
        self.created_at = datetime.now(UTC)
        self._template_problems: dict[str, list[Problem]] = {}  # by flow definition, once it has a mapping

    @property
    def workers_used(self) -> int:
        """Worker processes of the last batches() (0: none)."""
        return self.workers.used

    @property
    def worker_peaks(self) -> dict[int, int]:
        """Worker pid -> its peak resident memory in KiB."""
        return self.workers.peaks

    def schema(self) -> Any:
        return schema(self.options)

    def batches(self) -> Iterator[Any]:
        """Arrow record batches of the dataset, in item order; the result is the same whatever jobs is."""
        if self._chunked():
            sources = [source for source in self.sources if isinstance(source, StoreSource)]
            plan = ChunkPlan(
                self.options, self.jobs or default_jobs(), self.chunk_loops, self.batch_items, self.on_loop
            )
            yield from chunked_batches(sources, plan, self.tally, self.workers)
            return
        yield from self._pipeline().records(self._loops())

    def _chunked(self) -> bool:
        """Store sources only, and not a dataset that needs every item at once (Dawid-Skene labels)."""
        return (
            bool(self.sources)
            and not self.options.every_item_at_once
            and all(isinstance(s, StoreSource) for s in self.sources)
        )

    def _pipeline(self) -> Pipeline:
        return Pipeline(self.options, self.tally, self.batch_items, self.on_loop)

    def _loops(self) -> Iterator[RawLoop]:
        for source in self.sources:
            yield from source.loops(self.tally.problems)

    def analyse(self, watch: Callable[[Iterator[RawLoop]], Iterator[RawLoop]] | None = None) -> dict[str, Any]:
        """Read everything for the agreement statistics only (no rows); returns the card. watch sees the loops
        on their way to the statistics (the worker scores count answer times there: crowdloop.export.scores)."""
        loops = self._loops()
        self._pipeline().analyse(watch(loops) if watch is not None else loops)
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
        tally = self.tally
        summary = tally.agreement.summary()
        name_workers(summary.get("workers", []), self.sources)
        return {
            "crowdloop_version": __version__,
            "created_at": self.created_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "output": {"dataset": self.options.dataset, "rows": tally.counts["rows"], **(output or {})},
            "options": self.options.describe(),
            "sources": [source.describe() for source in self.sources],
            "mapping": describe_mappings(self.options.mapping, tally.detected),
            "counts": dict(tally.counts),
            "problems": self.problems().as_dict(),
            "agreement": summary,
        }

    def problems(self) -> ProblemLog:
        """The problems the pass found, and the template checks of the store sources' flow definitions
        (crowdloop.export.templatechecks: checked once per flow definition, when its mapping is known)."""
        tally = self.tally
        for source in self.sources:
            flow = getattr(source, "flow_name", None)
            known = self.options.mapping is not None or flow in tally.detected.by_flow
            if flow is not None and known and flow not in self._template_problems:
                self._template_problems[flow] = template_problems([source], self.options.mapping, tally.detected)
        combined = ProblemLog(tally.problems.examples_per_reason)
        combined.merge(tally.problems)
        for found in self._template_problems.values():
            for problem in found:
                combined.note(problem)
        return combined


def name_workers(rows: list[dict[str, Any]], sources: Sequence[Source]) -> None:
    """Add each worker's email to the card's worker rows where a store source knows it (output.json files name
    workers by id only)."""
    found = [getattr(source, "store", None) for source in sources]  # store sources (and wrappers of them)
    stores = {id(store): store for store in found if store is not None}
    if not rows or not stores:
        return
    emails: dict[str, str] = {}
    for store in stores.values():
        with store.read() as conn:
            emails.update(workers.emails_by_worker_id(conn, [str(row["worker"]) for row in rows]))
    for row in rows:
        if str(row["worker"]) in emails:
            row["email"] = emails[str(row["worker"])]


def store_url(database_url: str | None, data_dir: str | None) -> str:
    """The store's URL: database_url, else the SQLite database in data_dir (default: the settings' default)."""
    given = {"database_url": database_url, "data_dir": data_dir}
    return load_settings(given, env={}).resolved_database_url


def open_sources(
    specs: str | Sequence[str],
    *,
    store: Any = None,
    s3_client: Any = None,
    database_url: str | None = None,
    data_dir: str | None = None,
    include_stopped: bool = False,
) -> list[Source]:
    """Sources for `specs` (flow definition names or ARNs, folders, s3:// prefixes). When a spec needs the store
    and none is given, it is opened from database_url, else from data_dir (as `crowdloop serve` would:
    crowdloop.config's defaults) — read-only use, never created or migrated (StoreNotReady when missing or
    outdated). Nothing is read from the environment: the commands resolve CROWDLOOP_DATABASE_URL and
    CROWDLOOP_DATA_DIR (crowdloop.export.commands) and pass them."""
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
            store = open_existing_store(store_url(database_url, data_dir))
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
    sources (default: one per CPU, at most 4). worker_scores=True adds each row's worker_agreement and
    worker_gold_accuracy (export/worker_columns.py: one more pass over the sources first)."""
    scored = bool(options.pop("worker_scores", False))
    chosen = make_options(dataset, **options)
    opened = open_sources(
        sources,
        store=store,
        s3_client=s3_client,
        database_url=database_url,
        data_dir=data_dir,
        include_stopped=chosen.include_stopped,
    )
    if scored:  # flagged answers included, as `crowdloop workers quality` counts them
        analysis = replace(chosen, dataset="report", include_flagged=True, exclude_workers=())
        card = Export(opened, analysis, jobs=1).analyse()
        chosen = replace(chosen, worker_scores=worker_columns.scores_from(card, worker_columns.gold_accuracies(opened)))
    return Export(opened, chosen, jobs=jobs)


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
    given_store = options.get("store")
    job = run(sources, dataset, **options)
    writer = open_writer(folder / "rows.parquet", "parquet", job.schema())
    try:
        for record in job.batches():
            writer.write(record)
    finally:
        writer.close()
        if given_store is None:  # a store opened for this call (open_sources) is closed with it
            for store in {id(s): s for s in (getattr(src, "store", None) for src in job.sources) if s}.values():
                store.dispose()
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
        {"path": path.name, "format": output_format, "style": style, "columns": [f.name for f in job.schema()]}
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
