"""The benchmark loop: warm-up, calibration, adaptive rounds, memory pass.

How a benchmark runs (see docs/benchmarks.md for the reasoning):

1. warm-up: the target runs for ``warmup`` seconds (at least once), so caches, lazy imports
   and the specialising interpreter settle before anything is timed;
2. calibration: iterations per round grow until one round lasts ``round_time`` (default
   1 ms, and never under 1,000 × the timer's measured resolution), so timer granularity
   is below 0.1 % of every sample;
3. rounds: each sample is one round's time divided by its iterations; the GC is paused inside
   a round (young-generation garbage is collected between rounds) unless ``gc=True``;
   rounds continue until the median's 95 % CI is within ``precision`` of it, or the
   ``max_time`` budget is spent (never fewer than ``min_rounds``);
4. memory: a separate pass under tracemalloc, after timing, so tracing never slows a
   timed round.
"""

from __future__ import annotations

import gc
import math
import time
import tracemalloc
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, replace
from typing import Any

import numpy as np
import psutil

from perfgate._errors import TargetError, UsageError
from perfgate.analysis.stats import quantile_ci, summarize
from perfgate.bench._calls import _NO_ARG, Caller
from perfgate.bench._phases import recording
from perfgate.model import Metric, Result

__all__ = ["BenchOptions", "Progress", "bench_callable", "timer_resolution"]

Progress = Callable[[float], None]  # called with the fraction done, 0..1


@dataclass(frozen=True)
class BenchOptions:
    """Knobs of the benchmark loop; the defaults suit a CI job (≈1 s per benchmark)."""

    max_time: float = 1.0  # seconds of timed rounds, the budget
    min_rounds: int = 5
    max_rounds: int = 100_000
    warmup: float = 0.1  # seconds of untimed calls first
    round_time: float = 1e-3  # target seconds per round
    precision: float = 0.005  # stop once the median's CI half-width is within 0.5 %
    iterations: int | None = None  # fixed iterations per round (skips calibration)
    rounds: int | None = None  # fixed number of rounds (skips the adaptive stop)
    gc: bool = False  # leave the garbage collector running inside rounds
    memory: bool = True  # measure alloc_bytes / allocs in a separate pass
    memory_calls: int = 5  # calls traced in the memory pass
    # 0: measure in this process. N ≥ 1: in N fresh worker processes one after another
    # (max_time shared between them), so the CI covers process-to-process variation.
    processes: int = 0
    # "instructions": also count instructions per call under valgrind (bench/_instructions.py)
    measure: str = "time"

    def __post_init__(self) -> None:
        if self.max_time < 0 or self.warmup < 0 or self.round_time <= 0:
            raise UsageError("max_time and warmup must be ≥ 0 and round_time > 0")
        if self.min_rounds < 1 or self.max_rounds < self.min_rounds:
            raise UsageError("need 1 ≤ min_rounds ≤ max_rounds")
        if self.iterations is not None and self.iterations < 1:
            raise UsageError("iterations must be ≥ 1")
        if self.rounds is not None and self.rounds < 1:
            raise UsageError("rounds must be ≥ 1")
        if self.processes < 0:
            raise UsageError("processes must be ≥ 0")
        if self.measure not in ("time", "instructions"):
            raise UsageError(f"measure must be 'time' or 'instructions', got {self.measure!r}")

    def merged(self, **overrides: Any) -> BenchOptions:
        return replace(self, **{k: v for k, v in overrides.items() if v is not None})


_RESOLUTION: float | None = None


def timer_resolution(timer: Callable[[], float] = time.perf_counter) -> float:
    """The smallest non-zero step the timer shows, measured (not the advertised value)."""
    global _RESOLUTION
    if _RESOLUTION is not None and timer is time.perf_counter:
        return _RESOLUTION
    steps = []
    for _ in range(50):
        t0 = timer()
        t1 = timer()
        while t1 == t0:
            t1 = timer()
        steps.append(t1 - t0)
    res = float(min(steps))
    if timer is time.perf_counter:
        _RESOLUTION = res
    return res


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"


class _Runner:
    def __init__(self, caller: Caller, opts: BenchOptions, progress: Progress | None) -> None:
        self.caller = caller
        self.opts = opts
        self.progress = progress or (lambda _f: None)
        self.samples: list[float] = []
        self.phase_samples: dict[str, list[float]] = {}
        self.iterations = 1

    def timed_round(self, n: int) -> tuple[float, dict[str, float]]:
        gc_was = gc.isenabled()
        if not self.opts.gc:
            gc.disable()
        try:
            with recording() as phases:
                elapsed = self.caller.run(n)
        finally:
            if gc_was:
                gc.enable()
        if not self.opts.gc and gc.get_count()[0] > 700:
            gc.collect(0)
        return elapsed, phases

    def warmup(self) -> None:
        deadline = time.perf_counter() + self.opts.warmup
        self.caller.run(1)
        while time.perf_counter() < deadline:
            self.caller.run(1)

    def calibrate(self) -> int:
        if self.opts.iterations is not None:
            return self.opts.iterations
        target = max(self.opts.round_time, 1000 * timer_resolution())
        n = 1
        while True:
            elapsed, _ = self.timed_round(n)
            if elapsed >= target or n >= 1 << 30:
                return n
            grow = target / elapsed if elapsed > 0 else 10.0
            n = max(n + 1, min(n * 10, math.ceil(n * grow * 1.1)))

    def rounds(self) -> None:
        opts = self.opts
        n = self.iterations
        start = time.perf_counter()
        budget = opts.max_time
        fixed = opts.rounds
        check_every = 10
        while True:
            elapsed, phases = self.timed_round(n)
            self.samples.append(elapsed / n)
            for name, t in phases.items():
                self.phase_samples.setdefault(name, []).append(t / n)
            count = len(self.samples)
            spent = time.perf_counter() - start
            if fixed is not None:
                self.progress(count / fixed)
                if count >= fixed:
                    return
                continue
            self.progress(min(1.0, spent / budget) if budget > 0 else 1.0)
            if count < opts.min_rounds:
                continue
            if count >= opts.max_rounds or spent >= budget:
                return
            if count >= 30 and count % check_every == 0 and self._precise_enough():
                return

    def _precise_enough(self) -> bool:
        a = np.asarray(self.samples)
        med = float(np.median(a))
        lo, hi = quantile_ci(a, 0.5)
        return med > 0 and (hi - lo) / 2 <= self.opts.precision * med

    def memory(self) -> tuple[float, float]:
        """(median peak bytes above the baseline per call, median live blocks left per call)."""
        calls = max(1, self.opts.memory_calls)
        peaks: list[int] = []
        blocks: list[int] = []
        was_tracing = tracemalloc.is_tracing()
        if not was_tracing:
            tracemalloc.start()
        base_holder: list[int] = [0]
        snap_holder: list[tracemalloc.Snapshot] = []
        from perfgate.bench import _calls

        # Leave out the bookkeeping of tracemalloc and of this harness: what remains was
        # allocated by the target (or by code it called).
        filters = [tracemalloc.Filter(False, f) for f in
                   (tracemalloc.__file__, __file__, _calls.__file__)]

        def before() -> None:
            gc.collect()
            snap_holder[:] = [tracemalloc.take_snapshot().filter_traces(filters)]
            tracemalloc.reset_peak()
            base_holder[0] = tracemalloc.get_traced_memory()[0]

        def after(value: Any) -> None:
            peak = tracemalloc.get_traced_memory()[1]
            peaks.append(max(0, peak - base_holder[0]))
            snap = tracemalloc.take_snapshot().filter_traces(filters)
            diff = snap.compare_to(snap_holder[0], "traceback")
            blocks.append(sum(d.count_diff for d in diff if d.count_diff > 0))
            del value

        try:
            self.caller.run_each(calls, before, after)
        finally:
            if not was_tracing:
                tracemalloc.stop()
        return float(np.median(peaks)), float(np.median(blocks))


def bench_callable(
    fn: Callable[..., Any],
    *,
    name: str | None = None,
    arg: Any = _NO_ARG,
    options: BenchOptions | None = None,
    params: Mapping[str, Any] | None = None,
    progress: Progress | None = None,
    timer: Callable[[], float] | None = None,
) -> Result:
    """Benchmark ``fn`` (sync or async; called with ``arg`` when given) into a Result.

    If the target raises, the Result carries ``error`` and every round measured before
    it; a KeyboardInterrupt is re-raised after being recorded the same way, through
    :class:`perfgate.runner.Interrupted` at the runner level.
    """
    opts = options or BenchOptions()
    label = name or getattr(fn, "__qualname__", None) or repr(fn)
    if opts.measure == "instructions":  # checked before anything is timed; counted after
        from perfgate.bench._instructions import prepare

        plan = prepare(fn, arg, label, _NO_ARG)
        return plan.add_to(bench_callable(fn, name=name, arg=arg, params=params, timer=timer,
                                          options=replace(opts, measure="time"),
                                          progress=progress))
    if opts.processes > 0:
        from perfgate.bench._isolated import bench_in_processes

        return bench_in_processes(fn, arg, opts, label, params, progress)
    try:
        caller = Caller(fn, arg, timer)
    except Exception as exc:
        raise TargetError(f"{label}: cannot prepare the target: {_describe(exc)}") from exc
    run = _Runner(caller, opts, progress)
    error: str | None = None
    mem: tuple[float, float] | None = None
    interrupted: BaseException | None = None
    try:
        run.warmup()
        run.iterations = run.calibrate()
        run.rounds()
        if opts.memory:
            mem = run.memory()
    except KeyboardInterrupt as exc:
        error, interrupted = "interrupted (Ctrl-C)", exc
    except Exception as exc:  # noqa: BLE001 - the target's failure is recorded, not raised
        error = _describe(exc)
    finally:
        caller.close()
    result = _result(label, run, mem, opts, params, error)
    if interrupted is not None:
        from perfgate.runner import Interrupted

        raise Interrupted([result]) from interrupted
    return result


def _result(
    label: str,
    run: _Runner,
    mem: tuple[float, float] | None,
    opts: BenchOptions,
    params: Mapping[str, Any] | None,
    error: str | None,
) -> Result:
    metrics: dict[str, Metric] = {}
    if run.samples:
        t = summarize(run.samples, "s")
        metrics["time"] = t
        if t.median and t.median > 0:
            ci = None
            if t.ci_low and t.ci_high and t.ci_low > 0:
                ci = (1.0 / t.ci_high, 1.0 / t.ci_low)
            metrics["ops"] = Metric.gauge(1.0 / t.median, "1/s", ci)
        for phase_name, samples in run.phase_samples.items():
            metrics[f"time.{phase_name}"] = summarize(samples, "s")
    if mem is not None:
        metrics["alloc_bytes"] = Metric.gauge(mem[0], "B")
        metrics["allocs"] = Metric.gauge(mem[1], "1")
    metrics["rss"] = Metric.gauge(float(psutil.Process().memory_info().rss), "B")
    opts_d = asdict(opts)
    all_params: dict[str, Any] = {
        **(params or {}),
        "iterations": run.iterations,
        "rounds": len(run.samples),
        "async": run.caller.is_async,
        "gc": opts_d["gc"],
        "max_time": opts_d["max_time"],
        "warmup": opts_d["warmup"],
    }
    return Result(name=label, kind="bench", params=all_params, metrics=metrics, error=error)
