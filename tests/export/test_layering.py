"""The export's modules, read as source: no store tables (the export reads through domain functions) and
no import cycle among them, counting imports inside functions (only TYPE_CHECKING blocks are left out:
they never run). The package's __init__ imports its modules lazily, on purpose (optional dependencies)."""

from __future__ import annotations

import ast
from pathlib import Path

import crowdloop.export

PACKAGE = Path(crowdloop.export.__file__).parent


def imported(path: Path) -> set[str]:
    """The modules a file imports, anywhere in it but under `if TYPE_CHECKING:`."""
    tree = ast.parse(path.read_text())
    skipped = {
        id(node)
        for block in ast.walk(tree)
        if isinstance(block, ast.If) and isinstance(block.test, ast.Name) and block.test.id == "TYPE_CHECKING"
        for statement in block.body
        for node in ast.walk(statement)
    }
    names: set[str] = set()
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def modules() -> dict[str, set[str]]:
    """Module name -> the crowdloop.export modules it imports (the package itself left out)."""
    paths = {f"crowdloop.export.{p.stem}": p for p in sorted(PACKAGE.glob("*.py")) if p.stem != "__init__"}
    return {name: imported(path) & paths.keys() for name, path in paths.items()}


def test_the_export_imports_no_store_tables() -> None:
    for path in sorted(PACKAGE.glob("*.py")):
        found = {name for name in imported(path) if name.startswith("crowdloop.store.tables")}
        assert not found, f"{path.name} imports {sorted(found)}: read through a domain function instead"


def test_no_import_cycle_in_the_export() -> None:
    graph = modules()
    assert "crowdloop.export.parallel" in graph["crowdloop.export.api"]  # the graph is read
    done: set[str] = set()

    def visit(name: str, path: list[str]) -> None:
        if name in path:
            cycle = [*path[path.index(name) :], name]
            raise AssertionError("import cycle: " + " -> ".join(cycle))
        if name in done:
            return
        for target in sorted(graph[name]):
            visit(target, [*path, name])
        done.add(name)

    for name in sorted(graph):
        visit(name, [])
