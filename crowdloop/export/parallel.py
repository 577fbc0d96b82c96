"""Store exports on several cores: each source's loops are cut into chunks of consecutive loops (in creation
order), worker processes map and pair the chunks, and this process adds their results up and hands their
record batches on in loop order, so the output is the same as with one process.

    source loops  [chunk 0][chunk 1][chunk 2] ...      ranges of CHUNK_LOOPS loops (StoreSource.ranges)
    chunk 0       alone: the first loops decide the flow definition's mapping (detection), which the
                  following chunks start with
    chunk 1..     `jobs` worker processes, at most jobs + 1 chunks in flight (memory stays bounded); each
                  leaves its record batches in an Arrow IPC file in shared memory, mapped here
    results       taken in chunk order: each chunk's Tally merged into the export's, its reads into its
                  source's, its batches yielded

With jobs = 1 every chunk runs here, one after the other: the same chunks, the same sums in the same order, so
dataset and card are identical whatever --jobs is. Folder and S3 sources are read in one pass (not here).
This module only orchestrates: the per-loop work is crowdloop.export.pipeline, a chunk's is
crowdloop.export.chunks.run_chunk; what it changes is the Tally, the sources' StoreReads and the WorkerUse
it is given.
"""

from __future__ import annotations

import itertools
import multiprocessing
import os
import shutil
import sys
import tempfile
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from crowdloop.export.chunks import ChunkResult, ChunkTask, read_records, run_chunk, run_in_worker
from crowdloop.export.options import ExportOptions
from crowdloop.export.sources import LoopRange, StoreSource
from crowdloop.export.tally import Tally

CHUNK_LOOPS = 2000
MAX_DEFAULT_JOBS = 4
_SHARED_MEMORY = "/dev/shm"  # where workers leave their record batches (Linux); else the temporary folder


def default_jobs() -> int:
    """The CPUs this process may use, at most MAX_DEFAULT_JOBS (each worker holds a chunk: ~100 MB)."""
    try:
        available = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        available = os.cpu_count() or 1
    return max(1, min(available, MAX_DEFAULT_JOBS))


def shareable(url: str) -> bool:
    """Whether another process can open this store (not an in-memory SQLite database)."""
    parsed = sa.engine.make_url(url)
    return not (parsed.get_backend_name() == "sqlite" and parsed.database in (None, "", ":memory:"))


@dataclass(frozen=True)
class ChunkPlan:
    """How a chunked export runs: read-only, the same for every chunk."""

    options: ExportOptions
    jobs: int  # processes (1: every chunk in this process)
    chunk_loops: int  # loops per chunk (CHUNK_LOOPS)
    batch_items: int  # items per batch (crowdloop.export.batches.BATCH_ITEMS)
    on_loop: Callable[[], None] | None = None  # called once per loop read, as the chunks are added up


@dataclass
class WorkerUse:
    """The worker processes of the last chunked run."""

    used: int = 0  # how many (0: none, every chunk ran in the export process)
    peaks: dict[int, int] = field(default_factory=dict)  # worker pid -> its peak resident memory in KiB


def chunked_batches(sources: Sequence[StoreSource], plan: ChunkPlan, tally: Tally, workers: WorkerUse) -> Iterator[Any]:
    """The record batches of an export of store sources, made chunk by chunk; each chunk's tally is merged
    into `tally` (and its reads into its source's) in chunk order, as its batches are yielded."""
    plans = [(source, deque(source.ranges(plan.chunk_loops))) for source in sources]
    numbers = itertools.count()
    chunks = sum(len(spans) for _, spans in plans)
    jobs = plan.jobs
    # The workers start before the first batch is written (the writer's thread is idle while they fork).
    pool = _open_pool(jobs) if jobs > 1 and chunks > 1 and all(shareable(s.store.url) for s in sources) else None
    handover = ""
    try:
        for source, spans in plans:
            if pool is None:
                for span in spans:
                    result = run_chunk(_task(plan, tally, source, span), source.store)
                    yield from _absorb(plan, tally, workers, source, result)
                continue
            if not handover:
                shared = _SHARED_MEMORY if os.path.isdir(_SHARED_MEMORY) else None
                handover = tempfile.mkdtemp(prefix="crowdloop-export-", dir=shared)
            window: deque[tuple[Future[ChunkResult], str]] = deque()
            while spans or window:
                # Until the source's mapping is known (detected from its first loops), one chunk at a time.
                while spans and len(window) < (jobs + 1 if _settled(plan, tally, source) else 1):
                    path = os.path.join(handover, f"{next(numbers)}.arrow")
                    task = _task(plan, tally, source, spans.popleft())
                    window.append((pool.submit(run_in_worker, task, path), path))
                pending, path = window.popleft()
                result = pending.result()  # a worker's exception is raised here; BrokenProcessPool if one died
                result.records = read_records(path)
                yield from _absorb(plan, tally, workers, source, result)
        workers.used = jobs if pool is not None else 0
    finally:
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)  # after an error: the chunks being made, no others
        if handover:
            shutil.rmtree(handover, ignore_errors=True)


def _open_pool(jobs: int) -> ProcessPoolExecutor:
    # fork on Linux: the workers start at once (all of them, at the first chunk) with everything imported;
    # elsewhere fork is unsafe or missing.
    context = multiprocessing.get_context("fork" if sys.platform == "linux" else "spawn")
    return ProcessPoolExecutor(jobs, mp_context=context)


def _settled(plan: ChunkPlan, tally: Tally, source: StoreSource) -> bool:
    """Whether the mapping of the source's loops is known (given, or detected from its first loops)."""
    return plan.options.mapping is not None or source.flow_name in tally.detected.by_flow


def _task(plan: ChunkPlan, tally: Tally, source: StoreSource, span: LoopRange) -> ChunkTask:
    return ChunkTask(
        source.store.url,
        source.ref,
        source.statuses,
        span,
        plan.options,
        plan.batch_items,
        tally.detected.copy(),
        source.min_seconds,
        source.paused_workers,
    )


def _absorb(
    plan: ChunkPlan, tally: Tally, workers: WorkerUse, source: StoreSource, result: ChunkResult
) -> Iterator[Any]:
    """Add a chunk's figures (in chunk order) and yield its batches."""
    tally.merge(result.tally)
    source.reads.merge(result.reads)
    if result.pid != os.getpid():
        workers.peaks[result.pid] = max(workers.peaks.get(result.pid, 0), result.peak_rss_kb)
    if plan.on_loop is not None:
        for _ in range(result.reads.loops):
            plan.on_loop()
    yield from result.records
