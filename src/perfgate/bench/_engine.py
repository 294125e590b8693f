"""The benchmark engine: one callable into a Result, timed by :mod:`perfgate._timing`.

Steps (docs/benchmarks.md has the reasoning): warm-up, calibration, then rounds — each call
timed on its own when it is long enough for the clock (percentiles are of calls), otherwise
batches whose means are the samples (percentiles are of round means, and the metric says
so) — and last a memory pass apart from timing (:mod:`._memory`). Phases are timed on the
engine's clock in the same rounds.

A target that raises, calls ``sys.exit`` or overruns ``timeout`` gives a Result with
``error`` set and every round measured before; Ctrl-C raises :class:`~perfgate.Interrupted`
holding that partial Result.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any

import psutil

from perfgate import _timing
from perfgate._errors import Interrupted, TargetError, TargetTimeout, UsageError
from perfgate.analysis.stats import summarize
from perfgate.bench._calls import NO_ARG, Caller
from perfgate.bench._memory import MemoryStats, measure_memory
from perfgate.bench._phases import recording
from perfgate.bench._watchdog import time_limit
from perfgate.model import Metric, Result

__all__ = ["BenchOptions", "Progress", "bench_callable", "describe_exit", "timer_resolution"]

Progress = Callable[[float], None]  # called with the fraction done, 0..1
timer_resolution = _timing.timer_resolution


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
    memory: bool = True  # measure the memory metrics in a separate pass
    memory_calls: int = 5  # calls traced in the memory pass
    # 0: measure in this process. N ≥ 1: in N fresh worker processes one after another
    # (max_time shared between them), so the CI covers process-to-process variation.
    processes: int = 0
    # None: time each call on its own when it is long enough for the clock; True / False
    # force per-call timing / round means.
    per_call: bool | None = None
    # Seconds the whole benchmark (warm-up, rounds, memory) may take before the target is
    # stopped and the run recorded as its error; None: no limit.
    timeout: float | None = 300.0
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
        if self.timeout is not None and not self.timeout > 0:
            raise UsageError("timeout must be > 0 seconds (or None)")
        if self.measure not in ("time", "instructions"):
            raise UsageError(f"measure must be 'time' or 'instructions', got {self.measure!r}")

    def merged(self, **overrides: Any) -> BenchOptions:
        return replace(self, **{k: v for k, v in overrides.items() if v is not None})


def describe_exit(exc: BaseException) -> str:
    """What a target's failure is called in a Result's ``error``."""
    if isinstance(exc, SystemExit):
        if type(exc).__name__ == "TargetExit":  # os._exit, turned into an exception
            return f"{exc.code}; perfgate kept running"
        return f"the target called sys.exit({exc.code!r}); perfgate kept running"
    return f"{type(exc).__name__}: {exc}"


class _Run:
    """The state of one benchmark while it runs."""

    def __init__(self, caller: Caller, opts: BenchOptions, progress: Progress | None) -> None:
        self.caller = caller
        self.opts = opts
        self.clock = caller.timer
        self.progress = progress or (lambda _f: None)
        self.samples: list[float] = []
        self.phase_samples: dict[str, list[float]] = {}
        self.iterations = 1
        self.per_call = False
        self.cost = 0.0  # subtracted from each per-call sample
        self.rounds_done = 0
        self.cpu_wait: float | None = None  # share of the rounds' wall time spent off-CPU

    def timed_batch(self, n: int) -> tuple[float, dict[str, float]]:
        with _timing.gc_paused(not self.opts.gc), recording(self.clock) as phases:
            elapsed = self.caller.run(n)
        return elapsed, phases

    def calibrate(self, one_call: float) -> None:
        """Calls per round, and per-call timing or round means (``one_call``: the shortest
        warm-up call, the estimate used when the calls per round are fixed)."""
        opts = self.opts
        cost = _timing.clock_cost(self.clock)
        if opts.iterations is not None:
            self.iterations = opts.iterations
            # a few single calls: one cold warm-up call alone would overstate a call's time
            per_call_time = min([one_call, *(self.caller.run(1) for _ in range(5))])
        else:
            target = max(opts.round_time, 1000 * _timing.timer_resolution(self.clock))
            last = [0.0]

            def batch(n: int) -> float:
                last[0] = self.timed_batch(n)[0]
                return last[0]

            self.iterations = _timing.calibrate(batch, target)
            per_call_time = last[0] / self.iterations
        auto = not per_call_time < _timing.PER_CALL_RATIO * cost  # nan: per call
        self.per_call = auto if opts.per_call is None else opts.per_call
        self.cost = cost if self.per_call else 0.0

    def rounds(self) -> None:
        opts = self.opts
        rule = _timing.StopRule(max_time=opts.max_time, min_rounds=opts.min_rounds,
                                max_rounds=opts.max_rounds, precision=opts.precision,
                                rounds=opts.rounds)
        start = time.perf_counter()  # the budget is wall time whatever clock times the calls
        waited = _timing.run_queue_wait()
        try:
            while True:
                self._one_round()
                self.rounds_done += 1
                spent = time.perf_counter() - start
                self.progress(rule.fraction(self.rounds_done, spent))
                if rule.done(self.rounds_done, spent, self.samples):
                    return
        finally:
            after = _timing.run_queue_wait()
            spent = time.perf_counter() - start
            if waited is not None and after is not None and spent > 0:
                self.cpu_wait = min(1.0, max(0.0, (after - waited) / spent))

    def _one_round(self) -> None:
        n = self.iterations
        if not self.per_call:
            elapsed, phases = self.timed_batch(n)
            self.samples.append(elapsed / n)
            for name, t in phases.items():
                self.phase_samples.setdefault(name, []).append(t / n)
            return
        first = len(self.samples)
        rows: list[dict[str, float]] | None = [] if self.phase_samples or not first else None
        with _timing.gc_paused(not self.opts.gc), recording(self.clock) as phases:
            self.caller.run_timed(n, self.samples, phases, rows)
        if self.cost:
            s = self.samples
            for i in range(first, len(s)):
                s[i] = max(0.0, s[i] - self.cost)
        if rows and any(rows):
            names = {k for row in rows for k in row}
            for name in names:
                self.phase_samples.setdefault(name, []).extend(row.get(name, 0.0)
                                                              for row in rows)


def bench_callable(
    fn: Callable[..., Any],
    *,
    name: str | None = None,
    arg: Any = NO_ARG,
    options: BenchOptions | None = None,
    params: Mapping[str, Any] | None = None,
    progress: Progress | None = None,
    timer: Callable[[], float] | None = None,
) -> Result:
    """Benchmark ``fn`` (sync or async; called with ``arg`` when given) into a Result."""
    opts = options or BenchOptions()
    label = name or getattr(fn, "__qualname__", None) or repr(fn)
    if opts.processes > 0:  # the runner sends these to bench._isolated
        raise UsageError(f"{label}: processes={opts.processes} runs through perfgate.runner "
                         "(pg.bench_callable), not the in-process engine")
    try:
        caller = Caller(fn, arg, timer)
    except Exception as exc:
        raise TargetError(f"{label}: cannot prepare the target: {describe_exit(exc)}") from exc
    run = _Run(caller, opts, progress)
    error: str | None = None
    mem: MemoryStats | None = None
    interrupted: BaseException | None = None
    try:
        with time_limit(opts.timeout, label):
            one_call = _timing.warm_up(caller.run, opts.warmup, time.perf_counter)
            run.calibrate(one_call)
            run.rounds()
            if opts.memory:
                mem = measure_memory(caller, opts.memory_calls)
    except KeyboardInterrupt as exc:
        error, interrupted = "interrupted (Ctrl-C)", exc
    except TargetTimeout as exc:
        error = str(exc)
    except (Exception, SystemExit) as exc:  # noqa: BLE001 - the target's failure is recorded
        error = describe_exit(exc)
    finally:
        caller.close()
    result = _result(label, run, mem, opts, params, error)
    if interrupted is not None:
        raise Interrupted([result]) from interrupted
    return result


def _result(
    label: str,
    run: _Run,
    mem: MemoryStats | None,
    opts: BenchOptions,
    params: Mapping[str, Any] | None,
    error: str | None,
) -> Result:
    metrics: dict[str, Metric] = {}
    of = "calls" if run.per_call else "round means"
    if run.samples:
        t = summarize(run.samples, "s")
        wait = {} if run.cpu_wait is None else {"cpu_wait": round(run.cpu_wait, 4)}
        metrics["time"] = replace(t, extra={**t.extra, "of": of, **wait})
        for phase_name, samples in sorted(run.phase_samples.items()):
            p = summarize(samples, "s")
            metrics[f"time.{phase_name}"] = replace(p, extra={**p.extra, "of": of})
    if mem is not None:
        if mem.alloc_bytes is not None and mem.allocs is not None:
            metrics["alloc_bytes"] = Metric.gauge(mem.alloc_bytes, "B")
            metrics["allocs"] = Metric.gauge(mem.allocs, "1")
        metrics["alloc_peak"] = Metric.gauge(mem.alloc_peak, "B")
        metrics["retained_bytes"] = Metric.gauge(mem.retained_bytes, "B")
        metrics["retained_allocs"] = Metric.gauge(mem.retained_allocs, "1")
    metrics["rss"] = Metric.gauge(float(psutil.Process().memory_info().rss), "B")
    all_params: dict[str, Any] = {
        **(params or {}),
        "iterations": run.iterations,
        "rounds": run.rounds_done,
        "timed": "per call" if run.per_call else "per round",
        "async": run.caller.is_async,
        "gc": opts.gc,
        "max_time": opts.max_time,
        "warmup": opts.warmup,
    }
    if run.per_call:
        all_params["clock_cost"] = run.cost
    if mem is not None:
        all_params["memory"] = mem.method
    return Result(name=label, kind="bench", params=all_params, metrics=metrics, error=error)
