"""The per-size table of a sweep: time, bytes and allocations per operation at each size.

The table teams paste into their reports (Go's ``ns/op  B/op  allocs/op``, one row per
size). It reads the metrics of ``extra["by_size"]`` by name and shows the columns that at
least one size has, so a metric renamed or added by the engine shows up or drops out
without a change here. Renderers (terminal, Markdown) format the same rows.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from perfgate.model import Metric, Result
from perfgate.units import format_value

__all__ = ["SIZE_COLUMNS", "size_rows"]

# metric name → column header, in the order shown
SIZE_COLUMNS: tuple[tuple[str, str], ...] = (
    ("time", "time/op"),
    ("per_item", "time/item"),
    ("alloc_bytes", "B/op"),
    ("allocs", "allocs/op"),
    ("alloc_peak", "peak B/op"),
    ("retained_bytes", "retained B/op"),
    ("retained_allocs", "retained allocs/op"),
    ("queries", "queries/op"),
)


def _cell(name: str, d: Any) -> str:
    if not isinstance(d, Mapping):
        return "–"
    m = Metric.from_dict(d, name)
    value = m.central
    if value is None:
        return "–"
    text = format_value(value, m.unit)
    if name == "time" and m.ci_low is not None and m.ci_high is not None and value:
        half = max(value - m.ci_low, m.ci_high - value)
        text += f" ± {100 * half / value:.1f}%"
    return text


def size_rows(result: Result) -> tuple[list[str], list[list[str]]] | None:
    """(header, rows) of a sweep's per-size values, or None for a result without sizes."""
    points = result.extra.get("by_size") if result.kind == "sweep" else None
    if not isinstance(points, list) or not points:
        return None
    present = {k for p in points if isinstance(p, Mapping)
               for k in (p.get("metrics") or {})}
    cols = [(k, label) for k, label in SIZE_COLUMNS if k in present]
    rows = []
    for p in points:
        if not isinstance(p, Mapping):
            continue
        ms = p.get("metrics") or {}
        rows.append([f"{p.get('n')}", *(_cell(k, ms.get(k)) for k, _ in cols)])
    return ["n", *(label for _, label in cols)], rows
