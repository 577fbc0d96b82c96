"""Writing Arrow record batches as JSONL, Parquet or a Hugging Face dataset (save_to_disk).

Every writer takes batches one at a time, so memory stays at one batch. Parquet gets one row group per
batch, encoded in a thread while the next batch is made; string columns that arrive dictionary-encoded
(prompt, chosen, rejected) are written as Parquet dictionaries and read back as plain strings (the Arrow
schema is not stored in the file). A Hugging Face
dataset is written as Parquet to a temporary folder first and converted by `datasets`.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Any, Protocol

import orjson

from crowdloop.export.deps import require
from crowdloop.export.threads import BackgroundWriter

FORMATS = ("jsonl", "parquet", "hf")
TEXT_COLUMNS = frozenset({"prompt", "chosen", "rejected", "completion", "response", "responses"})


class Writer(Protocol):
    @property
    def rows(self) -> int: ...

    def write(self, batch: Any) -> None: ...

    def close(self) -> None: ...


def open_writer(path: Path, output_format: str, schema: Any) -> Writer:
    if output_format == "jsonl":
        return JsonlWriter(path)
    if output_format == "parquet":
        return BackgroundWriter(ParquetWriter(path, schema))
    if output_format == "hf":
        return DatasetWriter(path, schema)
    raise ValueError(f"format must be one of {', '.join(FORMATS)}")


def check_output(path: Path, output_format: str) -> None:
    """Refuse to write a dataset into a folder that holds something else (a previous dataset is replaced)."""
    if output_format == "hf" and path.exists():
        if not path.is_dir() or (any(path.iterdir()) and not (path / "state.json").exists()):
            raise FileExistsError(f"{path} exists and is not a saved dataset; choose another --output")
        shutil.rmtree(path)
    elif output_format != "hf" and path.is_dir():
        raise IsADirectoryError(f"{path} is a folder; --format {output_format} writes one file")


def card_paths(path: Path, output_format: str) -> tuple[Path, Path]:
    """(markdown card, JSON card) next to the export; inside the folder for a Hugging Face dataset."""
    if output_format == "hf":
        return path / "README.md", path / "crowdloop-card.json"
    return path.with_name(path.name + ".card.md"), path.with_name(path.name + ".card.json")


class JsonlWriter:
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.file = path.open("wb")
        self.rows = 0

    def write(self, batch: Any) -> None:
        dumps = orjson.dumps
        self.file.write(b"".join(dumps(row) + b"\n" for row in batch.to_pylist()))
        self.rows += batch.num_rows

    def close(self) -> None:
        self.file.close()


class ParquetWriter:
    def __init__(self, path: Path, schema: Any) -> None:
        pq = require("pyarrow.parquet")
        path.parent.mkdir(parents=True, exist_ok=True)
        # No min/max statistics for the texts (prompt, responses): nobody filters row groups by the alphabetical
        # range of long texts, and computing it took half the time of writing them.
        statistics = [f.name for f in schema if f.name not in TEXT_COLUMNS]
        self.writer = pq.ParquetWriter(
            str(path), schema, store_schema=False, compression="snappy", write_statistics=statistics
        )
        self.rows = 0

    def write(self, batch: Any) -> None:
        if batch.num_rows:
            self.writer.write_batch(batch, row_group_size=batch.num_rows)
            self.rows += batch.num_rows

    def close(self) -> None:
        self.writer.close()


class DatasetWriter:
    """Parquet in a temporary folder, then datasets.Dataset.from_parquet(...).save_to_disk(path)."""

    def __init__(self, path: Path, schema: Any) -> None:
        require("datasets")
        self.path = path
        self.folder = Path(tempfile.mkdtemp(prefix="crowdloop-export-"))
        self.parquet = BackgroundWriter(ParquetWriter(self.folder / "data.parquet", schema))

    @property
    def rows(self) -> int:
        return self.parquet.rows

    def write(self, batch: Any) -> None:
        self.parquet.write(batch)

    def close(self) -> None:
        datasets = require("datasets")
        self.parquet.close()
        bars = datasets.utils
        quiet = bars.are_progress_bars_disabled()
        bars.disable_progress_bars()
        try:
            dataset = datasets.Dataset.from_parquet(
                str(self.folder / "data.parquet"), cache_dir=str(self.folder / "cache"), keep_in_memory=False
            )
            dataset.save_to_disk(str(self.path))
            del dataset
        finally:
            if not quiet:
                bars.enable_progress_bars()
            shutil.rmtree(self.folder, ignore_errors=True)
