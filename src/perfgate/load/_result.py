"""From merged measurements to a :class:`~perfgate.model.Result` of kind ``load``.

Distributions (``latency``, ``service_time``) come from the merged histograms: their
summary fields are read off the buckets (0.4 % resolution), n/min/max/mean/stdev are exact.
The median's CI (``ci_low``/``ci_high``) and those of the other percentiles
(``extra["ci"]``) are distribution-free order-statistic intervals read off the histogram
and widened to bucket edges. Those assume independent latencies, which a loaded system only
approximates (a slow second makes many slow requests), so for ``latency`` they are widened
further, when the run has at least 5 ticks of 20 requests or more, to a batch interval: the
whole-run value ± t·s/√k, s being the spread of the per-tick values of the percentile.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from perfgate.load._histogram import LogHistogram
from perfgate.load._outcomes import OK
from perfgate.load._recorder import TICK_QUANTILES, SeriesPoint
from perfgate.load._run import RunOutcome
from perfgate.load._soak import growth
from perfgate.model import Metric, Result
from perfgate.units import format_value

__all__ = ["GENERATOR_WARNING", "build_result", "distribution"]

GENERATOR_WARNING = "bounded by the generator"
_PCTS = (25.0, 50.0, 75.0, 90.0, 95.0, 99.0, 99.9, 99.99)
CPU_LIMIT = 0.9
LAG_MEAN_LIMIT = 0.02
LAG_MAX_LIMIT = 0.25
SCHED_LAG_LIMIT = 0.01


_MIN_TICKS = 5
_MIN_TICK_REQUESTS = 20


def _batch_half_widths(points: list[SeriesPoint]) -> dict[str, float]:
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
    batch = _batch_half_widths(points) if points else {}
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


def _series(unit: str, pts: list[tuple[float, float]]) -> Metric:
    return Metric(unit=unit, kind="series", points=tuple(pts))


def build_result(
    name: str,
    run: RunOutcome,
    params: Mapping[str, Any],
    *,
    cpu_bound_is_target: bool,
    warmup: float | None = None,
) -> Result:
    agg, sampler = run.agg, run.sampler
    requests = agg.requests
    errors = agg.tally.total
    elapsed = agg.elapsed
    metrics: dict[str, Metric] = {
        "latency": distribution(agg.lat, agg.points),
        "service_time": distribution(agg.svc if agg.has_svc else agg.lat),
        "requests": Metric.counter(requests),
        "errors": Metric.counter(errors),
        "dropped": Metric.counter(agg.dropped),
        "error_rate": Metric.gauge(errors / requests if requests else 0.0),
        "rps": Metric.gauge(requests / elapsed if elapsed > 0 else 0.0, unit="1/s"),
        f"count.{OK}": Metric.counter(requests - errors),
    }
    for cls, n in sorted(agg.tally.errors.items()):
        metrics[f"count.{cls}"] = Metric.counter(n)
    pts = agg.points
    metrics["series.rps"] = _series("1/s", [(p.t, p.rps) for p in pts])
    metrics["series.errors"] = _series("1", [(p.t, float(p.errors)) for p in pts])
    metrics["series.p50"] = _series("s", [(p.t, p.p50) for p in pts if not math.isnan(p.p50)])
    metrics["series.p99"] = _series("s", [(p.t, p.p99) for p in pts if not math.isnan(p.p99)])
    metrics["series.inflight"] = _series("1", [(p.t, float(p.inflight)) for p in pts])
    if agg.dropped:
        metrics["series.dropped"] = _series("1", [(p.t, float(p.dropped)) for p in pts])
    metrics["series.rss"] = _series("B", list(zip(sampler.t, sampler.generator, strict=True)))
    if sampler.target_pid is not None:
        metrics["series.rss_target"] = _series(
            "B", list(zip(sampler.t, sampler.target, strict=True)))

    warnings: list[str] = []
    wu = warmup if warmup is not None else 0.2 * (sampler.t[-1] if sampler.t else 0.0)
    g = growth(sampler.t, sampler.watched(), wu)
    if g is not None:
        ci = (g.ci_low, g.ci_high) if g.ci_low is not None and g.ci_high is not None else None
        metrics["rss_growth"] = Metric.gauge(
            g.slope, unit="B/s", ci=ci, samples_used=g.n, warmup=round(g.warmup, 3),
            of="target" if sampler.target_pid is not None else "generator",
        )
    if sampler.target_error:
        warnings.append(sampler.target_error)

    gen = _generator_warning(run, elapsed, cpu_bound_is_target)
    if gen:
        warnings.append(gen)
    if agg.dropped:
        warnings.append(
            f"{agg.dropped} arrival(s) dropped: every VU was busy for longer than max_wait "
            "(raise max_vus, or the target cannot keep up with the rate)"
        )
    if agg.interrupted:
        warnings.append(
            f"{agg.interrupted} iteration(s) still in flight at the end were abandoned after "
            "the grace period (not counted in latency)"
        )
    error: str | None = None
    if run.failures:
        warnings.extend(run.failures)
        if requests == 0:
            error = "; ".join(run.failures)
    if run.interrupted:
        warnings.append("interrupted: the result covers the run up to the interruption")
    warnings[:0] = run.warnings  # a starter's first: a partial run, a saturated host

    cpu = {str(k): round(v / elapsed, 3) if elapsed > 0 else None for k, v in agg.cpu.items()}
    extra: dict[str, Any] = {
        "errors_examples": agg.tally.examples,
        **{k: v for k, v in run.extra.items() if k != "generator"},  # a starter's: partial
        "generator": {
            "processes": run.processes,
            "cpu": cpu,
            **run.extra.get("generator", {}),  # a starter's: backend, per-worker hosts
            "loop_lag_max": agg.lag_max,
            "loop_lag_mean": (sum(agg.lag_means) / len(agg.lag_means)) if agg.lag_means else 0,
            "schedule_lag_max": agg.sched_lag_max,
            "schedule_lag_mean": agg.sched_lag_sum / agg.sched_n if agg.sched_n else 0.0,
            "peak_vus": sum(agg.peak_vus.values()),
        },
        "duration": elapsed,
    }
    if agg.synthetic:
        extra["co_synthetic_samples"] = agg.synthetic
    if agg.tally.statuses:
        extra["status_codes"] = {str(k): v for k, v in sorted(agg.tally.statuses.items())}
    return Result(
        name=name, kind="load", params=dict(params), metrics=metrics,
        warnings=tuple(warnings), error=error, extra=extra,
    )


def _generator_warning(run: RunOutcome, elapsed: float, cpu_bound_is_target: bool) -> str:
    agg = run.agg
    reasons = []
    if elapsed > 0 and not cpu_bound_is_target and agg.cpu:
        top = max(agg.cpu.values()) / elapsed
        if top >= CPU_LIMIT:
            reasons.append(f"its CPU was {top:.0%} of a core")
    lag_mean = sum(agg.lag_means) / len(agg.lag_means) if agg.lag_means else 0.0
    # With in-process callables the loop competes with the target for the GIL: its lag
    # then measures the target, not the generator.
    if not cpu_bound_is_target and (lag_mean > LAG_MEAN_LIMIT or agg.lag_max > LAG_MAX_LIMIT):
        reasons.append(f"event-loop lag mean {format_value(lag_mean, 's')}, "
                       f"max {format_value(agg.lag_max, 's')}")
    if agg.sched_n:
        sl = agg.sched_lag_sum / agg.sched_n
        if sl > SCHED_LAG_LIMIT:
            reasons.append(f"arrivals went out {format_value(sl, 's')} late on average")
    if not reasons:
        return ""
    return (f"{GENERATOR_WARNING}: {'; '.join(reasons)} — the target may be faster than "
            "measured (use more processes or machines)")
