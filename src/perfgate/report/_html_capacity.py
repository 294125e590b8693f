"""HTML renderer for capacity searches (kind ``capacity``).

Reads the ``capacity`` gauge and the evidence in ``extra["capacity"]``
(:class:`~perfgate.load.CapacityEvidence`, docs/results-format.md). Draws the curve — the
latency percentiles and the error rate of each probe against its offered rate, with the
capacity and its bracket marked and the ramp's ticks behind — and the path the search took;
then every probe with each check's value, CI and status. Registered with
:func:`perfgate.report.html.register_kind`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from markupsafe import Markup

from perfgate._errors import ResultFormatError
from perfgate.analysis.capacity import Probe
from perfgate.analysis.capacity_result import CapacityEvidence, curve
from perfgate.model import Result
from perfgate.report._html_page import Page, ci_text, fmt, linear_axis

__all__ = ["render_capacity"]

_COLOURS = {"pass": "#2e7d32", "fail": "#c62828", "inconclusive": "#8e24aa"}
_LATENCIES = (("p50", "dot"), ("p95", "solid"), ("p99", "dash"))


def _marker(probes: Sequence[Probe]) -> dict[str, Any]:
    return {"size": 9, "color": [_COLOURS.get(p.status, "#555") for p in probes],
            "line": {"width": 1, "color": "#fff"}}


def _bracket_shapes(r: Result, ev: CapacityEvidence, along: str = "x") -> list[dict[str, Any]]:
    """The capacity (a line) and its bracket (a band) across the plot, at rates on the
    ``along`` axis; without a capacity, the generator's limit (dotted) if it was hit."""
    other = "y" if along == "x" else "x"

    def span(lo: float, hi: float, **style: Any) -> dict[str, Any]:
        return {f"{along}ref": along, f"{other}ref": "paper", f"{along}0": lo,
                f"{along}1": hi, f"{other}0": 0, f"{other}1": 1, **style}

    m = r.metrics.get("capacity")
    if m is None or m.value is None:
        g = ev.generator_limit
        return [] if g is None else [span(g, g, type="line",
                                          line={"color": "#ef6c00", "dash": "dot"})]
    shapes = []
    if m.ci_high is not None and m.ci_low is not None:
        shapes.append(span(m.ci_low, m.ci_high, type="rect", fillcolor="#2e7d32",
                           opacity=0.12, line={"width": 0}))
    shapes.append(span(m.value, m.value, type="line", line={"color": "#2e7d32", "width": 2}))
    return shapes


def _curve_plot(r: Result, ev: CapacityEvidence, page: Page) -> Markup | None:
    pts = curve(ev.probes)
    if not pts:
        return None
    lat_values = [getattr(p, f) for p in pts for f, _ in _LATENCIES]
    ramp_ticks = [t for t in (ev.ramp.ticks if ev.ramp else ()) if math.isfinite(t.p99)]
    yaxis, factor, suffix = linear_axis("s", [*lat_values, *(t.p99 for t in ramp_ticks)],
                                        title="latency")
    yaxis["rangemode"] = "tozero"
    traces: list[dict[str, Any]] = []
    if ramp_ticks:
        traces.append({
            "type": "scatter", "mode": "markers", "name": "ramp p99 (per tick)",
            "x": [t.rate for t in ramp_ticks], "y": [t.p99 / factor for t in ramp_ticks],
            "marker": {"size": 5, "color": "#bbb"},
            "hovertemplate": f"%{{x:.4s}}/s: p99 %{{y:.3g}} {suffix}<extra>ramp</extra>",
        })
    for field, dash in _LATENCIES:
        xs = [p.rate for p in pts if getattr(p, field) is not None]
        ys = [getattr(p, field) / factor for p in pts if getattr(p, field) is not None]
        traces.append({
            "type": "scatter", "mode": "lines+markers", "name": f"latency {field}",
            "x": xs, "y": ys, "line": {"width": 2, "dash": dash},
            "marker": _marker([p for p in pts if getattr(p, field) is not None]),
            "hovertemplate": f"%{{x:.4s}}/s: {field} %{{y:.3g}} {suffix}<extra></extra>",
        })
    errs = [p for p in pts if p.error_rate is not None]
    if errs:
        traces.append({
            "type": "scatter", "mode": "lines+markers", "name": "error rate", "yaxis": "y2",
            "x": [p.rate for p in errs], "y": [p.error_rate for p in errs],
            "line": {"width": 1.5, "color": "#ef6c00"}, "marker": _marker(errs),
            "hovertemplate": "%{x:.4s}/s: errors %{y:.2%}<extra></extra>",
        })
    return page.plot(
        traces,
        {"xaxis": {"title": {"text": "offered rate"}, "ticksuffix": "/s",
                   "exponentformat": "SI", "zeroline": False},
         "yaxis": yaxis,
         "yaxis2": {"overlaying": "y", "side": "right", "tickformat": ".1%",
                    "title": {"text": "error rate"}, "zeroline": False, "automargin": True,
                    "range": [0, 1.1 * max([0.01, *(p.error_rate or 0.0 for p in errs)])]},
         "shapes": _bracket_shapes(r, ev), "showlegend": True,
         "legend": {"orientation": "h", "x": 0, "y": -0.22, "yanchor": "top"},
         "margin": {"l": 70, "r": 70, "t": 40, "b": 40},
         "title": {"text": "Latency and errors against offered rate", "x": 0,
                   "font": {"size": 14}}},
        height=420, label=f"latency and error rate against offered rate for {r.name}",
    )


def _path_plot(r: Result, ev: CapacityEvidence, page: Page) -> Markup | None:
    if not ev.probes:
        return None
    ps = ev.probes
    return page.plot(
        [{"type": "scatter", "mode": "lines+markers", "name": "probes",
          "x": [p.started for p in ps], "y": [p.rate for p in ps],
          "text": [f"{p.phase}: {p.status}" for p in ps], "marker": _marker(ps),
          "line": {"color": "#999", "width": 1},
          "hovertemplate": "%{x:.0f} s: %{y:.4s}/s — %{text}<extra></extra>"}],
        {"xaxis": {"title": {"text": "seconds into the search"}, "ticksuffix": " s",
                   "zeroline": False},
         "yaxis": {"title": {"text": "offered rate"}, "ticksuffix": "/s",
                   "exponentformat": "SI"},
         "shapes": _bracket_shapes(r, ev, along="y"),
         "title": {"text": "The search, probe by probe", "x": 0, "font": {"size": 14}}},
        height=300, label=f"offered rate of each probe over time for {r.name}",
    )


def _probe_rows(ev: CapacityEvidence) -> list[dict[str, Any]]:
    rows = []
    for i, p in enumerate(ev.probes, 1):
        checks = [{"check": v.check, "status": v.status,
                   "value": fmt(v.value, "%" if v.unit == "1" and "%" in v.check else v.unit),
                   "ci": ci_text(v.ci[0], v.ci[1], v.unit) if v.ci else ""}
                  for v in p.verdicts]
        rows.append({
            "i": i, "phase": p.phase, "rate": fmt(p.rate, "1/s"),
            "achieved": fmt(p.achieved, "1/s"), "duration": fmt(p.duration, "s"),
            "p50": fmt(p.p50, "s"), "p95": fmt(p.p95, "s"), "p99": fmt(p.p99, "s"),
            "errors": fmt(p.error_rate, "%"), "status": p.status, "checks": checks,
            "note": " ".join(x for x in (p.note, p.saturated or "", p.error or "") if x),
        })
    return rows


def render_capacity(results: Sequence[Result], page: Page) -> Markup:
    """Per capacity search: the answer, the curve, the search path, every probe."""
    items = []
    for r in results:
        try:
            ev = CapacityEvidence.of(r)
        except ResultFormatError as exc:
            ev, bad = None, str(exc)
        else:
            bad = ""
        m = r.metrics.get("capacity")
        items.append({
            "result": r,
            "answer": fmt(m.value, "1/s") if m is not None else None,
            "bracket": ci_text(m.ci_low, m.ci_high, "1/s") if m is not None else "",
            "lower_bound_only": m is not None and m.ci_high is None,
            "evidence": ev, "bad": bad,
            "curve": _curve_plot(r, ev, page) if ev else None,
            "path": _path_plot(r, ev, page) if ev else None,
            "probes": _probe_rows(ev) if ev else [],
        })
    return page.render("capacity.html.j2", items=items)
