"""The layout's rules, checked on the code (STYLE.md, "The shape we want"):

- an engine (``<app>/engine.py`` or ``<app>/engine/``) imports no Django, directly or through what it imports;
- nothing outside the GraphQL layer (``config``, ``api`` and the apps' schema modules) imports a schema module;
- catalog does not import behavior; behavior imports neither the ML apps nor analytics (it announces
  stored events through ``behavior.hooks`` instead);
- no app imports another app's private (``_name``) modules or names;
- no module outside migrations is over 600 lines and no function over 80, except the allowlisted ones
  (SQL text or data tables, each with its reason).

The import rules read grimp's import graph (grimp is import-linter's engine; ``.importlinter`` states
the same arrows for ``lint-imports``). The harnesses (``tests``, ``bench``) are not the service and may
import anything. Every rule is also run on a small synthetic project, clean and then with one
deliberate violation, so a rule that can no longer fail is noticed.
"""

from __future__ import annotations

import ast
import os
import shutil
import subprocess
import sys
from collections import deque
from dataclasses import dataclass
from pathlib import Path

import grimp
import pytest

ROOT = Path(__file__).resolve().parents[1]
HARNESSES = {"tests", "bench"}
MAX_MODULE_LINES = 600
MAX_FUNCTION_LINES = 80
# "path::qualified.function": why it may be longer. Only SQL text or data tables belong here.
LONG_FUNCTIONS_ALLOWED: dict[str, str] = {}


@dataclass(frozen=True)
class Apps:
    """The names the rules speak of (the synthetic project uses prefixed ones)."""

    catalog: str = "catalog"
    behavior: str = "behavior"
    analytics: str = "analytics"
    ml: tuple[str, ...] = ("recommender", "segments", "forecasting", "campaigns")
    graphql: tuple[str, ...] = ("config", "api")  # packages that are all GraphQL layer, with <app>.schema
    config: str = "config"


# --- reading the code ------------------------------------------------------------------------------


def project_packages(root: Path) -> list[str]:
    return sorted(p.parent.name for p in root.glob("*/__init__.py")
                  if p.parent.name not in HARNESSES and not p.parent.name.startswith("."))


def import_graph(packages: list[str]) -> grimp.ImportGraph:
    return grimp.build_graph(*packages, include_external_packages=True, cache_dir=None)


def python_files(root: Path, packages: list[str] | None = None):
    """(path relative to root, source) of every module, migrations excepted; only ``packages`` when given."""
    tops = [root / p for p in packages] if packages is not None else [root]
    for top in tops:
        for folder, dirs, files in os.walk(top):
            dirs[:] = sorted(d for d in dirs if not d.startswith((".", "__pycache__")) and d != "migrations"
                             and not (Path(folder) / d).is_symlink())
            for name in sorted(files):
                if name.endswith(".py"):
                    path = Path(folder) / name
                    yield path.relative_to(root).as_posix(), path.read_text(encoding="utf-8")


def _top(module: str) -> str:
    return module.split(".")[0]


def _is_schema(module: str) -> bool:
    """An app's schema module, or a module of an app's schema package."""
    return "schema" in module.split(".")[1:]


def _in_graphql_layer(module: str, apps: Apps) -> bool:
    return _top(module) in apps.graphql or _is_schema(module)


def _reachable(graph: grimp.ImportGraph, start: str, *, through=lambda module: True) -> dict[str, str | None]:
    """Every module ``start`` imports, directly or not, nearest first, each with the module it was reached
    from (breadth first, so each chain is a shortest one); the search goes on from a module only when
    ``through(module)``."""
    parent: dict[str, str | None] = {start: None}
    todo = deque([start])
    while todo:
        module = todo.popleft()
        if module != start and not through(module):
            continue
        for imported in sorted(graph.find_modules_directly_imported_by(module)):
            if imported not in parent:
                parent[imported] = module
                todo.append(imported)
    return parent


def _nearest(parent: dict[str, str | None], violates) -> list[str]:
    """The chain to the nearest module that ``violates``, or nothing."""
    for module in parent:  # in the order reached
        if parent[module] is not None and violates(module):
            chain = [module]
            while parent[chain[-1]] is not None:
                chain.append(parent[chain[-1]])
            return [" -> ".join(reversed(chain))]
    return []


def _internal(graph: grimp.ImportGraph, packages: list[str]) -> list[str]:
    return sorted(m for m in graph.modules if _top(m) in packages)


# --- the rules (each returns its violations, one line each) -----------------------------------------


def engines_importing_django(graph: grimp.ImportGraph, packages: list[str]) -> list[str]:
    engines = [m for m in _internal(graph, packages) if "engine" in m.split(".")[1:2]]
    found = []
    for engine in engines:
        found += _nearest(_reachable(graph, engine), lambda m: _top(m) == "django")
    return found


def schema_imports_outside_graphql(graph: grimp.ImportGraph, packages: list[str], apps: Apps) -> list[str]:
    graphql_only = set(apps.graphql) - {apps.config}  # config also holds settings and Celery, which anyone may use
    found = []
    for module in _internal(graph, packages):
        if _in_graphql_layer(module, apps):
            continue
        chains = _nearest(_reachable(graph, module), lambda m: _is_schema(m) or _top(m) in graphql_only
                          or m in (f"{apps.config}.schema", f"{apps.config}.urls"))
        # Reported where the chain enters the GraphQL layer, not again by every module importing this one.
        found += [c for c in chains if _in_graphql_layer(c.split(" -> ")[1], apps)]
    return found


def forbidden_arrows(graph: grimp.ImportGraph, packages: list[str], source: str, forbidden: set[str],
                     apps: Apps) -> list[str]:
    """Modules of ``source`` that import one of ``forbidden``'s, directly or through other apps' modules
    (not through the GraphQL packages, which assemble every app by design)."""
    found = []
    for module in (m for m in _internal(graph, packages) if _top(m) == source):
        chains = _nearest(_reachable(graph, module, through=lambda m: _top(m) not in apps.graphql),
                          lambda m: _top(m) in forbidden)
        # Reported where the chain leaves ``source``, not again by every module of it importing this one.
        found += [c for c in chains if _top(c.split(" -> ")[1]) != source]
    return found


def private_names_across_apps(root: Path, packages: list[str]) -> list[str]:
    found = []
    for path, source in python_files(root, packages):
        app = path.split("/")[0]
        tree = ast.parse(source)
        other_modules: dict[str, str] = {}  # local name -> another app's module
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    if _top(alias.name) in packages and _top(alias.name) != app:
                        found += _private_path(path, node, alias.name)
                        other_modules[alias.asname or alias.name] = alias.name
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                if _top(node.module) not in packages or _top(node.module) == app:
                    continue
                found += _private_path(path, node, node.module)
                for alias in node.names:
                    if _private(alias.name):
                        found.append(f"{path}:{node.lineno}: {node.module}.{alias.name}")
                    if _is_module(root, f"{node.module}.{alias.name}"):  # a class's _meta is Django's API
                        other_modules[alias.asname or alias.name] = f"{node.module}.{alias.name}"
        for node in ast.walk(tree):
            if (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)
                    and node.value.id in other_modules and _private(node.attr)):
                found.append(f"{path}:{node.lineno}: {other_modules[node.value.id]}.{node.attr}")
    return found


def _is_module(root: Path, dotted: str) -> bool:
    path = root.joinpath(*dotted.split("."))
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


def _private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def _private_path(path: str, node: ast.AST, module: str) -> list[str]:
    return [f"{path}:{node.lineno}: {module}"] if any(_private(part) for part in module.split(".")) else []


def oversized(root: Path, allowed: dict[str, str]) -> list[str]:
    found = []
    for path, source in python_files(root):
        lines = source.count("\n")
        if lines > MAX_MODULE_LINES:
            found.append(f"{path}: {lines} lines (at most {MAX_MODULE_LINES})")
        for name, length in _function_lengths(ast.parse(source)):
            if length > MAX_FUNCTION_LINES and f"{path}::{name}" not in allowed:
                found.append(f"{path}::{name}: {length} lines (at most {MAX_FUNCTION_LINES})")
    return found


def _function_lengths(tree: ast.AST, prefix: str = ""):
    """(qualified name, lines from ``def`` to its last line) of every function, nested ones too."""
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            yield prefix + node.name, node.end_lineno - node.lineno + 1
            yield from _function_lengths(node, f"{prefix}{node.name}.")
        elif isinstance(node, ast.ClassDef):
            yield from _function_lengths(node, f"{prefix}{node.name}.")
        else:
            yield from _function_lengths(node, prefix)


# --- on the project ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def project():
    packages = project_packages(ROOT)
    return packages, import_graph(packages)


def test_engines_do_not_import_django(project):
    assert engines_importing_django(project[1], project[0]) == []


def test_nothing_outside_the_graphql_layer_imports_a_schema(project):
    assert schema_imports_outside_graphql(project[1], project[0], Apps()) == []


def test_catalog_does_not_import_behavior(project):
    apps = Apps()
    assert forbidden_arrows(project[1], project[0], apps.catalog, {apps.behavior}, apps) == []


def test_behavior_imports_neither_the_ml_apps_nor_analytics(project):
    apps = Apps()
    assert forbidden_arrows(project[1], project[0], apps.behavior, {*apps.ml, apps.analytics}, apps) == []


def test_no_app_imports_another_apps_private_names(project):
    assert private_names_across_apps(ROOT, project[0]) == []


def test_modules_and_functions_stay_small():
    assert oversized(ROOT, LONG_FUNCTIONS_ALLOWED) == []


def test_the_allowlist_names_only_functions_that_exist():
    known = {f"{path}::{name}" for path, source in python_files(ROOT) for name, _ in _function_lengths(ast.parse(source))}
    assert set(LONG_FUNCTIONS_ALLOWED) <= known


@pytest.mark.skipif(shutil.which("lint-imports", path=str(Path(sys.executable).parent)) is None,
                    reason="import-linter is not installed")
def test_the_import_linter_contracts_hold():
    # The same arrows as above, as `lint-imports` checks them (.importlinter at the repository root).
    run = subprocess.run([str(Path(sys.executable).parent / "lint-imports"), "--no-cache"], cwd=ROOT,
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]


# --- the rules can fail: a synthetic project, clean, then with one violation at a time ----------------

FIXTURE = Apps(catalog="fx_catalog", behavior="fx_behavior", analytics="fx_analytics",
               ml=("fx_recommender",), graphql=("fx_config", "fx_api"), config="fx_config")
CLEAN = {
    "fx_catalog/models.py": "import django.db\n",
    "fx_catalog/services.py": "from batching_fx import chunks\nfrom fx_catalog.models import django\n",
    "fx_catalog/schema.py": "from fx_catalog.services import chunks\nfrom fx_api import errors\n",
    "fx_behavior/services.py": "from fx_catalog.services import chunks\n",
    "fx_behavior/schema.py": "from fx_catalog.schema import chunks\nfrom fx_behavior.services import chunks\n",
    "fx_analytics/services.py": "from fx_behavior.services import chunks\n",
    "fx_recommender/engine.py": "import numpy\nfrom fx_recommender import maths\n",
    "fx_recommender/maths.py": "import numpy\n",
    "fx_recommender/services.py": "import django\nfrom fx_recommender.engine import numpy\n",
    "fx_api/errors.py": "import strawberry\n",
    "fx_config/schema.py": "from fx_catalog.schema import chunks\nfrom fx_behavior.schema import chunks\n",
    "fx_config/urls.py": "from fx_config.schema import chunks\n",
    "fx_config/celery.py": "import celery\n",
    "batching_fx/__init__.py": "def chunks(values):\n    return [values]\n",
}
PACKAGES = ["batching_fx", "fx_analytics", "fx_api", "fx_behavior", "fx_catalog", "fx_config", "fx_recommender"]


def _synthetic(tmp_path: Path, monkeypatch, changes: dict[str, str | None]) -> grimp.ImportGraph:
    for name, text in {**CLEAN, **changes}.items():
        if text is None:  # left out
            continue
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        (path.parent / "__init__.py").touch()
        path.write_text(text)
    monkeypatch.syspath_prepend(str(tmp_path))
    return import_graph(PACKAGES)


def _all_rules(tmp_path: Path, graph: grimp.ImportGraph) -> list[str]:
    apps = FIXTURE
    return (engines_importing_django(graph, PACKAGES) + schema_imports_outside_graphql(graph, PACKAGES, apps)
            + forbidden_arrows(graph, PACKAGES, apps.catalog, {apps.behavior}, apps)
            + forbidden_arrows(graph, PACKAGES, apps.behavior, {*apps.ml, apps.analytics}, apps)
            + private_names_across_apps(tmp_path, PACKAGES) + oversized(tmp_path, {}))


def test_the_clean_synthetic_project_breaks_no_rule(tmp_path, monkeypatch):
    assert _all_rules(tmp_path, _synthetic(tmp_path, monkeypatch, {})) == []


def test_an_engine_importing_django_through_a_helper_is_caught(tmp_path, monkeypatch):
    graph = _synthetic(tmp_path, monkeypatch, {"fx_recommender/maths.py": "from django.conf import settings\n"})
    assert engines_importing_django(graph, PACKAGES) == [
        "fx_recommender.engine -> fx_recommender.maths -> django"]


def test_an_engine_package_importing_django_is_caught(tmp_path, monkeypatch):
    graph = _synthetic(tmp_path, monkeypatch, {"fx_recommender/engine/fit.py": "import django\n",
                                               "fx_recommender/engine.py": None})
    assert engines_importing_django(graph, PACKAGES) == ["fx_recommender.engine.fit -> django"]


def test_a_service_importing_a_schema_directly_or_through_the_urls_is_caught(tmp_path, monkeypatch):
    graph = _synthetic(tmp_path, monkeypatch, {
        "fx_catalog/services.py": "from fx_catalog import schema\n",
        "fx_analytics/services.py": "def later():\n    import fx_config.urls\n",
        "fx_behavior/services.py": "from fx_api.errors import strawberry\n",
    })
    assert schema_imports_outside_graphql(graph, PACKAGES, FIXTURE) == [
        "fx_analytics.services -> fx_config.urls",
        "fx_behavior.services -> fx_api.errors",
        "fx_catalog.services -> fx_catalog.schema",
    ]


def test_catalog_importing_behavior_is_caught(tmp_path, monkeypatch):
    graph = _synthetic(tmp_path, monkeypatch, {"fx_catalog/models.py": "from fx_behavior import services\n"})
    assert forbidden_arrows(graph, PACKAGES, "fx_catalog", {"fx_behavior"}, FIXTURE) == [
        "fx_catalog.models -> fx_behavior.services"]


def test_behavior_importing_analytics_inside_a_function_is_caught(tmp_path, monkeypatch):
    graph = _synthetic(tmp_path, monkeypatch, {
        "fx_behavior/services.py": "def stored():\n    from fx_analytics.services import chunks\n"})
    assert forbidden_arrows(graph, PACKAGES, "fx_behavior", {"fx_recommender", "fx_analytics"}, FIXTURE) == [
        "fx_behavior.services -> fx_analytics.services"]


def test_behavior_importing_an_ml_app_from_its_schema_is_caught(tmp_path, monkeypatch):
    graph = _synthetic(tmp_path, monkeypatch, {"fx_behavior/schema.py": "import fx_recommender.services\n"})
    assert forbidden_arrows(graph, PACKAGES, "fx_behavior", {"fx_recommender", "fx_analytics"}, FIXTURE) == [
        "fx_behavior.schema -> fx_recommender.services"]


def test_private_names_of_another_app_are_caught(tmp_path, monkeypatch):
    _synthetic(tmp_path, monkeypatch, {
        "fx_catalog/services.py": "def _text():\n    pass\n",
        "fx_catalog/_helpers.py": "",
        "fx_behavior/services.py": ("from fx_catalog.services import _text\nfrom fx_catalog import services\n"
                                    "import fx_catalog._helpers\nservices._text()\n"),
        "fx_catalog/selectors.py": "from fx_catalog.services import _text\n",  # its own app: allowed
    })
    assert private_names_across_apps(tmp_path, PACKAGES) == [
        "fx_behavior/services.py:1: fx_catalog.services._text",
        "fx_behavior/services.py:3: fx_catalog._helpers",
        "fx_behavior/services.py:4: fx_catalog.services._text",
    ]


def test_long_modules_and_functions_are_caught_unless_allowlisted(tmp_path, monkeypatch):
    body = "".join(f"    x{i} = {i}\n" for i in range(80))
    _synthetic(tmp_path, monkeypatch, {
        "fx_catalog/services.py": "x = 0\n" * 601,
        "fx_behavior/services.py": f"def long():\n{body}\n\nclass Rows:\n    def sql(self):\n{body.replace('    ', '        ')}",
        "fx_catalog/migrations/0001_initial.py": "x = 0\n" * 700,
    })
    assert oversized(tmp_path, {}) == [
        "fx_behavior/services.py::long: 81 lines (at most 80)",
        "fx_behavior/services.py::Rows.sql: 81 lines (at most 80)",
        "fx_catalog/services.py: 601 lines (at most 600)",
    ]
    assert oversized(tmp_path, {"fx_behavior/services.py::long": "SQL", "fx_behavior/services.py::Rows.sql": "a table"}) \
        == ["fx_catalog/services.py: 601 lines (at most 600)"]
