"""One chunk of a store export: a range of a flow definition's loops, mapped, filtered and turned into record
batches, with the counts, problems and agreement statistics of that range alone.

The chunk is the unit of work of crowdloop.export.parallel: the export process runs the chunks itself
(--jobs 1) or has worker processes run them, and adds their results up in loop order. Either way the same
chunks are made, so the dataset and the card do not depend on --jobs.

A worker process opens its own store (one per URL) and writes its record batches to an Arrow IPC file in
shared memory (/dev/shm), which the export process maps instead of unpickling megabytes from a pipe.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from crowdloop.export.agreement import Agreement
from crowdloop.export.deps import require
from crowdloop.export.mapping import Mapping
from crowdloop.export.model import Kind, ProblemLog, RawLoop
from crowdloop.export.sources import LoopRange, StoreSource
from crowdloop.flows import FlowIdentity

if TYPE_CHECKING:
    from crowdloop.export.api import ExportOptions
    from crowdloop.store import Store


@dataclass(frozen=True)
class ChunkTask:
    url: str  # the store, for a worker process to open
    flow: FlowIdentity
    statuses: tuple[str, ...]
    span: LoopRange
    options: ExportOptions
    batch_items: int
    mappings: dict[str, Mapping]  # detected mappings by flow definition, as the chunk starts
    kind: Kind | None  # the kind of answer the export reads, once known


@dataclass
class ChunkResult:
    records: list[Any]  # pyarrow RecordBatches (from a worker: empty, they are in a file, see read_records)
    counts: dict[str, int]
    problems: ProblemLog
    agreement: Agreement  # recorded with model_items
    mappings: dict[str, Mapping]
    kind: Kind | None  # the mapper's
    item_kind: Kind | None  # the items' (None: no item)
    loops_read: int
    loop_templates: set[str] = field(default_factory=set)
    pid: int = 0
    peak_rss_kb: int = 0  # the process's peak resident memory so far


class _RangeSource:
    """The Source protocol over one range of a store source."""

    def __init__(self, source: StoreSource, span: LoopRange) -> None:
        self.source = source
        self.span = span

    def loops(self, problems: ProblemLog) -> Iterator[RawLoop]:
        return self.source.loops_between(self.span, problems)

    def describe(self) -> dict[str, Any]:
        return self.source.describe()


def run_chunk(task: ChunkTask, store: Store) -> ChunkResult:
    """Export the loops of task.span (in this process) with the mapper state the chunk starts with."""
    from crowdloop.export.api import Export

    source = StoreSource(store, task.flow.name, statuses=task.statuses, known=task.flow)
    job = Export([_RangeSource(source, task.span)], task.options, batch_items=task.batch_items)
    job.agreement.model_items = []
    job.mapper.by_flow.update(task.mappings)
    job.mapper.kind = task.kind
    records = list(job.batches())
    return ChunkResult(
        records,
        job.counts,
        job.problems,
        job.agreement,
        job.mapper.by_flow,
        job.mapper.kind,
        job.kind,
        source.loops_read,
        source.loop_templates,
        os.getpid(),
        peak_rss_kb(),
    )


def peak_rss_kb() -> int:
    """This process's peak resident set size in KiB (0 where the platform does not say)."""
    try:
        import resource
    except ImportError:  # Windows
        return 0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return int(peak // 1024 if sys.platform == "darwin" else peak)  # macOS counts bytes


def write_records(records: list[Any], path: str) -> None:
    """Record batches as an Arrow IPC stream file (in shared memory where there is some): how a worker hands
    them over without pickling them through a pipe."""
    pa = require("pyarrow")
    with pa.OSFile(path, "wb") as sink:
        if records:
            with pa.ipc.new_stream(sink, records[0].schema) as writer:
                for record in records:
                    writer.write_batch(record)


def read_records(path: str) -> list[Any]:
    """The record batches write_records wrote, mapped from the file (not copied); the file is removed (the
    mapping stays valid until the batches are freed)."""
    pa = require("pyarrow")
    try:
        if not os.path.getsize(path):
            return []
        with pa.memory_map(path) as source:
            return list(pa.ipc.open_stream(source))
    finally:
        os.unlink(path)


# --- in a worker process ------------------------------------------------------------------------------

_stores: dict[str, Store] = {}


def run_in_worker(task: ChunkTask, records_path: str) -> ChunkResult:
    """run_chunk in a worker process, on the worker's own connection to the store; the records are written to
    records_path (result.records is empty)."""
    store = _stores.get(task.url)
    if store is None:
        from crowdloop.store import open_store

        store = _stores[task.url] = open_store(task.url, migrate=False)
    result = run_chunk(task, store)
    write_records(result.records, records_path)
    result.records = []
    result.peak_rss_kb = peak_rss_kb()
    return result
