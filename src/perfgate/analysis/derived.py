"""Metrics computed from other metrics, once, for every engine's results.

- ``ops`` (operations per second) from ``time``: 1 / median, its CI the inverted CI of the
  median (the inverse is monotonic, so the interval carries over exactly).
"""

from __future__ import annotations

from perfgate.model import Metric, Result

__all__ = ["with_derived"]


def _ops(t: Metric) -> Metric | None:
    if t.kind != "distribution" or not t.median or t.median <= 0:
        return None
    ci = None
    if t.ci_low and t.ci_high and t.ci_low > 0:
        ci = (1.0 / t.ci_high, 1.0 / t.ci_low)
    return Metric.gauge(1.0 / t.median, "1/s", ci)


def with_derived(result: Result) -> Result:
    """The result with its derived metrics added (those it already has are kept)."""
    t = result.metrics.get("time")
    if t is None or "ops" in result.metrics or result.kind != "bench":
        return result
    ops = _ops(t)
    if ops is None:
        return result
    from dataclasses import replace

    metrics = dict(result.metrics)
    # ops sits right after time, where readers look for it
    ordered = {}
    for k, m in metrics.items():
        ordered[k] = m
        if k == "time":
            ordered["ops"] = ops
    return replace(result, metrics=ordered)
