"""The package's layout rules, checked on its source: no import cycle among the modules of
``python/qopt`` (function-level imports included), and no private name of one module used
by another. Read with :mod:`ast`, so nothing is imported."""
from __future__ import annotations

import ast
import pathlib

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2] / "python" / "qopt"
# The compiled core and the version string are private modules by convention of their
# kind (a pybind11 extension, a generated version); protoc's output is generated.
ALLOWED_PRIVATE_MODULES = {"qopt._core", "qopt._version"}


def _modules() -> dict[str, pathlib.Path]:
    out = {}
    for path in ROOT.rglob("*.py"):
        rel = path.relative_to(ROOT.parent).with_suffix("")
        parts = list(rel.parts)
        if parts[1:2] == ["v1"]:
            continue
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = path
    return out


MODULES = _modules()


def _resolve(module: str, node: ast.ImportFrom) -> str:
    if node.level == 0:
        return node.module or ""
    base = module.split(".")
    if not MODULES[module].name == "__init__.py":
        base = base[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def _imports(module: str) -> list[tuple[str, str | None, int]]:
    """(imported module, imported name or None, line) for every import in ``module``."""
    tree = ast.parse(MODULES[module].read_text())
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out.extend((alias.name, None, node.lineno) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            target = _resolve(module, node)
            for alias in node.names:
                sub = f"{target}.{alias.name}"
                if sub in MODULES:  # "from qopt.solve import bqm": the submodule
                    out.append((sub, None, node.lineno))
                else:
                    out.append((target, alias.name, node.lineno))
    return [(m, n, line) for m, n, line in out if m == "qopt" or m.startswith("qopt.")]


def _owner(name: str) -> str | None:
    """The module of ours ``name`` refers to (a package's submodule counts as itself)."""
    while name and name not in MODULES:
        name = name.rpartition(".")[0]
    return name or None


GRAPH = {m: sorted({o for t, _, _ in _imports(m) if (o := _owner(t)) and o != m}) for m in MODULES}


def test_the_walk_sees_the_package():
    assert {"qopt", "qopt.solve", "qopt.solve.bqm", "qopt.errors", "qopt.service.servicer"} <= set(MODULES)
    assert "qopt.solve.bqm" in GRAPH["qopt.solve"]


def test_no_import_cycles():
    """Tarjan's strongly connected components over every import, function-level ones too.
    A package importing its own submodules (``qopt.solve`` -> ``qopt.solve.bqm``) is not a
    cycle unless a submodule imports something that imports the package back through
    another module; an edge to a parent package is left out, since importing
    ``qopt.x.y`` runs ``qopt.x/__init__`` first whatever the importer wrote."""
    def is_parent(a: str, b: str) -> bool:
        return a.startswith(b + ".")

    graph = {m: [t for t in ts if not is_parent(m, t)] for m, ts in GRAPH.items()}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                cycles.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    assert cycles == [], f"import cycles: {cycles}"


@pytest.mark.parametrize("module", sorted(MODULES))
def test_no_private_names_across_modules(module):
    bad = []
    for target, name, line in _imports(module):
        owner = _owner(target)
        if owner is None or owner == module:
            continue
        private_module = any(part.startswith("_") and not part.startswith("__") for part in target.split("."))
        if private_module and target not in ALLOWED_PRIVATE_MODULES:
            bad.append(f"line {line}: module {target}")
        if name is not None and name.startswith("_") and not name.startswith("__") \
                and f"{target}.{name}" not in ALLOWED_PRIVATE_MODULES:
            bad.append(f"line {line}: {target}.{name}")
    assert bad == [], f"{module} uses private names of other modules: {bad}"
