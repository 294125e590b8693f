"""The decorator API for suite files, and their discovery.

A suite file is any ``perf_*.py`` or ``*_perf.py``; ``perfgate run PATH`` imports it and runs
every function decorated with :func:`bench`, :func:`burst_case`, :func:`parallel_case` or
:func:`scenario`, in file order::

    import perfgate as pg

    @pg.bench(checks=["median < 2ms", "alloc_bytes <= 1MB"])
    def parse_small():
        parse(SMALL)

    @pg.bench(setup=lambda: list(range(10_000)), checks=["p(95) < 1ms"])
    def sort_list(data):          # the setup's return value, built once, untimed
        sorted(data)

    @pg.burst_case(n=10, checks=["count(ok) == 1", "count(Conflict) == 9"])
    def swap_shift():
        book.swap(shift=1)

Each decorator builds a typed spec (:mod:`perfgate.spec`) when the file is imported, so a
malformed check stops the run before anything is measured.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any, Literal, TypeVar

from perfgate._errors import UsageError
from perfgate._importer import import_file
from perfgate.bench._engine import BenchOptions
from perfgate.load._executors import Closed, Executor, Open
from perfgate.spec import (
    BenchSpec,
    BurstSpec,
    LoadSpec,
    ParallelSpec,
    Spec,
    SweepSpec,
    parse_checks_for,
    sizes_of,
)

__all__ = [
    "attach",
    "bench",
    "burst_case",
    "discover",
    "keyword_match",
    "parallel_case",
    "scenario",
    "specs_in",
]

F = TypeVar("F", bound=Callable[..., Any])


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
    checks: Sequence[str] | str = (),
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
    swept = sizes is not None
    parsed = parse_checks_for(checks, "sweep" if swept else "bench")
    try:
        opts = BenchOptions().merged(**options)
    except TypeError as exc:
        raise UsageError(f"bench: {exc}") from None
    if budget is not None and budget <= 0:
        raise UsageError(f"bench {name or ''}: budget must be > 0 seconds".replace("  ", " "))

    def deco(f: F) -> F:
        label = name or f.__name__
        if swept:
            return attach(f, SweepSpec(
                name=label, fn=f, checks=parsed, setup=setup,
                sizes=sizes_of(sizes, f"bench {label!r}"), budget=budget or 5.0,
                options=opts if options else None, queries=queries,
                calls=calls))
        return attach(f, BenchSpec(name=label, fn=f, checks=parsed, setup=setup,
                                   options=opts, queries=queries, calls=calls))

    return deco(fn) if fn is not None else deco


def burst_case(
    fn: F | None = None, *, n: int = 10, name: str | None = None,
    checks: Sequence[str] | str = (), timeout: float = 60.0,
    setup: Callable[[int], Any] | None = None,
) -> Any:
    """Mark a function as a burst: n calls released at once, outcomes counted
    (``setup(i)``, untimed, gives call i its argument)."""
    parsed = parse_checks_for(checks, "burst")
    if n < 1:
        raise UsageError("burst: n must be ≥ 1")

    def deco(f: F) -> F:
        return attach(f, BurstSpec(name=name or f.__name__, fn=f, checks=parsed, n=n,
                                   timeout=timeout, setup=setup))

    return deco(fn) if fn is not None else deco


def parallel_case(
    fn: F | None = None,
    *,
    workers: int = 2,
    mode: Literal["thread", "process"] = "thread",
    name: str | None = None,
    checks: Sequence[str] | str = (),
) -> Any:
    """Mark a function for a sequential-vs-parallel comparison (speedup, efficiency)."""
    parsed = parse_checks_for(checks, "parallel")

    def deco(f: F) -> F:
        return attach(f, ParallelSpec(name=name or f.__name__, fn=f, checks=parsed,
                                      workers=workers, mode=mode))

    return deco(fn) if fn is not None else deco


def scenario(
    fn: F | None = None,
    *,
    executor: Executor,
    checks: Sequence[str] | str = (),
    name: str | None = None,
    base_url: str = "",
    processes: int | None = None,
    timeout: float | None = None,
    target_pid: int | None = None,
    cluster: str | None = None,
    **options: Any,
) -> Any:
    """Mark a function (sync or async; ``fn()`` or ``fn(client)``) as a load scenario run by
    ``executor`` (:func:`perfgate.closed` or :func:`perfgate.open`). ``options`` are
    :class:`~perfgate.spec.LoadSpec` fields (``verify``, ``ca_file``, ``grace``, ``warmup``…).
    ``processes``: default 1 (the function's state lives in this process), or with
    ``cluster`` (a Dask scheduler URL or ``local:N``, docs/distributed.md) every Dask worker."""
    if not isinstance(executor, Closed | Open):
        raise UsageError("scenario: executor must be pg.closed(...) or pg.open(...)")
    parsed = parse_checks_for(checks, "load")

    if options.get("faults"):  # phases fitted to the executor's duration (docs/faults.md)
        from perfgate.load._api import fault_schedule

        options["faults"] = fault_schedule(options["faults"], options.get("tick", 1.0), None,
                                           None, executor)

    def deco(f: F) -> F:
        try:
            spec = LoadSpec(name=name or f.__name__, target=f, executor=executor, checks=parsed,
                            base_url=base_url, processes=processes, timeout=timeout,
                            target_pid=target_pid, cluster=cluster, **options)
        except TypeError as exc:
            raise UsageError(f"scenario: {exc}") from None
        return attach(f, spec)

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


def suite_files(path: Path) -> list[Path]:
    """The suite files at ``path`` (a file is taken as it is; a folder is searched)."""
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


def discover(paths: Iterable[str | Path], keyword: str | None = None) -> list[Spec]:
    """Import the suite files under ``paths`` and collect their specs (``-k`` filtered)."""
    specs: list[Spec] = []
    for raw in paths:
        for f in suite_files(Path(raw)):
            specs.extend(specs_in(vars(import_file(f)), str(f)))
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
