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
from perfgate.bench._calls import NO_ARG, Caller
from perfgate.bench._memory import MemoryStats, measure_memory
from perfgate.bench._phases import recording
from perfgate.bench._watchdog import time_limit
from perfgate.model import Metric, Result

__all__ = ["SAVED_PROCESSES", "BenchOptions", "Measured", "Progress", "bench_callable",
           "describe_exit", "measure", "result_of", "timer_resolution"]

Progress = Callable[[float], None]  # called with the fraction done, 0..1
timer_resolution = _timing.timer_resolution


# Worker processes of a saved run (``--json`` / ``--store``) unless told otherwise. Identical
# code saved 20 times beside a busy loop (1 s budget): one process per run landed 5.5 % apart
# (SD of the log median), 5 or 10 processes 1.1-3 %. Ten because of how the machine
# disturbs them: now and then 1-3 processes of ten ran 1.5x slower (left out as another
# machine state) or shared a vCPU (10 % faster), and with five a 25 % slowdown was called
# in 19 of 20 pairs at load 3, with ten in 20 of 20 (benchmarks/baseline_accuracy.py).
# A worker starts in ~0.1 s (bench._process_child), so ten cost ~1.5 s beside the budget.
SAVED_PROCESSES = 10


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
    # True when ``processes`` is perfgate's default for a saved run rather than asked for:
    # a target that a fresh process cannot receive (a lambda, an unpicklable setup value)
    # is then measured in this process instead of failing.
    processes_optional: bool = False
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

    def for_saved_run(self) -> BenchOptions:
        """These options for a run saved to compare later: measured in ``SAVED_PROCESSES``
        fresh processes (within the same budget) unless processes were already chosen, so
        that the comparison sees how far one process lands from the next."""
        if self.processes > 0:
            return self
        return replace(self, processes=SAVED_PROCESSES, processes_optional=True)


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


@dataclass(frozen=True)
class Measured:
    """What one benchmark's loop measured, before any statistics: plain data, so that a
    worker process sends it without importing numpy (``bench._process_child``)."""

    label: str
    samples: list[float]
    phase_samples: dict[str, list[float]]
    per_call: bool
    cost: float
    iterations: int
    rounds: int
    cpu_wait: float | None
    is_async: bool
    memory: MemoryStats | None
    rss: float
    error: str | None
    # seconds per round of a fixed reference loop timed in the same process right after
    # the target (bench/_process_child.py): how fast the machine ran then
    reference: float | None = None


def measure(
    fn: Callable[..., Any],
    label: str,
    arg: Any = NO_ARG,
    options: BenchOptions | None = None,
    progress: Progress | None = None,
    timer: Callable[[], float] | None = None,
) -> tuple[Measured, BaseException | None]:
    """Warm up, calibrate, time the rounds and (when asked) trace memory; the second item is
    the Ctrl-C that stopped it, if one did (the measurement holds what came before)."""
    opts = options or BenchOptions()
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
    return Measured(
        label=label, samples=run.samples, phase_samples=run.phase_samples,
        per_call=run.per_call, cost=run.cost, iterations=run.iterations,
        rounds=run.rounds_done, cpu_wait=run.cpu_wait, is_async=caller.is_async,
        memory=mem, rss=float(psutil.Process().memory_info().rss), error=error,
    ), interrupted


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
    measured, interrupted = measure(fn, label, arg, opts, progress, timer)
    result = result_of(measured, opts, params)
    if interrupted is not None:
        raise Interrupted([result]) from interrupted
    return result


def result_of(m: Measured, opts: BenchOptions, params: Mapping[str, Any] | None) -> Result:
    """The Result of a measurement: its samples summarised, its memory as gauges."""
    from perfgate.analysis.stats import summarize  # numpy: not in a worker process

    metrics: dict[str, Metric] = {}
    of = "calls" if m.per_call else "round means"
    if m.samples:
        t = summarize(m.samples, "s")
        wait = {} if m.cpu_wait is None else {"cpu_wait": round(m.cpu_wait, 4)}
        ref = {} if m.reference is None else {"reference": m.reference}
        metrics["time"] = replace(t, extra={**t.extra, "of": of, **wait, **ref})
        for phase_name, samples in sorted(m.phase_samples.items()):
            p = summarize(samples, "s")
            metrics[f"time.{phase_name}"] = replace(p, extra={**p.extra, "of": of})
    mem = m.memory
    if mem is not None:
        if mem.alloc_bytes is not None and mem.allocs is not None:
            metrics["alloc_bytes"] = Metric.gauge(mem.alloc_bytes, "B")
            metrics["allocs"] = Metric.gauge(mem.allocs, "1")
        metrics["alloc_peak"] = Metric.gauge(mem.alloc_peak, "B")
        metrics["retained_bytes"] = Metric.gauge(mem.retained_bytes, "B")
        metrics["retained_allocs"] = Metric.gauge(mem.retained_allocs, "1")
    metrics["rss"] = Metric.gauge(m.rss, "B")
    all_params: dict[str, Any] = {
        **(params or {}),
        "iterations": m.iterations,
        "rounds": m.rounds,
        "timed": "per call" if m.per_call else "per round",
        "async": m.is_async,
        "gc": opts.gc,
        "max_time": opts.max_time,
        "warmup": opts.warmup,
    }
    if m.per_call:
        all_params["clock_cost"] = m.cost
    if mem is not None:
        all_params["memory"] = mem.method
    return Result(name=m.label, kind="bench", params=all_params, metrics=metrics,
                  error=m.error)
