"""A fault scenario's metrics: every phase on its own, the degradation, the time to recover.

Per phase ``P`` (see :mod:`perfgate.faults._schedule`): ``phase.P.latency`` (a distribution,
as the whole run's ``latency``), ``phase.P.requests``, ``phase.P.errors``,
``phase.P.error_rate``, ``phase.P.rps`` and ``phase.P.count.CLASS`` per error class.

**Degradation** compares the fault phase (the first with role ``fault``) with the baseline
(role ``baseline``, else the first phase): ``degradation.p50``/``p95``/``p99`` are ratios of
the percentiles, ``degradation.rps`` the ratio of throughputs. Their CI combines the two
percentiles' 97.5 % intervals (order statistics on the histograms, widened by the ticks'
spread as in :mod:`._result`): [fault low / baseline high, fault high / baseline low], a
95 % interval by Bonferroni's inequality.

**Time to recover**: the baseline's *band* is what its ticks showed, with a margin — a tick
is in band when its p50 is at most 1.5 × the highest baseline tick p50 + 0.5 ms and its
error rate at most the highest baseline tick error rate + 1 percentage point (a tick where
nothing completed is out of band). A few baseline ticks of a few requests each are a thin
estimate of a busy machine's latency, so the p50 limit is also never tighter than 5 % of the
step the fault made (baseline p50 + 5 % × (fault p50 − baseline p50)): the *settling time* of
control engineering, whose tolerance is relative to the step. A 900 ms fault has settled
when p50 is back within 45 ms of the baseline, even if a busy machine keeps it above the
baseline's own band; a fault of a few milliseconds is still judged on the baseline's band.
Only the signals the fault moved count — p50 if most
fault-phase ticks were above the band, the error rate if most were above it (``band.signals``)
— so that a fault seen only in errors is not judged on latency noise, and vice versa; a fault
that moved neither recovers at once. The first tick that, with the next one, is in band ends the
recovery; it happened during the tick before (the last one out of band), and
``recovery_time`` is the middle of that tick, measured from the end of the fault phase, with
the tick as its CI (0 when the first tick after the fault is already in band). Requests are
assigned to ticks by completion, so a request started before the return and finished after
it can push the estimate up to one latency later. A run that never comes
back gets ``inf`` (reads as ``null`` in JSON) with ``at_least`` in the metric, and a warning.
"""

from __future__ import annotations

import math
from typing import Any

from perfgate.faults._schedule import PhaseRecord
from perfgate.load._distribution import batch_half_widths, distribution
from perfgate.load._recorder import Aggregator, PhaseTotals, SeriesPoint
from perfgate.model import Metric

__all__ = ["BAND_ABS", "BAND_ERR", "BAND_REL", "HOLD_TICKS", "SETTLE", "phase_metrics"]

BAND_REL = 1.5
BAND_ABS = 0.0005
BAND_ERR = 0.01
SETTLE = 0.05
HOLD_TICKS = 2
_CONF = 0.975


def _points(agg: Aggregator, start: float, end: float) -> list[SeriesPoint]:
    return [p for p in agg.points if start - 1e-9 <= p.t < end - 1e-9]


def _phase(agg: Aggregator, ph: PhaseTotals) -> dict[str, Metric]:
    pre = f"phase.{ph.name}."
    errors = ph.tally.total
    span = max(0.0, min(ph.end, max(ph.t_last, agg.elapsed)) - ph.start)
    out = {
        pre + "latency": distribution(ph.lat, _points(agg, ph.start, ph.end)),
        pre + "requests": Metric.counter(ph.requests),
        pre + "errors": Metric.counter(errors),
        pre + "dropped": Metric.counter(ph.dropped),
        pre + "error_rate": Metric.gauge(errors / ph.requests if ph.requests else 0.0),
        pre + "rps": Metric.gauge(ph.requests / span if span > 0 else 0.0, unit="1/s"),
    }
    if ph.svc is not None:
        out[pre + "service_time"] = distribution(ph.svc)
    for cls, n in sorted(ph.tally.errors.items()):
        out[pre + f"count.{cls}"] = Metric.counter(n)
    return out


def _ci(ph: PhaseTotals, pts: list[SeriesPoint], q: float) -> tuple[float, float] | None:
    ci = ph.lat.quantile_ci(q, conf=_CONF)
    if ci is None:
        return None
    v = ph.lat.quantile(q)
    half = batch_half_widths(pts).get(f"p{q * 100:g}")
    lo, hi = ci
    if half is not None:
        lo, hi = min(lo, v - half * 1e9), max(hi, v + half * 1e9)
    return max(lo, ph.lat.vmin), hi


def _degradation(agg: Aggregator, base: PhaseTotals, bad: PhaseTotals) -> dict[str, Metric]:
    out: dict[str, Metric] = {}
    if base.lat.n == 0 or bad.lat.n == 0:
        return out
    bp, fp = _points(agg, base.start, base.end), _points(agg, bad.start, bad.end)
    for q in (0.5, 0.95, 0.99):
        b, f = base.lat.quantile(q), bad.lat.quantile(q)
        ratio = f / b if b > 0 else math.inf
        cb, cf = _ci(base, bp, q), _ci(bad, fp, q)
        ci = None
        if cb is not None and cf is not None and cb[0] > 0:
            ci = (cf[0] / cb[1], cf[1] / cb[0])
        out[f"degradation.p{q * 100:g}"] = Metric.gauge(
            ratio, ci=ci, of=bad.name, against=base.name,
            values=[f / 1e9, b / 1e9])
    b_rps = base.requests / (base.end - base.start)
    f_rps = bad.requests / (bad.end - bad.start)
    out["degradation.rps"] = Metric.gauge(f_rps / b_rps if b_rps > 0 else math.inf,
                                          of=bad.name, against=base.name)
    return out


def _in_band(p: SeriesPoint, p50_max: float, err_max: float) -> bool:
    if p.requests <= 0 or math.isnan(p.p50):
        return False
    return p.p50 <= p50_max and p.errors / p.requests <= err_max


def _moved(agg: Aggregator, bad: PhaseTotals, p50_max: float, err_max: float,
           ) -> tuple[bool, bool]:
    """Did the fault phase leave the band in latency, in errors? (Only the signals the fault
    moved decide the recovery: a fault seen in errors alone is not judged on a latency that
    only a busy machine moves, and the other way round.)"""
    fp = [p for p in _points(agg, bad.start, bad.end) if p.requests > 0]
    if not fp:
        return True, True
    slow = sum(not math.isnan(p.p50) and p.p50 > p50_max for p in fp) * 2 > len(fp)
    failing = sum(p.errors / p.requests > err_max for p in fp) * 2 > len(fp)
    return slow, failing


def _recovery(agg: Aggregator, base: PhaseTotals, bad: PhaseTotals,
              ) -> tuple[Metric | None, str | None]:
    bp = [p for p in _points(agg, base.start, base.end) if p.requests > 0]
    if not bp:
        return None, "no recovery time: the baseline phase completed no requests"
    p50_max = max(p.p50 for p in bp if not math.isnan(p.p50)) * BAND_REL + BAND_ABS
    err_max = max(p.errors / p.requests for p in bp) + BAND_ERR
    band: dict[str, Any] = {"p50_max": p50_max, "error_rate_max": err_max,
                            "hold_ticks": HOLD_TICKS, "tick": agg.tick, "from": bad.end}
    slow, failing = _moved(agg, bad, p50_max, err_max)
    if base.lat.n and bad.lat.n:
        b50, f50 = base.lat.quantile(0.5) / 1e9, bad.lat.quantile(0.5) / 1e9
        settle = b50 + SETTLE * (f50 - b50)
        if settle > p50_max:
            p50_max = band["p50_max"] = settle
            band["settle"] = SETTLE
    band["signals"] = [s for s, on in (("p50", slow), ("error_rate", failing)) if on]
    if not slow:
        p50_max = math.inf
    if not failing:
        err_max = math.inf
    after = [p for p in agg.points if p.t >= bad.end - 1e-9]
    for i, p in enumerate(after):
        window = after[i:i + HOLD_TICKS]
        if all(_in_band(w, p50_max, err_max) for w in window):
            hi = max(0.0, p.t - bad.end)
            if i == 0:  # in band from the first tick on: no time to recover
                return Metric.gauge(0.0, unit="s", ci=(0.0, 0.0), recovered=True,
                                    band=band), None
            # the return happened during the last tick out of band: its middle, ± half
            lo = max(0.0, hi - agg.tick)
            return Metric.gauge((lo + hi) / 2, unit="s", ci=(lo, hi), recovered=True,
                                band=band), None
    seen = (after[-1].t + after[-1].span - bad.end) if after else 0.0
    return (Metric.gauge(math.inf, unit="s", recovered=False, at_least=seen, band=band),
            f"did not recover: no tick after the fault phase came back within the "
            f"baseline's band in the {seen:.3g}s observed")


def phase_metrics(agg: Aggregator, records: list[PhaseRecord],
                  ) -> tuple[dict[str, Metric], dict[str, Any], list[str]]:
    """Metrics, ``extra["phases"]`` and warnings of a run with a fault schedule."""
    metrics: dict[str, Metric] = {}
    warnings: list[str] = []
    for ph in agg.fault_phases:
        metrics.update(_phase(agg, ph))
    roles = {r.name: r.role for r in records}
    by_name = {p.name: p for p in agg.fault_phases}
    phases = agg.fault_phases
    base = next((p for p in phases if roles.get(p.name) == "baseline"), phases[0])
    bad = next((p for p in agg.fault_phases if roles.get(p.name) == "fault"), None)
    if bad is None:
        bad = next((by_name[r.name] for r in records if r.faults), None)
    if bad is not None and bad is not base:
        metrics.update(_degradation(agg, base, bad))
        if bad.end < agg.fault_phases[-1].end:
            rec, warn = _recovery(agg, base, bad)
            if rec is not None:
                metrics["recovery_time"] = rec
            if warn:
                warnings.append(warn)
    extra = {"phases": [r.to_dict() for r in records]}
    return metrics, extra, warnings
