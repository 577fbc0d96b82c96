"""Order randomisation (`crowdloop:shuffle-responses`, docs/quality.md): each assignment of a shuffled flow
shows the candidate responses in its own random order.

An order is a permutation of the response positions, `order[k]` being the original position of the
response shown at displayed position k ([2, 0, 1]: response 2 first, then 0, then 1). queue.claim draws
one (`order_for_input`) when it leases a loop whose input has a list of candidate responses, and stores it
on the assignment; the portal renders the task with `apply_order`'s permuted input; output.json keeps the
answer as given (in displayed positions) and records the order next to it; the export undoes it
(crowdloop.export.mapping). Pure functions: no store, no I/O.

Which inputs have a list of responses: the paths the export's convention detection reads
(RESPONSE_PATHS: `taskObject.responses`, then `responses`) holding a list of at least two entries. An
input without one is shown unchanged and its assignments get no order.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from typing import Any

RESPONSE_PATHS = ("taskObject.responses", "responses")
MAX_RESPONSES = 1000  # longer lists are shown as they are: no template ranks that many

_random = secrets.SystemRandom()


def responses_path(document: Any) -> str | None:
    """The path of the input's list of candidate responses (two or more), or None."""
    for path in RESPONSE_PATHS:
        value = _get(document, path)
        if isinstance(value, list) and 2 <= len(value) <= MAX_RESPONSES:
            return path
    return None


def response_count(document: Any) -> int:
    """How many candidate responses the input has (0: no list of two or more)."""
    path = responses_path(document)
    return 0 if path is None else len(_get(document, path))


def draw_order(count: int) -> tuple[int, ...]:
    """A uniformly random permutation of range(count) (the system's CSPRNG: workers cannot predict it)."""
    order = list(range(count))
    _random.shuffle(order)
    return tuple(order)


def order_for_input(document: Any) -> tuple[int, ...] | None:
    """A new order for an assignment of a loop with this (parsed) input; None when it has no responses."""
    path = responses_path(document)
    if path is None:
        return None
    return draw_order(len(_get(document, path)))


def encode(order: Sequence[int]) -> str:
    """The stored form: compact JSON, "[2,0,1]"."""
    return "[" + ",".join(str(int(i)) for i in order) + "]"


def decode(text: str | None) -> tuple[int, ...] | None:
    """The stored form read back (None stays None)."""
    if text is None:
        return None
    inner = text.strip().removeprefix("[").removesuffix("]").strip()
    return tuple(int(part) for part in inner.split(",")) if inner else ()


def is_order(value: Any, count: int) -> bool:
    """Whether value is a permutation of range(count) (a list of ints, as output.json holds it)."""
    if not isinstance(value, list | tuple) or len(value) != count:
        return False
    if not all(type(i) is int for i in value):
        return False
    return sorted(value) == list(range(count))


def apply_order(document: Any, order: Sequence[int] | None) -> Any:
    """The input as the assignment shows it: its responses list permuted (displayed[k] = original[order[k]]),
    everything else the same objects. The document itself is not changed. Unchanged when order is None or
    does not fit the input's list (an input without responses)."""
    if not order:
        return document
    path = responses_path(document)
    if path is None:
        return document
    responses = _get(document, path)
    if not is_order(list(order), len(responses)):
        return document
    return _replace(document, path.split("."), [responses[i] for i in order])


def unshuffle(values: Sequence[Any], order: Sequence[int]) -> tuple[Any, ...]:
    """Per-response values given in displayed positions, back in original positions:
    original[order[k]] = values[k]."""
    result: list[Any] = [None] * len(values)
    for shown, original in enumerate(order):
        result[original] = values[shown]
    return tuple(result)


def _get(document: Any, path: str) -> Any:
    value = document
    for part in path.split("."):
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    return value


def _replace(document: dict[str, Any], parts: list[str], value: Any) -> dict[str, Any]:
    """A shallow copy of document along `parts` with the last one set to value."""
    copy = dict(document)
    head, rest = parts[0], parts[1:]
    copy[head] = _replace(document[head], rest, value) if rest else value
    return copy
