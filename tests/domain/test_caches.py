"""crowdloop.caches: every cache lives on Services, has one invalidation rule, and is documented."""

from __future__ import annotations

import ast
import dataclasses
from pathlib import Path

import pytest

from crowdloop import caches
from crowdloop.caches import Cache, Caches, CacheSpec
from crowdloop.runtime import Services

ROOT = Path(__file__).resolve().parents[2]
_TTL: CacheSpec[str, int] = CacheSpec("test: ttl", "time to live 10 s", max_entries=3, ttl_seconds=10.0)
_FOREVER: CacheSpec[str, int] = CacheSpec("test: forever", "keyed by what cannot change", max_entries=2)


class _Clock:
    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.now = 1000.0
        monkeypatch.setattr(caches.time, "monotonic", lambda: self.now)


def test_entries_expire_after_their_time_to_live(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = _Clock(monkeypatch)
    cache = Cache(_TTL)
    cache.put("a", 1)
    clock.now += 9.9
    assert cache.get("a") == 1
    cache.replace("a", 2)  # adjusted in place: the time to live still runs from the read
    clock.now += 0.1
    assert cache.get("a") is None
    cache.put("a", 3)  # read again: a new time to live
    clock.now += 9.9
    assert cache.get("a") == 3


def test_entries_keyed_by_what_cannot_change_never_expire(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = _Clock(monkeypatch)
    cache = Cache(_FOREVER)
    cache.put("a", 1)
    clock.now += 10**9
    assert cache.get("a") == 1


def test_a_full_cache_drops_its_oldest_entry() -> None:
    cache = Cache(_FOREVER)
    cache.put("a", 1)
    cache.put("b", 2)
    cache.put("b", 3)  # replacing an entry makes no room
    assert len(cache) == 2
    cache.put("c", 4)
    assert (cache.get("a"), cache.get("b"), cache.get("c")) == (None, 3, 4)
    cache.discard("b")
    assert cache.get("b") is None and len(cache) == 1


def test_each_services_has_its_own_caches(services: Services) -> None:
    services.caches[_FOREVER].put("a", 1)
    assert services.caches[_FOREVER] is services.caches[_FOREVER]
    other = dataclasses.replace(services)  # e.g. other settings: nothing cached is shared
    assert other.caches[_FOREVER].get("a") is None
    assert Caches()[_FOREVER].get("a") is None


def test_a_cache_name_is_declared_once() -> None:
    with pytest.raises(ValueError, match="declared twice"):
        CacheSpec("test: ttl", "another rule", max_entries=1)


def _declared_in_source() -> dict[str, str]:
    """name -> rule of every CacheSpec(...) written in the package (found without importing it)."""
    found = {}
    for path in sorted((ROOT / "crowdloop").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "CacheSpec":
                name, rule = (arg.value for arg in node.args[:2] if isinstance(arg, ast.Constant))
                found[str(name)] = f"{path.relative_to(ROOT)}: {rule}"
    return found


def test_every_cache_is_listed_with_its_rule_in_the_architecture_notes() -> None:
    declared = _declared_in_source()
    assert len(declared) >= 6
    text = (ROOT / "docs" / "architecture.md").read_text()
    assert [name for name in declared if f"`{name}`" not in text] == []
