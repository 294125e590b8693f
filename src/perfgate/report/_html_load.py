"""HTML renderer for load tests (kind ``load``).

Reads what the load engine writes (docs/results-format.md): ``latency`` and
``service_time`` distributions, ``requests``/``errors``/``dropped`` counters,
``error_rate``/``rps`` gauges, per-second ``series`` metrics, error classes and examples,
and ``warnings`` (generator saturation). Anything missing is simply not drawn.
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
    axis,
    ci_text,
    decimate_series,
    fmt,
    num,
)

__all__ = ["percentile_points", "render_load"]

_CARDS = (("requests", "requests"), ("rps", "throughput"), ("error_rate", "error rate"),
          ("errors", "errors"), ("dropped", "dropped"), ("rss_growth", "RSS growth"))
_PERCENTILE_FIELDS = (("p50", 0.5), ("p90", 0.9), ("p95", 0.95), ("p99", 0.99))
_DISTRIBUTIONS = ("latency", "service_time")
_SERIES_TITLES = {"1/s": "Throughput and errors per second", "s": "Latency over time",
                  "B": "Memory over time", "1": "In flight and counts over time"}
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
    elif m.samples:
        values = sorted(m.samples)
        n = len(values)
        pairs = [((i + 0.5) / n, values[i]) for i in _tail_indices(n, MAX_PLOT_POINTS)]
    else:
        pairs = [(q, v) for f, q in _PERCENTILE_FIELDS if (v := num(getattr(m, f))) is not None]
        if num(m.min) is not None:
            pairs.insert(0, (0.0, float(m.min)))  # type: ignore[arg-type]
    return sorted((q, v) for q, v in pairs if 0 <= q < 1)


def _to_float(s: str) -> float | None:
    try:
        return float(s.lstrip("pP"))
    except ValueError:
        return None


def _percentile_plot(r: Result, page: Page) -> Markup | None:
    traces = []
    for name in _DISTRIBUTIONS:
        m = r.metrics.get(name)
        if m is None or m.kind != "distribution":
            continue
        pts = percentile_points(m)
        if not pts:
            continue
        traces.append({
            "type": "scatter", "mode": "lines+markers" if len(pts) < 20 else "lines",
            "name": name.replace("_", " "), "x": [1 / (1 - q) for q, _ in pts],
            "y": [v for _, v in pts], "customdata": [100 * q for q, _ in pts],
            "hovertemplate": "p%{customdata:.3f}: %{y:.3s}s<extra>%{fullData.name}</extra>",
            "line": {"width": 2, "dash": "solid" if name == "latency" else "dot"},
        })
    if not traces:
        return None
    ticks = [1, 2, 10, 100, 1_000, 10_000, 100_000, 1_000_000]
    labels = ["p0", "p50", "p90", "p99", "p99.9", "p99.99", "p99.999", "p99.9999"]
    return page.plot(
        traces,
        {"xaxis": {"type": "log", "tickvals": ticks, "ticktext": labels,
                   "title": {"text": "percentile"}},
         "yaxis": axis("s", title="latency"),
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
        traces = []
        for name, m in members:
            pts = decimate_series(m.points or ())
            traces.append({"type": "scatter", "mode": "lines", "name": plot_text(name),
                           "x": [t for t, _ in pts], "y": [v for _, v in pts],
                           "line": {"width": 1.6, "shape": "hv" if len(pts) < 200 else "linear"}})
        plots.append(page.plot(
            traces,
            {"xaxis": axis("s", title="time since start"), "yaxis": axis(unit),
             "title": {"text": _SERIES_TITLES.get(unit, f"Over time ({unit})"), "x": 0,
                       "font": {"size": 14}},
             "showlegend": True},
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


def _cards(r: Result) -> list[dict[str, str]]:
    cards = []
    for key, label in _CARDS:
        m = r.metrics.get(key)
        if m is not None and m.kind != "series":
            cards.append({"label": label, "value": fmt(m.central, m.unit),
                          "ci": ci_text(m.ci_low, m.ci_high, m.unit)})
    for name in _DISTRIBUTIONS:
        m = r.metrics.get(name)
        if m is None:
            continue
        for f in ("p50", "p99"):
            if getattr(m, f) is not None:
                cards.append({"label": f"{name.replace('_', ' ')} {f}",
                              "value": fmt(getattr(m, f), m.unit), "ci": ""})
    return cards


def render_load(results: Sequence[Result], page: Page) -> Markup:
    """Per load test: key numbers, percentile curve, series over time, error classes."""
    items = []
    for r in results:
        shown = {k for k, _ in _CARDS} | set(_DISTRIBUTIONS)
        items.append({
            "result": r,
            "cards": _cards(r),
            "percentiles": _percentile_plot(r, page),
            "series": _series_plots(r, page),
            "errors": _error_classes(r),
            "other": [(k, m) for k, m in r.metrics.items()
                      if k not in shown and m.kind != "series"],
            "distributions": [(k, r.metrics[k]) for k in _DISTRIBUTIONS if k in r.metrics],
        })
    return page.render("load.html.j2", items=items)
