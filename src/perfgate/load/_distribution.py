"""A latency distribution Metric from a histogram, with CIs that cover tick-to-tick variation.

Summary fields are read off the buckets (0.4 % resolution); n/min/max/mean/stdev are exact.
The percentiles' CIs (``extra["ci"]``, the median's also as ``ci_low``/``ci_high``) are
distribution-free order-statistic intervals read off the histogram, widened to bucket edges,
and — when the run has at least 5 ticks of 20 requests or more — widened further to a batch
interval, the whole-run value ± t·s/√k over the ticks' values, since a loaded system's
latencies are not independent (a slow second makes many slow requests).
"""

from __future__ import annotations

import math

from perfgate.load._histogram import LogHistogram
from perfgate.load._recorder import TICK_QUANTILES, SeriesPoint
from perfgate.model import Metric

__all__ = ["batch_half_widths", "distribution"]

_PCTS = (25.0, 50.0, 75.0, 90.0, 95.0, 99.0, 99.9, 99.99)

_MIN_TICKS = 5
_MIN_TICK_REQUESTS = 20


def batch_half_widths(points: list[SeriesPoint]) -> dict[str, float]:
    """Per percentile, t·s/√k over the ticks' values (ticks with enough requests)."""
    rows = [p.quantiles for p in points
            if p.quantiles and p.requests >= _MIN_TICK_REQUESTS]
    if len(rows) < _MIN_TICKS:
        return {}
    k = len(rows)
    t = float(_t_ppf(k - 1))
    out = {}
    for j, q in enumerate(TICK_QUANTILES):
        vals = [r[j] for r in rows]
        mean = sum(vals) / k
        sd = math.sqrt(sum((v - mean) ** 2 for v in vals) / (k - 1))
        out[f"p{q * 100:g}"] = t * sd / math.sqrt(k)
    return out


def _t_ppf(df: int) -> float:
    from scipy import stats

    return float(stats.t.ppf(0.975, df))


def distribution(h: LogHistogram, points: list[SeriesPoint] | None = None) -> Metric:
    """A distribution Metric (seconds) from a nanosecond histogram; ``points`` (per-tick
    percentiles) widen the CIs to cover tick-to-tick variation."""
    if h.n == 0:
        return Metric(unit="s", kind="distribution", n=0)
    s = 1e-9
    pct = {f"{q:g}": h.quantile(q / 100) * s for q in _PCTS}
    cis: dict[str, list[float]] = {}
    batch = batch_half_widths(points) if points else {}
    for q in (50.0, 90.0, 95.0, 99.0, 99.9):
        ci = h.quantile_ci(q / 100)
        if ci is not None:
            lo, hi = ci[0] * s, ci[1] * s
            half = batch.get(f"p{q:g}")
            if half is not None:
                lo, hi = min(lo, pct[f"{q:g}"] - half), max(hi, pct[f"{q:g}"] + half)
            cis[f"p{q:g}"] = [max(lo, h.vmin * s), hi]
    med_ci = cis.get("p50")
    return Metric(
        unit="s", kind="distribution", n=h.n, min=h.vmin * s, max=h.vmax * s,
        mean=h.mean * s, median=pct["50"], stdev=h.stdev * s, iqr=pct["75"] - pct["25"],
        p50=pct["50"], p90=pct["90"], p95=pct["95"], p99=pct["99"],
        ci_low=med_ci[0] if med_ci else None, ci_high=med_ci[1] if med_ci else None,
        extra={"percentiles": pct, "ci": cis, "histogram": h.to_sparse()},
    )


