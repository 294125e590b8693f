#!/usr/bin/env python3
"""perfgate's import structure (docs/architecture.md): ``python scripts/check_layers.py``.

1. **No import cycle**: among the imports of ``src/perfgate`` — module-level or inside a
   function — no strongly connected component has more than one module (the package
   ``perfgate`` itself, the lazy public API, is left out).
2. **Layers point one way**: no import — module-level or inside a function — from a lower
   layer to a higher one:

       0 foundation  _errors, units, _timing, _net, _importer, _observe, _loops
       1 model       model, env
       2 analysis    analysis.*
       3 engines     bench.*, load.*, probes.*, faults.*, export.*;  store.*, report.* (read
                     the model and analysis only)
       4 specs       spec
       5 runner      runner
       6 entries     _api, suite, _pytest.*, pytest_plugin, gate.*
       7 cli         cli.*, __main__

   ``perfgate/__init__.py`` (the lazy public API) may name any module. Worker scripts that a
   fresh process runs as its main module (``WORKERS``) are entry points of layer 6. Within
   layer 3, store and report must not import an engine, and engines must not import store or report.

Exit status 0 when both hold; 1 with one line per problem otherwise. Uses the standard
library only, so it runs before anything is installed.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent / "src" / "perfgate"

LAYERS: list[tuple[int, tuple[str, ...]]] = [
    (0, ("_errors", "units", "_timing", "_net", "_importer", "_observe", "_loops")),
    (1, ("model", "env")),
    (2, ("analysis",)),
    (3, ("bench", "load", "probes", "faults", "export", "store", "report")),
    (4, ("spec",)),
    (5, ("runner",)),
    (6, ("_api", "suite", "_pytest", "pytest_plugin", "gate")),
    (7, ("cli", "__main__")),
]
READERS = ("store", "report")  # layer 3 packages that read the model only
# Scripts a fresh worker process runs as its main module: entry points of their own.
WORKERS = {"perfgate.bench._instr_worker": 6, "perfgate.gate._worker": 6}


def module_name(path: Path) -> str:
    rel = path.relative_to(ROOT.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def top(mod: str) -> str:
    parts = mod.split(".")
    return parts[1] if len(parts) > 1 else ""


def layer_of(mod: str) -> int | None:
    if mod in WORKERS:
        return WORKERS[mod]
    t = top(mod)
    for level, names in LAYERS:
        if t in names:
            return level
    return None


def imports(path: Path, mod: str) -> list[tuple[str, bool, int]]:
    """(imported perfgate module, at module level?, line) for every import in the file."""
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    package = mod if path.name == "__init__.py" else mod.rpartition(".")[0]
    found: list[tuple[str, bool, int]] = []

    def visit(node: ast.AST, top_level: bool, guarded: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and "TYPE_CHECKING" in ast.unparse(child.test):
                continue  # typing-only imports run nothing
            inner = top_level and not isinstance(
                child, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda)
            if isinstance(child, ast.Import):
                for a in child.names:
                    if a.name.startswith("perfgate"):
                        found.append((a.name, top_level, child.lineno))
            elif isinstance(child, ast.ImportFrom):
                base = child.module or ""
                if child.level:
                    base = ".".join(package.split(".")[: len(package.split(".")) - child.level + 1]
                                    + ([base] if base else []))
                if base.startswith("perfgate"):
                    for a in child.names:
                        sub = f"{base}.{a.name}"
                        found.append((sub if (ROOT.parent / sub.replace(".", "/")).exists()
                                      or (ROOT.parent / (sub.replace(".", "/") + ".py")).exists()
                                      else base, top_level, child.lineno))
            visit(child, inner, guarded)

    visit(tree, True, False)
    return found


def main() -> int:
    global ROOT
    if len(sys.argv) > 1:  # another tree laid out like src/perfgate (the tests use one)
        ROOT = Path(sys.argv[1]).resolve()
    files = sorted(ROOT.rglob("*.py"))
    mods = {module_name(f): f for f in files}
    graph: dict[str, set[str]] = {m: set() for m in mods}
    problems: list[str] = []
    for mod, path in mods.items():
        for name, _top_level, line in imports(path, mod):
            target = name
            if target not in mods and target.rpartition(".")[0] in mods:
                target = target.rpartition(".")[0]
            if target == mod or target not in mods or "perfgate" in (mod, target):
                continue
            graph[mod].add(target)  # lazy imports too: a cycle through them is a tangle
            if mod == "perfgate":
                continue
            lo, hi = layer_of(mod), layer_of(target)
            where = f"{path.relative_to(ROOT.parent)}:{line}"
            if lo is None:
                problems.append(f"{where}: {mod} belongs to no layer (add it in {__file__})")
                continue
            if hi is not None and hi > lo:
                problems.append(f"{where}: {mod} (layer {lo}) imports {target} (layer {hi})")
            elif hi == lo == 3 and (top(mod) in READERS) != (top(target) in READERS):
                problems.append(f"{where}: {mod} imports {target}: store and report read the "
                                "model only, engines do not write reports")
    problems.extend(f"import cycle: {' → '.join(c)}" for c in cycles(graph))
    for p in problems:
        print(p)
    print(f"{len(mods)} modules: {'OK' if not problems else f'{len(problems)} problem(s)'}")
    return 1 if problems else 0


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[list[str]] = []
    counter = 0
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on.add(root)
        while work:
            v, it = work[-1]
            w = next(it, None)
            if w is not None:
                if w not in index:
                    index[w] = low[w] = counter
                    counter += 1
                    stack.append(w)
                    on.add(w)
                    work.append((w, iter(sorted(graph.get(w, ())))))
                elif w in on:
                    low[v] = min(low[v], index[w])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[v])
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
    return out


if __name__ == "__main__":
    sys.exit(main())
