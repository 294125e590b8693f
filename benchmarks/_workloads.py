"""Workloads timed by every tool in compare_tools.py (importable by each tool's process)."""

from __future__ import annotations

import json

DATA = list(range(1000, 0, -1))
DOC = {"orders": [{"id": i, "sku": f"S{i}", "qty": i % 7} for i in range(200)]}


def small_sum() -> int:
    """~1 µs: dominated by call overhead, the hardest case for a timer loop."""
    return sum(range(50))


def sort_1000() -> list[int]:
    """~25 µs: the size of the regression-gate benchmark."""
    return sorted(DATA)


def json_dump() -> str:
    """~150 µs: allocation-heavy."""
    return json.dumps(DOC)


WORKLOADS = {"small_sum": small_sum, "sort_1000": sort_1000, "json_dump": json_dump}
