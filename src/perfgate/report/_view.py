"""The report view: what every renderer (terminal, Markdown, JUnit, HTML) shows, computed once.

Renderers only lay these out. A new kind of result gets its headline here (one branch of
:func:`headline`), and every output shows it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from perfgate.model import Metric, Result, ResultSet, Verdict
from perfgate.units import format_value

__all__ = ["STATUS_ORDER", "Headline", "Reason", "Tally", "headline", "reasons", "tally"]

STATUS_ORDER = {"error": 0, "fail": 1, "inconclusive": 2, "warn": 3, "pass": 4}


@dataclass(frozen=True)
class Headline:
    """A result's headline number: ``text`` (value with its uncertainty), ``what`` it is of
    (so a percentile says whether it describes calls or round means), and ``n``."""

    text: str
    what: str
    n: int | None = None


def _ci_pct(m: Metric) -> str:
    if m.ci_low is None or m.ci_high is None or not m.median:
        return ""
    half = max(m.median - m.ci_low, m.ci_high - m.median)
    return f" ± {100 * half / m.median:.1f}%"


def _of(m: Metric) -> str:
    of = m.extra.get("of")
    return f"median of {of}" if isinstance(of, str) else "median"


def headline(r: Result) -> Headline:
    """The number a reader looks for first, per kind of result."""
    m = r.metrics
    if r.kind == "capacity":
        from perfgate.report._capacity_text import capacity_headline

        return Headline(capacity_headline(r), "capacity")
    if r.kind == "burst":
        counts = {k[6:]: int(v.value or 0) for k, v in m.items()
                  if k.startswith("count.") and v.kind == "counter"}
        t = m.get("time")
        return Headline(", ".join(f"{k}: {v}" for k, v in sorted(counts.items())) or "-",
                        "outcomes", t.n if t is not None else sum(counts.values()))
    if "speedup" in m:
        s = m["speedup"]
        ci = f" (95% CI {s.ci_low:.2f}–{s.ci_high:.2f})" if s.ci_low is not None \
            and s.ci_high is not None else ""
        return Headline(f"speedup {s.value or math.nan:.2f}×{ci}", "speedup")
    if r.kind == "load" and "latency" in m:
        lat = m["latency"]
        rps = m.get("rps")
        rate = f", {format_value(rps.value, '1/s')}" if rps is not None else ""
        if not lat.n:
            return Headline(f"no latency samples{rate}", "latency", 0)
        return Headline(f"p50 {format_value(lat.p50, 's')}, p99 {format_value(lat.p99, 's')}"
                        f"{rate}", "latency p50, p99", lat.n)
    t = m.get("time")
    if t is None or t.median is None:
        for key, metric in m.items():  # a kind perfgate does not know: its first number
            if metric.central is not None and metric.kind != "series":
                return Headline(format_value(metric.central, metric.unit), key, metric.n)
        return Headline("-", "", None)
    return Headline(f"{format_value(t.median, 's')}{_ci_pct(t)}", _of(t), t.n)


@dataclass
class Tally:
    """Verdicts and results counted by status; ``passed`` is the run's gate."""

    verdicts: dict[str, int] = field(default_factory=dict)
    results: dict[str, int] = field(default_factory=dict)
    checks: int = 0
    errors: int = 0
    passed: bool = True


def tally(rs: ResultSet) -> Tally:
    t = Tally(passed=rs.passed)
    for r in rs.results:
        t.results[r.status] = t.results.get(r.status, 0) + 1
        for v in r.verdicts:
            t.verdicts[v.status] = t.verdicts.get(v.status, 0) + 1
            t.checks += 1
        if r.error is not None:
            t.errors += 1
    return t


@dataclass(frozen=True)
class Reason:
    """One line of "why": a verdict or a target's error, with the result it belongs to."""

    status: str  # a verdict status, or "error"
    result: str
    check: str
    evidence: str
    verdict: Verdict | None = None
    order: int = 0


def reasons(rs: ResultSet, *, passed: bool = True) -> list[Reason]:
    """Every target error and verdict (without ``passed``: only those that did not pass),
    worst first, then in run order."""
    out: list[Reason] = []
    for i, r in enumerate(rs.results):
        if r.error is not None:
            what = "check could not be evaluated" if r.error_kind == "check" else "target raised"
            out.append(Reason("error", r.name, what, r.error, None, i))
        for v in r.verdicts:
            if passed or v.status != "pass":
                out.append(Reason(v.status, r.name, v.check, v.evidence, v, i))
    out.sort(key=lambda x: (STATUS_ORDER.get(x.status, 9), x.order))
    return out
