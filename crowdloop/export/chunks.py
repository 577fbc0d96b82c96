"""One chunk of a store export: a range of a flow definition's loops, mapped, filtered and turned into record
batches, with the Tally of that range alone (counts, problems, agreement statistics, mappings detected).

run_chunk(task, store) is a function of its task (the range, the export options, the mappings known when
the chunk starts: read-only) and the store it reads; it changes nothing but its result. It is the unit of
work of crowdloop.export.parallel: the export process runs the chunks itself (--jobs 1) or has worker
processes run them, and merges their tallies in loop order. Either way the same chunks are made, so the
dataset and the card do not depend on --jobs.

A worker process opens its own store (one per URL) and writes its record batches to an Arrow IPC file in
shared memory (/dev/shm), which the export process maps instead of unpickling megabytes from a pipe.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from typing import Any

from crowdloop.export.deps import require
from crowdloop.export.mapping import Detected
from crowdloop.export.options import ExportOptions
from crowdloop.export.pipeline import Pipeline
from crowdloop.export.sources import LoopRange, StoreReads, StoreSource
from crowdloop.export.tally import Tally
from crowdloop.loops import FlowIdentity
from crowdloop.store import Store, open_store


@dataclass(frozen=True)
class ChunkTask:
    """A chunk to export, with everything it needs (read-only, picklable for a worker process)."""

    url: str  # the store, for a worker process to open
    flow: FlowIdentity
    statuses: tuple[str, ...]
    span: LoopRange
    options: ExportOptions
    batch_items: int
    detected: Detected  # the mappings known as the chunk starts (the chunk works on a copy)
    min_seconds: float = 0.0  # the flow's crowdloop:min-seconds as the export's source read it (flags)
    paused_workers: frozenset[str] = frozenset()  # the workers paused for the flow, as the source read them


@dataclass
class ChunkResult:
    records: list[Any]  # pyarrow RecordBatches (from a worker: empty, they are in a file, see read_records)
    tally: Tally  # the chunk's figures alone (its agreement recorded with model_items)
    reads: StoreReads  # what the chunk read of the store source
    pid: int = 0
    peak_rss_kb: int = 0  # the process's peak resident memory so far


def run_chunk(task: ChunkTask, store: Store) -> ChunkResult:
    """Export the loops of task.span (in this process), starting from the mappings the task names. Changes
    nothing but the result: the export process adds it up (crowdloop.export.parallel)."""
    tally = Tally.start(task.options, task.detected, part=True)
    source = StoreSource(
        store,
        task.flow.name,
        statuses=task.statuses,
        known=task.flow,
        min_seconds=task.min_seconds,
        paused_workers=task.paused_workers,
    )
    pipeline = Pipeline(task.options, tally, task.batch_items)
    records = list(pipeline.records(source.loops_between(task.span, tally.problems)))
    return ChunkResult(records, tally, source.reads, os.getpid(), peak_rss_kb())


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
        store = _stores[task.url] = open_store(task.url, migrate=False)
    result = run_chunk(task, store)
    write_records(result.records, records_path)
    result.records = []
    result.peak_rss_kb = peak_rss_kb()
    return result
