"""The figures of an export as they add up: counts, problems, agreement statistics and the mappings found.

A Tally is what a part of an export produces besides its rows. The export keeps one; each chunk of a
parallel export (crowdloop.export.chunks) starts its own from the mappings known when it starts, and
merge() adds it to the export's in chunk order, so the sums are those of one pass over the same chunks.

    counts      loops read, items mapped / below a threshold / exported, rows, answers left out by worker and
                flagged answers (faster than crowdloop:min-seconds) left out, or kept (--include-flagged)
    problems    ProblemLog: loops and answers that could not be used, by reason
    agreement   Agreement: streaming statistics (a part records model wins instead of drawing bootstrap
                weights: merge() draws them in item order)
    detected    mapping.Detected: the mapping of each flow definition and the kind of answer read
    kind        the kind of the items mapped (None: no item yet)
"""

from __future__ import annotations

from dataclasses import dataclass, field

from crowdloop.export.agreement import Agreement
from crowdloop.export.mapping import Detected
from crowdloop.export.model import Kind, ProblemLog
from crowdloop.export.options import ExportOptions

COUNTS = (
    "loops_read",
    "items_mapped",
    "answers_excluded_by_worker",
    "answers_excluded_flagged",
    "flagged_answers_kept",
    "items_below_min_annotators",
    "items_below_min_agreement",
    "items_exported",
    "rows",
)


@dataclass
class Tally:
    agreement: Agreement
    detected: Detected
    problems: ProblemLog = field(default_factory=ProblemLog)
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(COUNTS, 0))
    kind: Kind | None = None

    @classmethod
    def start(cls, options: ExportOptions, detected: Detected | None = None, *, part: bool = False) -> Tally:
        """An empty tally for an export with these options; a part (a chunk) starts from the mappings
        detected before it (copied) and records model wins for merge()."""
        agreement = Agreement(lowest_is_best=options.lowest_is_best)
        if part:
            agreement.model_items = []
        return cls(agreement, (detected or Detected.before(options.mapping)).copy())

    def merge(self, later: Tally) -> None:
        """Add the figures of the part that followed in the stream (in stream order)."""
        for name, count in later.counts.items():
            self.counts[name] += count
        self.problems.merge(later.problems)
        self.agreement.merge(later.agreement)
        self.detected.merge(later.detected)
        self.kind = self.kind or later.kind
