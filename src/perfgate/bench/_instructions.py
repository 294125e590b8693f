"""Instructions per call, counted by valgrind: a measure that a noisy machine cannot move.

Wall time on a shared runner moves by several per cent from one process to the next; the
number of instructions a call executes does not depend on the neighbours, the CPU frequency
or the caches. Most CI machines are VMs without hardware counters (``perf stat`` says "not
supported"), so perfgate counts with Callgrind, valgrind's instruction-level simulator.

The method:

1. A fresh interpreter — the real binary behind ``sys.executable``, never a shell shim —
   runs ``_instr_worker.py`` under ``valgrind --tool=callgrind --collect-atstart=no
   --toggle-collect=_PyEval_CallTracing --dump-after=_PyEval_CallTracing``: nothing is
   counted except what runs inside ``sys.call_tracing``, and each such batch writes its own
   count. Start-up, imports, setup and warm-up are outside every batch.
2. After warm-up, the batches are sized by time under valgrind (N calls ≈ 0.05 s; N does
   not change per-call counts), one round of a batch of N and one of 2N calls is counted
   and set aside, then five more rounds. ``(median count(2N) − median count(N)) / N`` is
   the ``instructions`` metric (a counter, unit ``1``): each batch's fixed cost cancels,
   and a batch that lands in a cheaper or dearer allocator state than the rest is set
   aside by the median. ``spread`` in extra is the estimate's relative uncertainty (twice
   the counts' median absolute deviation, per call). The worker never reads the profiles
   (what it reads would change its own allocations between batches): the parent does,
   after it exits. The count includes one step of the calling loop (~100–300
   instructions), the same for every target.
3. The process is pinned: ``PYTHONHASHSEED=0``, a clean environment padded to a fixed size
   (the environment and argv sit on the stack: their size shifts alignment), ``-S`` with the
   parent's ``sys.path`` given explicitly (no ``site`` scan), the GC paused inside batches.
   Valgrind does not randomise the address space. What still moves counts: the Python
   version and build, the allocator's state (a batch that grows an arena), code that hashes
   by ``id()`` or reads the clock, the environment's contents and the path of the tree
   (module ``__file__`` strings, ``sys.path`` lengths). docs/instructions.md has figures.

Missing valgrind is a :class:`~perfgate._errors.UsageError` naming the Debian package, never
a silent fallback to time.
"""

from __future__ import annotations

import functools
import json
import os
import pickle
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from perfgate._errors import Interrupted, TargetError, UsageError
from perfgate.model import Metric, Result

__all__ = ["InstructionCounts", "count_instructions", "interpreter", "measure_targets",
           "prepare", "target_ref", "valgrind"]

WORKER = Path(__file__).with_name("_instr_worker.py")
MARKER = "_PyEval_CallTracing"  # the C function behind sys.call_tracing
VALGRIND_ENV = "PERFGATE_VALGRIND"  # a path to valgrind, over the one on PATH
ENV_BYTES = 4096  # the worker's argv + environment are padded to this many bytes


def valgrind() -> str:
    """The valgrind executable, or a UsageError that says how to install it."""
    override = os.environ.get(VALGRIND_ENV)
    found = override if override else shutil.which("valgrind")
    if not found or not (os.path.isfile(found) and os.access(found, os.X_OK)):
        where = f"{VALGRIND_ENV}={override}" if override else "PATH"
        raise UsageError(f"--measure instructions needs valgrind, not found on {where}: "
                         "install the Debian package `valgrind` (apt-get install valgrind)")
    return found


def interpreter(python: str | None = None) -> str:
    """The real interpreter binary: valgrind must not be pointed at a shell shim."""
    real = os.path.realpath(python or sys.executable)
    try:
        with open(real, "rb") as f:
            magic = f.read(4)
    except OSError as exc:
        raise UsageError(f"{real}: cannot read the Python interpreter: {exc}") from None
    if magic != b"\x7fELF":
        raise UsageError(f"{real}: not an executable binary (a shell shim?); valgrind needs "
                         "the real interpreter")
    return real


@dataclass(frozen=True)
class InstructionCounts:
    """The counted batches of one target in one worker (see the module docstring)."""

    estimates: tuple[float, ...]  # one per repeat: (count(2N) − count(N)) / N
    calls: int  # N
    batches: tuple[tuple[int, int], ...]  # (calls, instructions) of every counted batch

    def _sizes(self) -> dict[int, list[int]]:
        out: dict[int, list[int]] = {}
        for n, c in self.batches:
            out.setdefault(n, []).append(c)
        return {n: sorted(cs) for n, cs in out.items()}

    @property
    def per_call(self) -> float:
        """(median count of 2N calls − median count of N calls) / N. The batches of a size
        count the same to a few instructions; should one land in a cheaper or dearer
        allocator state than the rest, the median sets it aside."""
        sizes = self._sizes()
        if len(sizes) != 2:
            return float(statistics.median(self.estimates))
        one, two = (statistics.median(sizes[n]) for n in sorted(sizes))
        return float(two - one) / self.calls

    @property
    def spread(self) -> float:
        """Uncertainty of ``per_call``, relative: twice the larger median absolute deviation
        of a size's counts, per call (0 when the counts of each size agree)."""
        sizes = self._sizes()
        per = self.per_call
        if per <= 0:
            return 0.0
        if len(sizes) != 2:
            est = self.estimates
            return (max(est) - min(est)) / per
        mads = []
        for cs in sizes.values():
            med = statistics.median(cs)
            mads.append(statistics.median(abs(c - med) for c in cs))
        return 2 * max(mads) / self.calls / per

    def metric(self) -> Metric:
        return Metric.counter(self.per_call, "1", estimates=list(self.estimates),
                              calls=self.calls, spread=self.spread, tool="callgrind",
                              hash_seed=0)

    @classmethod
    def from_sizes(cls, name: str, sizes: Sequence[int], counts: Sequence[int]
                   ) -> InstructionCounts:
        """From the worker's batch sizes (N, 2N, N, 2N …; the first round set aside) and
        the profiles' counts, in the same order."""
        if len(sizes) < 4 or len(counts) != len(sizes) or not all(counts):
            raise TargetError(f"{name}: callgrind counted no instructions (does this "
                              f"interpreter export {MARKER}?)")
        pairs = list(zip(sizes[2:], counts[2:], strict=True))
        est = tuple((c2 - c1) / n1 for (n1, c1), (_, c2) in zip(pairs[::2], pairs[1::2],
                                                                 strict=True))
        return cls(est, int(sizes[0]), tuple(pairs))


def _total(path: Path) -> int:
    """The event total of one Callgrind profile."""
    with path.open(encoding="utf-8", errors="replace") as f:
        for line in f:
            if line.startswith(("summary:", "totals:")):
                return int(line.split()[1])
    return 0


def _fixed_env(argv: Sequence[str]) -> dict[str, str]:
    env = {"PYTHONHASHSEED": "0", "LC_ALL": "C.UTF-8", "PATH": os.defpath}
    used = sum(len(a) + 1 for a in argv) + sum(len(k) + len(v) + 2 for k, v in env.items())
    env["PERFGATE_PAD"] = "x" * max(0, ENV_BYTES - used - len("PERFGATE_PAD") - 2)
    return env


def measure_targets(targets: Sequence[str], *, root: Path | None = None,
                    arg: Any = None, setup: str | None = None, name: str | None = None,
                    calls: int | None = None, repeats: int = 5,
                    python: str | None = None, sys_path: Sequence[str] | None = None,
                    timeout: float = 600.0) -> dict[str, InstructionCounts]:
    """Count per-call instructions of ``targets`` (``MODULE:CALLABLE``, ``FILE.py:NAME`` or a
    suite path) in one worker under Callgrind. ``arg`` is a 1-tuple holding the value
    passed to the target (pickled), or None."""
    if repeats < 1 or (calls is not None and calls < 1):
        raise UsageError("instruction counting needs repeats ≥ 1 and calls ≥ 1")
    vg, py = valgrind(), interpreter(python)
    here = (root or Path.cwd()).resolve()
    late = platform.machine() in ("x86_64", "AMD64")  # the worker can start instrumenting
    with tempfile.TemporaryDirectory(prefix="perfgate-instr-") as tmp:
        arg_file = None
        if arg is not None:
            arg_file = str(Path(tmp) / "arg.pickle")
            Path(arg_file).write_bytes(pickle.dumps(arg))
        job = {"root": str(here), "targets": list(targets), "arg_file": arg_file,
               "setup": setup, "name": name, "calls": calls, "repeats": repeats,
               "start_instrumentation": late,
               "sys_path": [p for p in (sys_path if sys_path is not None else sys.path) if p]}
        client = [py, "-S", str(WORKER)]
        cmd = [vg, "--tool=callgrind", "--collect-atstart=no", f"--toggle-collect={MARKER}",
               f"--dump-after={MARKER}", f"--callgrind-out-file={tmp}/cg",
               f"--instr-atstart={'no' if late else 'yes'}", "--dump-instr=no",
               "--compress-strings=no", "--quiet", *client]
        try:
            proc = subprocess.run(cmd, input=json.dumps(job), cwd=here, env=_fixed_env(client),
                                  capture_output=True, text=True, timeout=timeout, check=False)
        except subprocess.TimeoutExpired:
            raise TargetError(f"{', '.join(targets)}: counting ran over {timeout:g} s "
                              "under valgrind") from None
        except OSError as exc:
            raise UsageError(f"cannot run valgrind ({vg}): {exc}") from None
        lines = proc.stdout.strip().splitlines()
        try:
            out: dict[str, Any] = json.loads(lines[-1])
        except (ValueError, IndexError):
            tail = "\n".join(proc.stderr.strip().splitlines()[-5:])
            raise TargetError(f"{', '.join(targets)}: the valgrind worker failed "
                              f"(exit {proc.returncode}):\n{tail}") from None
        if out.get("errors"):
            raise TargetError("; ".join(f"{k}: {v}" for k, v in out["errors"].items()))
        result: dict[str, InstructionCounts] = {}
        k = 0  # profiles are numbered in the order the batches ran, across targets
        for bench, d in out["results"].items():
            sizes = [int(x) for x in d["sizes"]]
            counts = [_total(Path(tmp) / f"cg.{k + i + 1}") for i in range(len(sizes))]
            k += len(sizes)
            result[bench] = InstructionCounts.from_sizes(bench, sizes, counts)
        return result


def count_instructions(target: str, setup: str | None = None, *, arg: Any = None,
                       calls: int | None = None, repeats: int = 5, root: Path | None = None,
                       python: str | None = None) -> Metric:
    """The ``instructions`` metric of one importable target (``MODULE:CALLABLE`` or
    ``FILE.py:NAME``), called with ``setup()``'s value or ``arg[0]`` when given."""
    counts = measure_targets([target], root=root, arg=arg, setup=setup, name="target",
                             calls=calls, repeats=repeats, python=python)
    return counts["target"].metric()


def target_ref(fn: Callable[..., Any]) -> str | None:
    """``MODULE:QUALNAME`` or ``FILE.py:QUALNAME`` (a suite file's function) that a fresh
    process can import, or None for a lambda, a closure or ``__main__``'s functions."""
    from perfgate._importer import ref_of

    suite = ref_of(fn)
    if suite is not None:
        return f"{suite[0]}:{suite[1]}"
    module, qual = getattr(fn, "__module__", None), getattr(fn, "__qualname__", None)
    if not module or not qual or "<" in qual or module == "__main__":
        return None
    obj: Any = sys.modules.get(module)
    for part in qual.split("."):
        obj = getattr(obj, part, None)
    if obj is fn:
        return f"{module}:{qual}"
    # loaded from a file without a module entry (``perfgate bench path/file.py:fn``)
    code = getattr(fn, "__code__", None)
    path = Path(code.co_filename) if code is not None else None
    if path is not None and path.suffix == ".py" and path.stem == module and path.is_file():
        return f"{path.resolve()}:{qual}"
    return None


@dataclass(frozen=True)
class _Plan:
    ref: str
    arg: tuple[Any] | None
    label: str

    def add_to(self, result: Result) -> Result:
        """``result`` with the ``instructions`` metric beside its time; a failure to count
        becomes the result's error, and what was timed is kept."""
        try:
            metric = count_instructions(self.ref, arg=self.arg)
        except TargetError as exc:
            return replace(result, error=result.error or f"instructions: {exc}")
        except KeyboardInterrupt as exc:  # Ctrl-C while counting: the timing is kept
            raise Interrupted([replace(result, error="interrupted (Ctrl-C) while counting "
                                                     "instructions")]) from exc
        return replace(result, metrics={**result.metrics, "instructions": metric},
                       params={**result.params, "measure": "instructions"})


def prepare(fn: Callable[..., Any], arg: Any, label: str, no_arg: Any) -> _Plan:
    """Check, before anything is timed, that ``fn`` can be counted in a fresh process."""
    valgrind()
    target: Any = fn
    if isinstance(target, functools.partial) and len(target.args) == 1 and (
            not target.keywords and arg is no_arg):  # perf.bench(fn, x) passes partial(fn, x)
        target, arg = target.func, target.args[0]
    ref = target_ref(target)
    if ref is None:
        raise UsageError(f"{label}: --measure instructions needs a target a fresh process "
                         "can import (a module-level function of a module or suite file), "
                         "not a lambda or closure")
    packed = None if arg is no_arg else (arg,)
    if packed is not None:
        try:
            pickle.dumps(packed)
        except Exception as exc:  # noqa: BLE001 - any pickling failure means the same thing
            raise UsageError(f"{label}: --measure instructions passes the setup value to "
                             f"a fresh process, and it cannot be pickled ({exc})") from None
    return _Plan(ref, packed, label)
