"""Comparing two load results: a ratio with a CI from the run's own replication, never a
verdict from two point values.

A load result holds one whole-run value per metric, but also one value per tick (a second
by default) in its series — ``series.p50``, ``series.p99``, ``series.rps``. Those are the
replicates. They are not independent: a slow second is usually followed by another (a GC,
a compaction, a neighbour's burst), so a plain t-test on ticks would overstate certainty.
The method:

- per side, the log of each tick's value (the first tick — connections opening, caches
  warming — and a last partial tick dropped when there are enough);
- **batch means**: consecutive ticks averaged in batches of ``b`` ticks, ``b`` grown until
  the lag-1 autocorrelation of the batch means is small (≤ 0.2) or only 5 batches are left;
  the batch means are then treated as independent;
- Welch's t-interval on the difference of the two sides' mean log (batch means), which is
  the log of the ratio of geometric means: its exponential is the ratio and its 95 % CI;
- with fewer than 5 usable ticks on a side there is nothing to decide from: the comparison
  has no ratio and is ``inconclusive`` (never a FAIL on point values);
- a run that says it was *bounded by the generator* measured perfgate as much as the
  target: its comparisons are ``inconclusive`` too, the ratio kept in the evidence;
- so are two runs measured in different conditions: each run records its event loop's lag
  (how late its timers fired — what a busy machine adds to every response it waits for).
  When one run's mean lag is over twice the other's and the difference is at least 5 % of
  the latency compared, the machine changed between the runs and a ratio cannot be
  attributed to the target (on a shared CI machine this is the commonest false alarm).

The analysis unit is reported as ``round`` (values within one run): what the ticks cannot
show is how far another run would land, so :func:`perfgate.analysis.compare.finish` applies
the same noise floor as for a benchmark's rounds before calling a change.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace

import numpy as np
from numpy.typing import NDArray
from scipy import stats as _st

from perfgate.analysis.comparison import Comparison, Threshold
from perfgate.model import Result

__all__ = ["LOAD_METRICS", "batch_means", "compare_load"]

# (series metric, compared as, threshold key, higher is better)
LOAD_METRICS: tuple[tuple[str, str, str, bool], ...] = (
    ("series.p50", "latency p50", "latency", False),
    ("series.p99", "latency p99", "latency", False),
    ("series.rps", "rps", "rps", True),
)
MIN_TICKS = 5
# = perfgate.load._result.GENERATOR_WARNING (analysis does not import the engines; a test
# keeps the two equal)
GENERATOR_WARNING = "bounded by the generator"
LAG_SHIFT = 0.05
_MAX_R1 = 0.2


FloatArray = NDArray[np.float64]


def _lag1(x: FloatArray) -> float:
    if x.size < 3:
        return 0.0
    d = x - x.mean()
    den = float(np.dot(d, d))
    return float(np.dot(d[:-1], d[1:]) / den) if den > 0 else 0.0


def batch_means(values: Sequence[float] | FloatArray) -> tuple[FloatArray, int]:
    """Non-overlapping batch means of ``values`` and the batch size chosen (see above)."""
    x = np.asarray(values, dtype=np.float64)
    b = 1
    while True:
        k = x.size // b
        means: FloatArray = x[: k * b].reshape(k, b).mean(axis=1)
        if k // 2 < MIN_TICKS or _lag1(means) <= _MAX_R1:
            return means, b
        b *= 2


def _ticks(r: Result, series: str) -> list[float]:
    m = r.metrics.get(series)
    pts = [v for _, v in (m.points or ())] if m is not None else []
    pts = [v for v in pts if math.isfinite(v) and v > 0]
    if len(pts) > MIN_TICKS + 2:
        pts = pts[1:-1]  # warm-up tick and a partial last tick
    return pts


def _compare_one(name: str, metric: str, unit: str, hib: bool, base: list[float],
                 current: list[float], th: Threshold | None) -> Comparison:
    bw = _whole(base)
    cw = _whole(current)
    c = Comparison(name=name, metric=metric, unit=unit, base=bw, current=cw, ratio=None,
                   ci=None, p_value=None, p_adjusted=None, status="inconclusive", level="ok",
                   unit_of_analysis="tick", n_base=len(base), n_current=len(current),
                   threshold=th, higher_is_better=hib,
                   evidence=f"fewer than {MIN_TICKS} ticks on a side: nothing to decide from")
    if len(base) < MIN_TICKS or len(current) < MIN_TICKS:
        return c
    a, ba = batch_means(np.log(base))
    b, bb = batch_means(np.log(current))
    va, vb = a.var(ddof=1) / a.size, b.var(ddof=1) / b.size
    diff = float(b.mean() - a.mean())
    se = math.sqrt(va + vb)
    if se == 0:
        lo = hi = diff
        p = 1.0 if diff == 0 else 0.0
    else:
        df = (va + vb) ** 2 / ((va**2 / (a.size - 1)) + (vb**2 / (b.size - 1)))
        t = float(_st.t.ppf(0.975, df))
        lo, hi = diff - t * se, diff + t * se
        p = float(2 * _st.t.sf(abs(diff) / se, df))
    how = (f"per-tick values: {len(base)} vs {len(current)} ticks in batches of {ba} / {bb} "
           f"(lag-1 autocorrelation ≤ {_MAX_R1}), Welch t on log batch means; one run per "
           "side: run-to-run variation is not in this CI")
    return Comparison(name=name, metric=metric, unit=unit, base=bw, current=cw,
                      ratio=math.exp(diff), ci=(math.exp(lo), math.exp(hi)), p_value=p,
                      p_adjusted=p, status="inconclusive", level="ok",
                      unit_of_analysis="tick", n_base=int(a.size), n_current=int(b.size),
                      threshold=th, higher_is_better=hib, evidence=how)


def _whole(v: list[float]) -> float | None:
    return float(np.exp(np.mean(np.log(v)))) if v else None


def _saturated(r: Result) -> bool:
    return any(w.startswith(GENERATOR_WARNING) for w in r.warnings)


def _lag(r: Result) -> float | None:
    g = r.extra.get("generator")
    v = g.get("loop_lag_mean") if isinstance(g, dict) else None
    return float(v) if isinstance(v, int | float) and math.isfinite(v) else None


def _conditions_changed(base: Result, current: Result) -> str:
    """Why the two runs were measured in different conditions ("" when they were not)."""
    la, lb = _lag(base), _lag(current)
    lat = [m.p50 for m in (base.metrics.get("latency"), current.metrics.get("latency"))
           if m is not None and m.p50]
    if la is None or lb is None or not lat:
        return ""
    lo, hi = sorted((la, lb))
    if hi > 2 * lo and hi - lo >= LAG_SHIFT * min(lat):
        return (f"the generator's loop lag changed between the runs ({la * 1e3:.2f} ms → "
                f"{lb * 1e3:.2f} ms, ≥ {LAG_SHIFT:.0%} of the latency): the machine's state "
                "changed, so the ratio cannot be attributed to the target")
    return ""


def _not_judged(c: Comparison, why: str) -> Comparison:
    seen = f"measured ratio {c.ratio:.3f}× " if c.ratio is not None else ""
    return replace(c, ratio=None, ci=None, p_value=None, p_adjusted=None,
                   evidence=f"{seen}not judged: {why}")


def compare_load(base: Result, current: Result, thresholds: Mapping[str, Threshold],
                 metrics: Iterable[str] | None = None) -> list[Comparison]:
    """Undecided comparisons (p50, p99 latency and rps) of two load results of one name;
    :func:`perfgate.analysis.compare.finish` adjusts and decides them."""
    sides = [s for s, r in (("base", base), ("current", current)) if _saturated(r)]
    changed = _conditions_changed(base, current)
    wanted = set(metrics) if metrics is not None else None
    out = []
    for series, label, key, hib in LOAD_METRICS:
        if wanted is not None and not ({key, label, series} & wanted):
            continue
        b, c = _ticks(base, series), _ticks(current, series)
        th = thresholds.get(f"{current.name}:{key}") or thresholds.get(key)
        unit = "1/s" if hib else "s"
        comp = _compare_one(current.name, label, unit, hib, b, c, th)
        if sides:
            comp = _not_judged(comp, f"the {' and '.join(sides)} run was bounded by the "
                                     "generator (its figures may be perfgate's, not the "
                                     "target's)")
        elif changed:
            comp = _not_judged(comp, changed)
        out.append(comp)
    return out
