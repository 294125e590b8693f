"""The decorator API for suite files, and their discovery.

A suite file is any ``perf_*.py`` or ``*_perf.py``; ``perfgate run PATH`` imports it and runs
every function decorated with :func:`bench`, :func:`burst_case` or :func:`parallel_case`, in
file order::

    import perfgate as pg

    @pg.bench(checks=["median < 2ms", "alloc_bytes <= 1MB"])
    def parse_small():
        parse(SMALL)

    @pg.bench(setup=lambda: list(range(10_000)), checks=["p(95) < 1ms"])
    def sort_list(data):          # the setup's return value, built once, untimed
        sorted(data)

    @pg.burst(n=10, checks=["count(ok) == 1", "count(Conflict) == 9"])
    def swap_shift():
        book.swap(shift=1)

Checks are parsed when the file is imported, so a malformed one stops the run before
anything is measured.
"""

from __future__ import annotations

import importlib.util
import re
import sys
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal, TypeVar

from perfgate._errors import TargetError, UsageError
from perfgate.analysis.checks import Check, parse_checks, validate_units
from perfgate.bench._engine import BenchOptions

__all__ = [
    "Spec",
    "attach",
    "bench",
    "burst_case",
    "discover",
    "keyword_match",
    "parallel_case",
    "parsed_checks",
    "specs_in",
]

F = TypeVar("F", bound=Callable[..., Any])
SpecKind = str  # "bench", "burst", "parallel"; other kinds bring their own ``execute``


@dataclass(frozen=True)
class Spec:
    """One runnable case collected from a suite file."""

    name: str
    fn: Callable[..., Any]
    kind: SpecKind
    checks: tuple[Check, ...] = ()
    setup: Callable[[], Any] | None = None
    options: BenchOptions = field(default_factory=BenchOptions)
    n: int = 10  # burst size
    workers: int = 2  # parallel
    mode: Literal["thread", "process"] = "thread"
    source: str = ""  # file the spec came from
    # Kinds defined outside this module (sweeps, load scenarios) run through this hook:
    # execute(spec, listener) -> Result. Checks are still applied by the runner.
    execute: Callable[[Spec, Any], Any] | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def nodeid(self) -> str:
        return f"{self.source}::{self.name}" if self.source else self.name


def parsed_checks(checks: Iterable[str], kind: str) -> tuple[Check, ...]:
    """Parse and unit-check a case's checks at decoration time (before anything runs)."""
    parsed = tuple(parse_checks(checks))
    for c in parsed:
        validate_units(c, kind)
    return parsed


def attach(fn: F, spec: Spec) -> F:
    """Attach a spec to a function so that :func:`discover` collects it."""
    specs: list[Spec] = list(getattr(fn, "__perfgate__", ()))
    specs.append(spec)
    fn.__perfgate__ = tuple(specs)  # type: ignore[attr-defined]
    return fn


def bench(
    fn: F | None = None,
    *,
    name: str | None = None,
    checks: Sequence[str] = (),
    setup: Callable[..., Any] | None = None,
    sizes: Sequence[int] | Literal["auto"] | None = None,
    queries: bool = False,
    budget: float | None = None,
    calls: bool = False,
    **options: Any,
) -> Any:
    """Mark a function as a benchmark. ``options`` are :class:`BenchOptions` fields.

    With ``sizes=[…]`` (or ``"auto"``: perfgate picks them within ``budget`` seconds) it is
    a sweep: ``setup(n)`` or the function itself builds size n (see docs/sweeps.md) and every
    metric gets a big-O class. ``queries=True`` counts database statements per call,
    ``calls=True`` outbound HTTP requests and Redis commands.
    """
    if isinstance(checks, str):
        checks = [checks]
    swept = sizes is not None
    parsed = parsed_checks(checks, "sweep" if swept else "bench")
    try:
        opts = BenchOptions().merged(**options)
    except TypeError as exc:
        raise UsageError(f"bench: {exc}") from None

    def deco(f: F) -> F:
        if swept or queries or calls:
            from perfgate.bench._sweep import sweep_spec

            spec = sweep_spec(name or f.__name__, f, parsed, setup=setup, sizes=sizes,
                              queries=queries, budget=budget, options=opts if options else None,
                              calls=calls)
            return attach(f, spec)
        return attach(f, Spec(name or f.__name__, f, "bench", parsed, setup, opts))

    return deco(fn) if fn is not None else deco


def burst_case(
    fn: F | None = None, *, n: int = 10, name: str | None = None, checks: Sequence[str] = ()
) -> Any:
    """Mark a function as a burst: n calls released at once, outcomes counted."""
    if isinstance(checks, str):
        checks = [checks]
    parsed = parsed_checks(checks, "burst")
    if n < 1:
        raise UsageError("burst: n must be ≥ 1")

    def deco(f: F) -> F:
        return attach(f, Spec(name or f.__name__, f, "burst", parsed, n=n))

    return deco(fn) if fn is not None else deco


def parallel_case(
    fn: F | None = None,
    *,
    workers: int = 2,
    mode: Literal["thread", "process"] = "thread",
    name: str | None = None,
    checks: Sequence[str] = (),
) -> Any:
    """Mark a function for a sequential-vs-parallel comparison (speedup, efficiency)."""
    if isinstance(checks, str):
        checks = [checks]
    parsed = parsed_checks(checks, "bench")

    def deco(f: F) -> F:
        return attach(
            f, Spec(name or f.__name__, f, "parallel", parsed, workers=workers, mode=mode)
        )

    return deco(fn) if fn is not None else deco


def specs_in(namespace: dict[str, Any], source: str = "") -> list[Spec]:
    """Every spec attached to objects of a module namespace, in definition order."""
    out: list[Spec] = []
    for obj in list(namespace.values()):
        for spec in getattr(obj, "__perfgate__", ()):
            if isinstance(spec, Spec):
                out.append(replace(spec, source=source))
    return out


_SUITE_RE = re.compile(r"^(perf_.*|.*_perf)\.py$")
_SKIP_DIRS = {".git", ".venv", "venv", "node_modules", "__pycache__", ".tox", "build", "dist"}


def _suite_files(path: Path) -> list[Path]:
    if path.is_file():
        return [path]
    if not path.is_dir():
        raise UsageError(f"{path}: no such file or directory")
    found = []
    for p in sorted(path.rglob("*.py")):
        parts = p.relative_to(path).parts[:-1]
        if any(part in _SKIP_DIRS or part.startswith(".") for part in parts):
            continue
        if _SUITE_RE.match(p.name):
            found.append(p)
    return found


def _import(path: Path) -> dict[str, Any]:
    mod_name = "perfgate_suite_" + re.sub(r"\W", "_", str(path.resolve()))
    spec = importlib.util.spec_from_file_location(mod_name, path)
    if spec is None or spec.loader is None:
        raise TargetError(f"{path}: cannot be imported")
    module = importlib.util.module_from_spec(spec)
    parent = str(path.resolve().parent)
    added = parent not in sys.path
    if added:
        sys.path.insert(0, parent)
    sys.modules[mod_name] = module
    try:
        spec.loader.exec_module(module)
    except Exception as exc:
        sys.modules.pop(mod_name, None)
        # PerfgateErrors (a malformed check) keep their own message; name the file.
        raise TargetError(f"{path}: {type(exc).__name__}: {exc}") from exc
    return vars(module)


def discover(paths: Iterable[str | Path], keyword: str | None = None) -> list[Spec]:
    """Import the suite files under ``paths`` and collect their specs (``-k`` filtered)."""
    specs: list[Spec] = []
    for raw in paths:
        for f in _suite_files(Path(raw)):
            specs.extend(specs_in(_import(f), str(f)))
    if keyword:
        specs = [s for s in specs if keyword_match(keyword, s.nodeid)]
    return specs


# -------------------------------------------------------------- -k expressions


def keyword_match(expr: str, text: str) -> bool:
    """pytest-style ``-k``: substrings combined with and / or / not and parentheses."""
    tokens = re.findall(r"\(|\)|[^\s()]+", expr)
    pos = 0
    haystack = text.lower()

    def peek() -> str | None:
        return str(tokens[pos]) if pos < len(tokens) else None

    def take() -> str:
        nonlocal pos
        if pos >= len(tokens):
            raise UsageError(f"-k {expr!r}: unexpected end of expression")
        pos += 1
        return str(tokens[pos - 1])

    def or_() -> bool:
        v = and_()
        while peek() == "or":
            take()
            v = and_() or v
        return v

    def and_() -> bool:
        v = not_()
        while peek() == "and":
            take()
            v = not_() and v
        return v

    def not_() -> bool:
        if peek() == "not":
            take()
            return not not_()
        tok = take()
        if tok == "(":
            v = or_()
            if take() != ")":
                raise UsageError(f"-k {expr!r}: expected ')'")
            return v
        if tok in (")", "and", "or"):
            raise UsageError(f"-k {expr!r}: unexpected {tok!r}")
        return tok.lower() in haystack

    result = or_()
    if pos != len(tokens):
        raise UsageError(f"-k {expr!r}: unexpected {tokens[pos]!r}")
    return result
