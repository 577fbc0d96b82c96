"""Validate an operation's input against botocore's service model, the way AWS's Coral front end does.

botocore checks only required members, Python types and `min` client-side; this module also enforces
`max`, `pattern` (Java regexes, full match), `enum` and numeric ranges, and converts timestamps (epoch
int/float or ISO-8601 strings) to aware UTC datetimes. Unknown members are dropped, `null` is absent.

Messages copy Coral:
    1 validation error detected: Value 'FD_bad' at 'flowDefinitionName' failed to satisfy constraint:
    Member must satisfy regular expression pattern: [a-z0-9](-*[a-z0-9]){0,62}
Member paths are lowerCamelCase, dotted for nesting; list items are `tags.1.member.key` (1-based), map
values `environment.<key>` (key errors are reported at the map's own path). Values longer than 256
characters are cut to 256 + "..."; `sensitive` members print `Value at '...'` without the value. A value
of the wrong JSON type gives `Member must be a string` (integer, number, boolean, list, structure, map,
timestamp) — Coral answers SerializationException there; we keep one error type. A string holding the NUL
character is refused (`Member must not contain the NUL character`) whatever its pattern: PostgreSQL cannot
store it. Lengths count Python characters (code points): see docs/api.md for how that compares to AWS.

Java regex semantics are approximated: `\\w \\d \\s` (outside character classes) and `\\p{Alnum}` are
ASCII, `.` excludes line terminators, surrogate-pair ranges become code-point ranges.
"""

from __future__ import annotations

import base64
import binascii
import logging
import threading
from datetime import datetime
from typing import Any

import regex
from botocore.model import ListShape, MapShape, OperationModel, ServiceModel, Shape, StructureShape

from crowdloop.aws.wire import parse_timestamp
from crowdloop.errors import InvalidInput

log = logging.getLogger("crowdloop.aws")

# Our documented extensions to the model, keyed by (service, structure shape or "*", member name).
OVERRIDES: dict[tuple[str, str, str], dict[str, Any]] = {
    # crowdloop lets a loop ask for up to 50 workers (AWS: 3).
    ("sagemaker", "HumanLoopConfig", "TaskCount"): {"max": 50},
    # Real A2I accepted upper-case human-loop names (spec section 3); store them verbatim.
    ("sagemaker-a2i-runtime", "*", "HumanLoopName"): {"ignore_case": True},
}

_MAX_SHOWN = 256
_REGEX_TIMEOUT_SECONDS = 0.5

_models: dict[str, ServiceModel] = {}
_validators: dict[str, ServiceValidator] = {}
_lock = threading.RLock()


def service_model(service: str) -> ServiceModel:
    """botocore's model for `service` ("sagemaker", "sagemaker-a2i-runtime"), loaded once."""
    model = _models.get(service)
    if model is None:
        import botocore.session

        with _lock:
            model = _models.get(service)
            if model is None:
                model = botocore.session.get_session().get_service_model(service)
                _models[service] = model
    return model


def validator(service: str) -> ServiceValidator:
    found = _validators.get(service)
    if found is None:
        with _lock:
            found = _validators.get(service)
            if found is None:
                found = _validators[service] = ServiceValidator(service)
    return found


def validate(service: str, operation: str, params: dict[str, Any]) -> dict[str, Any]:
    """The validated, converted input; InvalidInput listing every violation otherwise."""
    return validator(service).validate(operation, params)


class ServiceValidator:
    """One compiled checker per operation, built on first use."""

    def __init__(self, service: str) -> None:
        self.service = service
        self._compiler: _Compiler | None = None
        self._operations: dict[str, _Structure | None] = {}

    def operation_model(self, operation: str) -> OperationModel | None:
        model = service_model(self.service)
        return model.operation_model(operation) if operation in model.operation_names else None

    def validate(self, operation: str, params: dict[str, Any]) -> dict[str, Any]:
        try:
            checker = self._operations[operation]
        except KeyError:
            checker = self.prepare(operation)
        if checker is None:
            return params
        errors: list[str] = []
        result: dict[str, Any] = checker.check_members(params, "", errors)
        if errors:
            raise _invalid(errors)
        return result

    def prepare(self, operation: str) -> _Structure | None:
        """Compile (once) the checker of `operation`; None when the model has no such operation."""
        with _lock:
            if operation in self._operations:
                return self._operations[operation]
            if self._compiler is None:
                self._compiler = _Compiler(self.service, service_model(self.service))
            op = self.operation_model(operation)
            shape = op.input_shape if op is not None else None
            checker = self._compiler.structure(shape) if isinstance(shape, StructureShape) else None
            self._operations[operation] = checker
            return checker


def _invalid(errors: list[str]) -> InvalidInput:
    count = len(errors)
    noun = "validation error" if count == 1 else "validation errors"
    field = errors[0].split("' failed to satisfy", 1)[0].rsplit(" at '", 1)[-1]
    return InvalidInput(f"{count} {noun} detected: " + "; ".join(errors), field)


# --- value formatting ----------------------------------------------------------------------------------


def _show(value: Any) -> str:
    """Java's toString of `value`, cut to _MAX_SHOWN characters + "...". Built without recursion and
    stopped as soon as it is long enough, so deep or huge values cost no more than short ones."""
    parts: list[str] = []
    size = 0
    pending: list[Any] = [value]
    while pending and size <= _MAX_SHOWN:
        item = pending.pop()
        if isinstance(item, _Literal):
            text = item.text
        elif isinstance(item, list):
            text = "["
            pending.append(_Literal("]"))
            for index in range(len(item) - 1, -1, -1):
                pending.append(item[index])
                if index:
                    pending.append(_Literal(", "))
        elif isinstance(item, dict):
            text = "{"
            pending.append(_Literal("}"))
            entries = list(item.items())
            for index in range(len(entries) - 1, -1, -1):
                key, member = entries[index]
                pending += [member, _Literal(f"{key}=")]
                if index:
                    pending.append(_Literal(", "))
        else:
            text = _scalar(item)
        parts.append(text)
        size += len(text)
    text = "".join(parts)
    return text if len(text) <= _MAX_SHOWN and not pending else text[:_MAX_SHOWN] + "..."


class _Literal:
    __slots__ = ("text",)

    def __init__(self, text: str) -> None:
        self.text = text


def _scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, bytes):
        return base64.b64encode(value).decode()
    return str(value)


# --- checkers -----------------------------------------------------------------------------------------


class _Node:
    __slots__ = ("sensitive",)

    def __init__(self, sensitive: bool = False) -> None:
        self.sensitive = sensitive

    def check(self, value: Any, path: str, errors: list[str]) -> Any:
        return value

    def fail(self, errors: list[str], value: Any, path: str, constraint: str) -> None:
        shown = "Value" if self.sensitive else f"Value '{_show(value)}'"
        errors.append(f"{shown} at '{path}' failed to satisfy constraint: {constraint}")


class _String(_Node):
    __slots__ = ("enum", "enum_text", "max", "min", "pattern", "pattern_text")

    def __init__(self, meta: dict[str, Any], pattern: regex.Pattern[str] | None, sensitive: bool) -> None:
        super().__init__(sensitive)
        self.min: int | None = meta.get("min")
        self.max: int | None = meta.get("max")
        self.pattern = pattern
        self.pattern_text: str = meta.get("pattern", "")
        enum = meta.get("enum")
        self.enum = frozenset(enum) if enum else None
        self.enum_text = "[" + ", ".join(enum) + "]" if enum else ""

    def check(self, value: Any, path: str, errors: list[str]) -> Any:
        if not isinstance(value, str):
            self.fail(errors, value, path, "Member must be a string")
            return value
        if "\0" in value:  # no AWS pattern allows it in practice, and PostgreSQL cannot store it
            self.fail(errors, value.replace("\0", "\\0"), path, "Member must not contain the NUL character")
            return value
        if self.pattern is not None and not _full_match(self.pattern, value):
            self.fail(errors, value, path, f"Member must satisfy regular expression pattern: {self.pattern_text}")
        size = len(value)
        if self.min is not None and size < self.min:
            self.fail(errors, value, path, f"Member must have length greater than or equal to {self.min}")
        if self.max is not None and size > self.max:
            self.fail(errors, value, path, f"Member must have length less than or equal to {self.max}")
        if self.enum is not None and value not in self.enum:
            self.fail(errors, value, path, f"Member must satisfy enum value set: {self.enum_text}")
        return value


def _full_match(pattern: regex.Pattern[str], value: str) -> bool:
    try:
        return pattern.fullmatch(value, timeout=_REGEX_TIMEOUT_SECONDS) is not None
    except TimeoutError:
        log.warning("pattern %s timed out on a %d-character value", pattern.pattern, len(value))
        return False


class _Number(_Node):
    __slots__ = ("integral", "max", "min")

    def __init__(self, meta: dict[str, Any], integral: bool) -> None:
        super().__init__(False)
        self.integral = integral
        self.min: float | None = meta.get("min")
        self.max: float | None = meta.get("max")

    def check(self, value: Any, path: str, errors: list[str]) -> Any:
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or (self.integral and not isinstance(value, int))
        ):
            self.fail(errors, value, path, "Member must be an integer" if self.integral else "Member must be a number")
            return value
        if self.min is not None and value < self.min:
            self.fail(errors, value, path, f"Member must have value greater than or equal to {self.min}")
        if self.max is not None and value > self.max:
            self.fail(errors, value, path, f"Member must have value less than or equal to {self.max}")
        return value


class _Boolean(_Node):
    def check(self, value: Any, path: str, errors: list[str]) -> Any:
        if not isinstance(value, bool):
            self.fail(errors, value, path, "Member must be a boolean")
        return value


class _Timestamp(_Node):
    def check(self, value: Any, path: str, errors: list[str]) -> Any:
        if isinstance(value, datetime):
            return value
        try:
            return parse_timestamp(value)
        except (ValueError, OverflowError, OSError):
            self.fail(errors, value, path, "Member must be a timestamp")
            return value


class _Blob(_Node):
    __slots__ = ("max", "min")

    def __init__(self, meta: dict[str, Any], sensitive: bool) -> None:
        super().__init__(sensitive)
        self.min: int | None = meta.get("min")
        self.max: int | None = meta.get("max")

    def check(self, value: Any, path: str, errors: list[str]) -> Any:
        try:
            data = base64.b64decode(value, validate=True) if isinstance(value, str) else None
        except (binascii.Error, ValueError):
            data = None
        if data is None:
            self.fail(errors, value, path, "Member must be base64-encoded binary")
            return value
        if self.min is not None and len(data) < self.min:
            self.fail(errors, value, path, f"Member must have length greater than or equal to {self.min}")
        if self.max is not None and len(data) > self.max:
            self.fail(errors, value, path, f"Member must have length less than or equal to {self.max}")
        return data


class _List(_Node):
    __slots__ = ("item", "max", "min")

    def __init__(self, meta: dict[str, Any], item: _Node) -> None:
        super().__init__(False)
        self.min: int | None = meta.get("min")
        self.max: int | None = meta.get("max")
        self.item = item

    def check(self, value: Any, path: str, errors: list[str]) -> Any:
        if not isinstance(value, list):
            self.fail(errors, value, path, "Member must be a list")
            return value
        if self.min is not None and len(value) < self.min:
            self.fail(errors, value, path, f"Member must have length greater than or equal to {self.min}")
        if self.max is not None and len(value) > self.max:
            self.fail(errors, value, path, f"Member must have length less than or equal to {self.max}")
        out = []
        for index, item in enumerate(value, 1):
            if item is None:
                errors.append(
                    f"Value null at '{path}.{index}.member' failed to satisfy constraint: Member must not be null"
                )
                continue
            out.append(self.item.check(item, f"{path}.{index}.member", errors))
        return out


class _Map(_Node):
    __slots__ = ("key", "max", "min", "value")

    def __init__(self, meta: dict[str, Any], key: _Node, value: _Node) -> None:
        super().__init__(False)
        self.min: int | None = meta.get("min")
        self.max: int | None = meta.get("max")
        self.key = key
        self.value = value

    def check(self, value: Any, path: str, errors: list[str]) -> Any:
        if not isinstance(value, dict):
            self.fail(errors, value, path, "Member must be a map")
            return value
        if self.min is not None and len(value) < self.min:
            self.fail(errors, value, path, f"Member must have length greater than or equal to {self.min}")
        if self.max is not None and len(value) > self.max:
            self.fail(errors, value, path, f"Member must have length less than or equal to {self.max}")
        out = {}
        for key, item in value.items():
            self.key.check(key, path, errors)
            if item is None:
                errors.append(f"Value null at '{path}.{key}' failed to satisfy constraint: Member must not be null")
                continue
            out[key] = self.value.check(item, f"{path}.{key}", errors)
        return out


class _Structure(_Node):
    __slots__ = ("members", "required")

    def __init__(self) -> None:
        super().__init__(False)
        self.members: tuple[tuple[str, str, _Node], ...] = ()
        self.required: frozenset[str] = frozenset()

    def check(self, value: Any, path: str, errors: list[str]) -> Any:
        if not isinstance(value, dict):
            self.fail(errors, value, path, "Member must be a structure")
            return value
        return self.check_members(value, path + ".", errors)

    def check_members(self, value: dict[str, Any], prefix: str, errors: list[str]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        required = self.required
        for name, camel, node in self.members:
            item = value.get(name)
            if item is None:
                if name in required:
                    errors.append(
                        f"Value null at '{prefix}{camel}' failed to satisfy constraint: Member must not be null"
                    )
                continue
            out[name] = node.check(item, prefix + camel, errors)
        return out


# --- compiling shapes to checkers ------------------------------------------------------------------------


class _Compiler:
    def __init__(self, service: str, model: ServiceModel) -> None:
        self.service = service
        self.model = model
        self._nodes: dict[str, _Node] = {}
        self._patterns: dict[tuple[str, bool], regex.Pattern[str] | None] = {}

    def structure(self, shape: StructureShape) -> _Structure:
        node = self.node(shape)
        assert isinstance(node, _Structure)
        return node

    def node(self, shape: Shape, overrides: dict[str, Any] | None = None) -> _Node:
        if overrides:
            return self._build(shape, {**shape.metadata, **overrides})
        found = self._nodes.get(shape.name)
        if found is None:
            found = self._build(shape, shape.metadata)
        return found

    def _build(self, shape: Shape, meta: dict[str, Any]) -> _Node:
        kind = shape.type_name
        sensitive = bool(meta.get("sensitive"))
        node: _Node
        if isinstance(shape, StructureShape):
            structure = _Structure()
            self._nodes[shape.name] = structure  # before members: shapes may be recursive
            structure.required = frozenset(meta.get("required", ()))
            structure.members = tuple(
                (name, name[:1].lower() + name[1:], self.node(member, self._override(shape.name, name)))
                for name, member in shape.members.items()
            )
            return structure
        if isinstance(shape, ListShape):
            node = _List(meta, self.node(shape.member))
        elif isinstance(shape, MapShape):
            node = _Map(meta, self.node(shape.key), self.node(shape.value))
        elif kind == "string":
            node = _String(meta, self._pattern(meta.get("pattern"), bool(meta.get("ignore_case"))), sensitive)
        elif kind in ("integer", "long"):
            node = _Number(meta, integral=True)
        elif kind in ("float", "double"):
            node = _Number(meta, integral=False)
        elif kind == "boolean":
            node = _Boolean()
        elif kind == "timestamp":
            node = _Timestamp()
        elif kind == "blob":
            node = _Blob(meta, sensitive)
        else:  # document and anything newer: accepted as sent
            node = _Node()
        if meta is shape.metadata:
            self._nodes[shape.name] = node
        return node

    def _override(self, structure: str, member: str) -> dict[str, Any] | None:
        return OVERRIDES.get((self.service, structure, member)) or OVERRIDES.get((self.service, "*", member))

    def _pattern(self, text: str | None, ignore_case: bool) -> regex.Pattern[str] | None:
        if not text:
            return None
        key = (text, ignore_case)
        if key not in self._patterns:
            try:
                flags = regex.IGNORECASE if ignore_case else 0
                self._patterns[key] = regex.compile(java_pattern(text), flags)
            except regex.error as exc:
                log.warning("model pattern %r does not compile (%s); not enforced", text, exc)
                self._patterns[key] = None
        return self._patterns[key]


# --- Java regex -> regex module ------------------------------------------------------------------------

_OUT_OF_CLASS = {
    "w": "[a-zA-Z0-9_]",
    "W": "[^a-zA-Z0-9_]",
    "d": "[0-9]",
    "D": "[^0-9]",
    "s": "[ \\t\\n\\x0B\\f\\r]",
    "S": "[^ \\t\\n\\x0B\\f\\r]",
}
_DOT = "[^\\n\\r\\u0085\\u2028\\u2029]"
_SURROGATE_PAIR = regex.compile(r"\\u(d[89ab][0-9a-f]{2})\\u(d[c-f][0-9a-f]{2})", regex.IGNORECASE)


def _combine(match: regex.Match[str]) -> str:
    high, low = int(match.group(1), 16), int(match.group(2), 16)
    return f"\\U{0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00):08X}"


def java_pattern(text: str) -> str:
    """Rewrite a Java regex so the `regex` module matches what java.util.regex would."""
    text = _SURROGATE_PAIR.sub(_combine, text)
    out: list[str] = []
    in_class = False
    i, size = 0, len(text)
    while i < size:
        char = text[i]
        if char == "\\" and i + 1 < size:
            if text.startswith("\\p{Alnum}", i):
                out.append("a-zA-Z0-9" if in_class else "[a-zA-Z0-9]")
                i += 9
                continue
            # Inside a class the Unicode meaning is kept: `[\S\s]` must stay "any character".
            out.append(text[i : i + 2] if in_class else _OUT_OF_CLASS.get(text[i + 1], text[i : i + 2]))
            i += 2
            continue
        if in_class:
            if char == "]":
                in_class = False
        elif char == "[":
            in_class = True
            out.append(char)
            i += 1
            if i < size and text[i] == "^":
                out.append("^")
                i += 1
            if i < size and text[i] == "]":  # a leading ] is literal
                out.append("\\]")
                i += 1
            continue
        elif char == ".":
            char = _DOT
        out.append(char)
        i += 1
    return "".join(out)
