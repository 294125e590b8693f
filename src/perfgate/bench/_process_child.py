"""The body of one worker process of ``processes=N`` (:mod:`perfgate.bench._isolated`).

Its own module, importing neither numpy nor the rest of perfgate: ``spawn`` imports the
module that holds a worker's function, and the worker sends plain measurements
(:class:`~perfgate.bench._engine.Measured`) for the parent to summarise. That keeps a worker's
start at ~0.1 s, which matters at ten workers per saved benchmark.
"""

from __future__ import annotations

import signal
import time
from dataclasses import replace
from typing import Any

from perfgate._importer import resolve
from perfgate.bench._calls import NO_ARG
from perfgate.bench._engine import BenchOptions, measure

__all__ = ["REFERENCE_CALLS", "child", "machine_reference"]


def _ignore(_signum: int, _frame: Any) -> None:
    """A later signal, taken and dropped. Not SIG_IGN: a signal already pending when the
    handler becomes SIG_IGN raises "OSError: Signal 15 ignored due to race condition" —
    which a SIGTERM to the group followed by the parent's SIGINT did."""


def _interrupt(_signum: int, _frame: Any) -> None:
    # the first SIGINT/SIGTERM stops the loop; a second (the group's and then the parent's)
    # must not cut short the sending of what was measured
    for s in (signal.SIGINT, signal.SIGTERM):
        signal.signal(s, _ignore)
    raise KeyboardInterrupt


def _reference_loop() -> int:
    total = 0
    for i in range(REFERENCE_CALLS):
        total += i * i % 7
    return total


REFERENCE_CALLS = 3000  # ~0.15 ms of pure Python per round on the development machine
REFERENCE_ROUNDS = 21


def machine_reference(rounds: int = REFERENCE_ROUNDS) -> float:
    """The median seconds of a fixed pure-Python loop: how fast this process's CPU ran just
    after its rounds. Beside other guests a VM's whole run can land in a state ~1.5× slower
    for seconds (another guest on the SMT sibling, the host's clock), which no wait shows;
    a comparison of two saved runs takes that out when their references disagree
    (analysis/saved_processes.py). ~3 ms per process."""
    times = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        _reference_loop()
        times.append(time.perf_counter() - t0)
    times.sort()
    return times[len(times) // 2]


def child(fn: Any, arg: Any, opts: BenchOptions, memory: bool, label: str, out: Any) -> None:
    # SIGTERM to the process group (a cancelled CI job) stops the loop like Ctrl-C, so the
    # rounds measured so far reach the parent; once measured, neither signal cuts the
    # sending short (the parent interrupts a worker with SIGINT when it is itself stopped)
    for s in (signal.SIGINT, signal.SIGTERM):
        signal.signal(s, _interrupt)
    try:
        fn = resolve(fn)  # a suite file's function: the file is imported here too
        m, interrupted = measure(fn, label, NO_ARG if arg is None else arg[0],
                                 replace(opts, processes=0, memory=memory))
        if interrupted is None and m.error is None:
            m = replace(m, reference=machine_reference())
        for s in (signal.SIGINT, signal.SIGTERM):
            signal.signal(s, _ignore)
        # pickled whole: per-call samples can exceed the JSON's inline cap
        out.put(("interrupted" if interrupted is not None else "ok", m))
    except BaseException as exc:  # noqa: BLE001 - reported to the parent
        out.put(("error", f"{type(exc).__name__}: {exc}"))
