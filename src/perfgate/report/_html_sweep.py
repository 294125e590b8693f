"""HTML renderer for scaling sweeps (kind ``sweep``): each metric against n, with its fit.

A sweep result holds ``sizes`` and the metrics measured at each size, and a
``complexity`` object keyed by metric name (``class``, ``runner_up``, ``evidence``,
``coefficients`` …). The per-size metrics are read from any of these shapes, so the
renderer keeps working while the format settles:

- ``extra["per_size"]`` (or ``by_size``): a list aligned with ``sizes`` of
  ``{metric: metric-dict or number}`` (or ``{"n": n, "metrics": {...}}``), or a mapping
  ``{"100": {metric: ...}}``;
- metrics named ``NAME@N`` or ``NAME[n=N]``;
- ``series`` metrics whose points are ``[n, value]``.

The fitted curve is drawn from ``fitted`` (values at each size) when present, otherwise
evaluated from the class and its ``coefficients`` (``[a, b]`` meaning ``a + b·f(n)``).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from markupsafe import Markup

from perfgate.model import Result
from perfgate.report._html_kinds import plot_text
from perfgate.report._html_page import Page, fmt, linear_axis, log_axis, num
from perfgate.report._probes import probe_counts_line

__all__ = ["render_sweep", "sweep_points"]

# (n, value, ci_low, ci_high) for one metric at one size
Point = tuple[float, float, float | None, float | None]

_NAMED_SIZE = re.compile(r"^(?P<name>.+?)(?:@|\[n=)(?P<n>\d+)\]?$")
_CLASS_FN: dict[str, Callable[[float], float]] = {
    "O(1)": lambda n: 0.0,
    "O(log n)": math.log,
    "O(n)": lambda n: n,
    "O(n log n)": lambda n: n * math.log(n),
    "O(n^2)": lambda n: n**2,
    "O(n²)": lambda n: n**2,
    "O(n^3)": lambda n: n**3,
    "O(n³)": lambda n: n**3,
    "O(2^n)": lambda n: 2.0**n if n < 1000 else math.inf,
    "O(2ⁿ)": lambda n: 2.0**n if n < 1000 else math.inf,
}


def _value(m: Any) -> tuple[float | None, float | None, float | None, str]:
    """(central value, CI low, CI high, unit) of a metric dict, a Metric or a number."""
    if isinstance(m, Mapping):
        kind = m.get("kind")
        central = m.get("median") if kind == "distribution" else m.get("value")
        if central is None:
            central = m.get("median", m.get("mean"))
        return num(central), num(m.get("ci_low")), num(m.get("ci_high")), str(m.get("unit", "1"))
    if hasattr(m, "central"):
        return num(m.central), num(m.ci_low), num(m.ci_high), str(m.unit)
    return num(m), None, None, "1"


def sweep_points(r: Result) -> tuple[dict[str, list[Point]], dict[str, str]]:
    """Each swept metric's points, sorted by n, and its unit."""
    sizes = [num(s) for s in r.extra.get("sizes", []) or []]
    points: dict[str, list[Point]] = {}
    units: dict[str, str] = {}

    def add(name: str, n: float | None, m: Any) -> None:
        v, lo, hi, unit = _value(m)
        if n is None or v is None:
            return
        points.setdefault(name, []).append((n, v, lo, hi))
        units.setdefault(name, unit)

    per_size = r.extra.get("per_size", r.extra.get("by_size"))
    if isinstance(per_size, Mapping):
        per_size = [{"n": k, "metrics": v} for k, v in per_size.items()]
    if isinstance(per_size, list):
        for i, entry in enumerate(per_size):
            if not isinstance(entry, Mapping):
                continue
            n = num(_maybe_int(entry.get("n", entry.get("size"))))
            if n is None and i < len(sizes):
                n = sizes[i]
            metrics = entry.get("metrics", entry)
            if isinstance(metrics, Mapping):
                for name, m in metrics.items():
                    if name not in ("n", "size"):
                        add(str(name), n, m)
    for key, metric in r.metrics.items():
        match = _NAMED_SIZE.match(key)
        if match:
            add(match["name"], float(match["n"]), metric)
        elif metric.kind == "series" and metric.points:
            for n, v in metric.points:
                add(key, n, v)
            units[key] = metric.unit
    return {k: sorted(v) for k, v in points.items()}, units


def _maybe_int(x: Any) -> Any:
    if isinstance(x, str):
        try:
            return float(x)
        except ValueError:
            return None
    return x


def _fit_label(info: Mapping[str, Any]) -> str:
    cls = str(info.get("class", ""))
    if cls in _CLASS_FN:
        return f"fit {cls}"
    candidates = info.get("candidates")
    if isinstance(candidates, list) and candidates:  # inconclusive: the best of the tied
        return f"best fit {candidates[0]} (tied)"
    return "fit"


def _fit_curve(info: Mapping[str, Any], pts: list[Point]
               ) -> tuple[list[float], list[float], str]:
    """The fitted model's values to draw, as written by the fit or evaluated from it, and
    their legend label."""
    ns = [p[0] for p in pts]
    fitted = info.get("fitted", info.get("predicted"))
    if isinstance(fitted, list) and len(fitted) == len(ns):
        given = [num(y) for y in fitted]
        values = [y for y in given if y is not None]
        if len(values) == len(ns):
            return ns, values, _fit_label(info)
    coef = info.get("coefficients")
    if isinstance(coef, Mapping):
        coef = [coef.get(k) for k in ("a", "b")] if "a" in coef else list(coef.values())
    cls = str(info.get("class", ""))
    fn = _CLASS_FN.get(cls)
    label = _fit_label(info)
    power = info.get("power_law")
    if fn is None and isinstance(power, Mapping) and num(power.get("k")) is not None:
        k = float(power["k"])
        fn = lambda n: n**k  # noqa: E731 — the free power law c·n^k
        coef = [0.0, power.get("c", 1.0)]
        label = f"power law {_power_text(power)}"
    if not isinstance(coef, list) or fn is None or not ns or min(ns) <= 0:
        return [], [], ""
    c = [x for x in (num(x) for x in coef) if x is not None]
    if not c:
        return [], [], ""
    a, b = (c[0], c[1]) if len(c) > 1 else (0.0, c[0])
    lo, hi = math.log(min(ns)), math.log(max(ns))
    grid = [math.exp(lo + (hi - lo) * i / 59) for i in range(60)] if hi > lo else ns
    xs: list[float] = []
    ys: list[float] = []
    for n in grid:
        y = a + b * fn(n)
        if math.isfinite(y):
            xs.append(n)
            ys.append(y)
    return xs, ys, label


def _sweep_plot(r: Result, name: str, pts: list[Point], unit: str,
                info: Mapping[str, Any], page: Page) -> Markup:
    err = {"type": "data", "symmetric": False,
           "array": [(hi - v) if hi is not None else 0 for _, v, _, hi in pts],
           "arrayminus": [(v - lo) if lo is not None else 0 for _, v, lo, _ in pts],
           "visible": any(lo is not None for _, _, lo, _ in pts)}
    traces: list[dict[str, Any]] = [{
        "type": "scatter", "mode": "markers+lines", "name": "measured",
        "x": [p[0] for p in pts], "y": [p[1] for p in pts], "error_y": err,
        "line": {"width": 1, "color": "#0969da"}, "marker": {"size": 8},
    }]
    xs, ys, label = _fit_curve(info, pts)
    cls = str(info.get("class", "")) if info else ""
    if xs:
        traces.append({"type": "scatter", "mode": "lines", "name": plot_text(label),
                       "x": xs, "y": ys, "line": {"dash": "dash", "width": 2,
                                                  "color": "#bc4c00"}})
    title = plot_text(f"{name} vs n" + (f" — {cls}" if cls else ""))
    ys = [p[1] for p in pts] + ys
    if all(y > 0 for y in ys):
        yaxis = log_axis(unit, ys, title=plot_text(name))
    else:  # a log axis cannot show zero: draw these linear, in a readable unit
        yaxis, factor, _ = linear_axis(unit, ys, title=plot_text(name))
        for t in traces:
            t["y"] = [y / factor for y in t["y"]]
            t["error_y"] = {"visible": False}
    return page.plot(
        traces,
        {"xaxis": log_axis("1", [p[0] for p in pts]),
         "yaxis": yaxis,
         "title": {"text": title, "x": 0, "font": {"size": 14}}, "showlegend": True},
        height=300, label=f"{name} against n for {r.name}",
    )


def _power_text(p: Any) -> str:
    """``n^1.02 [0.98 – 1.06]``: the free power law's exponent with its CI."""
    if not isinstance(p, Mapping) or num(p.get("k")) is None:
        return ""
    ci = p.get("ci")
    lo, hi = (num(ci[0]), num(ci[1])) if isinstance(ci, list | tuple) and len(ci) == 2 else (
        None, None)
    bracket = f" [{lo:.2f} – {hi:.2f}]" if lo is not None and hi is not None else ""
    return f"n^{num(p['k']):.2f}{bracket}"


def _complexity_rows(r: Result) -> list[dict[str, Any]]:
    raw = r.extra.get("complexity")
    if not isinstance(raw, Mapping):
        return []
    rows = []
    for metric, given in raw.items():
        info = given if isinstance(given, Mapping) else {"class": given}
        cls = str(info.get("class", "–"))
        fit = num(info.get("r2", info.get("r_squared")))
        fit_text = f"R² {fit:.3f}" if fit is not None else str(info.get("method", "") or "")
        rows.append({"metric": str(metric), "class": cls,
                     "status": "inconclusive" if cls == "inconclusive" else "none",
                     "runner_up": str(info.get("runner_up", "") or ""),
                     "evidence": str(info.get("evidence", "") or ""),
                     "fit": fit_text, "power": _power_text(info.get("power_law")),
                     "suggest": info.get("suggested_sizes", info.get("suggest")) or ""})
    return rows


def render_sweep(results: Sequence[Result], page: Page) -> Markup:
    """Per sweep: the complexity verdicts, each metric against n with its fit, the data."""
    items = []
    for r in results:
        points, units = sweep_points(r)
        raw = r.extra.get("complexity")
        complexity = raw if isinstance(raw, Mapping) else {}
        plots = []
        for name, pts in points.items():
            info = complexity.get(name)
            plots.append(_sweep_plot(r, name, pts, units.get(name, "1"),
                                     info if isinstance(info, Mapping) else {}, page))
        ns = sorted({p[0] for pts in points.values() for p in pts})
        table = [[fmt(n)] + [next((fmt(v, units.get(k, "1")) for x, v, _, _ in pts if x == n), "–")
                             for k, pts in points.items()] for n in ns]
        n1 = r.extra.get("n_plus_one")
        items.append({
            "result": r, "complexity": _complexity_rows(r), "plots": plots,
            "columns": list(points), "table": table,
            "n_plus_one": [x for x in n1 if isinstance(x, Mapping)] if isinstance(n1, list) else [],
            "probe_counts": probe_counts_line(r),
        })
    return page.render("sweep.html.j2", items=items)
