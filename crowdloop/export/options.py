"""What an export is asked for: the dataset, its options and which kinds of answer can make it.

ExportOptions is read-only: the export process hands it to every chunk (crowdloop.export.chunks), in this
process or in a worker process.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from crowdloop.errors import InvalidInput
from crowdloop.export.mapping import Mapping, load_mapping
from crowdloop.export.model import Consensus, Kind, Policy

DATASETS = ("preferences", "kto", "rankings", "ratings", "labels")
KINDS = {
    "preferences": (Kind.RANKING, Kind.RATING),
    "kto": (Kind.RANKING, Kind.RATING, Kind.LABEL),
    "rankings": (Kind.RANKING, Kind.RATING),
    "ratings": (Kind.RATING,),
    "labels": (Kind.LABEL,),
    "report": (Kind.RANKING, Kind.RATING, Kind.LABEL),
}  # the kinds of answer each dataset can be made of; report: statistics only, no rows


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
    include_flagged: bool = False  # keep answers faster than the flow's crowdloop:min-seconds (default: left out)
    # (worker id, agreement with the others, gold accuracy) per worker: the rows get worker_agreement and
    # worker_gold_accuracy columns (export/worker_columns.py); None: no such columns
    worker_scores: tuple[tuple[str, float | None, float | None], ...] | None = None

    def describe(self) -> dict[str, Any]:
        described = {k: v for k, v in asdict(self).items() if k not in ("mapping", "worker_scores")}
        described["exclude_workers"] = list(self.exclude_workers)
        described["worker_scores"] = self.worker_scores is not None
        return {k: (v.value if hasattr(v, "value") else v) for k, v in described.items()}

    @property
    def lowest_is_best(self) -> bool:
        """Whether the lowest value given is the best (ranks; the mapping file may say otherwise)."""
        return self.mapping.lowest_is_best if self.mapping else True

    @property
    def chat_prompts(self) -> bool:
        """Whether prompts given as chat messages can be exported (TRL's conversational format)."""
        return self.conversational and self.dataset in ("preferences", "kto")

    @property
    def every_item_at_once(self) -> bool:
        """Whether the dataset needs every item before its first row (Dawid-Skene labels): no chunks."""
        return self.dataset == "labels" and self.consensus is not None


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
    if dataset not in KINDS:
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
