"""One worker process of the interleaved gate.

Run as a script by its path, never imported as ``perfgate.gate._worker`` by the gate: it uses
the standard library only, so a fresh process starts in tens of milliseconds instead of
paying for perfgate's numpy/scipy imports (suite files still import perfgate themselves).

    python _worker.py '{"root": ".", "targets": ["mod:fn"], "time": 0.15, ...}'

It measures each target in the tree at ``root`` and writes one JSON object to stdout:
``{"results": {key: {"samples": [...], "iterations": n, "phases": {...}, ...}},
"errors": {name: message}}``. A benchmark's key is its name; a sweep (``@pg.bench(sizes=…)``)
is measured at each of its sizes, under the keys ``name[n=SIZE]`` (with ``"bench"`` and
``"size"`` saying what they are). ``phases`` holds each ``pg.phase``'s time per call in every
round, timed in the same rounds as the total, when the target uses phases.
"""

from __future__ import annotations

import gc
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


def _phase_recording() -> Any:
    """perfgate's phase recorder when the target imported perfgate (only then can it use
    ``pg.phase``), else None: the worker itself stays free of perfgate's imports."""
    if "perfgate" not in sys.modules:
        return None
    from perfgate.bench._phases import recording

    return recording


def _measure(run: Any, duration: float, warmup: float, round_time: float,
             iterations: int | None) -> dict[str, Any]:
    recording = _phase_recording()
    clock = time.perf_counter
    end = clock() + warmup
    run(1)
    while clock() < end:
        run(1)
    n = iterations or 1
    if iterations is None:
        while True:
            t0 = clock()
            run(n)
            el = clock() - t0
            if el >= round_time or n >= 1 << 30:
                break
            n = max(n + 1, min(n * 10, int(n * round_time / max(el, 1e-9) * 1.1) + 1))
    samples: list[float] = []
    phases: dict[str, list[float]] = {}
    gc_was = gc.isenabled()
    start = clock()
    try:
        while True:
            gc.disable()
            if recording is None:
                t0 = clock()
                run(n)
                el = clock() - t0
            else:
                with recording() as acc:
                    t0 = clock()
                    run(n)
                    el = clock() - t0
                for name, t in acc.items():
                    phases.setdefault(name, []).append(t / n)
            if gc_was:
                gc.enable()
            samples.append(el / n)
            if gc.get_count()[0] > 700:
                gc.collect(0)
            if len(samples) >= 5 and clock() - start >= duration:
                break
    finally:
        if gc_was:
            gc.enable()
    # A phase missing from some rounds (a branch not taken) has no per-round series.
    full = {k: v for k, v in phases.items() if len(v) == len(samples)}
    return {"samples": samples, "iterations": n, "phases": full}


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
        if spec.kind != "bench" or (getattr(spec, "execute", None) is not None
                                    and not extra.get("queries")):
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


def main(argv: list[str]) -> int:
    job = json.loads(argv[1])
    root = Path(job["root"]).resolve()
    os.chdir(root)
    for p in (root / "src", root):
        if p.is_dir():
            _add_path(p)
    results: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for target in job["targets"]:
        try:
            head = target.partition(":")[0]
            if ":" in target and not (root / target).exists() and head:
                name, fn = _load_callable(target, root)
                items: list[Item] = [(name, fn, _NO_ARG, name, None)]
            else:
                items = _suite_targets(target, root)
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
    sys.stdout.write(json.dumps({"results": results, "errors": errors}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
