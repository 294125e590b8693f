"""The noise a comparison of two saved runs cannot see in them, and what it does to the CI.

Two runs saved at different moments differ by more than their own rounds or processes
show: the machine was in another state (another neighbour, another core, a host that took
the CPU away). Each function here widens a :class:`~perfgate.analysis.comparison.Comparison`
by one such source, from what can be measured — the stored history of the benchmark on this
machine (:func:`run_noise`), the time a run's thread waited for a core
(:func:`with_cpu_wait`) — or, without a measurement, by a conservative assumption, so that
a comparison never fails on noise it cannot see (docs/history.md gives the figures).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

import numpy as np
from scipy import stats as _st

from perfgate.analysis.comparison import Comparison, base_metric

__all__ = [
    "ASSUMED_BETWEEN_RUNS",
    "ASSUMED_RUN_NOISE",
    "DISTURBED",
    "MACHINE_SHIFT",
    "MIN_HISTORY",
    "WAIT_FLOOR",
    "Readings",
    "RunNoise",
    "both_readings",
    "machine_level",
    "noise_interval",
    "run_noise",
    "steady_runs",
    "with_cpu_wait",
    "with_run_noise",
]


# One process per side and no history: the run-to-run SD (log scale) assumed for the headline
# value. Identical code measured in single 0.1 s processes on a 2-core VM beside a busy loop
# landed 5.3 % apart (SD) in two modes 12–18 % apart (SMT siblings shared or not), so a
# change is called only beyond ~18 % (1.96 × √2 × 6 %); at 5 % (a 15 % band) 3 % of 200 A/A
# comparisons failed (benchmarks/baseline_accuracy.py).
ASSUMED_RUN_NOISE = 0.06
DISTURBED = 0.25  # log(p90 / p10) of a run's rounds beyond which the machine disturbed it
MIN_HISTORY = 5  # stored runs needed before their spread replaces the assumed one
WAIT_FLOOR = 0.01  # share of a run's rounds spent waiting for a CPU below which it is quiet
_LARGEST_FROM = 50  # differences from which the 98th percentile stands in for the largest
_NOISE_FLOOR = 0.002  # a perfectly flat history still leaves timer and scheduling noise
# Two saved runs whose reference loops (timed in every worker process right after its
# rounds, bench/_process_child.py) ran this far apart (log scale) ran on a machine in
# different states. Identical code saved 60 times beside a busy loop on this project's
# 2-core VM: the reference's median moved 2.3 % (SD) from run to run — consecutive runs
# beyond 6 % apart in 7 of 59 pairs — and whole runs landed 1.4-1.5× slower for seconds
# (1 to 3 runs in 20 on a given day, no CPU wait to show it), failing A/A comparisons.
# 0.12 is 3.6 SDs of two runs' difference: a state change, not the reference's noise.
MACHINE_SHIFT = 0.12


@dataclass(frozen=True)
class RunNoise:
    """How far one run's headline value lands from the next, on a log scale: ``sigma`` is
    a standard deviation per run, estimated with ``df`` degrees of freedom from ``runs``
    stored runs (``source`` names them)."""

    sigma: float
    df: float
    runs: int
    source: str = ""
    largest: float = 0.0  # the largest |log difference| between consecutive runs (noise)


def machine_level(levels: Sequence[float | None]) -> float | None:
    """The median of the known machine levels (reference loop seconds), or None."""
    got = [float(x) for x in levels if x is not None and x > 0 and math.isfinite(x)]
    return float(np.median(got)) if got else None


def steady_runs(values: Sequence[float], machine: Sequence[float | None] | None
                ) -> list[float]:
    """``values`` without the runs whose machine level (``machine``, aligned; None where
    unknown) lies beyond ``MACHINE_SHIFT`` of the series' median level: those ran on a
    machine in another state, and their spread is not this machine's run-to-run noise in
    the state the others share (kept, one host-slowed run makes the largest consecutive
    difference ~40 %, and a comparison bounded by it is blind to anything smaller)."""
    if machine is None or len(machine) != len(values):
        return list(values)
    mid = machine_level(machine)
    if mid is None:
        return list(values)
    return [v for v, m in zip(values, machine, strict=True)
            if m is None or not m > 0 or abs(math.log(m / mid)) <= MACHINE_SHIFT]


def run_noise(values: Sequence[float], source: str = "") -> RunNoise | None:
    """Run-to-run noise of a stored series (oldest first), or None with < MIN_HISTORY runs.

    Successive differences of the log values cancel any step or slow drift. A difference
    beyond 3.5 robust SDs is a step when it stands alone — dropped, a step is not noise —
    and an outlier run when the next or the previous one goes the other way by as much:
    kept, because outlier runs are exactly the noise that makes two single runs of the
    same code land far apart (dropping them let 1 in 10 A/A comparisons fail on a busy
    machine). Then σ = √(mean d² / 2), with about ⅔ of the differences as degrees of
    freedom (they overlap), and ``largest`` the largest difference kept (from 50 on, their
    98th percentile)."""
    v = np.asarray([x for x in values if x is not None and x > 0 and math.isfinite(x)],
                   dtype=np.float64)
    if v.size < MIN_HISTORY:
        return None
    d = np.diff(np.log(v))
    dev = np.abs(d - np.median(d))
    big = dev > 3.5 * 1.4826 * float(np.median(dev))
    keep = ~big
    for i in np.flatnonzero(big):
        keep[i] = any(0 <= j < d.size and big[j] and np.sign(d[j]) != np.sign(d[i])
                      for j in (i - 1, i + 1))
    d = d[keep]
    if d.size == 0:
        return None
    sigma = max(_NOISE_FLOOR, math.sqrt(float(np.mean(d**2)) / 2))
    # the largest, or in a long history its 98th percentile: one wild run in 200 must not
    # blind the gate to everything smaller
    a = np.abs(d)
    largest = float(np.max(a) if a.size < _LARGEST_FROM else np.quantile(a, 0.98))
    return RunNoise(sigma, max(2.0, 2 * d.size / 3), int(v.size), source, largest)


def noise_interval(est: float, se: float, q: float, noise: RunNoise | None
                   ) -> tuple[float, float]:
    """The log-ratio interval est ± q·se, widened to ± the largest difference the history
    saw between consecutive runs: a difference that two runs of the same code have already
    shown is not evidence of a change, however the t quantile reads the tails."""
    lo, hi = est - q * se, est + q * se
    if noise is not None:
        lo, hi = min(lo, est - noise.largest), max(hi, est + noise.largest)
    return math.exp(lo), math.exp(hi)


@dataclass(frozen=True)
class Readings:
    """A change read both ways when the machine ran at another speed in one side."""

    est: float  # log ratio: the smaller claim of the two readings
    lo: float  # the interval covering both (ratios)
    hi: float
    p: float  # the weaker p-value
    note: str  # both readings, for the evidence


def both_readings(est: float, shift: float, interval: Callable[[float], tuple[float, float]],
                  p_of: Callable[[float], float], now: str, then: str) -> Readings | None:
    """None when the two sides' machine levels differ by at most ``MACHINE_SHIFT`` (log
    ``shift`` = current / base). Otherwise code that slows with the machine (pure Python,
    like the reference loop) changed by est − shift, and code bound by memory or I/O may
    not have slowed at all (est); nothing here says which the target is, so a verdict needs
    both readings: the interval covers both, the estimate is the smaller claim, the p-value
    the weaker. ``interval`` and ``p_of`` give each reading's interval and p-value."""
    if not abs(shift) > MACHINE_SHIFT:
        return None
    other = est - shift
    (lo1, hi1), (lo2, hi2) = interval(est), interval(other)
    note = (f"the machine ran {math.exp(abs(shift)):.2f}× "
            f"{'slower' if shift > 0 else 'faster'} in the {now} than in the {then} (a "
            f"reference loop timed in every process): as measured the change reads "
            f"{math.exp(est):.3f}×, relative to the machine {math.exp(other):.3f}×; a "
            "verdict needs both — rerun to compare runs in the same machine state")
    return Readings(other if abs(other) < abs(est) else est, min(lo1, lo2), max(hi1, hi2),
                    max(p_of(est), p_of(other)), note)


def with_run_noise(c: Comparison, noise: RunNoise | None) -> Comparison:
    """A one-process-per-side comparison with its CI and p-value from run-to-run noise
    (measured when ``noise`` is given, else ``ASSUMED_RUN_NOISE``). Others are returned
    as they are; saved runs of several processes are analysis/saved_processes.py's."""
    if c.unit_of_analysis != "round" or c.ratio is None or not c.ratio > 0:
        return c
    est = math.log(c.ratio)
    sigma = noise.sigma if noise is not None else ASSUMED_RUN_NOISE
    # a disturbed side's median may sit anywhere in its rounds' middle: half their spread
    extra = [d / 2 for d in c.disturbance if d > DISTURBED]
    se = math.sqrt(2 * sigma**2 + sum(d**2 for d in extra))  # each side is one run
    if noise is not None:
        q = float(_st.t.ppf(0.975, noise.df))
        p = float(2 * _st.t.sf(abs(est) / se, noise.df))
        how = (f"one process per side: CI from the run-to-run spread of {noise.runs} stored "
               f"runs (σ {100 * sigma:.1f}% per run, at most "
               f"{100 * (math.exp(noise.largest) - 1):.1f}% between consecutive runs"
               f"{'; ' + noise.source if noise.source else ''})")
    else:
        q = float(_st.norm.ppf(0.975))
        p = float(2 * _st.norm.sf(abs(est) / se))
        band = 100 * (math.exp(q * se) - 1)
        how = (f"one process per side and no stored history: run-to-run noise assumed "
               f"{100 * sigma:g}% per run, so only a change beyond ~{band:.0f}% "
               "is called; to decide smaller ones, save runs with several processes "
               "(`--processes 4`), gate with `perfgate compare --against REF`, or give "
               f"`--store` with ≥ {MIN_HISTORY} stored runs of this benchmark on this machine")
    if extra:
        sides = [f"{side} {math.exp(d):.2f}×" for side, d
                 in zip(("base", "current"), c.disturbance, strict=True) if d > DISTURBED]
        how += (f"; the machine disturbed the run (rounds spread p90/p10 {', '.join(sides)}): "
                "half that spread is added to the noise — rerun on a quieter machine")
    return replace(c, ci=noise_interval(est, se, q, noise), p_value=p,
                   p_adjusted=p, unit_of_analysis="run",
                   evidence=f"{c.evidence.split('; one process per side')[0]}; {how}")


# Saved runs of several processes each, no history: the SD per run of a shift the machine
# gives all processes of one run alike (analysis/saved_processes.py). Identical code saved
# beside a busy loop landed 1.1-1.4 % apart from run to run (SD) with 5 or 10 processes in
# 1 s, and 2.7 % with 4 processes in 0.1 s at load 2-2.6: the processes cancel their own
# noise, not the machine's.
ASSUMED_BETWEEN_RUNS = 0.03


def with_cpu_wait(c: Comparison) -> Comparison:
    """A wall-time comparison whose sides waited for a CPU for different shares of their
    timed rounds, with its CI widened by what that difference can do.

    A thread that waited for a CPU for a share w of its timed rounds shared its core with
    another process. That can make the run slower (rounds preempted: up to 1 / (1 - w)) —
    and, measured on a 2-core VM whose cores are SMT siblings, just as often *faster*:
    while the thread waits, the busy neighbour sits on its core, the sibling runs alone, and
    the rounds that run whole ran 10-18 % faster than in runs without waiting. So the
    direction is unknown and the CI is stretched both ways, by 1 / (1 - |w_base - w_cur|):
    what differs between the two runs' conditions. Two runs that both waited about half
    their time ran in the same conditions — on a busy CI runner that is every run — and
    stretching their CI by 2× (as the larger w alone would) made a 25 % slowdown
    inconclusive; a run that waited against one that did not keeps the wide CI, because
    nothing in its samples shows the difference — only the scheduler knows."""
    wb, wc = (w if w > WAIT_FLOOR else 0.0 for w in c.waited)
    gap = abs(wb - wc)
    if gap <= WAIT_FLOOR or c.ci is None or base_metric(c.metric) != "time":
        return c
    f = 1 / (1 - min(gap, 0.95))
    sides = ", ".join(f"{side} {100 * w:.0f}%" for side, w
                      in zip(("base", "current"), c.waited, strict=True))
    return replace(c, ci=(c.ci[0] / f, c.ci[1] * f), evidence=(
        f"{c.evidence}; the runs shared their cores unequally ({sides} of their timed "
        f"rounds spent waiting for a core), which can make a run slower or (on SMT "
        f"siblings) faster: the CI is widened ×/÷ {f:.2f}"))
