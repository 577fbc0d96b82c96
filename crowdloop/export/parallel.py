"""Store exports on several cores: each source's loops are cut into chunks of consecutive loops (in creation
order), worker processes map and pair the chunks, and this process adds their results up and hands their
record batches on in loop order, so the output is the same as with one process.

    source loops  [chunk 0][chunk 1][chunk 2] ...      ranges of CHUNK_LOOPS loops (StoreSource.ranges)
    chunk 0       alone: the first loops decide the flow definition's mapping (detection), which the
                  following chunks start with
    chunk 1..     `jobs` worker processes, at most jobs + 1 chunks in flight (memory stays bounded); each
                  leaves its record batches in an Arrow IPC file in shared memory, mapped here
    results       taken in chunk order: counts, problems, agreement and mappings added, batches yielded

With jobs = 1 every chunk runs here, one after the other: the same chunks, the same sums in the same order, so
dataset and card are identical whatever --jobs is. Folder and S3 sources are read in one pass (not here).
"""

from __future__ import annotations

import itertools
import multiprocessing
import os
import shutil
import sys
import tempfile
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from crowdloop.export.chunks import ChunkResult, ChunkTask, read_records, run_chunk, run_in_worker
from crowdloop.export.sources import LoopRange, StoreSource

if TYPE_CHECKING:
    from crowdloop.export.api import Export

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


def chunked_batches(job: Export, jobs: int) -> Iterator[Any]:
    """The record batches of an export whose sources are all store sources, made chunk by chunk."""
    sources: list[StoreSource] = [source for source in job.sources if isinstance(source, StoreSource)]
    plans = [(source, deque(source.ranges(job.chunk_loops))) for source in sources]
    numbers = itertools.count()
    chunks = sum(len(spans) for _, spans in plans)
    # The workers start before the first batch is written (the writer's thread is idle while they fork).
    pool = _open_pool(jobs) if jobs > 1 and chunks > 1 and all(shareable(s.store.url) for s in sources) else None
    handover = ""
    try:
        for source, spans in plans:
            if pool is None:
                for span in spans:
                    yield from _absorb(job, source, run_chunk(_task(job, source, span), source.store))
                continue
            if not handover:
                shared = _SHARED_MEMORY if os.path.isdir(_SHARED_MEMORY) else None
                handover = tempfile.mkdtemp(prefix="crowdloop-export-", dir=shared)
            window: deque[tuple[Future[ChunkResult], str]] = deque()
            while spans or window:
                # Until the source's mapping is known (detected from its first loops), one chunk at a time.
                while spans and len(window) < (jobs + 1 if _settled(job, source) else 1):
                    path = os.path.join(handover, f"{next(numbers)}.arrow")
                    window.append((pool.submit(run_in_worker, _task(job, source, spans.popleft()), path), path))
                pending, path = window.popleft()
                result = pending.result()  # a worker's exception is raised here; BrokenProcessPool if one died
                result.records = read_records(path)
                yield from _absorb(job, source, result)
        if pool is not None:
            job.workers_used = jobs
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


def _settled(job: Export, source: StoreSource) -> bool:
    """Whether the mapping of the source's loops is known (given, or detected from its first loops)."""
    return job.options.mapping is not None or source.flow_name in job.mapper.by_flow


def _task(job: Export, source: StoreSource, span: LoopRange) -> ChunkTask:
    return ChunkTask(
        source.store.url,
        source.ref,
        source.statuses,
        span,
        job.options,
        job.batch_items,
        dict(job.mapper.by_flow),
        job.mapper.kind,
    )


def _absorb(job: Export, source: StoreSource, result: ChunkResult) -> Iterator[Any]:
    """Add a chunk's figures to the export's (in chunk order) and yield its batches."""
    for name, count in result.counts.items():
        job.counts[name] += count
    job.problems.merge(result.problems)
    job.agreement.merge(result.agreement)
    for flow, mapping in result.mappings.items():
        job.mapper.by_flow.setdefault(flow, mapping)
    job.mapper.kind = job.mapper.kind or result.kind
    job.kind = job.kind or result.item_kind
    source.loops_read += result.loops_read
    source.loop_templates.update(result.loop_templates)
    if result.pid != os.getpid():
        job.worker_peaks[result.pid] = max(job.worker_peaks.get(result.pid, 0), result.peak_rss_kb)
    if job.on_loop is not None:
        for _ in range(result.loops_read):
            job.on_loop()
    yield from result.records
