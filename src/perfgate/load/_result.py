"""From merged measurements to a :class:`~perfgate.model.Result` of kind ``load``.

Distributions (``latency``, ``service_time``) come from the merged histograms: their
summary fields are read off the buckets (0.4 % resolution), n/min/max/mean/stdev are exact.
The median's CI (``ci_low``/``ci_high``) and those of the other percentiles
(``extra["ci"]``) are distribution-free order-statistic intervals read off the histogram
and widened to bucket edges. Those assume independent latencies, which a loaded system only
approximates (a slow second makes many slow requests), so for ``latency`` they are widened
further, when the run has at least 5 ticks of 20 requests or more, to a batch interval: the
whole-run value ± t·s/√k, s being the spread of the per-tick values of the percentile.

What ``latency`` holds (``extra["latency_correction"]`` says it):

- open model — from each arrival's intended start (no coordinated omission);
  ``service_time`` beside it from the actual send;
- closed model (default) — the real iterations' times, nothing added. A closed model hides a
  stall (its VUs send nothing while blocked), so stalls are detected instead: windows of
  at least 100 ms and twice the real p99 in which no iteration completed while every VU
  waited; they are listed in ``extra["stalls"]`` and warned about;
- closed model with ``co_correct=True`` — plus synthetic samples for the requests a
  stalled VU did not send, at most 5 % of the real ones (``service_time`` keeps the real).

Failed iterations (exceptions, refused connections, timeouts, HTTP ≥ 400) never feed
``latency``: their times are ``latency_failed``. A run with no successful iteration is an
error, whatever its checks.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from perfgate.load._distribution import distribution
from perfgate.load._histogram import LogHistogram
from perfgate.load._outcomes import OK
from perfgate.load._run import RunOutcome
from perfgate.load._soak import growth
from perfgate.model import Metric, Result
from perfgate.units import format_value

__all__ = ["GENERATOR_WARNING", "STALL_WARNING", "build_result", "distribution"]


GENERATOR_WARNING = "bounded by the generator"
STALL_WARNING = "the target stalled"
STALL_MIN_S = 0.1
CPU_LIMIT = 0.9
LAG_MEAN_LIMIT = 0.02
LAG_MAX_LIMIT = 0.25
SCHED_LAG_LIMIT = 0.01
RESUME_SHARE_LIMIT = 0.2  # of the scenario's time, responses waiting for the loop


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
    iterations = agg.requests
    errors = agg.tally.total
    elapsed = agg.elapsed
    requests = agg.http if agg.http_counted else iterations
    latency = distribution(agg.lat, agg.points)
    metrics: dict[str, Metric] = {
        "latency": latency,
        "service_time": distribution(agg.svc if agg.has_svc else agg.lat),
        "requests": Metric.counter(requests),
        "iterations": Metric.counter(iterations),
        "errors": Metric.counter(errors),
        "dropped": Metric.counter(agg.dropped),
        "error_rate": Metric.gauge(errors / iterations if iterations else 0.0),
        "rps": Metric.gauge(requests / elapsed if elapsed > 0 else 0.0, unit="1/s"),
        f"count.{OK}": Metric.counter(iterations - errors),
    }
    if agg.http_counted:
        metrics["iteration_rate"] = Metric.gauge(
            iterations / elapsed if elapsed > 0 else 0.0, unit="1/s")
    if agg.failed.n:
        metrics["latency_failed"] = distribution(agg.failed)
    for phase, h in sorted(agg.phases.items()):
        metrics[f"latency.{phase}"] = distribution(h)
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
    closed_model = params.get("model") != "open"
    real = agg.svc if agg.has_svc and closed_model else agg.lat
    stalls = _stalls(agg.stalls(), real)
    if stalls and closed_model:
        longest = max(n for _, n in stalls)
        warnings.append(
            f"{STALL_WARNING}: {len(stalls)} window(s), the longest "
            f"{format_value(longest, 's')}, in which no iteration completed while every VU "
            "waited — the closed model "
            "sends nothing meanwhile, so its latency understates what users would see; "
            "use the open model (rate=…) for a tail free of coordinated omission")
    if agg.failed.n and agg.ok:
        warnings.append(
            f"latency is of the {agg.ok:,} successful iterations; the {agg.failed.n:,} "
            "failed ones are in latency_failed")
    error: str | None = None
    if run.failures:
        warnings.extend(run.failures)
        if iterations == 0:
            error = "; ".join(run.failures)
    if error is None and not run.interrupted:
        error = _no_real_work(agg)
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
            **({"response_wait_share": round(_resume_share(agg), 4)}
               if agg.http_counted else {}),
        },
        "duration": elapsed,
    }
    extra["latency_correction"] = _correction(params, closed_model, agg.synthetic)
    if agg.synthetic:
        extra["co_synthetic_samples"] = agg.synthetic
    if stalls:
        extra["stalls"] = {
            "count": len(stalls), "total": round(sum(n for _, n in stalls), 3),
            "longest": round(max(n for _, n in stalls), 3),
            "windows": [[round(a, 3), round(n, 3)] for a, n in stalls[:20]],
        }
    if agg.tally.statuses:
        extra["status_codes"] = {str(k): v for k, v in sorted(agg.tally.statuses.items())}
    if run.phases and agg.fault_phases:  # a fault schedule: per-phase metrics (docs/faults.md)
        from perfgate.load._phased import phase_metrics

        pm, pextra, pwarn = phase_metrics(agg, run.phases)
        metrics.update(pm)
        extra.update(pextra)
        warnings.extend(pwarn)
    return Result(
        name=name, kind="load", params=dict(params), metrics=metrics,
        warnings=tuple(warnings), error=error, extra=extra,
    )


def _stalls(gaps: list[tuple[float, float]], real: LogHistogram) -> list[tuple[float, float]]:
    """The gaps long enough to be stalls rather than slow requests: ≥ 100 ms and ≥ twice
    the real p99 (with one VU, every slow request is a gap; a stall is far past them)."""
    if not gaps:
        return []
    floor = max(STALL_MIN_S, 2 * real.quantile(0.99) / 1e9 if real.n else 0.0)
    return [(a, n) for a, n in gaps if n >= floor]


def _correction(params: Mapping[str, Any], closed_model: bool, synthetic: int) -> str:
    if not closed_model:
        return "intended start (open model): latency counts from each scheduled arrival"
    if params.get("co_correct"):
        return (f"bounded coordinated-omission correction: {synthetic:,} synthetic sample(s) "
                "added for stalled VUs, at most 5 % of the real ones")
    return "none (closed model): latency of real iterations; stalls are detected and flagged"


def _no_real_work(agg: Any) -> str | None:
    """Zero successful iterations is not a pass, whatever the checks."""
    if agg.requests == 0:
        return "no iteration completed"
    if agg.ok == 0:
        kinds = ", ".join(f"{k} ×{n:,}" for k, n in sorted(agg.tally.errors.items()))
        return f"every iteration failed ({agg.requests:,} of {agg.requests:,}: {kinds})"
    return None


def _resume_share(agg: Any) -> float:
    """Share of the iterations' measured time that responses spent waiting for the
    generator's loop (HttpClient scenarios): queueing in the generator, not the target."""
    busy = (agg.lat.total + agg.failed.total) / 1e9
    return agg.resume_wait / busy if busy > 0 else 0.0


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
    share = _resume_share(agg)
    if share > RESUME_SHARE_LIMIT:
        reasons.append(f"{share:.0%} of the scenario's time was responses waiting for the "
                       "generator's loop to resume them")
    if agg.sched_n:
        sl = agg.sched_lag_sum / agg.sched_n
        if sl > SCHED_LAG_LIMIT:
            reasons.append(f"arrivals went out {format_value(sl, 's')} late on average")
    if not reasons:
        return ""
    return (f"{GENERATOR_WARNING}: {'; '.join(reasons)} — the target may be faster than "
            "measured (use more processes or machines)")
