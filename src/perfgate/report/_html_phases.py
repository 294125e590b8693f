"""A fault schedule on a load test's time series: each phase a shaded band, named.

Reads ``result.extra["phases"]`` (see docs/results-format.md) and returns plotly layout
entries to merge into a series plot's layout. Fault phases are shaded red, the recovery
blue, the baseline left clear; names and labels are data, escaped like every plot text.
"""

from __future__ import annotations

from typing import Any

from perfgate.model import Result
from perfgate.report._html_kinds import plot_text
from perfgate.report._html_page import num

__all__ = ["phase_layout"]

_FILL = {"fault": "rgba(220, 60, 60, 0.12)", "recovery": "rgba(60, 120, 220, 0.08)"}


def phase_layout(r: Result) -> dict[str, Any]:
    """``shapes`` and ``annotations`` for the phases of ``r`` (nothing without a schedule)."""
    phases = r.extra.get("phases")
    if not isinstance(phases, list):
        return {}
    shapes, notes = [], []
    for p in phases:
        if not isinstance(p, dict):
            continue
        start, end = num(p.get("start")), num(p.get("end"))
        if start is None or end is None:
            continue
        role = str(p.get("role", ""))
        if role in _FILL:
            shapes.append({"type": "rect", "xref": "x", "yref": "paper", "x0": start,
                           "x1": end, "y0": 0, "y1": 1, "fillcolor": _FILL[role],
                           "line": {"width": 0}, "layer": "below"})
        text = str(p.get("name", ""))
        if p.get("label"):
            text += f": {p['label']}"
        notes.append({"x": (start + end) / 2, "y": 1, "xref": "x", "yref": "paper",
                      "text": plot_text(text), "showarrow": False, "yanchor": "bottom",
                      "font": {"size": 10}})
    return {"shapes": shapes, "annotations": notes} if notes else {}
