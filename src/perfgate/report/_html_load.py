"""HTML renderer for load tests (kind ``load``).

Reads what the load engine writes (docs/results-format.md): ``latency`` and
``service_time`` distributions, ``requests``/``errors``/``dropped`` counters,
``error_rate``/``rps`` gauges, per-second ``series`` metrics, error classes and examples,
and ``warnings`` (generator saturation, stalls). Anything missing is simply not drawn.
``rss_growth`` is labelled with whose memory it is (``extra["of"]``): the load generator's
own unless a target process was watched — only then can it speak of the service leaking.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from markupsafe import Markup

from perfgate.model import Metric, Result
from perfgate.report._html_kinds import examples_of, plot_text
from perfgate.report._html_page import (
    MAX_PLOT_POINTS,
    Page,
    ci_text,
    decimate_series,
    fmt,
    linear_axis,
    num,
)
from perfgate.report._html_phases import phase_layout

__all__ = ["percentile_points", "render_load"]

_CARDS = (("requests", "requests"), ("rps", "throughput"), ("error_rate", "error rate"),
          ("errors", "errors"), ("dropped", "dropped"), ("rss_growth", "RSS growth"))
_PERCENTILE_FIELDS = (("p50", 0.5), ("p90", 0.9), ("p95", 0.95), ("p99", 0.99))
_DISTRIBUTIONS = ("latency", "service_time", "latency_failed")
_SERIES_TITLES = {"1/s": "Throughput per second", "s": "Latency over time",
                  "B": "Memory (RSS) over time", "1": "Errors, in flight and dropped per tick"}
_ERROR_PREFIXES = ("errors.", "count.")


def _tail_indices(n: int, limit: int) -> list[int]:
    """Sample ranks spaced evenly in log(1/(1-q)): dense in the tail, where it matters."""
    if n <= limit:
        return list(range(n))
    top = math.log10(n)
    idx = {min(n - 1, int(n * (1 - 10 ** (-top * i / (limit - 1))))) for i in range(limit)}
    return sorted(idx | {n - 1})


def percentile_points(m: Metric) -> list[tuple[float, float]]:
    """(quantile in [0, 1), value) pairs to draw, from the richest data the metric has.

    In order: a ``percentiles`` list or mapping the engine wrote (from its histogram), the
    raw samples in sorted order, or the summary percentiles.
    """
    raw = m.extra.get("percentiles")
    pairs: list[tuple[float, float]] = []
    if isinstance(raw, Mapping):
        raw = list(raw.items())
    if isinstance(raw, list):
        for item in raw:
            if isinstance(item, list | tuple) and len(item) == 2:
                q = num(item[0]) if not isinstance(item[0], str) else num(_to_float(item[0]))
                v = num(item[1])
                if q is not None and v is not None:
                    pairs.append((q, v))
        if pairs and max(q for q, _ in pairs) > 1:  # given in percent
            pairs = [(q / 100, v) for q, v in pairs]
        top, n = num(m.max), m.n
        if pairs and top is not None and n and n > 1 and 1 - 1 / n > max(q for q, _ in pairs):
            pairs.append((1 - 1 / n, top))  # the slowest of n is the (1 - 1/n) quantile
    elif m.samples:
        values = sorted(m.samples)
        n = len(values)
        pairs = [((i + 0.5) / n, values[i]) for i in _tail_indices(n, MAX_PLOT_POINTS)]
    else:
        pairs = [(q, v) for f, q in _PERCENTILE_FIELDS if (v := num(getattr(m, f))) is not None]
        if num(m.min) is not None:
            pairs.insert(0, (0.0, float(m.min)))  # type: ignore[arg-type]
    return sorted((q, v) for q, v in pairs if 0 <= q < 1)


def _percentile_cis(m: Metric) -> dict[float, tuple[float, float]]:
    """95 % CIs of percentiles the engine wrote as ``extra["ci"] = {"p99": [lo, hi]}``,
    keyed by percent."""
    raw = m.extra.get("ci")
    out: dict[float, tuple[float, float]] = {}
    if isinstance(raw, Mapping):
        for k, v in raw.items():
            q = _to_float(str(k))
            if q is not None and isinstance(v, list | tuple) and len(v) == 2:
                lo, hi = num(v[0]), num(v[1])
                if lo is not None and hi is not None:
                    out[round(q, 4)] = (lo, hi)
    return out


def _to_float(s: str) -> float | None:
    try:
        return float(s.lstrip("pP"))
    except ValueError:
        return None


def _percentile_plot(r: Result, page: Page) -> Markup | None:
    curves = []
    for name in _DISTRIBUTIONS:
        m = r.metrics.get(name)
        if m is not None and m.kind == "distribution" and (pts := percentile_points(m)):
            curves.append((name, pts))
    if not curves:
        return None
    yaxis, factor, suffix = linear_axis("s", [v for _, pts in curves for _, v in pts])
    traces = []
    for name, pts in curves:
        cis = _percentile_cis(r.metrics[name])
        bars = [cis.get(round(100 * q, 4)) for q, _ in pts]
        traces.append({
            "type": "scatter", "mode": "lines+markers" if len(pts) < 20 else "lines",
            "name": name.replace("_", " "), "x": [1 / (1 - q) for q, _ in pts],
            "y": [v / factor for _, v in pts], "customdata": [100 * q for q, _ in pts],
            "hovertemplate": f"p%{{customdata:.4g}}: %{{y:.3g}} {suffix}"
                             "<extra>%{fullData.name}</extra>",
            "line": {"width": 2, "dash": "solid" if name == "latency" else "dot"},
            "error_y": {"type": "data", "symmetric": False, "visible": any(bars),
                        "array": [(b[1] - v) / factor if b else 0
                                  for b, (_, v) in zip(bars, pts, strict=True)],
                        "arrayminus": [(v - b[0]) / factor if b else 0
                                       for b, (_, v) in zip(bars, pts, strict=True)]},
        })
    ticks = [1, 2, 10, 100, 1_000, 10_000, 100_000, 1_000_000]
    labels = ["p0", "p50", "p90", "p99", "p99.9", "p99.99", "p99.999", "p99.9999"]
    return page.plot(
        traces,
        {"xaxis": {"type": "log", "tickvals": ticks, "ticktext": labels},
         "yaxis": yaxis,
         "title": {"text": "Latency by percentile", "x": 0, "font": {"size": 14}}},
        height=320, label=f"latency percentile curve of {r.name}",
    )


def _series_plots(r: Result, page: Page) -> list[Markup]:
    groups: dict[str, list[tuple[str, Metric]]] = {}
    for name, m in r.metrics.items():
        if m.kind == "series" and m.points:
            groups.setdefault(m.unit, []).append((name, m))
    plots = []
    for unit, members in groups.items():
        yaxis, factor, suffix = linear_axis(unit, [v for _, m in members
                                                   for _, v in m.points or ()])
        traces = []
        for name, m in members:
            pts = decimate_series(m.points or ())
            traces.append({"type": "scatter", "mode": "lines",
                           "name": plot_text(name.removeprefix("series.")),
                           "x": [t for t, _ in pts], "y": [v / factor for _, v in pts],
                           "hovertemplate": f"%{{x:.0f}} s: %{{y:.3g}} {suffix}",
                           "line": {"width": 1.6, "shape": "hv" if len(pts) < 200 else "linear"}})
        plots.append(page.plot(
            traces,
            {"xaxis": {"ticksuffix": " s", "zeroline": False}, "yaxis": yaxis,
             "title": {"text": _SERIES_TITLES.get(unit, f"Over time ({unit})"), "x": 0,
                       "font": {"size": 14}},
             "showlegend": True, **phase_layout(r)},
            height=300, label=f"{', '.join(n for n, _ in members)} over time for {r.name}",
        ))
    return plots


def _error_classes(r: Result) -> list[dict[str, Any]]:
    """Counts per error class, from ``errors.<class>`` counters or an ``errors`` mapping."""
    counts: dict[str, float] = {}
    for key, m in r.metrics.items():
        if key.startswith(_ERROR_PREFIXES) and m.kind == "counter" and key != "count.ok":
            counts[key.split(".", 1)[1]] = num(m.value) or 0.0
    for key in ("error_classes", "errors", "outcomes"):
        raw = r.extra.get(key)
        if isinstance(raw, Mapping):
            for cls, v in raw.items():
                c = num(v.get("count")) if isinstance(v, Mapping) else num(v)
                if c is not None and str(cls) != "ok":
                    counts.setdefault(str(cls), c)
    examples = examples_of(r, "examples", "errors_examples", "error_examples")
    for cls in examples:
        counts.setdefault(cls, math.nan)
    requests = num(r.metrics["requests"].value) if "requests" in r.metrics else None
    rows = []
    for cls in sorted(counts, key=lambda c: -(counts[c] if counts[c] == counts[c] else -1)):
        c = counts[cls]
        share = (f"{100 * c / requests:.2f} %" if requests and math.isfinite(c) else "")
        rows.append({"label": cls, "count": fmt(c), "share": share,
                     "examples": examples.get(cls, [])[:3]})
    return rows


def _rss_label(m: Metric) -> str:
    """Whose memory grew: only a watched target (``--pid``) is the service's."""
    if m.extra.get("of") == "target":
        return "target RSS growth (leak check)"
    return "generator RSS growth (perfgate's own memory, not the service's)"


def _cards(r: Result) -> list[dict[str, str]]:
    cards = []
    for key, label in _CARDS:
        m = r.metrics.get(key)
        if m is not None and m.kind != "series":
            unit = "%" if key == "error_rate" and m.unit == "1" else m.unit  # a fraction
            cards.append({"label": _rss_label(m) if key == "rss_growth" else label,
                          "value": fmt(m.central, unit),
                          "ci": ci_text(m.ci_low, m.ci_high, unit)})
    for name in _DISTRIBUTIONS:
        m = r.metrics.get(name)
        if m is None:
            continue
        cis = _percentile_cis(m)
        for f, q in (("p50", 50.0), ("p99", 99.0)):
            if getattr(m, f) is not None:
                ci = cis.get(q)
                cards.append({"label": f"{name.replace('_', ' ')} {f}",
                              "value": fmt(getattr(m, f), m.unit),
                              "ci": ci_text(ci[0], ci[1], m.unit) if ci else ""})
    return cards


def _distribution_rows(r: Result) -> tuple[list[str], list[dict[str, Any]]]:
    """The percentile table: each cell a value with its CI when the engine gave one."""
    columns = ["p50", "p90", "p95", "p99"]
    if any(isinstance(r.metrics[n].extra.get("percentiles"), Mapping)
           and "99.9" in r.metrics[n].extra["percentiles"] for n in _DISTRIBUTIONS
           if n in r.metrics):
        columns.append("p99.9")
    rows = []
    for name in _DISTRIBUTIONS:
        m = r.metrics.get(name)
        if m is None:
            continue
        pct = m.extra.get("percentiles")
        pct = pct if isinstance(pct, Mapping) else {}
        cis = _percentile_cis(m)
        cells = []
        for col in columns:
            q = float(col[1:])
            v = getattr(m, col, None) if col != "p99.9" else num(pct.get("99.9"))
            ci = cis.get(q)
            cells.append({"value": fmt(v, m.unit),
                          "ci": ci_text(ci[0], ci[1], m.unit) if ci else ""})
        rows.append({"name": name, "n": fmt(m.n) if m.n is not None else "–",
                     "cells": cells, "max": fmt(m.max, m.unit)})
    return columns, rows


def _generator(r: Result) -> list[tuple[str, str]]:
    """What the load generator reported about itself (CPU, loop and schedule lag)."""
    g = r.extra.get("generator")
    if not isinstance(g, Mapping):
        return []
    rows: list[tuple[str, str]] = []
    if g.get("processes") is not None:
        rows.append(("processes", str(g["processes"])))
    cpu = g.get("cpu")
    if isinstance(cpu, Mapping) and cpu:
        rows.append(("CPU per process (of one core)",
                     ", ".join(fmt(v, "%") for v in cpu.values())))
    for label, key in (("event-loop lag", "loop_lag"), ("schedule lag", "schedule_lag")):
        mean, top = g.get(f"{key}_mean"), g.get(f"{key}_max")
        if mean is not None or top is not None:
            rows.append((label, f"mean {fmt(mean, 's')}, max {fmt(top, 's')}"))
    if g.get("peak_vus") is not None:
        rows.append(("peak in flight (VUs)", fmt(g["peak_vus"])))
    synthetic = num(r.extra.get("co_synthetic_samples"))
    if synthetic:
        rows.append(("samples added for coordinated omission", fmt(synthetic)))
    return rows


def _status_codes(r: Result) -> list[tuple[str, str]]:
    codes = r.extra.get("status_codes")
    if not isinstance(codes, Mapping):
        return []
    return [(str(k), fmt(v)) for k, v in codes.items()]


def render_load(results: Sequence[Result], page: Page) -> Markup:
    """Per load test: key numbers, percentile curve, series over time, error classes."""
    items = []
    for r in results:
        shown = {k for k, _ in _CARDS} | set(_DISTRIBUTIONS)
        columns, rows = _distribution_rows(r)
        items.append({
            "result": r,
            "cards": _cards(r),
            "columns": columns,
            "distributions": rows,
            "percentiles": _percentile_plot(r, page),
            "series": _series_plots(r, page),
            "errors": _error_classes(r),
            "generator": _generator(r),
            "status_codes": _status_codes(r),
            "other": [(k, m) for k, m in r.metrics.items()
                      if k not in shown and m.kind != "series"],
        })
    return page.render("load.html.j2", items=items)
