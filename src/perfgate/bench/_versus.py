"""Two or more variants side by side: interleaved rounds in one process, a paired analysis.

For an overhead ("the protocol layer costs < 5 ms per operation") or a choice (sync against
async, one parser against another) two separate runs compared afterwards mix the difference
with everything that changed between the runs: CPU frequency, a neighbour's load, the
process's memory layout. Here the variants share one process and one stretch of time:

1. **Warm-up and calibration per variant.** Each variant runs untimed for ``warmup``
   seconds, then its calls per round grow until a round lasts ``round_time`` (never under
   1,000 × the timer's resolution), so the timer's granularity is below 0.1 % of a round.
2. **Alternating rounds (ABBA).** Round r times every variant once, in the order A B … on
   even rounds and reversed on odd ones: a drift of the machine (a frequency step, a
   neighbour starting) hits all variants alike, and being second in a round favours none.
   The garbage collector is paused inside a timed round and collected between rounds, as
   in the benchmark engine.
3. **Paired analysis.** Each round gives each variant's time per call; against the
   baseline (the first variant) it gives a ratio ``t_v / t_0`` and a difference
   ``t_v − t_0``. The rounds are the pairs. The ratio's estimate and 95 % CI are the
   Hodges-Lehmann estimate of the log-ratios and its distribution-free Wilcoxon
   signed-rank interval (exact up to 60 rounds); the overhead's, the same on the
   differences. A round disturbed by a neighbour moves them by one rank, not by its size.
4. **Stop.** After ``min_rounds``, once the ratio's CI is within ``precision`` of it on
   either side, or when ``max_time`` seconds of rounds are spent.

Metrics: ``time.<variant>`` (each variant's rounds), and for each variant after the first
``ratio.<variant>`` and ``overhead.<variant>`` (seconds per call); with two variants also
plain ``ratio`` and ``overhead``, so checks read ``ratio < 1.1`` and ``overhead < 5ms``.
"""

from __future__ import annotations

import gc
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from perfgate._errors import Interrupted, TargetError, UsageError
from perfgate.analysis.compare import hodges_lehmann_paired
from perfgate.analysis.stats import summarize
from perfgate.bench._calls import _NO_ARG, Caller
from perfgate.bench._engine import timer_resolution
from perfgate.model import Metric, Result

__all__ = ["VersusOptions", "versus"]

_CHECK_EVERY = 10
_MAX_PAIRS_CI = 2000  # rounds used for the interval (the most recent): bounds its O(n²) cost


@dataclass(frozen=True)
class VersusOptions:
    """Knobs of the side-by-side loop; the defaults take about ``max_time`` + warm-ups."""

    max_time: float = 2.0  # seconds of timed rounds, all variants together
    min_rounds: int = 12
    max_rounds: int = 20_000
    warmup: float = 0.1  # seconds of untimed calls per variant
    round_time: float = 1e-3  # target seconds per variant per round
    precision: float = 0.005  # stop once the ratio's CI is within ±0.5 % of it
    gc: bool = False  # leave the garbage collector running inside rounds

    def __post_init__(self) -> None:
        if self.max_time < 0 or self.warmup < 0 or self.round_time <= 0:
            raise UsageError("versus: max_time and warmup must be ≥ 0 and round_time > 0")
        if self.min_rounds < 6 or self.max_rounds < self.min_rounds:
            raise UsageError("versus: need 6 ≤ min_rounds ≤ max_rounds (fewer pairs give "
                             "no 95 % interval)")
        if self.precision < 0:
            raise UsageError("versus: precision must be ≥ 0")


def _names(fns: Sequence[Callable[..., Any]], names: Sequence[str] | None) -> list[str]:
    if names is not None:
        out = [str(n) for n in names]
        if len(out) != len(fns):
            raise UsageError(f"versus: {len(out)} names for {len(fns)} variants")
    else:
        out = [str(getattr(f, "__name__", None) or type(f).__name__) for f in fns]
    seen: dict[str, int] = {}
    unique = []
    for n in out:
        seen[n] = seen.get(n, 0) + 1
        unique.append(n if seen[n] == 1 else f"{n}#{seen[n]}")
    if any(not n or any(c.isspace() for c in n) for n in unique):
        raise UsageError(f"versus: variant names must be non-empty, without spaces: {unique}")
    return unique


class _Variant:
    def __init__(self, name: str, fn: Callable[..., Any], arg: Any,
                 timer: Callable[[], float]) -> None:
        self.name = name
        self.timer = timer
        self.caller = Caller(fn, timer=timer) if arg is _NONE else Caller(fn, arg, timer)
        self.iterations = 1
        self.samples: list[float] = []

    def round(self, n: int, keep_gc: bool) -> float:
        gc_was = gc.isenabled()
        if not keep_gc:
            gc.disable()
        try:
            elapsed = self.caller.run(n)
        except Exception as exc:
            raise TargetError(f"versus: {self.name} raised {type(exc).__name__}: {exc}"
                              ) from exc
        finally:
            if gc_was:
                gc.enable()
        if not keep_gc and gc.get_count()[0] > 700:
            gc.collect(0)
        return elapsed

    def warm_and_calibrate(self, opts: VersusOptions) -> None:
        deadline = time.perf_counter() + opts.warmup
        self.round(1, opts.gc)
        while time.perf_counter() < deadline:
            self.round(1, opts.gc)
        target = max(opts.round_time, 1000 * timer_resolution(self.timer))
        n = 1
        while True:
            elapsed = self.round(n, opts.gc)
            if elapsed >= target or n >= 1 << 30:
                break
            grow = target / elapsed if elapsed > 0 else 10.0
            n = max(n + 1, min(n * 10, math.ceil(n * grow * 1.1)))
        self.iterations = n


NONE: Any = object()  # no argument: each variant is called with none
_NONE = NONE


def paired_ratio(base: Sequence[float], other: Sequence[float]
                 ) -> tuple[float, float, float, float]:
    """Per-round ratios other/base: (Hodges-Lehmann estimate, CI low, CI high, p)."""
    a = np.log(np.asarray(base[-_MAX_PAIRS_CI:], dtype=np.float64))
    b = np.log(np.asarray(other[-_MAX_PAIRS_CI:], dtype=np.float64))
    est, lo, hi, p = hodges_lehmann_paired(b - a)
    return math.exp(est), math.exp(lo), math.exp(hi), p


def paired_difference(base: Sequence[float], other: Sequence[float]
                      ) -> tuple[float, float, float, float]:
    """Per-round differences other − base: (estimate, CI low, CI high, p)."""
    a = np.asarray(base[-_MAX_PAIRS_CI:], dtype=np.float64)
    b = np.asarray(other[-_MAX_PAIRS_CI:], dtype=np.float64)
    return hodges_lehmann_paired(b - a)


def versus(
    *fns: Callable[..., Any],
    names: Sequence[str] | None = None,
    arg: Any = _NONE,
    name: str | None = None,
    options: VersusOptions | None = None,
    clock: str = "auto",
) -> Result:
    """Time two or more callables in alternating rounds; the first is the baseline.

    ``arg``: one value passed to every variant (the same input for each). Returns a
    ``versus`` Result with ``ratio``/``overhead`` (see the module's docstring); checks such
    as ``"ratio < 1.1"`` or ``"overhead < 5ms"`` are applied by the runner (``pg.versus``).

    ``clock``: ``"cpu"`` (the thread's CPU time), ``"wall"`` (perf_counter) or ``"auto"``:
    the CPU clock when no variant waits (no voluntary context switch in a call: pure
    computation), else the wall clock. On a shared machine the wall clock of a round
    includes the time the process was descheduled, which falls on one variant of a pair at
    random: measured at load 10 on 2 CPUs, the wall-clock ratio of a known 1.1× pair came
    out anywhere from 0.97 to 2.2 with CIs 1.5 wide; the CPU clock is not charged for it.
    """
    if len(fns) < 2:
        raise UsageError("versus: give at least two callables to compare")
    for f in fns:
        if not callable(f):
            raise UsageError(f"versus: {f!r} is not callable")
    opts = options or VersusOptions()
    if clock not in ("auto", "wall", "cpu"):
        raise UsageError(f"versus: clock must be 'auto', 'wall' or 'cpu', not {clock!r}")
    labels = _names(fns, names)
    used = clock
    if used == "auto":
        from perfgate.bench._sweep import _never_waits

        plain = _NO_ARG if arg is _NONE else arg
        try:
            used = "cpu" if all(_never_waits(f, plain) for f in fns) else "wall"
        except Exception as exc:
            raise TargetError(f"versus: a variant raised {type(exc).__name__}: {exc}"
                              ) from exc
    timer = time.thread_time if used == "cpu" else time.perf_counter
    variants = [_Variant(n, f, arg, timer) for n, f in zip(labels, fns, strict=True)]
    label = name or " vs ".join(labels)
    try:
        for v in variants:
            v.warm_and_calibrate(opts)
        rounds = _rounds(variants, opts)
    except KeyboardInterrupt as exc:
        # Ctrl-C: the complete rounds measured so far are the result (and say so).
        done = min(len(v.samples) for v in variants)
        for v in variants:
            del v.samples[done:]
        partial = (_result(label, variants, opts, done, used) if done >= 2 else
                   Result(name=label, kind="versus", params={"variants": labels}))
        raise Interrupted([replace(partial, error=f"interrupted (Ctrl-C) after {done} rounds")]
                          ) from exc
    finally:
        for v in variants:
            v.caller.close()
    return _result(label, variants, opts, rounds, used)


def _rounds(variants: list[_Variant], opts: VersusOptions) -> int:
    start = time.perf_counter()
    r = 0
    while True:
        order = variants if r % 2 == 0 else variants[::-1]
        for v in order:
            v.samples.append(v.round(v.iterations, opts.gc) / v.iterations)
        r += 1
        if r < opts.min_rounds:
            continue
        if r >= opts.max_rounds or time.perf_counter() - start >= opts.max_time:
            return r
        if r % _CHECK_EVERY == 0 and _precise(variants, opts.precision):
            return r


def _precise(variants: list[_Variant], precision: float) -> bool:
    base = variants[0].samples
    for v in variants[1:]:
        est, lo, hi, _ = paired_ratio(base, v.samples)
        if not (hi / est - 1 <= precision and 1 - lo / est <= precision):
            return False
    return True


def _result(label: str, variants: list[_Variant], opts: VersusOptions, rounds: int,
            clock: str) -> Result:
    base = variants[0]
    metrics: dict[str, Metric] = {f"time.{v.name}": summarize(v.samples, "s") for v in variants}
    for v in variants[1:]:
        ratio, rlo, rhi, rp = paired_ratio(base.samples, v.samples)
        diff, dlo, dhi, dp = paired_difference(base.samples, v.samples)
        of = {"baseline": base.name, "rounds": rounds, "p_value": rp,
              "method": "Hodges-Lehmann on per-round log-ratios, Wilcoxon signed-rank CI"}
        metrics[f"ratio.{v.name}"] = Metric.gauge(ratio, "1", (rlo, rhi), **of)
        metrics[f"overhead.{v.name}"] = Metric.gauge(
            diff, "s", (dlo, dhi), **{**of, "p_value": dp,
                                      "method": "Hodges-Lehmann on per-round differences, "
                                                "Wilcoxon signed-rank CI"})
    if len(variants) == 2:
        other = variants[1].name
        metrics["ratio"] = metrics[f"ratio.{other}"]
        metrics["overhead"] = metrics[f"overhead.{other}"]
    return Result(
        name=label, kind="versus",
        params={"variants": [v.name for v in variants], "baseline": base.name,
                "rounds": rounds, "order": "ABBA", "clock": clock,
                "iterations": {v.name: v.iterations for v in variants},
                "max_time": opts.max_time, "round_time": opts.round_time},
        metrics=metrics,
    )
