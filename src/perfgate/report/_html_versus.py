"""HTML for ``versus`` results: each variant's time per call, and its ratio and overhead
to the baseline with their 95 % CIs; a plot of every variant's rounds side by side.

Registered in :mod:`perfgate.report.html`: the page computes nothing, it reads the metrics
the engine wrote.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from markupsafe import Markup

from perfgate.model import Result
from perfgate.report._html_kinds import _PALETTE, _distribution_traces
from perfgate.report._html_page import Page, ci_text, fmt, log_axis

__all__ = ["render_versus"]


def _rows(r: Result) -> list[dict[str, Any]]:
    variants = [str(v) for v in r.params.get("variants") or ()]
    rows = []
    for name in variants:
        t, ratio = r.metrics.get(f"time.{name}"), r.metrics.get(f"ratio.{name}")
        over = r.metrics.get(f"overhead.{name}")
        rows.append({
            "name": name,
            "time": fmt(t.central, t.unit) if t else "–",
            "time_ci": ci_text(t.ci_low, t.ci_high, t.unit) if t else "",
            "ratio": f"{ratio.value:.4g}×" if ratio and ratio.value is not None else "1 (baseline)",
            "ratio_ci": ci_text(ratio.ci_low, ratio.ci_high, "1") if ratio else "",
            "overhead": fmt(over.value, over.unit) if over else "–",
            "overhead_ci": ci_text(over.ci_low, over.ci_high, over.unit) if over else "",
        })
    return rows


def render_versus(results: Sequence[Result], page: Page) -> Markup:
    items = []
    for r in results:
        variants = [str(v) for v in r.params.get("variants") or ()]
        traces: list[dict[str, Any]] = []
        extent: list[float | None] = []
        for i, name in enumerate(variants):
            m = r.metrics.get(f"time.{name}")
            if m is not None:
                traces.extend(_distribution_traces(name, m, _PALETTE[i % len(_PALETTE)]))
                extent += [m.min, m.max, m.median]
        plot = page.plot(
            traces,
            {"xaxis": log_axis("s", extent, title="time per call, each round"),
             "yaxis": {"autorange": "reversed", "type": "category"},
             "margin": {"l": 10, "r": 20, "t": 10, "b": 46}},
            height=90 + 38 * len(traces), label=f"time per call of each variant of {r.name}",
        ) if traces else None
        first = next((m for k, m in r.metrics.items() if k.startswith("ratio.")), None)
        method = (f"{r.params.get('rounds')} rounds, variants alternating "
                  f"({r.params.get('order', 'ABBA')}), clock {r.params.get('clock', '?')}; "
                  + (str(first.extra.get("method", "")) if first else ""))
        items.append({"result": r, "rows": _rows(r), "plot": plot, "method": method,
                      "baseline": r.params.get("baseline", "the first")})
    return page.render("versus.html.j2", items=items)


