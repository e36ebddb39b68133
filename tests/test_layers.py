"""The import graph keeps to the layers of engine/layers.py: no upward import, no circle.

Every module under engine/ (and cli.py, web/ when present) is parsed with ``ast``, so a
function-local (lazy) import counts like one at the top of the file.
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

from engine.layers import ORDER, layer_of, rank

ROOT = Path(__file__).resolve().parent.parent

#: Circles that another change of issue 16 removes: the clock moves to a ContextVar in engine/clock.py
#: (helper `proto`), after which sandbox no longer imports runtime.  Remove an entry once it is gone;
#: test_known_circles_are_gone then fails as a reminder while the entry stays.
def _module_files() -> dict[str, Path]:
    files = list((ROOT / "engine").rglob("*.py")) + [ROOT / "cli.py"]
    for package in ("web", "onetrip_client"):
        if (ROOT / package).is_dir():
            files += list((ROOT / package).rglob("*.py"))
    out = {}
    for path in files:
        parts = path.relative_to(ROOT).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = path
    return out


MODULES = _module_files()


def _imports(name: str, path: Path):
    """(imported module, line, lazy) for each import of another project module."""
    is_package = path.name == "__init__.py"
    package = name if is_package else name.rpartition(".")[0]
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    top = {id(n) for n in tree.body}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            candidates = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[:len(package.split(".")) - node.level + 1]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module
            candidates = [module] + [f"{module}.{a.name}" for a in node.names]
        else:
            continue
        for target in candidates:
            # the package a module belongs to is no dependency of its own (`from . import x` names it)
            if target in MODULES and target != name and not name.startswith(target + "."):
                yield target, node.lineno, id(node) not in top


GRAPH = {name: sorted(set(_imports(name, path))) for name, path in MODULES.items()}


def test_every_module_has_a_layer():
    missing = sorted(m for m in MODULES if layer_of(m) is None)
    assert not missing, f"add these modules to engine/layers.py MODULES: {missing}"


def test_no_import_goes_up_a_layer():
    wrong = []
    for name, edges in GRAPH.items():
        for target, line, lazy in edges:
            here, there = layer_of(name), layer_of(target)
            if here and there and rank(there) > rank(here):
                wrong.append(f"{MODULES[name].relative_to(ROOT)}:{line}: {name} ({here}) imports "
                             f"{target} ({there}){' inside a function' if lazy else ''}")
    assert not wrong, "imports from a lower layer to an upper one:\n" + "\n".join(wrong)


def _circles() -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan)."""
    succ = {n: sorted({t for t, _, _ in edges}) for n, edges in GRAPH.items()}
    index, low, stack, on, out = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in succ[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(succ):
        if v not in index:
            visit(v)
    return out


def test_no_import_circles():
    new = _circles()
    assert not new, "modules importing each other: " + "; ".join(" <-> ".join(c) for c in new)


def test_the_graph_is_read():
    """The checks see real edges, lazy ones included: a test that cannot fail proves nothing."""
    assert ORDER[0] == "base" and ORDER[-1] == "interface"
    assert "engine.errors" in {t for t, _, _ in GRAPH["cli"]}
    assert any(t == "engine.compiler" and lazy for t, _, lazy in GRAPH["engine.service._base"]), \
        "the service's lazy import of the compiler is an edge"
    assert "engine.errors" in {t for t, _, _ in GRAPH["engine.mining"]}


def test_analysis_needs_no_spiffworkflow():
    """Static analysis is model logic: choosing the process to analyse must not load the engine."""
    import subprocess
    import sys
    code = ("import sys, engine.analysis; "
            "print(sorted(m for m in sys.modules if m.startswith(('SpiffWorkflow', 'engine.compiler'))))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
