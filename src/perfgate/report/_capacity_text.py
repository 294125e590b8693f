"""Capacity results in one line of text, for the terminal table and Markdown.

The report view (``report/_view.py``) uses it as the headline of kind ``capacity``.
"""

from __future__ import annotations

from perfgate.model import Result
from perfgate.units import format_value

__all__ = ["capacity_headline"]


def capacity_headline(r: Result) -> str:
    """``1.01 k/s (bracket 1.01 k/s to 1.04 k/s)``; ``at least 5 k/s``; or why there is none."""
    m = r.metrics.get("capacity")
    if m is None or m.value is None:
        return "no capacity measured" + (f": {r.error}" if r.error else "")
    value = format_value(m.value, "1/s")
    if m.ci_high is None:
        return f"at least {value}"
    lo = format_value(m.ci_low if m.ci_low is not None else m.value, "1/s")
    return f"{value} (bracket {lo} to {format_value(m.ci_high, '1/s')})"
