"""EventBridge event patterns, as webhook subscriptions filter events with them.

`parse_pattern(text)` checks a pattern and compiles it; `EventPattern.matches(event)` applies it with
EventBridge's documented semantics (docs/events.md, "Event patterns"):

* a pattern is a JSON object whose members are either nested objects (the event must have the same
  nesting) or arrays (the leaves): a leaf matches when any of its values matches any of the event's
  values there (an array in the event is a set of values);
* a leaf value is an exact value (string, number, true/false, null) or a matcher object: `prefix`,
  `suffix`, `equals-ignore-case`, `wildcard`, `anything-but`, `numeric`, `exists`, `cidr`;
* `"$or": [pattern, ...]` in any object: at least one alternative must match as well;
* a field the event lacks matches nothing but `{"exists": false}`; an object is not a leaf value.

Every problem is an InvalidInput naming the path in the pattern (`detail.status: ...`).
"""

from __future__ import annotations

import ipaddress
import json
import math
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from crowdloop.errors import InvalidInput

MAX_PATTERN_CHARS = 2048  # EventBridge's default "event pattern size" quota
MAX_PATTERN_DEPTH = 16  # nested objects and $or alternatives, ours
MAX_PATTERN_VALUES = 256  # leaf values and matchers in all, ours
NUMERIC_LIMIT = 5.0e9  # numeric matching works between -5.0e9 and +5.0e9 inclusive

Test = Callable[[Any], bool]


@dataclass(frozen=True)
class _Leaf:
    tests: tuple[Test, ...]
    exists: bool | None  # {"exists": true/false} among the values, if any (both: always matches)
    always: bool = False

    def matches(self, values: list[Any]) -> bool:
        if self.always:
            return True
        if self.exists is not None and bool(values) == self.exists:
            return True
        return any(test(value) for value in values for test in self.tests)


@dataclass(frozen=True)
class _Node:
    fields: tuple[tuple[str, _Node | _Leaf], ...]
    alternatives: tuple[tuple[_Node, ...], ...]  # one tuple per "$or"

    def matches(self, event: dict[str, Any]) -> bool:
        for name, rule in self.fields:
            present = name in event
            value = event.get(name)
            if isinstance(rule, _Leaf):
                if not rule.matches(list(_leaf_values(value)) if present else []):
                    return False
            elif not _object_matches(rule, value):
                return False
        return all(any(alternative.matches(event) for alternative in group) for group in self.alternatives)


def _object_matches(node: _Node, value: Any) -> bool:
    if isinstance(value, dict):
        return node.matches(value)
    if isinstance(value, list):
        members = [member for member in value if isinstance(member, dict)]
        if members:
            return any(node.matches(member) for member in members)
    return node.matches({})  # missing or not an object: only `exists: false` below can match


def _leaf_values(value: Any) -> Iterator[Any]:
    if isinstance(value, list):
        for member in value:
            yield from _leaf_values(member)
    elif not isinstance(value, dict):
        yield value


@dataclass(frozen=True)
class EventPattern:
    """A checked pattern; `document` is the parsed JSON it was made from."""

    document: dict[str, Any]
    _root: _Node

    def matches(self, event: dict[str, Any]) -> bool:
        return self._root.matches(event)


def parse_pattern(text: str) -> EventPattern:
    if len(text) > MAX_PATTERN_CHARS:
        raise _invalid("pattern", f"is {len(text)} characters long, more than {MAX_PATTERN_CHARS}")
    try:
        document = json.loads(text, parse_constant=_refuse_constant)
    except (ValueError, RecursionError) as error:
        raise _invalid("pattern", f"is not valid JSON ({error})") from None
    if not isinstance(document, dict):
        raise _invalid("pattern", "must be a JSON object")
    counter = _Counter()
    return EventPattern(document, _compile_object(document, "", 1, counter))


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


class _Counter:
    def __init__(self) -> None:
        self.values = 0

    def add(self, path: str) -> None:
        self.values += 1
        if self.values > MAX_PATTERN_VALUES:
            raise _invalid(path, f"the pattern holds more than {MAX_PATTERN_VALUES} values")


def _invalid(path: str, problem: str) -> InvalidInput:
    return InvalidInput(f"{path or 'pattern'}: {problem}", field="pattern")


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def _compile_object(document: dict[str, Any], path: str, depth: int, counter: _Counter) -> _Node:
    if depth > MAX_PATTERN_DEPTH:
        raise _invalid(path, f"a pattern may nest at most {MAX_PATTERN_DEPTH} levels")
    if not document:
        raise _invalid(path, "a pattern object must name at least one field")
    fields: list[tuple[str, _Node | _Leaf]] = []
    alternatives: list[tuple[_Node, ...]] = []
    for name, value in document.items():
        where = _join(path, name)
        if name == "$or":
            alternatives.append(_compile_or(value, where, depth, counter))
        elif isinstance(value, dict):
            fields.append((name, _compile_object(value, where, depth + 1, counter)))
        elif isinstance(value, list):
            fields.append((name, _compile_leaf(value, where, counter)))
        else:
            raise _invalid(where, "a pattern's leaves must be arrays")
    return _Node(tuple(fields), tuple(alternatives))


def _compile_or(value: Any, path: str, depth: int, counter: _Counter) -> tuple[_Node, ...]:
    if not isinstance(value, list) or len(value) < 2:
        raise _invalid(path, "$or must be an array of at least two pattern objects")
    nodes = []
    for index, member in enumerate(value):
        if not isinstance(member, dict):
            raise _invalid(f"{path}[{index}]", "each $or alternative must be a pattern object")
        nodes.append(_compile_object(member, f"{path}[{index}]", depth + 1, counter))
    return tuple(nodes)


def _compile_leaf(values: list[Any], path: str, counter: _Counter) -> _Leaf:
    if not values:
        raise _invalid(path, "a pattern's arrays must hold at least one value")
    tests: list[Test] = []
    exists: set[bool] = set()
    for value in values:
        counter.add(path)
        if isinstance(value, dict):
            matcher = _compile_matcher(value, path)
            if isinstance(matcher, bool):
                exists.add(matcher)
            else:
                tests.append(matcher)
        elif isinstance(value, list):
            raise _invalid(path, "a pattern's arrays must not hold arrays")
        else:
            tests.append(_exact(value))
    if len(exists) == 2:
        return _Leaf((), None, always=True)
    return _Leaf(tuple(tests), exists.pop() if exists else None)


def _compile_matcher(matcher: dict[str, Any], path: str) -> Test | bool:
    """A test for one event value, or the boolean of an `exists` matcher."""
    if len(matcher) != 1:
        raise _invalid(path, f"a matcher object must have exactly one key, not {len(matcher)}")
    ((kind, argument),) = matcher.items()
    where = f"{path} ({kind})"
    if kind == "exists":
        if not isinstance(argument, bool):
            raise _invalid(where, "exists takes true or false")
        return argument
    if kind in ("prefix", "suffix"):
        text, ignore_case = _affix_argument(argument, where)
        return _affix(kind, text, ignore_case)
    if kind == "equals-ignore-case":
        return _equals_ignore_case((_string(argument, where),))
    if kind == "wildcard":
        return _wildcard(_string(argument, where), where)
    if kind == "anything-but":
        return _anything_but(argument, where)
    if kind == "numeric":
        return _numeric(argument, where)
    if kind == "cidr":
        return _cidr(argument, where)
    raise _invalid(path, f"unknown matcher {kind!r}")


def _string(argument: Any, where: str) -> str:
    if not isinstance(argument, str):
        raise _invalid(where, "takes a string")
    return argument


def _affix_argument(argument: Any, where: str) -> tuple[str, bool]:
    if isinstance(argument, dict) and list(argument) == ["equals-ignore-case"]:
        return _string(argument["equals-ignore-case"], where), True
    if isinstance(argument, str):
        return argument, False
    raise _invalid(where, 'takes a string or {"equals-ignore-case": string}')


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _exact(expected: Any) -> Test:
    if _is_number(expected):
        return lambda value: _is_number(value) and value == expected
    if isinstance(expected, bool):
        return lambda value: isinstance(value, bool) and value is expected
    if expected is None:
        return lambda value: value is None
    return lambda value: isinstance(value, str) and value == expected


def _affix(kind: str, text: str, ignore_case: bool) -> Test:
    wanted = text.lower() if ignore_case else text

    def test(value: Any) -> bool:
        if not isinstance(value, str):
            return False
        seen = value.lower() if ignore_case else value
        return seen.startswith(wanted) if kind == "prefix" else seen.endswith(wanted)

    return test


def _equals_ignore_case(texts: tuple[str, ...]) -> Test:
    wanted = {text.lower() for text in texts}
    return lambda value: isinstance(value, str) and value.lower() in wanted


def _wildcard(text: str, where: str) -> Test:
    parts: list[str] = []
    index = 0
    while index < len(text):
        char = text[index]
        if char == "\\":
            following = text[index + 1 : index + 2]
            if following not in ("*", "\\"):
                raise _invalid(where, "a backslash may only escape '*' or '\\'")
            parts.append(re.escape(following))
            index += 2
            continue
        if char == "*":
            if parts and parts[-1] == ".*":
                raise _invalid(where, "consecutive '*' characters are not allowed")
            parts.append(".*")
        else:
            parts.append(re.escape(char))
        index += 1
    compiled = re.compile("".join(parts), re.DOTALL)
    return lambda value: isinstance(value, str) and compiled.fullmatch(value) is not None


def _anything_but(argument: Any, where: str) -> Test:
    inner: Test
    if isinstance(argument, dict):
        if len(argument) != 1:
            raise _invalid(where, "takes one of prefix, suffix, equals-ignore-case or wildcard")
        ((kind, value),) = argument.items()
        if kind in ("prefix", "suffix"):
            if _string(value, f"{where} {kind}") == "":
                raise _invalid(where, f"{kind} must not be empty")
            inner = _affix(kind, value, False)
        elif kind == "equals-ignore-case":
            inner = _equals_ignore_case(_strings(value, f"{where} {kind}"))
        elif kind == "wildcard":
            tests = [_wildcard(text, f"{where} {kind}") for text in _strings(value, f"{where} {kind}")]
            inner = lambda seen: any(test(seen) for test in tests)  # noqa: E731
        else:
            raise _invalid(where, f"unknown anything-but matcher {kind!r}")
    else:
        values = argument if isinstance(argument, list) else [argument]
        if not values:
            raise _invalid(where, "takes at least one value")
        if not (all(isinstance(v, str) for v in values) or all(_is_number(v) for v in values)):
            raise _invalid(where, "takes a string, a number, or an array of only strings or only numbers")
        tests = [_exact(value) for value in values]
        inner = lambda seen: any(test(seen) for test in tests)  # noqa: E731
    return lambda value: not inner(value)


def _strings(argument: Any, where: str) -> tuple[str, ...]:
    values = argument if isinstance(argument, list) else [argument]
    if not values or not all(isinstance(value, str) for value in values):
        raise _invalid(where, "takes a string or an array of strings")
    return tuple(values)


_LOWER = {">": False, ">=": True}
_UPPER = {"<": False, "<=": True}


def _numeric(argument: Any, where: str) -> Test:
    if not isinstance(argument, list) or len(argument) not in (2, 4):
        raise _invalid(where, 'takes [operator, number] or [">"/">=", number, "<"/"<=", number]')
    pairs = [(argument[i], argument[i + 1]) for i in range(0, len(argument), 2)]
    for operator, number in pairs:
        if operator not in ("=", *_LOWER, *_UPPER):
            raise _invalid(where, f"unknown operator {operator!r}")
        if not _is_number(number) or abs(number) > NUMERIC_LIMIT:
            raise _invalid(where, f"{operator} takes a number between -{NUMERIC_LIMIT:.1e} and {NUMERIC_LIMIT:.1e}")
    if len(pairs) == 2:
        (low_op, low), (high_op, high) = pairs
        if low_op not in _LOWER or high_op not in _UPPER:
            raise _invalid(where, "a range is a lower bound (> or >=) followed by an upper bound (< or <=)")
        if low >= high:
            raise _invalid(where, "the lower bound must be below the upper bound")
    checks = [_compare(operator, number) for operator, number in pairs]
    return lambda value: _is_number(value) and math.isfinite(value) and all(check(value) for check in checks)


def _compare(operator: str, number: float) -> Callable[[float], bool]:
    comparisons: dict[str, Callable[[float], bool]] = {
        "=": lambda value: value == number,
        ">": lambda value: value > number,
        ">=": lambda value: value >= number,
        "<": lambda value: value < number,
        "<=": lambda value: value <= number,
    }
    return comparisons[operator]


def _cidr(argument: Any, where: str) -> Test:
    try:
        network = ipaddress.ip_network(_string(argument, where), strict=False)
    except ValueError:
        raise _invalid(where, f"{argument!r} is not an IP address range (CIDR)") from None

    def test(value: Any) -> bool:
        if not isinstance(value, str):
            return False
        try:
            return ipaddress.ip_address(value) in network
        except ValueError:
            return False

    return test
