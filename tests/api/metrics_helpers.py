"""Reading GET /metrics in the tests: the Prometheus text format parsed by prometheus_client's own parser."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from prometheus_client.parser import text_string_to_metric_families

TOKEN = "metrics-token-for-tests-0123456789"
BEARER = {"Authorization": f"Bearer {TOKEN}"}


@dataclass(frozen=True)
class Sample:
    name: str
    labels: tuple[tuple[str, str], ...]
    value: float


class Scrape:
    """One scrape's samples, looked up by name and labels."""

    def __init__(self, text: str) -> None:
        self.families = {family.name: family for family in text_string_to_metric_families(text)}
        self.samples = [
            Sample(s.name, tuple(sorted(s.labels.items())), s.value)
            for family in self.families.values()
            for s in family.samples
        ]

    def value(self, name: str, **labels: str) -> float | None:
        wanted = tuple(sorted(labels.items()))
        found = [s.value for s in self.samples if s.name == name and s.labels == wanted]
        assert len(found) <= 1, (name, labels, found)
        return found[0] if found else None

    def matching(self, name: str, **labels: str) -> list[Sample]:
        """The samples of `name` whose labels include these."""
        return [s for s in self.samples if s.name == name and set(labels.items()) <= set(s.labels)]

    def label_values(self, prefix: str = "crowdloop_") -> set[str]:
        return {value for s in self.samples if s.name.startswith(prefix) for _, value in s.labels}

    def label_sets(self, name: str) -> set[tuple[tuple[str, str], ...]]:
        return {s.labels for s in self.samples if s.name == name}


def total(samples: Iterable[Sample]) -> float:
    return sum(s.value for s in samples)
