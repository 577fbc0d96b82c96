"""Training data from human answers: preference pairs, KTO rows, rankings, ratings and labels, with
aggregation, agreement statistics and a dataset card. See docs/export.md.

    options.py    ExportOptions: the dataset and its options (read-only, handed to every chunk)
    sources.py    where loops come from: the store (through crowdloop.loops and crowdloop.answers), a folder
                  of output.json files, an s3:// prefix
    pipeline.py   the per-loop work: loops -> items -> filtered batches -> record batches, into a Tally
    tally.py      Tally: counts, problems, agreement statistics and mappings, with merge()
    chunks.py     one chunk, a pure function of its task: its record batches and its Tally
    parallel.py   orchestration: store sources in chunks, on worker processes (--jobs), tallies merged in
                  loop order
    mapping.py    loop -> item: prompt, responses and each worker's judgment; conventions and mapping files
    model.py      RawLoop, Item, Judgment, Problem(Log), Kind, Policy, Consensus
    batches.py    items as arrays, grouped by shape (responses x annotators)
    pairs.py      preference pairs (policies, ties, per annotator or consensus) and KTO rows
    rows.py       rankings, ratings and labels rows
    chat.py       prompts as TRL message lists (a text, or the chat messages inputContent gave)
    aggregate.py  Bradley-Terry (per item, per model with bootstrap), Dawid-Skene
    agreement.py  Krippendorff's alpha, Kendall's W, pairwise agreement, worker agreement and position bias
    writers.py    JSONL, Parquet, Hugging Face datasets
    threads.py    BackgroundWriter: Parquet encoding on the second core
    card.py       the dataset card
    report.py     agreement / bias tables and the HTML report
    api.py        Export (one pass or chunks), export(), iter_rows(), to_dataset()
    commands.py   the `crowdloop export ...` and `crowdloop report` commands
    deps.py       optional dependencies (extras `export`, `train`)

numpy, pyarrow, scipy and datasets are optional (extra `export`); importing this package needs none of
them: the functions below import their modules when called.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any


def iter_rows(sources: str | Sequence[str], dataset: str = "preferences", **options: Any) -> Iterator[dict[str, Any]]:
    """The rows of a dataset as dicts, streamed. See crowdloop.export.api.make_options for the options."""
    _require_extra()
    from crowdloop.export.api import iter_rows as run

    return run(sources, dataset, **options)


def to_dataset(sources: str | Sequence[str], dataset: str = "preferences", **options: Any) -> Any:
    """A datasets.Dataset of the rows."""
    _require_extra()
    from crowdloop.export.api import to_dataset as run

    return run(sources, dataset, **options)


def _require_extra() -> None:
    from crowdloop.export.deps import require

    for module in ("numpy", "pyarrow", "scipy"):
        require(module)


__all__ = ["iter_rows", "to_dataset"]
