"""Secret values (keys, passwords, URLs with passwords) that never show in a repr, a str or a log line.

`Secret("hunter2")` prints as `****` (and an empty secret as nothing, so "not set" stays visible);
`reveal()` is the one way to the value, written where the value is used. `SecretUrl` is a database URL
whose password is the secret: it prints with the password masked, the rest kept for diagnostics.
"""

from __future__ import annotations

import hmac
import re

MASK = "****"


class Secret:
    __slots__ = ("_value",)

    def __init__(self, value: str | Secret = "") -> None:
        self._value = value.reveal() if isinstance(value, Secret) else str(value)

    def reveal(self) -> str:
        return self._value

    def __str__(self) -> str:
        return MASK if self._value else ""

    def __repr__(self) -> str:
        return f"{type(self).__name__}({str(self)!r})"

    def __bool__(self) -> bool:
        return bool(self._value)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Secret):
            return NotImplemented
        return hmac.compare_digest(self._value.encode(), other._value.encode())

    def __hash__(self) -> int:
        return hash(self._value)

    def __reduce__(self) -> tuple[type[Secret], tuple[str]]:  # copies and pickles keep the type
        return type(self), (self._value,)


# scheme://user:password@host...: the password is what follows the first ':' of the part before '@'
_PASSWORD = re.compile(r"^(?P<head>[A-Za-z][A-Za-z0-9+.-]*://[^:/@]*:)(?P<password>[^@/]*)(?=@)")


class SecretUrl(Secret):
    """A URL whose password is secret: `postgresql+psycopg://app:****@db/crowdloop`."""

    __slots__ = ()

    def __str__(self) -> str:
        return _PASSWORD.sub(lambda m: m.group("head") + MASK, self._value, count=1)
