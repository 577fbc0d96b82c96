"""In-process caches, each living on `Services.caches` and declared once with its invalidation rule.

A module that caches something declares a `CacheSpec` next to the code that fills it: a name, the one
rule that keeps it right (`rule`, in words; docs/architecture.md lists every cache), a bound on its
entries and, for data other processes may change, a time to live. `svc.caches[SPEC]` is that cache
for these Services (made on first use), so a process with two Services (tests, tools) shares nothing
between them, and no cache outlives its Services.

Two kinds of rule, nothing else:

* **keyed by what cannot change** (`ttl_seconds=None`): the key names an immutable fact (a content
  hash, a row id with its creation time), so an entry is never stale; bounded by `max_entries`.
* **time to live** (`ttl_seconds`): the entry was read from the store and is used for at most that
  long, so a change made by any process is seen within it.

When full, a cache drops its oldest entry. Reads take no lock (one dict lookup): they are on the hot
paths (every signed API request, every task page).
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

K = TypeVar("K")
V = TypeVar("V")

_SPECS: dict[str, CacheSpec[Any, Any]] = {}


@dataclass(frozen=True, eq=False)
class CacheSpec(Generic[K, V]):
    """The declaration of one cache: its name, its invalidation rule and its bounds."""

    name: str
    rule: str
    max_entries: int
    ttl_seconds: float | None = None  # None: keyed by what cannot change, never stale

    def __post_init__(self) -> None:
        if self.name in _SPECS:
            raise ValueError(f"cache {self.name!r} is declared twice")
        _SPECS[self.name] = self


class Cache(Generic[K, V]):
    """One cache: key -> (value, monotonic time it was stored)."""

    def __init__(self, spec: CacheSpec[K, V]) -> None:
        self.spec = spec
        self._ttl = spec.ttl_seconds
        self._entries: dict[K, tuple[V, float]] = {}
        self._lock = threading.Lock()

    def get(self, key: K) -> V | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        if self._ttl is not None and time.monotonic() - entry[1] >= self._ttl:
            return None
        return entry[0]

    def put(self, key: K, value: V) -> None:
        """Store a value just read (its time to live starts now)."""
        self._store(key, value, time.monotonic())

    def replace(self, key: K, value: V) -> None:
        """Change a stored value without renewing its time to live (a value adjusted in place, such as a
        count this process has moved on); stores it as new when absent."""
        entry = self._entries.get(key)
        self._store(key, value, time.monotonic() if entry is None else entry[1])

    def discard(self, key: K) -> None:
        with self._lock:
            self._entries.pop(key, None)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)

    def _store(self, key: K, value: V, stored_at: float) -> None:
        with self._lock:
            if key not in self._entries and len(self._entries) >= self.spec.max_entries:
                del self._entries[next(iter(self._entries))]
            self._entries[key] = (value, stored_at)


class Caches:
    """The caches of one Services, made on first use."""

    def __init__(self) -> None:
        self._caches: dict[CacheSpec[Any, Any], Cache[Any, Any]] = {}
        self._lock = threading.Lock()

    def __getitem__(self, spec: CacheSpec[K, V]) -> Cache[K, V]:
        found = self._caches.get(spec)
        if found is None:
            with self._lock:
                found = self._caches.get(spec)
                if found is None:
                    found = self._caches[spec] = Cache(spec)
        return found
