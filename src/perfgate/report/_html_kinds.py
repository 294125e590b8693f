"""HTML renderers for benchmarks, bursts, and any kind without a renderer of its own."""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from typing import Any

from markupsafe import Markup

from perfgate.model import Metric, Result
from perfgate.report._html_page import Page, ci_text, fmt, hover, log_axis, num, thin_samples

__all__ = ["examples_of", "plot_text", "render_bench", "render_burst", "render_generic"]

# Metrics that have their own column in the benchmark table.
_BENCH_COLUMNS = {"time", "ops", "alloc_bytes", "allocs", "rss"}
_PALETTE = ("#0969da", "#bf3989", "#1a7f37", "#bc4c00", "#8250df", "#116329", "#953800")


def plot_text(s: object) -> str:
    """Text for plotly labels: plotly reads a few HTML tags in labels, so escape them."""
    return html.escape(str(s), quote=False)


def _example_text(e: object) -> str:
    if isinstance(e, Mapping):  # the load engine's {"message": ..., "t": seconds}
        t = num(e.get("t"))
        return str(e.get("message", "")) + (f"  (at {t:g} s)" if t is not None else "")
    return str(e)


def examples_of(result: Result, *keys: str) -> dict[str, list[str]]:
    """Example messages per outcome label from ``result.extra``: each a str, a
    ``{"message", "t"}`` object, or a list of those."""
    out: dict[str, list[str]] = {}
    for key in keys or ("examples",):
        raw = result.extra.get(key)
        if not isinstance(raw, Mapping):
            continue
        for label, ex in raw.items():
            items = ex if isinstance(ex, list | tuple) else [ex]
            out.setdefault(str(label), []).extend(_example_text(e) for e in items
                                                  if e is not None)
    return out


def _sub_row(name: str, m: Metric) -> dict[str, Any]:
    return {
        "name": name,
        "value": fmt(m.central, m.unit) if m.kind != "series" else f"{len(m.points or ())} pts",
        "ci": ci_text(m.ci_low, m.ci_high, m.unit),
        "n": m.n if m.n is not None else "",
        "iqr": fmt(m.iqr, m.unit) if m.iqr is not None else "",
    }


def _bench_row(r: Result) -> dict[str, Any]:
    t = r.metrics.get("time")
    ops, alloc = r.metrics.get("ops"), r.metrics.get("alloc_bytes")
    subs = [_sub_row(k, m) for k, m in r.metrics.items() if k not in _BENCH_COLUMNS]
    return {
        "name": r.name,
        "status": r.status,
        "evidence": "\n".join(f"{v.status}: {v.check} — {v.evidence}" for v in r.verdicts),
        "error": r.error,
        "median": fmt(t.central, t.unit) if t else "–",
        "ci": ci_text(t.ci_low, t.ci_high, t.unit) if t else "",
        "ops": fmt(ops.central, ops.unit) if ops else "–",
        "alloc": fmt(alloc.central, alloc.unit) if alloc else "–",
        "n": t.n if t and t.n is not None else "–",
        "iqr": fmt(t.iqr, t.unit) if t and t.iqr is not None else "–",
        "subs": subs,
    }


def _distribution_traces(label: str, m: Metric, color: str) -> list[dict[str, Any]]:
    """A box with every (thinned) sample beside it; a median with its CI when none kept."""
    name = plot_text(label)
    if m.samples:
        return [{
            "type": "box", "orientation": "h", "x": thin_samples(m.samples), "name": name,
            "boxpoints": "all", "jitter": 0.6, "pointpos": 0, "line": {"width": 1.2},
            "marker": {"size": 3, "opacity": 0.45, "color": color}, "fillcolor": "rgba(0,0,0,0)",
            "hoveron": "boxes+points", "showlegend": False,
            "hovertemplate": hover("x", "s") + "<extra>" + name + "</extra>",
        }]
    median = num(m.median)
    if median is None:
        return []
    lo, hi = num(m.ci_low), num(m.ci_high)
    err = ({"type": "data", "symmetric": False, "array": [hi - median], "arrayminus": [median - lo]}
           if lo is not None and hi is not None else {"visible": False})
    return [{"type": "scatter", "mode": "markers", "x": [median], "y": [name], "name": name,
             "error_x": err, "marker": {"size": 9, "color": color, "symbol": "diamond"},
             "showlegend": False}]


def render_bench(results: Sequence[Result], page: Page) -> Markup:
    """One table for every benchmark, then one distribution plot of their times."""
    rows = [_bench_row(r) for r in results]
    traces: list[dict[str, Any]] = []
    extent: list[float | None] = []
    for i, r in enumerate(results):
        color = _PALETTE[i % len(_PALETTE)]
        for key, m in r.metrics.items():
            if m.kind != "distribution" or m.unit != "s" or not (key == "time"
                                                               or key.startswith("time.")):
                continue
            label = r.name if key == "time" else f"{r.name} › {key[5:]}"
            traces.extend(_distribution_traces(label, m, color))
            extent += [m.min, m.max, m.median]
    plot = None
    if traces:
        plot = page.plot(
            traces,
            {"xaxis": log_axis("s", extent, title="time per call"),
             "yaxis": {"autorange": "reversed", "type": "category"},
             "margin": {"l": 10, "r": 20, "t": 10, "b": 46}},
            height=90 + 38 * len(traces),
            label="distribution of time per call for each benchmark",
        )
    warnings = [(r.name, w) for r in results for w in r.warnings]
    return page.render("bench.html.j2", rows=rows, plot=plot, warnings=warnings)


_OUTCOME_COLORS = {"ok": "#1a7f37"}


def render_burst(results: Sequence[Result], page: Page) -> Markup:
    """Per burst: how many calls ended in each outcome, with an example of each error."""
    items = []
    for r in results:
        counts = {k[6:]: num(m.value) or 0.0 for k, m in r.metrics.items()
                  if k.startswith("count.")}
        total = sum(counts.values()) or 1.0
        examples = examples_of(r)
        order = sorted(counts, key=lambda k: (k != "ok", -counts[k], k))
        outcomes = [{"label": k, "count": fmt(counts[k]),
                     "share": f"{100 * counts[k] / total:.0f} %",
                     "examples": examples.get(k, [])} for k in order]
        plot = None
        if counts:
            plot = page.plot(
                [{"type": "bar", "orientation": "h", "x": [counts[k] for k in order],
                  "y": [plot_text(k) for k in order], "text": [fmt(counts[k]) for k in order],
                  "textposition": "auto",
                  "marker": {"color": [_OUTCOME_COLORS.get(k, "#cf222e") for k in order]}}],
                {"xaxis": {"title": {"text": "calls"}, "rangemode": "tozero"},
                 "yaxis": {"autorange": "reversed", "type": "category"},
                 "margin": {"l": 10, "r": 20, "t": 10, "b": 40}},
                height=80 + 30 * len(order),
                label=f"outcome counts of burst {r.name}",
            )
        t = r.metrics.get("time")
        items.append({"result": r, "outcomes": outcomes, "plot": plot,
                      "time": fmt(t.central, t.unit) if t else ""})
    return page.render("burst.html.j2", items=items)


def render_generic(results: Sequence[Result], page: Page) -> Markup:
    """A kind without its own renderer: its metrics, verdicts and warnings as tables."""
    return page.render("generic.html.j2", results=results)
