"""The package's layers, read from its import graph (docs/architecture.md, "Layers and table owners").

Every module under crowdloop/ is parsed with `ast`; imports are resolved (relative ones too) wherever they
are written, inside functions and `if TYPE_CHECKING:` blocks included, and so are
`importlib.import_module("...")` calls with a literal name. The rules:

* an edge module (EDGES) never imports the store's statements (`store.tables`, `store.dialect`,
  `store.prepared`): it calls domain functions;
* the domain (every other module outside `store/`) never imports `aws`, `portal`, `starlette` or
  `uvicorn`; `aws` and `portal` never import each other; `store/` imports only itself and `errors`;
* a pure package (PURE: `groundtruth/`) imports only itself, `errors` and the standard library — except
  the third-party libraries PURE_EXTRAS grants one module (masks.py, the pixel work of segmentation: Pillow and
  numpy, the optional `segmentation` extra, imported inside its functions);
* each table of store/tables.py has one owning domain module (TABLE_OWNERS): the only one that writes it
  (`table.insert()`, `.update()`, `.delete()`, also through a local alias), apart from SHARED_WRITES; other
  domain modules that read it in their own statements are listed in TABLE_READERS.
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

import crowdloop

PACKAGE = "crowdloop"
ROOT = Path(crowdloop.__file__).parent

# Edge modules: they take requests or commands and call domain functions. http_protocol is the server's
# uvicorn protocol and server runs the app in uvicorn (one process or `serve --workers N`); gallery and preview
# are CLI tools that render templates with the portal's elements, lint the CLI of the template checks.
# dispatch decides which part (AWS API, S3, STS, portal) answers a request: part of the root app, like
# metrics_http (GET /metrics and the request counter).
EDGES = (
    "portal",
    "console",
    "eventsapi",
    "aws",
    "export",
    "cli",
    "cli_events",
    "app",
    "dispatch",
    "metrics_http",
    "__main__",
    "http_protocol",
    "server",
    "gallery",
    "preview",
    "client",
    "lint",
)
STORE_STATEMENTS = ("store.tables", "store.dialect", "store.prepared")
WEB = ("aws", "portal", "console", "eventsapi")
# Between the web parts: aws and portal are independent; the console shows task frames with the portal's
# own pieces (taskui, static), so it may import portal, never the reverse. The events API authenticates as
# the AWS API and the console do (their sigv4, session cookie and CSRF pieces); none of them imports it.
FORBIDDEN_WEB_IMPORTS = (
    ("aws", "portal"),
    ("portal", "aws"),
    ("aws", "console"),
    ("portal", "console"),
    ("console", "aws"),
    ("aws", "eventsapi"),
    ("portal", "eventsapi"),
    ("console", "eventsapi"),
)
WEB_FRAMEWORKS = ("starlette", "uvicorn")
# Pure packages: functions of their arguments, no store, HTTP, AWS or third-party libraries (the server's
# core dependencies have no numpy). groundtruth holds the built-in task types and their consolidation.
PURE = ("groundtruth",)
# The one deliberate exception: semantic segmentation decodes and writes PNG masks, which needs Pillow and
# numpy. They are an optional extra (crowdloop[segmentation]), so only groundtruth/masks.py (its pixel work)
# may import them, and only inside its functions: the package must load without them (CreateLabelingJob
# refuses segmentation jobs then; tests/groundtruth/test_segmentation.py imports the package without them).
PURE_EXTRAS = {"groundtruth.masks": ("PIL", "numpy")}

# Edge modules allowed to import the store's statements anyway: none.
EDGE_EXCEPTIONS: set[str] = set()

TABLE_OWNERS = {
    "access_keys": "keys",
    "templates": "flows",
    "human_task_uis": "flows",
    "flow_definitions": "flows",
    "workforces": "workforce",
    "workteams": "workforce",
    "workteam_groups": "workforce",
    "workers": "workers",
    "worker_groups": "workers",
    "tags": "tags",
    "human_loops": "queue",
    "assignments": "queue",
    "portal_sessions": "sessions",
    "invitations": "invites",
    "sign_in_failures": "signin",
    "outbox": "outbox",
    "announcements": "announce",
    "flow_loop_counts": "stats",
    "flow_answer_hours": "stats",
    "flow_worker_stats": "stats",
    "flow_answer_times": "stats",
    "flow_insights": "insights",
    "flow_insight_claims": "insights",
    "console_sessions": "consoleauth",
    "console_links": "consoleauth",
    "events": "eventlog",
    "subscriptions": "subscriptions",
    "deliveries": "deliveries",
    "gold_items": "gold",
    "gold_assignments": "gold",
    "worker_flow_quality": "gold",
    # a package may own tables: its modules share them (the labeling job's steps each write their part)
    "labeling_jobs": "labeling",
    "labeling_objects": "labeling",
}
# Writes by a module other than the owner, each with the reason it is still there.
SHARED_WRITES = {
    ("output", "human_loops"): "marks output_written once the outbox writer has written the loop's document",
}
# Domain modules that read a table they do not own in statements of their own (joins, existence checks).
TABLE_READERS = {
    "flow_definitions": {
        "loops",
        "queue",
        "output",
        "tags",
        "workforce",
        "stats",
        "loopsearch",
        "quality",
        "gold",
        "labeling.release",
    },
    "human_task_uis": {"loops", "tags", "labeling.start"},
    "human_loops": {"loops", "output", "stats", "loopsearch", "labeling.collect", "labeling.release"},
    "assignments": {"output", "answers", "stats"},
    "workers": {"output", "invites", "sessions", "answers", "stats", "queue", "gold"},
    "workforces": {"tags"},
    "workteams": {"flows", "tags", "labeling.jobs"},
    "outbox": {"output"},
    "tags": {"quality", "labeling.jobs"},
    "labeling_jobs": {"tags"},
    "events": {"deliveries"},
    "deliveries": {"eventlog"},
}


@dataclass(frozen=True)
class Import:
    module: str  # the importing module
    target: str  # a module, or a module's attribute (`from a import b` -> "a.b")
    line: int


@dataclass(frozen=True)
class Module:
    name: str
    tree: ast.Module
    imports: tuple[Import, ...]


def module_name(root: Path, package: str, path: Path) -> str:
    parts = [package, *path.relative_to(root).with_suffix("").parts]
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(name: str, is_package: bool, tree: ast.Module) -> Iterator[Import]:
    """Every import of a module, relative ones resolved against the module's package."""
    here = name if is_package else name.rpartition(".")[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield Import(name, alias.name, node.lineno)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = here.split(".")[: len(here.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            yield Import(name, base, node.lineno)
            for alias in node.names:
                yield Import(name, f"{base}.{alias.name}", node.lineno)
        elif (
            isinstance(node, ast.Call)
            and (
                (isinstance(node.func, ast.Attribute) and node.func.attr == "import_module")
                or (isinstance(node.func, ast.Name) and node.func.id in ("import_module", "__import__"))
            )
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            yield Import(name, node.args[0].value, node.lineno)


def read_package(root: Path, package: str) -> dict[str, Module]:
    modules = {}
    for path in sorted(root.rglob("*.py")):
        name = module_name(root, package, path)
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        modules[name] = Module(name, tree, tuple(imports_of(name, path.name == "__init__.py", tree)))
    return modules


def within(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


def layer_violations(modules: dict[str, Module], package: str, edge_exceptions: set[str]) -> list[str]:
    """Every import that breaks a layering rule, as "module:line imports target (rule)"."""

    def full(names: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(f"{package}.{n}" for n in names)

    edges, statements, web, store = full(EDGES), full(STORE_STATEMENTS), full(WEB), f"{package}.store"
    pure = full(PURE)
    found: dict[tuple[str, int, str], str] = {}  # one report per import statement and rule
    for module in modules.values():
        name = module.name
        is_edge = any(within(name, e) for e in edges)
        for imp in module.imports:
            rule = None
            if is_edge and name not in edge_exceptions and any(within(imp.target, s) for s in statements):
                rule = "an edge module calls domain functions, never the store's statements"
            elif within(name, store):
                ours = within(imp.target, package) and imp.target != package  # `from crowdloop import x` names x
                if ours and not (within(imp.target, store) or within(imp.target, f"{package}.errors")):
                    rule = "store/ imports only itself and errors"
            elif home := next((p for p in pure if within(name, p)), None):
                ours = within(imp.target, package)
                allowed = (home, f"{package}.errors")
                extras = PURE_EXTRAS.get(name.removeprefix(package + "."), ())
                top = imp.target.partition(".")[0]
                if (ours and imp.target != package and not any(within(imp.target, a) for a in allowed)) or (
                    not ours and top not in sys.stdlib_module_names and top not in extras
                ):
                    rule = f"{home.removeprefix(package + '.')}/ imports only itself, errors and the standard library"
            elif not is_edge and any(within(imp.target, w) for w in (*web, *WEB_FRAMEWORKS)):
                rule = "the domain never imports aws, portal or the web framework"
            for side, other in FORBIDDEN_WEB_IMPORTS:
                if within(name, f"{package}.{side}") and within(imp.target, f"{package}.{other}"):
                    rule = f"{side} never imports {other}"
            if rule:
                found.setdefault((name, imp.line, rule), f"{name}:{imp.line} imports {imp.target} ({rule})")
    return sorted(found.values())


def table_names(modules: dict[str, Module], package: str) -> set[str]:
    tables = modules[f"{package}.store.tables"].tree
    return {
        target.id
        for node in tables.body
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Call)
        for target in node.targets
        if isinstance(target, ast.Name)
        and isinstance(node.value.func, ast.Attribute | ast.Name)
        and getattr(node.value.func, "attr", getattr(node.value.func, "id", None)) == "Table"
    }


def table_uses(module: Module, package: str, tables: set[str]) -> tuple[dict[str, set[str]], list[str]]:
    """(table -> "read"/"write" uses, problems): the tables a module imports by name and what it does with
    them. Importing the tables module itself hides which tables it uses, so that is a problem."""
    source = f"{package}.store.tables"
    aliases: dict[str, str] = {}  # local name -> table
    problems = []
    for node in ast.walk(module.tree):
        if isinstance(node, ast.ImportFrom) and node.module == source:
            for alias in node.names:
                if alias.name in tables:
                    aliases[alias.asname or alias.name] = alias.name
        elif (isinstance(node, ast.Import) and any(a.name == source for a in node.names)) or (
            isinstance(node, ast.ImportFrom)
            and node.module == f"{package}.store"
            and any(a.name == "tables" for a in node.names)
        ):
            problems.append(f"{module.name}:{node.lineno} imports the tables module; import the tables by name")
    changed = True
    while changed:  # a, h = assignments, human_loops  /  s = portal_sessions
        changed = False
        for node in ast.walk(module.tree):
            if isinstance(node, ast.Assign):
                pairs = []
                for target in node.targets:
                    if isinstance(target, ast.Tuple) and isinstance(node.value, ast.Tuple):
                        pairs += list(zip(target.elts, node.value.elts, strict=False))
                    else:
                        pairs.append((target, node.value))
                for target, value in pairs:
                    named = isinstance(target, ast.Name) and isinstance(value, ast.Name)
                    if named and value.id in aliases and target.id not in aliases:
                        aliases[target.id] = aliases[value.id]
                        changed = True
    uses: dict[str, set[str]] = {table: {"read"} for table in aliases.values()}
    for node in ast.walk(module.tree):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in ("insert", "update", "delete")
            and isinstance(node.func.value, ast.Name)
            and node.func.value.id in aliases
        ):
            uses[aliases[node.func.value.id]].add("write")
    return uses, problems


@dataclass(frozen=True)
class Owners:
    owners: dict[str, str]  # table -> owning module (without the package prefix)
    readers: dict[str, set[str]]
    shared_writes: dict[tuple[str, str], str]
    exceptions: set[str]


OWNERS = Owners(TABLE_OWNERS, TABLE_READERS, SHARED_WRITES, EDGE_EXCEPTIONS)


def _owned_by(module: str, owner: str | None) -> bool:
    """Whether `module` (a short name) is the owner, or a module of the owning package."""
    return owner is not None and (module == owner or module.startswith(owner + "."))


def ownership_violations(modules: dict[str, Module], package: str, rules: Owners) -> list[str]:
    tables = table_names(modules, package)
    found = [f"table {t} has no owner in TABLE_OWNERS" for t in sorted(tables - set(rules.owners))]
    store = f"{package}.store"
    for module in modules.values():
        if within(module.name, store) or module.name in rules.exceptions:
            continue
        short = module.name.removeprefix(package + ".")
        uses, problems = table_uses(module, package, tables)
        found += problems
        for table, kinds in sorted(uses.items()):
            if _owned_by(short, rules.owners.get(table)) or (short, table) in rules.shared_writes:
                continue
            if "write" in kinds:
                found.append(f"{module.name} writes {table}, owned by {package}.{rules.owners.get(table)}")
            elif short not in rules.readers.get(table, set()):
                found.append(f"{module.name} reads {table} but is not among its TABLE_READERS")
    return found


# --- the package ----------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def modules() -> dict[str, Module]:
    return read_package(ROOT, PACKAGE)


def test_the_layers_hold(modules: dict[str, Module]) -> None:
    assert layer_violations(modules, PACKAGE, EDGE_EXCEPTIONS) == []


def test_the_client_speaks_only_the_aws_apis(modules: dict[str, Module]) -> None:
    """crowdloop.client works against AWS itself: of crowdloop it uses only itself and the export (whose
    S3 source reads output.json files), never the store or the domain modules."""
    allowed = ("crowdloop.client", "crowdloop.export")
    found = [
        f"{m.name}:{imp.line} imports {imp.target}"
        for m in modules.values()
        if within(m.name, "crowdloop.client")
        for imp in m.imports
        if within(imp.target, "crowdloop")
        and imp.target != "crowdloop"
        and not any(within(imp.target, a) for a in allowed)
    ]
    assert found == []


def test_each_table_has_one_owner(modules: dict[str, Module]) -> None:
    assert ownership_violations(modules, PACKAGE, OWNERS) == []


def test_the_lists_name_real_modules_and_tables(modules: dict[str, Module]) -> None:
    """TABLE_OWNERS names every table; each listed reader or shared writer still uses the table (the lists
    and docs/architecture.md's table do not drift)."""
    tables = table_names(modules, PACKAGE)
    assert set(TABLE_OWNERS) == tables
    used = {
        (name.removeprefix(PACKAGE + "."), table)
        for name, module in modules.items()
        for table in table_uses(module, PACKAGE, tables)[0]
    }
    listed = {(reader, table) for table, readers in TABLE_READERS.items() for reader in readers}
    assert listed - used == set()
    assert set(SHARED_WRITES) - used == set()
    owners_using = {(owner, table) for name, table in used if _owned_by(name, owner := TABLE_OWNERS.get(table))}
    assert {(owner, table) for table, owner in TABLE_OWNERS.items()} - owners_using == set()
    assert set(modules) >= EDGE_EXCEPTIONS


# --- the checker, on a small package that breaks every rule -----------------------------------------------


def _write(root: Path, files: dict[str, str]) -> None:
    for path, text in files.items():
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_text(text, encoding="utf-8")


def test_the_checker_finds_each_kind_of_violation(tmp_path: Path) -> None:
    root = tmp_path / "crowdloop"
    _write(
        root,
        {
            "__init__.py": "",
            "errors.py": "",
            "store/__init__.py": "",
            "store/tables.py": "import sqlalchemy as sa\nthings = sa.Table('things')\nstuff = sa.Table('stuff')\n",
            "store/engine.py": "from crowdloop import queue\n",
            "portal/__init__.py": "",
            "portal/view.py": "def page():\n    from ..store.tables import things\n    return things\n",
            "portal/peek.py": "from crowdloop.aws import wire\n",
            "aws/__init__.py": "",
            "aws/wire.py": "import importlib\nimportlib.import_module('crowdloop.store.dialect')\n",
            "queue.py": (
                "from crowdloop.store.tables import things\n"
                "def f():\n    import starlette.requests\n    t = things\n    return t.delete()\n"
            ),
            "export/__init__.py": "",
            "export/sources.py": "from crowdloop.store.tables import things\n",
            "groundtruth/__init__.py": "",
            "groundtruth/boxes.py": (
                "from __future__ import annotations\nimport json\nfrom crowdloop.errors import InvalidInput\n"
                "from crowdloop.groundtruth import spans\nfrom . import spans\nimport numpy\n"
                "from crowdloop import queue\n"
            ),
            "groundtruth/masks.py": "def f():\n    import numpy\n    from PIL import Image\n    import scipy\n",
        },
    )
    modules = read_package(root, "crowdloop")
    assert modules["crowdloop.portal.view"].imports[0].target == "crowdloop.store.tables"
    edge_rule = " (an edge module calls domain functions, never the store's statements)"
    pure_rule = " (groundtruth/ imports only itself, errors and the standard library)"
    expected = [
        "crowdloop.aws.wire:2 imports crowdloop.store.dialect" + edge_rule,
        "crowdloop.groundtruth.boxes:6 imports numpy" + pure_rule,
        "crowdloop.groundtruth.boxes:7 imports crowdloop.queue" + pure_rule,
        "crowdloop.groundtruth.masks:4 imports scipy" + pure_rule,  # numpy and PIL are its extras
        "crowdloop.portal.peek:1 imports crowdloop.aws (portal never imports aws)",
        "crowdloop.portal.view:2 imports crowdloop.store.tables" + edge_rule,
        "crowdloop.queue:3 imports starlette.requests (the domain never imports aws, portal or the web framework)",
        "crowdloop.store.engine:1 imports crowdloop.queue (store/ imports only itself and errors)",
    ]
    assert layer_violations(modules, "crowdloop", {"crowdloop.export.sources"}) == expected
    assert layer_violations(modules, "crowdloop", set()) == sorted(
        [*expected, "crowdloop.export.sources:1 imports crowdloop.store.tables" + edge_rule]
    )


def test_the_checker_finds_writes_and_reads_by_other_modules(tmp_path: Path) -> None:
    root = tmp_path / "crowdloop"
    _write(
        root,
        {
            "__init__.py": "",
            "store/__init__.py": "",
            "store/tables.py": "import sqlalchemy as sa\nthings = sa.Table('things')\nstuff = sa.Table('stuff')\n",
            "things.py": "from crowdloop.store.tables import things\nthings.insert()\n",
            "stuff.py": "from crowdloop.store.tables import stuff as s\ns.update()\n",
            "queue.py": (
                "from crowdloop.store.tables import stuff, things\n"
                "def f():\n    t, u = things, stuff\n    return t.delete()\n"
            ),
            "report.py": "from crowdloop.store.tables import things\nfrom crowdloop.store import tables\n",
        },
    )
    modules = read_package(root, "crowdloop")
    tables = table_names(modules, "crowdloop")
    assert tables == {"things", "stuff"}
    assert table_uses(modules["crowdloop.queue"], "crowdloop", tables) == (
        {"things": {"read", "write"}, "stuff": {"read"}},
        [],
    )
    rules = Owners({"things": "things", "stuff": "stuff"}, {"things": {"report"}}, {}, set())
    assert ownership_violations(modules, "crowdloop", rules) == [
        "crowdloop.queue reads stuff but is not among its TABLE_READERS",
        "crowdloop.queue writes things, owned by crowdloop.things",
        "crowdloop.report:2 imports the tables module; import the tables by name",
    ]
    assert ownership_violations(modules, "crowdloop", Owners({"things": "things"}, {}, {}, set()))[0] == (
        "table stuff has no owner in TABLE_OWNERS"
    )
