"""One worker process of the interleaved gate.

Run as a script by its path, never imported as ``perfgate.gate._worker`` by the gate: it uses
the standard library only, so a fresh process starts in tens of milliseconds instead of
paying for perfgate's numpy/scipy imports (suite files still import perfgate themselves).

    python _worker.py '{"root": ".", "targets": ["mod:fn"], "time": 0.15, ...}'

It measures each target in the tree at ``root`` and writes one JSON object to stdout:
``{"results": {name: {"samples": [...], "iterations": n}}, "errors": {name: message}}``
(plus ``"skipped": {name: reason}`` for pytest-benchmark tests it cannot run alone).

A target file of pytest-benchmark tests (functions taking the ``benchmark`` fixture) is
measured too: each test is called once with a recording stand-in for the fixture — the test
runs as under pytest, its assertions see the target's real result — and the callable it
handed to ``benchmark(fn, *args)`` / ``benchmark.pedantic(fn, args, kwargs)`` is what is
timed. Tests needing other fixtures, or parametrized ones, are skipped with the reason.

``{"results": {key: {"samples": [...], "iterations": n, "phases": {...}, ...}},
"errors": {name: message}}``. A benchmark's key is its name; a sweep (``@pg.bench(sizes=…)``)
is measured at each of its sizes, under the keys ``name[n=SIZE]`` (with ``"bench"`` and
``"size"`` saying what they are). ``phases`` holds each ``pg.phase``'s time per call in every
round, timed in the same rounds as the total, when the target uses phases.
"""

from __future__ import annotations

import importlib
import json
import os
import sys
import time
from pathlib import Path
from typing import Any


def _add_path(p: Path) -> None:
    s = str(p)
    if s in sys.path:
        sys.path.remove(s)
    sys.path.insert(0, s)


def _load_callable(ref: str, root: Path) -> tuple[str, Any]:
    module_name, _, attr = ref.partition(":")
    if module_name.endswith(".py") or "/" in module_name:
        from importlib import util as ilu

        path = (root / module_name).resolve()
        spec = ilu.spec_from_file_location(path.stem, path)
        if spec is None or spec.loader is None or not path.exists():
            raise RuntimeError(f"no such file {module_name}")
        _add_path(path.parent)
        module = ilu.module_from_spec(spec)
        spec.loader.exec_module(module)
    else:
        module = importlib.import_module(module_name)
    obj: Any = module
    for part in attr.split("."):
        obj = getattr(obj, part)
    return attr.rsplit(".", 1)[-1], obj


def _runner(fn: Any, arg: Any) -> tuple[Any, Any]:
    """(run(n), close()): run ``fn`` n times, for sync and async targets alike."""
    has_arg = arg is not _NO_ARG
    code = getattr(fn, "__code__", None)
    if code is not None and code.co_flags & _CO_COROUTINE:
        import asyncio  # only when needed: importing it costs ~0.1 s of start-up

        loop = asyncio.new_event_loop()

        async def many(n: int) -> None:
            for _ in range(n):
                await (fn(arg) if has_arg else fn())

        def run_async(n: int) -> None:
            loop.run_until_complete(many(n))

        return run_async, loop.close
    if has_arg:
        def run_arg(n: int) -> None:
            for _ in range(n):
                fn(arg)

        return run_arg, _nothing

    def run(n: int) -> None:
        for _ in range(n):
            fn()

    return run, _nothing


def _nothing() -> None:
    pass


_NO_ARG = object()
_CO_COROUTINE = 0x80  # inspect.CO_COROUTINE, without importing inspect


def measure(fn: Any, arg: Any, duration: float, warmup: float, round_time: float,
            iterations: int | None = None) -> dict[str, Any]:
    run, close = _runner(fn, arg)
    try:
        return _measure(run, duration, warmup, round_time, iterations)
    finally:
        close()


def _timing() -> Any:
    """perfgate's timing core, loaded by path: the tree being measured may hold another
    perfgate (or none), and importing this package would cost numpy's start-up."""
    from importlib import util as ilu

    path = Path(__file__).resolve().parent.parent / "_timing.py"
    spec = ilu.spec_from_file_location("_perfgate_timing", path)
    assert spec is not None
    assert spec.loader is not None
    module = ilu.module_from_spec(spec)
    sys.modules["_perfgate_timing"] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def _phase_recording() -> Any:
    """perfgate's phase recorder when the target imported perfgate (only then can it use
    ``pg.phase``), else None: the worker itself stays free of perfgate's imports."""
    if "perfgate" not in sys.modules:
        return None
    from perfgate.bench._phases import recording

    return recording


def _measure(run: Any, duration: float, warmup: float, round_time: float,
             iterations: int | None, *, clock: Any = time.perf_counter,
             sched: Any = None) -> dict[str, Any]:
    """Rounds of ``run(n)``, each timed on ``clock`` less the time the thread waited for a
    CPU during it (``sched``: Linux's scheduler statistics; None reads them). Why: the two
    sides' rounds have the same calls, so a slower side's rounds last longer, and on a busy
    machine a round longer than the scheduler's time slice is preempted far more often than
    a shorter one — beside three busy loops a 3.5× slower function read 7.15× on the wall
    clock and 3.32× with the waits taken out (benchmarks/gate_sizes.py). Time the target
    spends blocked (I/O, sleep) stays in; only the wait for a core goes."""
    t = _timing()
    recording = _phase_recording()
    read_sched = t.sched_times if sched is None else sched
    waited = [0.0, 0.0]  # seconds waited for a CPU, seconds timed

    def batch(n: int) -> float:
        s0 = read_sched()
        t0 = clock()
        run(n)
        el: float = clock() - t0
        s1 = read_sched()
        if s0 is not None and s1 is not None:
            w = s1[1] - s0[1]
            # the reads sit just outside the timed window: a wait longer than the round
            # happened in them, and is not the round's to lose
            if 0 < w < el:
                el -= w
                waited[0] += w
        waited[1] += el
        return el

    t.warm_up(run, warmup, clock)
    n = iterations or t.calibrate(batch, round_time)
    waited[:] = [0.0, 0.0]  # the timed rounds' share only
    # The same rounds as the engine's round-mean mode: every worker of the gate uses the
    # same calls per round, and its samples are round means.
    rule = t.StopRule(max_time=duration, min_rounds=5, min_precise=1 << 30)  # time only
    samples: list[float] = []
    phases: dict[str, list[float]] = {}
    start = clock()
    while True:
        with t.gc_paused():
            if recording is None:
                el = batch(n)
            else:
                with recording() as acc:
                    el = batch(n)
                for name, x in acc.items():
                    phases.setdefault(name, []).append(x / n)
        samples.append(el / n)
        if rule.done(len(samples), clock() - start, samples):
            break
    # A phase missing from some rounds (a branch not taken) has no per-round series.
    full = {k: v for k, v in phases.items() if len(v) == len(samples)}
    share = waited[0] / (waited[0] + waited[1]) if waited[1] > 0 else 0.0
    return {"samples": samples, "iterations": n, "phases": full, "cpu_wait": share}


Item = tuple[str, Any, Any, str, int | None]  # key, callable, argument, bench, size


def _suite_targets(path: str, root: Path) -> list[Item]:
    from perfgate.suite import discover  # suites import perfgate anyway

    out: list[Item] = []
    # Specs are read by attribute (typed specs) or from ``extra`` (older specs), so the
    # worker measures whichever perfgate the measured tree has installed.
    for spec in discover([root / path]):
        extra = getattr(spec, "extra", None) or {}
        if spec.kind == "sweep":
            out.extend(_sweep_items(spec, extra))
            continue
        if spec.kind != "bench":
            continue  # a plain benchmark (bursts, parallel runs, loads are not gated)
        setup = getattr(spec, "setup", None)
        arg = setup() if setup is not None else _NO_ARG
        out.append((spec.name, getattr(spec, "fn", None), arg, spec.name, None))
    return out


def _sweep_items(spec: Any, extra: Any) -> list[Item]:
    """Each size of a sweep as a target of its own: the callable and argument built as the
    sweep builds them (setup, factory or plain n)."""
    from perfgate.bench._sweep import _Target

    sizes = getattr(spec, "sizes", None) or extra.get("sizes")
    if not sizes or isinstance(sizes, str):
        raise RuntimeError(f"sweep {spec.name!r}: the gate needs its sizes listed "
                           "(sizes='auto' would differ between processes)")
    target = _Target(spec.fn, getattr(spec, "setup", None) or extra.get("setup"),
                     getattr(spec, "factory", None))
    out: list[Item] = []
    from perfgate.bench import _calls

    none = getattr(_calls, "NO_ARG", getattr(_calls, "_NO_ARG", None))  # perfgate's "no arg"
    for n in sizes:
        fn, arg = target.build(int(n))
        arg = _NO_ARG if arg is none else arg
        out.append((f"{spec.name}[n={int(n)}]", fn, arg, spec.name, int(n)))
    return out


class _Recorder:
    """Stands in for pytest-benchmark's ``benchmark`` fixture: runs the target once, keeps
    it (with its arguments) for timing, and returns its result to the test."""

    def __init__(self) -> None:
        self.target: tuple[Any, tuple[Any, ...], dict[str, Any]] | None = None
        self.extra_info: dict[str, Any] = {}
        self.group: str | None = None

    def __call__(self, fn: Any, *args: Any, **kwargs: Any) -> Any:
        self.target = (fn, args, kwargs)
        return fn(*args, **kwargs)

    def pedantic(self, target: Any, args: Any = (), kwargs: Any = None, setup: Any = None,
                 rounds: int = 1, warmup_rounds: int = 0, iterations: int = 1) -> Any:
        if setup is not None:  # a fresh setup per call cannot be timed apart from the call
            raise _Unsupported("benchmark.pedantic(setup=...) is not supported by the gate")
        return self(target, *tuple(args), **dict(kwargs or {}))


class _Unsupported(Exception):
    pass


def _fixture_tests(path: Path) -> list[tuple[str | None, str]]:
    """(class or None, function) of every test in ``path`` taking a ``benchmark``
    argument, found without importing the file (empty for anything else)."""
    import ast

    if path.suffix != ".py" or not path.is_file():
        return []
    try:
        tree = ast.parse(path.read_text(encoding="utf-8"))
    except (SyntaxError, UnicodeDecodeError):
        return []

    def tests(body: list[ast.stmt]) -> list[str]:
        return [n.name for n in body if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)
                and n.name.startswith("test")
                and any(a.arg == "benchmark" for a in n.args.args + n.args.kwonlyargs)]

    found: list[tuple[str | None, str]] = [(None, t) for t in tests(tree.body)]
    for node in tree.body:
        if isinstance(node, ast.ClassDef) and node.name.startswith("Test"):
            found += [(node.name, t) for t in tests(node.body)]
    return found


def _fixture_targets(target: str, root: Path, skipped: dict[str, str]
                     ) -> list[Item]:
    """The pytest-benchmark tests of ``target`` as items (name, callable, _NO_ARG, name,
    None) to time."""
    path = (root / target).resolve()
    tests = _fixture_tests(path)
    if not tests:
        return []
    from functools import partial
    from importlib import util as ilu

    spec = ilu.spec_from_file_location(path.stem, path)
    if spec is None or spec.loader is None:
        raise RuntimeError(f"cannot import {target}")
    _add_path(path.parent)
    module = ilu.module_from_spec(spec)
    sys.modules[path.stem] = module
    spec.loader.exec_module(module)
    out: list[Item] = []
    for cls, fname in tests:
        name = f"{cls}.{fname}" if cls else fname
        fn = getattr(getattr(module, cls)(), fname) if cls else getattr(module, fname)
        code = fn.__code__
        params = list(code.co_varnames[int(cls is not None):code.co_argcount])
        params += list(code.co_varnames[code.co_argcount:
                                        code.co_argcount + code.co_kwonlyargcount])
        n_defaults = len(fn.__defaults__ or ()) + len(fn.__kwdefaults__ or {})
        others = [p for p in params[:len(params) - n_defaults] if p != "benchmark"]
        marks = [m.name for m in getattr(fn, "pytestmark", [])]
        if "parametrize" in marks or others:
            skipped[name] = ("parametrized" if "parametrize" in marks
                             else f"needs fixture(s) {', '.join(others)}")
            continue
        rec = _Recorder()
        try:
            fn(benchmark=rec)
        except _Unsupported as exc:
            skipped[name] = str(exc)
            continue
        if rec.target is None:
            skipped[name] = "the test never called benchmark(...)"
            continue
        f, args, kwargs = rec.target
        out.append((name, partial(f, *args, **kwargs) if args or kwargs else f, _NO_ARG,
                    name, None))
    return out


def main(argv: list[str]) -> int:
    job = json.loads(argv[1])
    root = Path(job["root"]).resolve()
    os.chdir(root)
    for p in (root / "src", root):
        if p.is_dir():
            _add_path(p)
    results: dict[str, Any] = {}
    errors: dict[str, str] = {}
    skipped: dict[str, str] = {}
    for target in job["targets"]:
        try:
            head = target.partition(":")[0]
            if ":" in target and not (root / target).exists() and head:
                name, fn = _load_callable(target, root)
                items: list[Item] = [(name, fn, _NO_ARG, name, None)]
            else:
                items = (_fixture_targets(target, root, skipped)
                         or _suite_targets(target, root))
        except BaseException as exc:  # noqa: BLE001 - reported to the parent, not raised
            errors[target] = f"{type(exc).__name__}: {exc}"
            continue
        for key, fn, arg, bench, size in items:
            try:
                got = measure(fn, arg, job["time"], job["warmup"], job["round_time"],
                              job.get("iterations", {}).get(key))
            except BaseException as exc:  # noqa: BLE001
                errors[key] = f"{type(exc).__name__}: {exc}"
                continue
            results[key] = {**got, "bench": bench, "size": size}
    doc: dict[str, Any] = {"results": results, "errors": errors}
    if skipped:
        doc["skipped"] = skipped
    sys.stdout.write(json.dumps(doc))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
