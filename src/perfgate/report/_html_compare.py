"""HTML renderers for comparisons (ratios with CIs) and history (trends per metric).

Comparisons are the typed :class:`~perfgate.analysis.compare.Comparison` (read back from
JSON with ``CompareReport.from_dict``); history takes the runs of ``perfgate history --json``
(shapes documented on :func:`perfgate.report.html.write_html`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from markupsafe import Markup

from perfgate.analysis.compare import Comparison
from perfgate.report._html_kinds import plot_text
from perfgate.report._html_page import STATUS_ORDER, Page, fmt, linear_axis, num

__all__ = ["failing", "normalize_comparisons", "normalize_history", "render_comparisons",
           "render_history"]

MAX_TREND_PLOTS = 24  # more metrics than this go to the table only
_COLORS = {"regression": "#cf222e", "improvement": "#0969da", "warn": "#9a6700",
           "inconclusive": "#8250df", "unchanged": "#6e7781"}


def _unwrap(obj: Any, key: str) -> list[Mapping[str, Any]]:
    if isinstance(obj, Mapping):
        obj = obj.get(key, [])
    if not isinstance(obj, Sequence) or isinstance(obj, str):
        return []
    return [x for x in obj if isinstance(x, Mapping)]


def normalize_comparisons(comps: Sequence[Comparison]) -> list[Comparison]:
    """Regressions first, then by the size of the effect (|log ratio|), largest first."""

    def key(c: Comparison) -> tuple[int, float]:
        ratio = c.ratio
        effect = abs(math.log(ratio)) if ratio is not None and ratio > 0 else 0.0
        return STATUS_ORDER.get(c.status, 6), -effect

    return sorted(comps, key=key)


def normalize_history(obj: Any) -> list[Mapping[str, Any]]:
    """Runs oldest first (by ``time`` when every run has one, else reversed as given:
    ``perfgate history --json`` lists the newest first)."""
    runs = _unwrap(obj, "runs")
    if runs and all(isinstance(r.get("time"), str) for r in runs):
        return sorted(runs, key=lambda r: str(r["time"]))
    return runs[::-1]


def failing(c: Comparison) -> bool:
    """A regression that fails the run (at the fail level)."""
    return c.status == "regression" and c.level == "fail"


def _ratio_text(ratio: float | None) -> str:
    if ratio is None:
        return "–"
    return f"{ratio:.3g}× ({100 * (ratio - 1):+.1f} %)"


def render_comparisons(comps: Sequence[Comparison], page: Page) -> Markup:
    rows: list[dict[str, Any]] = []
    for c in comps:
        lo, hi = c.ci if c.ci is not None else (None, None)
        rows.append({
            "label": f"{c.name} · {c.metric}".rstrip(" ·"),
            "name": c.name, "metric": c.metric, "status": c.status,
            "level": c.level if c.level in ("fail", "warn") and c.status == "regression"
            else "",
            "ratio": num(c.ratio), "lo": num(lo), "hi": num(hi),
            "ratio_text": _ratio_text(num(c.ratio)),
            "ci": f"[{lo:.3g} – {hi:.3g}]" if lo is not None and hi is not None else "",
            "base": fmt(c.base, c.unit) if c.base is not None else "",
            "current": fmt(c.current, c.unit) if c.current is not None else "",
            "evidence": c.evidence,
        })
    drawn = [r for r in rows if r["ratio"] is not None and r["ratio"] > 0][:80]
    plot = None
    if drawn:
        err = {"type": "data", "symmetric": False,
               "array": [(r["hi"] - r["ratio"]) if r["hi"] is not None else 0 for r in drawn],
               "arrayminus": [(r["ratio"] - r["lo"]) if r["lo"] is not None else 0
                              for r in drawn]}
        plot = page.plot(
            [{"type": "scatter", "mode": "markers", "x": [r["ratio"] for r in drawn],
              "y": [plot_text(r["label"]) for r in drawn], "error_x": err,
              "text": [r["status"] for r in drawn],
              "hovertemplate": "%{y}: %{x:.3f}× (%{text})<extra></extra>",
              "marker": {"size": 9, "color": [_COLORS.get(r["status"], "#6e7781")
                                              for r in drawn]}}],
            {"xaxis": {"type": "log", "title": {"text": "ratio current / base (log scale)"}},
             "yaxis": {"autorange": "reversed", "type": "category"},
             "shapes": [{"type": "line", "x0": 1, "x1": 1, "yref": "paper", "y0": 0, "y1": 1,
                         "line": {"color": "#6e7781", "dash": "dot"}}],
             "margin": {"l": 10, "r": 20, "t": 10, "b": 46}},
            height=90 + 28 * len(drawn), label="ratios with 95% confidence intervals",
        )
    return page.render("comparisons.html.j2", rows=rows, plot=plot)


_VALUE_KEYS = ("value", "median", "central")
_HEADLINE_METRICS = ("time", "latency")


def _point(value: Any) -> dict[str, Any]:
    if isinstance(value, Mapping):
        v = next((value[k] for k in _VALUE_KEYS if k in value), None)
        return {"value": num(v), "lo": num(value.get("ci_low")), "hi": num(value.get("ci_high")),
                "unit": str(value.get("unit", "1")),
                "regression": value.get("status") == "regression"}
    return {"value": num(value), "lo": None, "hi": None, "unit": "1", "regression": False}


def _flatten(metrics: Mapping[str, Any]) -> list[tuple[str, str, Any]]:
    """(series name, result name, value): ``{name: value}`` or, as the store writes it,
    ``{result: {metric: point}}``."""
    out = []
    for name, value in metrics.items():
        if isinstance(value, Mapping) and not any(k in value for k in _VALUE_KEYS):
            out += [(f"{name} · {metric}", str(name), v) for metric, v in value.items()]
        else:
            out.append((str(name), str(name), value))
    return out


def _marks(run: Mapping[str, Any], key: str) -> list[Mapping[str, Any]]:
    """A run's ``changes`` or ``limits`` entries, as ``perfgate history`` attaches them."""
    items = run.get(key)
    if not isinstance(items, list | tuple):
        return []
    return [m for m in items if isinstance(m, Mapping)]


def _series_key(m: Mapping[str, Any]) -> str:
    return f"{m.get('result', '?')} · {m.get('metric', 'time')}"


def ci_of(c: Mapping[str, Any]) -> tuple[float | None, float | None]:
    """A history mark's CI, as a ``ci`` pair or ``ci_low``/``ci_high``."""
    ci = c.get("ci")
    if isinstance(ci, list | tuple) and len(ci) == 2:
        return num(ci[0]), num(ci[1])
    return num(c.get("ci_low")), num(c.get("ci_high"))


def _change_label(c: Mapping[str, Any]) -> str:
    ratio = num(c.get("ratio"))
    size = f"{100 * (ratio - 1):+.1f}%" if ratio is not None else "?"
    lo, hi = ci_of(c)
    ci = f" (95% CI {100 * (lo - 1):+.1f}% to {100 * (hi - 1):+.1f}%)" if (
        lo is not None and hi is not None) else ""
    good = c.get("good_commit", c.get("before_commit"))
    bad = c.get("bad_commit", c.get("last_commit") or c.get("commit"))
    commits = f"{str(good or '?')[:10]}..{str(bad or '?')[:10]}"
    p = num(c.get("p_value"))
    return (f"{c.get('kind', 'step')} {size}{ci}, commits {commits}"
            + (f", p = {p:.2g}" if p is not None else ""))


def _change_shapes(changes: list[tuple[Any, Any, Mapping[str, Any], tuple[Any, Any]]]
                   ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Plotly shapes and annotations: a dashed line at each step (over a faint band from its
    last surely-before run to its first surely-after run), a band over each drift."""
    shapes, notes = [], []
    for x0, x1, c, (good, bad) in changes:
        ratio = num(c.get("ratio")) or 1.0
        color = "#cf222e" if ratio > 1 else "#1a7f37"
        if c.get("kind") == "drift":
            shapes.append({"type": "rect", "x0": x0, "x1": x1, "yref": "paper", "y0": 0,
                           "y1": 1, "fillcolor": color, "opacity": 0.12, "line": {"width": 0}})
        else:
            if good is not None and bad is not None and good != bad:
                shapes.append({"type": "rect", "x0": good, "x1": bad, "yref": "paper",
                               "y0": 0, "y1": 1, "fillcolor": color, "opacity": 0.06,
                               "line": {"width": 0}})
            shapes.append({"type": "line", "x0": x0, "x1": x0, "yref": "paper", "y0": 0,
                           "y1": 1, "line": {"color": color, "dash": "dash", "width": 1.5}})
        notes.append({"x": x0, "yref": "paper", "y": 1, "yanchor": "bottom",
                      "showarrow": False, "font": {"size": 10, "color": color},
                      "text": plot_text(f"{100 * (ratio - 1):+.1f}%")})
    return shapes, notes


def render_history(runs: Sequence[Mapping[str, Any]], page: Page) -> Markup:
    """One trend per metric, regressions marked, each point named by its commit; change
    points (a run's ``changes``) and a check's limit (the run's ``limits``) drawn on it."""
    series: dict[str, list[dict[str, Any]]] = {}
    changes: dict[str, list[tuple[Mapping[str, Any], Mapping[str, Any]]]] = {}
    limits: dict[str, Mapping[str, Any]] = {}
    use_time = all(isinstance(r.get("time"), str) for r in runs)
    for i, run in enumerate(runs):
        metrics = run.get("metrics")
        if not isinstance(metrics, Mapping):
            continue
        marked = run.get("regressions") or []
        marked = set(map(str, marked)) if isinstance(marked, list | tuple | set) else set()
        commit = str(run.get("commit") or "?")[:10]
        for c in _marks(run, "changes"):
            changes.setdefault(_series_key(c), []).append((run, c))
        for lim in _marks(run, "limits"):
            limits[_series_key(lim)] = lim
        for key, result, value in _flatten(metrics):
            p = _point(value)
            if p["value"] is None:
                continue
            p.update(x=run["time"] if use_time else i, commit=commit,
                     time=str(run.get("time", "")), run=run.get("id"))
            p["regression"] = p["regression"] or key in marked or result in marked
            series.setdefault(key, []).append(p)

    def priority(item: tuple[str, list[dict[str, Any]]]) -> tuple[bool, bool]:
        name, pts = item
        headline = name.rsplit(" · ", 1)[-1] in _HEADLINE_METRICS or " · " not in name
        return not any(p["regression"] for p in pts), not headline

    plots = []
    for name, pts in sorted(series.items(), key=priority)[:MAX_TREND_PLOTS]:
        unit = pts[0]["unit"]
        yaxis, f, suffix = linear_axis(unit, [p["hi"] or p["value"] for p in pts])
        traces: list[dict[str, Any]] = [{
            "type": "scatter", "mode": "lines+markers", "name": plot_text(name),
            "x": [p["x"] for p in pts], "y": [p["value"] / f for p in pts],
            "text": [plot_text(f"{p['commit']} {p['time']}") for p in pts],
            "hovertemplate": f"%{{text}}<br>%{{y:.3g}} {suffix}<extra></extra>",
            "error_y": {"type": "data", "symmetric": False, "visible": any(p["lo"] is not None
                                                                          for p in pts),
                        "array": [(p["hi"] - p["value"]) / f if p["hi"] is not None else 0
                                  for p in pts],
                        "arrayminus": [(p["value"] - p["lo"]) / f if p["lo"] is not None else 0
                                       for p in pts]},
            "line": {"color": "#0969da", "width": 1.5}, "marker": {"size": 6},
        }]
        bad = [p for p in pts if p["regression"]]
        if bad:
            traces.append({"type": "scatter", "mode": "markers+text", "name": "regression",
                           "x": [p["x"] for p in bad], "y": [p["value"] / f for p in bad],
                           "text": [plot_text(p["commit"]) for p in bad],
                           "textposition": "top center",
                           "marker": {"symbol": "x", "size": 12, "color": "#cf222e"}})
        x_of = {p["run"]: p["x"] for p in pts if p.get("run") is not None}
        marks = [(x_of.get(c.get("run")), x_of.get(c.get("last_run"), x_of.get(c.get("run"))), c,
                  (x_of.get(c.get("good_run")), x_of.get(c.get("bad_run"))))
                 for _run, c in changes.get(name, [])]
        shapes, notes = _change_shapes([m for m in marks if m[0] is not None])
        line = limits.get(name)
        if line is not None and num(line.get("limit")) is not None:
            y = float(line["limit"]) / f
            shapes.append({"type": "line", "xref": "paper", "x0": 0, "x1": 1, "y0": y, "y1": y,
                           "line": {"color": "#9a6700", "dash": "dot", "width": 1.5}})
            notes.append({"xref": "paper", "x": 1, "y": y, "xanchor": "right",
                          "yanchor": "bottom", "showarrow": False,
                          "font": {"size": 10, "color": "#9a6700"},
                          "text": plot_text(f"{line.get('check', 'limit')} "
                                            f"({line.get('status', '')})")})
            yaxis = {**yaxis, "rangemode": "tozero"}
        xaxis: dict[str, Any] = {}
        if not use_time:
            xaxis.update(tickvals=[p["x"] for p in pts],
                         ticktext=[plot_text(p["commit"]) for p in pts])
        plots.append(page.plot(
            traces,
            {"xaxis": xaxis, "yaxis": yaxis, "showlegend": False, "shapes": shapes,
             "annotations": notes,
             "title": {"text": plot_text(name), "x": 0, "font": {"size": 14}}},
            height=260, label=f"history of {name}",
        ))
    rows = [{"name": name, "runs": len(pts), "latest": fmt(pts[-1]["value"], pts[-1]["unit"]),
             "first": fmt(pts[0]["value"], pts[0]["unit"]),
             "regressions": ", ".join(p["commit"] for p in pts if p["regression"]),
             "changes": [_change_label(c) for _run, c in changes.get(name, [])],
             "limit": (f"{limits[name].get('check')}: {limits[name].get('status')}"
                       if name in limits else "")}
            for name, pts in series.items()]
    return page.render("history.html.j2", rows=rows, plots=plots, runs=len(runs))
