"""The worker that valgrind runs: counts the instructions of a target's calls, nothing else.

Run as a script by its path under ``valgrind --tool=callgrind --collect-atstart=no
--toggle-collect=_PyEval_CallTracing --dump-after=_PyEval_CallTracing`` (see
:mod:`perfgate.bench._instructions`); it uses the standard library only, so the interpreter
it counts in is not perturbed by perfgate's own imports. The job comes as JSON on stdin:

    {"root": ".", "sys_path": [...], "targets": ["mod:fn" | "file.py:fn" | "suite/"],
     "arg_file": null | "arg.pickle", "setup": null | "mod:fn", "calls": null | N,
     "repeats": 5, "warmup": 20, "batch_seconds": 0.05, "start_instrumentation": true}

How only the timed calls are counted: Callgrind collects nothing until the process enters
``_PyEval_CallTracing`` — the C function behind ``sys.call_tracing``, which nothing else in
a normal program calls — and writes one profile each time it leaves it. So a batch of calls
run through ``sys.call_tracing(run, (n,))`` is counted alone: interpreter start-up, imports,
setup and warm-up are outside every profile. After warm-up, one round of a batch of N calls
and one of 2N is run and set aside, then ``repeats`` rounds. The worker never reads the
profiles: what it reads (their pids, their sizes) would change its own allocations between
batches, and so the counts. It writes, as the last line of stdout, the sizes of the batches
it ran, in order, so the parent can match them to the profiles:
``{"results": {name: {"sizes": [n, 2n, ...], "calls": N}}, "errors": {name: message}}``.
"""

from __future__ import annotations

import gc
import importlib
import json
import os
import pickle
import sys
import time
from pathlib import Path
from typing import Any

_NO_ARG = object()
_CO_COROUTINE = 0x80  # inspect.CO_COROUTINE, without importing inspect


def _load(ref: str, root: Path) -> Any:
    module_name, _, attr = ref.partition(":")
    if module_name.endswith(".py") or "/" in module_name:
        from importlib import util as ilu

        path = (root / module_name).resolve()
        spec = ilu.spec_from_file_location(f"perfgate_suite_{path.stem}", path)
        if spec is None or spec.loader is None or not path.exists():
            raise RuntimeError(f"no such file {module_name}")
        sys.path.insert(0, str(path.parent))
        module = ilu.module_from_spec(spec)
        sys.modules[spec.name] = module
        spec.loader.exec_module(module)
    else:
        module = importlib.import_module(module_name)
    obj: Any = module
    for part in attr.split("."):
        obj = getattr(obj, part)
    return obj


def _runner(fn: Any, arg: Any) -> Any:
    """run(n): ``fn`` called n times (an async target is driven by one event loop)."""
    code = getattr(fn, "__code__", None)
    if code is not None and code.co_flags & _CO_COROUTINE:
        import asyncio

        loop = asyncio.new_event_loop()

        async def many(n: int) -> None:
            for _ in range(n):
                await (fn() if arg is _NO_ARG else fn(arg))

        return lambda n: loop.run_until_complete(many(n))
    if arg is _NO_ARG:
        def run(n: int) -> None:
            for _ in range(n):
                fn()
        return run

    def run_arg(n: int) -> None:
        for _ in range(n):
            fn(arg)
    return run_arg


def _counted(run: Any, n: int, sizes: list[int]) -> None:
    sizes.append(n)  # before the call: callgrind writes the count even if the batch raises
    gc.collect()
    gc.disable()  # as in the timed rounds: a collection belongs to no single call
    try:
        sys.call_tracing(run, (n,))
    finally:
        gc.enable()


# x86-64 machine code of a valgrind client request (valgrind.h's VALGRIND_DO_CLIENT_REQUEST):
# rax = rdi (the argument block), rdx = 0, the magic preamble (four rotations of rdi by 128
# bits: a no-op on a real CPU), ``xchg rbx, rbx`` (the request), return rdx.
_REQUEST_CODE = bytes.fromhex("4889f8" "31d2" "48c1c703" "48c1c70d" "48c1c73d" "48c1c733"
                              "4887db" "4889d0" "c3")
START_INSTRUMENTATION = (ord("C") << 24 | ord("T") << 16) + 4  # callgrind.h


def client_request() -> Any:
    """request(code) -> int: a valgrind client request made from Python through ctypes.
    With it the parent starts callgrind with ``--instr-atstart=no``: start-up and imports
    run uninstrumented (about twice as fast) and instrumentation starts before counting."""
    import ctypes
    import mmap

    buf = mmap.mmap(-1, mmap.PAGESIZE,
                    prot=mmap.PROT_READ | mmap.PROT_WRITE | mmap.PROT_EXEC)
    buf.write(_REQUEST_CODE)
    fn = ctypes.CFUNCTYPE(ctypes.c_size_t, ctypes.c_void_p)(
        ctypes.addressof(ctypes.c_char.from_buffer(buf)))
    args = (ctypes.c_size_t * 6)()

    def request(code: int) -> int:
        args[0] = code
        return int(fn(ctypes.addressof(args)))

    request.keep = (buf, fn, args)  # type: ignore[attr-defined]
    return request


def count(run: Any, job: dict[str, Any], sizes: list[int]) -> int:
    """Run the batches (their sizes appended to ``sizes``); returns N."""
    for _ in range(int(job.get("warmup", 20))):  # let the specialising interpreter settle
        run(1)
    n = job.get("calls")
    if not n:  # size the batches by time under valgrind: N does not change per-call counts
        k = 1
        while True:
            t0 = time.perf_counter()
            run(k)
            elapsed = time.perf_counter() - t0
            if elapsed >= 0.01 or k >= 1 << 20:
                break
            k *= 2
        n = max(1, min(100_000, round(k * float(job.get("batch_seconds", 0.05)) / elapsed)))
    # The first batches of a new size cost more (up to 1 % for a tiny target, even after an
    # uncounted run of the same size): one round of them is counted and set aside.
    _counted(run, n, sizes)
    _counted(run, 2 * n, sizes)
    for _ in range(int(job.get("repeats", 5))):
        _counted(run, n, sizes)
        _counted(run, 2 * n, sizes)
    return int(n)


def _suite_items(path: str, root: Path) -> list[tuple[str, Any, Any]]:
    from perfgate.suite import discover  # a suite file imports perfgate anyway

    out = []
    for spec in discover([root / path]):
        if spec.kind != "bench":  # plain benchmarks only
            continue
        setup = getattr(spec, "setup", None)
        arg = setup() if setup is not None else _NO_ARG
        out.append((spec.name, getattr(spec, "fn", None), arg))
    return out


def main() -> int:
    job = json.loads(sys.stdin.read())
    root = Path(job.get("root") or ".").resolve()
    os.chdir(root)
    sys.path[:] = [p for p in job.get("sys_path", []) if p] or sys.path
    for p in (root / "src", root):
        if p.is_dir():
            sys.path.insert(0, str(p))
    if job.get("start_instrumentation"):
        client_request()(START_INSTRUMENTATION)
    results: dict[str, Any] = {}
    errors: dict[str, str] = {}
    arg: Any = _NO_ARG
    for target in job["targets"]:
        try:
            if ":" in target and not (root / target).exists():
                fn = _load(target, root)
                if job.get("arg_file"):
                    with open(job["arg_file"], "rb") as f:
                        arg = pickle.load(f)[0]
                elif job.get("setup"):
                    arg = _load(job["setup"], root)()
                items = [(job.get("name") or target.rpartition(":")[2], fn, arg)]
            else:
                items = _suite_items(target, root)
        except BaseException as exc:  # noqa: BLE001 - reported to the parent, not raised
            errors[target] = f"{type(exc).__name__}: {exc}"
            continue
        for name, fn, a in items:
            sizes: list[int] = []
            results[name] = {"sizes": sizes}
            try:
                results[name]["calls"] = count(_runner(fn, a), job, sizes)
            except BaseException as exc:  # noqa: BLE001
                errors[name] = f"{type(exc).__name__}: {exc}"
    sys.stdout.write("\n" + json.dumps({"results": results, "errors": errors}) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
