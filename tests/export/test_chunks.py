"""run_chunk is a function of its task: it changes nothing but its result and gives the same result every
time; the tallies of consecutive chunks merge into the figures of one pass over the same loops."""

from __future__ import annotations

from crowdloop.export.api import run
from crowdloop.export.chunks import ChunkTask, run_chunk
from crowdloop.export.options import make_options
from crowdloop.export.sources import StoreSource
from crowdloop.export.tally import Tally
from crowdloop.model import HumanLoopStatus
from crowdloop.runtime import Services
from tests.export.helpers import Loop, fill_store, ranks

CHUNK = 4


def loops() -> list[Loop]:
    """Five loops no convention recognises, then seven in the seed convention (detected in the second chunk)."""
    odd = [
        Loop(f"o-{i}", "Odd?", ["x", "y"], [("w1", {"verdict": "fine"}), ("w2", {"verdict": "no"})]) for i in range(5)
    ]
    seed = [
        Loop(f"s-{i}", f"Q{i}?", ["a", "b", "c"], [("w1", ranks(1, 2, 3)), ("w2", ranks(2, 1, 3))]) for i in range(7)
    ]
    return odd + seed


def test_chunks_are_pure_and_their_tallies_add_up(services: Services) -> None:
    fill_store(services, loops(), "fd-chunks", task_count=2)
    options = make_options("preferences")
    source = StoreSource(services.store, "fd-chunks", statuses=(HumanLoopStatus.COMPLETED.value,))
    spans = source.ranges(CHUNK)
    assert len(spans) == 4  # 12 loops: three full chunks and the open-ended rest (empty)
    merged, records = Tally.start(options), []
    for span in spans:
        known, before = merged.detected.copy(), merged.detected.copy()
        task = ChunkTask(source.store.url, source.ref, source.statuses, span, options, 100, known)
        first, again = run_chunk(task, services.store), run_chunk(task, services.store)
        assert task.detected == before  # the task is left as it was
        assert first.tally.counts == again.tally.counts and first.reads == again.reads
        assert [r.to_pylist() for r in first.records] == [r.to_pylist() for r in again.records]
        merged.merge(first.tally)
        records += first.records
    assert set(merged.detected.by_flow) == {"fd-chunks"} and merged.detected.by_flow["fd-chunks"].name == "seed"

    one_pass = run("fd-chunks", store=services.store, jobs=1)
    one_pass.chunk_loops = 1000  # one chunk: the same loops read in one go
    rows = list(one_pass.rows())
    assert [row for r in records for row in r.to_pylist()] == rows and len(rows) == 7 * 3 * 2
    assert merged.counts == one_pass.tally.counts
    assert merged.problems.as_dict() == one_pass.tally.problems.as_dict()
    assert merged.kind is one_pass.tally.kind
