"""The terminal summary: a pytest-benchmark-style table per group, then perfgate's table.

Rendered with rich into text that pytest's terminal reporter writes, so ``-p no:terminal``,
capture and colour settings keep working; nothing here prints by itself.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from rich.console import RenderableType

    from perfgate._pytest.bm_stats import Metadata
    from perfgate.model import Result

__all__ = ["benchmark_table", "perf_table", "terminal_width", "write_renderables"]


def terminal_width(tr: pytest.TerminalReporter) -> int:
    return int(getattr(getattr(tr, "_tw", None), "fullwidth", 80))


def write_renderables(tr: pytest.TerminalReporter, items: Sequence[RenderableType]) -> None:
    from rich.console import Console

    markup = bool(getattr(tr, "hasmarkup", False))
    width = terminal_width(tr)
    buf = io.StringIO()
    console = Console(
        file=buf, width=width, force_terminal=markup, no_color=not markup,
        color_system="standard" if markup else None, highlight=False, soft_wrap=False,
    )
    for item in items:
        console.print(item)
    tr.write(buf.getvalue())


def benchmark_table(
    benchmarks: Sequence[Metadata], results: dict[str, Result], width: int = 80
) -> RenderableType:
    """One table, rows grouped by ``group`` as pytest-benchmark groups them; wider
    terminals get pytest-benchmark's remaining columns (max, iqr, outliers)."""
    from rich import box
    from rich.table import Table

    from perfgate.units import format_value

    def s(x: float) -> str:
        return format_value(x, "s")

    if width < 110:  # an 80-column CI log: the essentials
        cols = ["name", "min", "median", "mean", "ops/s", "rounds×iters"]
    else:
        cols = ["name", "min", "median (95% CI)", "mean ± stddev", "ops/s", "rounds×iters"]
        if width >= 150:
            cols[2:2] = ["max"]
            cols[-1:-1] = ["iqr", "outliers"]
    table = Table(title="benchmark fixture (measured by perfgate)", title_justify="left",
                  box=box.SIMPLE_HEAD, pad_edge=False)
    for col in cols:
        if col == "name":
            table.add_column(col, overflow="fold", min_width=18, ratio=1)
        else:
            table.add_column(col, justify="right", no_wrap=True)
    groups: dict[str, list[Metadata]] = {}
    for b in benchmarks:
        if not b.has_error:
            groups.setdefault(b.group or "", []).append(b)
    for gname in sorted(groups):
        if len(groups) > 1 or gname:
            table.add_row(f"[bold]group {gname or '(none)'}[/]")
        for b in sorted(groups[gname], key=lambda m: m.stats.min):
            st = b.stats
            median = s(st.median)
            ci = median
            r = results.get(b.fullname)
            t = r.metrics.get("time") if r is not None else None
            if t is not None and t.ci_low is not None and t.ci_high is not None:
                ci = f"{median} ({s(t.ci_low)}–{s(t.ci_high)})"
            row = {
                "name": b.name, "min": s(st.min), "max": s(st.max), "median": median,
                "median (95% CI)": ci, "mean": s(st.mean), "stddev": s(st.stddev),
                "mean ± stddev": f"{s(st.mean)} ± {s(st.stddev)}",
                "ops/s": format_value(st.ops, "1/s"), "iqr": s(st.iqr),
                "outliers": st.outliers, "rounds×iters": f"{st.rounds}×{b.iterations}",
            }
            table.add_row(*(row[c] for c in cols))
    return table


def perf_table(results: Sequence[Result]) -> RenderableType:
    from perfgate.model import Environment, ResultSet
    from perfgate.report.terminal import render_results

    return render_results(ResultSet(environment=Environment(), results=tuple(results)))
