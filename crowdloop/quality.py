"""A flow definition's quality-control settings: tags with the `crowdloop:` prefix (docs/quality.md).

They are set the boto3 way, as tags given to CreateFlowDefinition or added later with AddTags (or with
`crowdloop flows set NAME KEY=VALUE`, which adds the same tags), so plain A2I code turns them on. Every
`crowdloop:` tag of a flow definition is checked when it is set: an unknown key or a bad value is an
InvalidInput naming the tag (SageMaker's ValidationException). `parse` turns a flow definition's tags into a
QualityConfig; `config_for` reads them, and `current_config` reads them on the task path (queue.claim)
through a cache with a short time to live (CONFIGS), so a flow with nothing turned on costs no query there.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, fields, replace
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from crowdloop.caches import CacheSpec
from crowdloop.errors import InvalidInput
from crowdloop.runtime import Services
from crowdloop.store.tables import flow_definitions, tags

PREFIX = "crowdloop:"
CONFIG_REFRESH_SECONDS = 5.0


@dataclass(frozen=True)
class QualityConfig:
    """The quality-control settings of one flow definition (defaults: everything off)."""

    shuffle_responses: bool = False  # each assignment shows the candidate responses in its own order
    gold_rate: float = 0.0  # share of a worker's tasks that are gold items
    gold_min_accuracy: float = 0.0  # below it (after gold_min_items), the worker is paused for the flow
    gold_min_items: int = 5  # gold answers before a worker's accuracy counts
    qualification: int = 0  # gold items a worker answers (and must pass) before real tasks; 0: none
    min_seconds: float = 0.0  # answers faster than this are flagged; 0: no threshold
    task_count_min: int = 0  # adaptive worker count: first this many workers (0: TaskCount, fixed)
    agreement_target: float = 0.0  # ... more (up to TaskCount) while their agreement is below it

    def first_workers(self, task_count: int) -> int:
        """How many workers a new loop of a flow with this TaskCount goes to first (its open slots)."""
        return min(self.task_count_min, task_count) if self.task_count_min else task_count

    @property
    def adaptive(self) -> bool:
        """Whether loops go to task-count-min workers first, then one more at a time (docs/quality.md)."""
        return self.task_count_min > 0


@dataclass(frozen=True)
class Key:
    """One tag key: its QualityConfig field, how to read its value, and what it means (docs/quality.md)."""

    tag: str
    field: str
    read: Callable[[str], Any]
    meaning: str


def _boolean(value: str) -> bool:
    lowered = value.strip().lower()
    if lowered in ("true", "yes", "on", "1"):
        return True
    if lowered in ("false", "no", "off", "0"):
        return False
    raise ValueError("must be true or false")


def _fraction(value: str) -> float:
    number = float(value)
    if not math.isfinite(number) or not 0.0 <= number <= 1.0:
        raise ValueError("must be a number from 0 to 1")
    return number


def _gold_rate(value: str) -> float:
    number = _fraction(value)
    if number > 0.5:
        raise ValueError("must be from 0 to 0.5 (at most every second task a gold item)")
    return number


def _count(low: int, high: int) -> Callable[[str], int]:
    def read(value: str) -> int:
        number = int(value.strip())
        if not low <= number <= high:
            raise ValueError(f"must be a whole number from {low} to {high}")
        return number

    return read


def _seconds(value: str) -> float:
    number = float(value)
    if not math.isfinite(number) or not 0.0 <= number <= 3600.0:
        raise ValueError("must be a number of seconds from 0 to 3600")
    return number


KEYS = (
    Key(
        "crowdloop:shuffle-responses", "shuffle_responses", _boolean, "show each worker the responses in its own order"
    ),
    Key("crowdloop:gold-rate", "gold_rate", _gold_rate, "share of a worker's tasks that are gold items (0 to 0.5)"),
    Key(
        "crowdloop:gold-min-accuracy",
        "gold_min_accuracy",
        _fraction,
        "a worker below this accuracy on gold items is paused for the flow (0 to 1)",
    ),
    Key("crowdloop:gold-min-items", "gold_min_items", _count(1, 1000), "gold answers before accuracy counts"),
    Key("crowdloop:qualification", "qualification", _count(0, 100), "gold items to pass before real tasks"),
    Key("crowdloop:min-seconds", "min_seconds", _seconds, "answers faster than this are flagged"),
    Key("crowdloop:task-count-min", "task_count_min", _count(1, 100), "workers a loop goes to first"),
    Key(
        "crowdloop:agreement-target",
        "agreement_target",
        _fraction,
        "agreement below which a loop goes to one more worker (0 to 1)",
    ),
)
KEYS_BY_TAG = {key.tag: key for key in KEYS}
assert {key.field for key in KEYS} == {f.name for f in fields(QualityConfig)}


def is_quality_tag(key: str) -> bool:
    return key.lower().startswith(PREFIX)


def parse(values: Mapping[str, str], *, task_count: int | None = None, field: str = "tags") -> QualityConfig:
    """The QualityConfig of a flow definition's `crowdloop:` tags (other tags are ignored). InvalidInput
    naming the tag for an unknown key or a bad value; task_count (the flow's TaskCount) bounds
    crowdloop:task-count-min."""
    config = QualityConfig()
    for tag, value in sorted(values.items()):
        if not is_quality_tag(tag):
            continue
        key = KEYS_BY_TAG.get(tag)
        if key is None:
            known = ", ".join(sorted(KEYS_BY_TAG))
            raise InvalidInput(f"Unknown tag key '{tag}' at '{field}': crowdloop's keys are {known}.", field)
        try:
            parsed = key.read(value)
        except ValueError as exc:
            reason = str(exc) if "must" in str(exc) else "is not a valid value"
            raise InvalidInput(f"Value '{value}' of tag '{tag}' at '{field}' {reason}.", field) from None
        config = replace(config, **{key.field: parsed})
    if task_count is not None and config.task_count_min > task_count:
        raise InvalidInput(
            f"Value '{config.task_count_min}' of tag 'crowdloop:task-count-min' at '{field}' must be at most the "
            f"flow definition's TaskCount ({task_count}).",
            field,
        )
    return config


def config_for(conn: Connection, flow_definition_arn: str) -> QualityConfig:
    """The quality settings stored for a flow definition (its `crowdloop:` tags)."""
    return parse(dict(_quality_tags(conn, [flow_definition_arn]).get(flow_definition_arn, {})))


def _quality_tags(conn: Connection, arns: Iterable[str]) -> dict[str, dict[str, str]]:
    rows = conn.execute(
        sa.select(tags.c.resource_arn, tags.c.key, tags.c.value).where(
            tags.c.resource_arn.in_(list(arns)), tags.c.key.like(PREFIX + "%")
        )
    ).all()
    found: dict[str, dict[str, str]] = {}
    for arn, key, value in rows:
        found.setdefault(str(arn), {})[str(key)] = str(value)
    return found


CONFIGS: CacheSpec[int, QualityConfig] = CacheSpec(
    "flow quality settings",
    "time to live CONFIG_REFRESH_SECONDS (5 s): a tag set or removed is seen within it",
    max_entries=4096,
    ttl_seconds=CONFIG_REFRESH_SECONDS,
)

_TAGS_OF_FLOW = sa.select(tags.c.key, tags.c.value).where(
    tags.c.resource_arn
    == sa.select(flow_definitions.c.arn).where(flow_definitions.c.id == sa.bindparam("flow")).scalar_subquery(),
    tags.c.key.like(PREFIX + "%"),
)


def current_config(svc: Services, conn: Connection, flow_definition_id: int) -> QualityConfig:
    """A flow definition's settings as the task path uses them: read at most once per
    CONFIG_REFRESH_SECONDS per process (CONFIGS). Tags stored before they were checked and no longer
    valid count as unset (the task path does not fail on them; `crowdloop flows show` reports them)."""
    cache = svc.caches[CONFIGS]
    found = cache.get(flow_definition_id)
    if found is None:
        values = {str(key): str(value) for key, value in conn.execute(_TAGS_OF_FLOW, {"flow": flow_definition_id})}
        try:
            found = parse(values)
        except InvalidInput:
            found = QualityConfig()
        cache.put(flow_definition_id, found)
    return found
