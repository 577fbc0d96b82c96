"""The render budget: what one render of a template may use, so that no template can stall the server.

Templates come from API callers, so every render gets a `RenderBudget` (limits in `RenderLimits`):

* steps (1,000,000): one per loop iteration, over every loop of the render (sequential and nested),
  and one per element of each array, object or range a filter is given (nested elements too). A loop
  or range longer than the steps left fails before it starts, so `(1..30000000) | sum` and a second
  `{% for i in (1..1000000) %}` fail at once instead of running.
* CPU time (`render_time_limit_seconds`): measured with `time.thread_time()`, so time spent waiting
  for the GIL or for other threads does not count; checked every `CLOCK_EVERY` steps, filter calls
  and assignments.
* size (16 MiB): the rendered HTML (UTF-8 bytes), and the text of any value a filter is given or
  returns, or that an output statement prints (a value can stand for much more text than it holds:
  an array of many references to one long string).
* numbers: integers wider than `MAX_INTEGER_BITS` are refused as filter arguments (one big-integer
  multiplication cannot be interrupted and holds the GIL).

Exceeding any of these raises `RenderBudgetExceeded` (a python-liquid `ResourceLimitError`), which ends
the render. `BudgetedContext` is the python-liquid render context that applies the budget to loops,
filters and assignments.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from liquid import RenderContext
from liquid.exceptions import OutputStreamLimitError, ResourceLimitError
from liquid.output import LimitedStringIO

if TYPE_CHECKING:
    from liquid import BoundTemplate
    from liquid.builtin.tags.for_tag import ForLoop
    from liquid.builtin.tags.tablerow_tag import TableRow
    from liquid.token import Token

MAX_STEPS = 1_000_000
MAX_OUTPUT_BYTES = 16 * 1024 * 1024
MAX_INTEGER_BITS = 4096
CLOCK_EVERY = 256  # thread_time() costs ~0.6 µs: read it once per this many steps, filter calls or assigns
_CONSTANT_TIME_FILTERS = frozenset({"size", "first", "last", "default"})  # never walk their (long) input


class RenderBudgetExceeded(ResourceLimitError):
    """The render used up its budget; `message` says which part."""

    def __init__(self, what: str) -> None:
        super().__init__(f"The template exceeded the render budget: {what}.", token=None)


@dataclass(frozen=True)
class RenderLimits:
    steps: int = MAX_STEPS
    cpu_seconds: float = 2.0
    output_bytes: int = MAX_OUTPUT_BYTES


DEFAULT_LIMITS = RenderLimits()


class OutputBuffer(LimitedStringIO):
    """The rendered HTML, at most `limit` bytes (UTF-8)."""

    def write(self, text: str) -> int:
        try:
            return super().write(text)
        except OutputStreamLimitError:
            raise RenderBudgetExceeded(f"more than {self.limit:,} bytes of HTML") from None


class RenderBudget:
    """The steps and CPU time one render has used, against its limits. One per render (not thread-safe)."""

    def __init__(self, limits: RenderLimits, clock: Callable[[], float] = time.thread_time) -> None:
        self.limits = limits
        self.steps = 0
        self._clock = clock
        self._deadline = clock() + limits.cpu_seconds
        self._unclocked = 0

    @property
    def steps_left(self) -> int:
        return self.limits.steps - self.steps

    def require(self, steps: int, what: str = "a loop") -> None:
        """Fail now when `steps` more would not fit (before a loop starts or a range is materialised)."""
        if steps > self.steps_left:
            raise RenderBudgetExceeded(
                f"{what} of {steps:,} steps, with {max(self.steps_left, 0):,} of the {self.limits.steps:,} steps left"
            )

    def spend(self, steps: int) -> None:
        self.steps += steps
        if self.steps > self.limits.steps:
            raise RenderBudgetExceeded(
                f"more than {self.limits.steps:,} steps (loop iterations and array elements given to filters)"
            )
        self.tick(steps)

    def tick(self, weight: int = 1) -> None:
        """Account for some work; every CLOCK_EVERY units of it, check the CPU time."""
        self._unclocked += weight
        if self._unclocked >= CLOCK_EVERY:
            self.check_clock()

    def check_clock(self) -> None:
        self._unclocked = 0
        if self._clock() > self._deadline:
            raise RenderBudgetExceeded(f"more than {self.limits.cpu_seconds:g} s of CPU time")

    def metered(self, items: Iterator[Any]) -> Iterator[Any]:
        """`items`, spending one step on each."""
        for item in items:
            self.spend(1)
            yield item

    def measure(self, value: object) -> int:
        """Spend one step per element of `value` (arrays and objects, nested; ranges by length) and
        return the length of the text it stands for, which must fit the output size."""
        size = self._measure(value, 0)
        self.tick(1 + size // 65536)  # long text is work too: read the clock sooner
        return size

    def _measure(self, value: object, size: int) -> int:
        if isinstance(value, str):
            size += len(value)
        elif isinstance(value, int) and not isinstance(value, bool):
            if value.bit_length() > MAX_INTEGER_BITS:
                raise RenderBudgetExceeded(f"a number wider than {MAX_INTEGER_BITS:,} bits")
            size += 1
        elif isinstance(value, range):
            length = range_length(value)
            self.require(length, "a range")
            self.spend(length)
            size += length
        elif isinstance(value, Mapping):
            self.spend(len(value))
            for key, item in value.items():
                size = self._measure(item, self._measure(key, size))
        elif isinstance(value, list | tuple):
            self.spend(len(value))
            for item in value:
                size = self._measure(item, size)
        else:
            size += 1
        self.check_size(size)
        return size

    def check_size(self, size: int) -> None:
        if size > self.limits.output_bytes:
            raise RenderBudgetExceeded(f"a value of more than {self.limits.output_bytes:,} characters")


class BudgetedContext(RenderContext):
    """python-liquid's render context, spending `budget` on loops, filters and assignments."""

    __slots__ = ("budget",)
    budget: RenderBudget

    def __init__(self, template: BoundTemplate, *, budget: RenderBudget | None = None, **kwargs: Any) -> None:
        super().__init__(template, **kwargs)
        parent = kwargs.get("parent_context")
        if budget is None:  # a copy (render/include tags) shares its parent's budget
            budget = parent.budget if isinstance(parent, BudgetedContext) else RenderBudget(DEFAULT_LIMITS)
        self.budget = budget

    @contextmanager
    def loop(self, namespace: Mapping[str, object], forloop: ForLoop | TableRow) -> Iterator[RenderContext]:
        self.budget.require(forloop.length)
        forloop.it = self.budget.metered(forloop.it)
        with super().loop(namespace, forloop) as context:
            yield context

    def assign(self, key: str, val: Any) -> None:
        self.budget.tick()
        super().assign(key, val)

    def filter(self, name: str, token: Token | None) -> Callable[..., object]:
        function = super().filter(name, token)
        if name in _CONSTANT_TIME_FILTERS:
            return function
        budget = self.budget

        def budgeted(left: object, *args: object, **kwargs: object) -> object:
            sizes = [budget.measure(value) for value in (left, *args, *kwargs.values())]
            grows = _GROWTH.get(name)
            if grows is not None:
                budget.check_size(grows(left, args, sizes))
            result = function(left, *args, **kwargs)
            if isinstance(result, str):
                budget.check_size(len(result))
            return result

        return budgeted


def range_length(value: range) -> int:
    """len(value), also for ranges longer than len() can tell (OverflowError)."""
    return max(0, -(-(value.stop - value.start) // value.step))


def _replaced_size(left: object, args: tuple[object, ...], sizes: list[int]) -> int:
    """How long `replace` makes its input: every occurrence of the search text grows by the difference."""
    if len(args) < 2:
        return sizes[0]
    old, new = str(args[0]), str(args[1])
    if len(new) <= len(old):
        return sizes[0]
    occurrences = left.count(old) if isinstance(left, str) else sizes[0] + 1
    return sizes[0] + occurrences * (len(new) - len(old))


def _joined_size(left: object, args: tuple[object, ...], sizes: list[int]) -> int:
    """How long `join` makes its input: the items' text plus one separator between each two."""
    count = len(left) if isinstance(left, list | tuple | range) else 1
    separator = len(str(args[0])) if args else 1
    return sizes[0] + max(count - 1, 0) * separator


# filters whose result can be much longer than all their inputs together: (left, args, sizes) -> length
_GROWTH: dict[str, Callable[[object, tuple[object, ...], list[int]], int]] = {
    "replace": _replaced_size,
    "join": _joined_size,
}
