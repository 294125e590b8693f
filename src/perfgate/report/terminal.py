"""The terminal report: one rich table of results, then the verdicts that need a look.

Names, checks and messages are data: they go into ``Text`` (never parsed as rich markup)
after :func:`~perfgate.report._escape.terminal_text` has made ANSI and other control
sequences visible, so a name cannot clear the screen or retitle the terminal.
"""

from __future__ import annotations

from rich.console import Console, Group, RenderableType
from rich.table import Table
from rich.text import Text

from perfgate.model import Metric, Result, ResultSet
from perfgate.report._escape import terminal_text as _t
from perfgate.report._probes import n_plus_one_line, probe_counts_line
from perfgate.report._sizes import size_rows
from perfgate.report._view import headline, tally
from perfgate.units import format_value

__all__ = ["STATUS_STYLE", "render_results", "size_table", "summary_line"]

STATUS_STYLE = {
    "pass": "green", "warn": "yellow", "fail": "bold red",
    "inconclusive": "magenta", "error": "bold red",
}


def _fmt_metric(m: Metric | None) -> str:
    if m is None:
        return "-"
    return format_value(m.central, m.unit)


def render_results(rs: ResultSet) -> RenderableType:
    table = Table(title=None, expand=False, show_lines=False)
    table.add_column("result", overflow="fold")
    table.add_column("measured (± 95% CI)", justify="right")
    table.add_column("ops/s", justify="right")
    table.add_column("alloc/op", justify="right")
    table.add_column("n", justify="right")
    table.add_column("status", justify="center")
    notes: list[RenderableType] = []
    for r in rs.results:
        status = r.status
        head = headline(r)
        shown = head.text if head.what in ("", "median") else f"{head.text} ({head.what})"
        table.add_row(
            Text(_t(r.name)),
            Text(_t(shown)),
            _fmt_metric(r.metrics.get("ops")),
            _fmt_metric(r.metrics.get("alloc_bytes")),
            str(head.n) if head.n is not None else "-",
            Text(status, style=STATUS_STYLE.get(status, "")),
        )
        if r.error:
            notes.append(Text(f"✗ {_t(r.name)}: {_t(r.error)}", style="red"))
        for v in r.verdicts:
            mark = {"pass": "✓", "warn": "!", "fail": "✗", "inconclusive": "?"}[v.status]
            notes.append(
                Text.assemble(
                    (f"{mark} ", STATUS_STYLE[v.status]), (f"{_t(r.name)}: ", "bold"),
                    (_t(v.check), ""), (f" — {_t(v.evidence)}", "dim"),
                )
            )
        sized = size_table(r)
        if sized is not None:
            notes.append(sized)
        complexity = r.extra.get("complexity")
        if isinstance(complexity, dict):
            for metric, fit in complexity.items():
                if isinstance(fit, dict):
                    cls, runner = fit.get("class", "?"), fit.get("runner_up")
                    if cls == "inconclusive":
                        sizes = fit.get("suggested_sizes")
                        more = f"; sizes that would decide: {sizes}" if sizes else ""
                        line = f"{metric}: growth inconclusive{more}"
                    else:
                        line = f"{metric} grows as {cls}" + (
                            f" (runner-up {runner})" if runner else "")
                    notes.append(Text.assemble(("◆ ", "cyan"), (f"{_t(r.name)}: ", "bold"),
                                               _t(line)))
        counted = probe_counts_line(r)
        if counted:
            notes.append(Text.assemble(("◆ ", "cyan"), (f"{_t(r.name)}: ", "bold"),
                                       _t(counted)))
        ins = r.metrics.get("instructions")
        if ins is not None and ins.value is not None:  # counted beside time (--measure)
            spread = ins.extra.get("spread")
            how = f", ±{100 * spread:.3f} %" if isinstance(spread, (int, float)) else ""
            notes.append(Text.assemble(("◆ ", "cyan"), (f"{_t(r.name)}: ", "bold"),
                                       f"{ins.value:,.0f} instructions per call "
                                       f"(callgrind{how})"))
        for item in r.extra.get("n_plus_one") or ():
            if isinstance(item, dict):
                notes.append(Text(_t(f"! {r.name}: {n_plus_one_line(item)}"), style="yellow"))
        for w in r.warnings:
            notes.append(Text(f"! {_t(r.name)}: {_t(w)}", style="yellow"))
    return Group(table, *notes)


def size_table(r: Result) -> Table | None:
    """A sweep's values at each size (time, B and allocations per op), or None."""
    got = size_rows(r)
    if got is None:
        return None
    header, rows = got
    table = Table(title=Text(f"{r.name}: per size"), title_justify="left", expand=False)
    for i, h in enumerate(header):
        table.add_column(h, justify="right" if i else "left")
    for row in rows:
        table.add_row(*(Text(c) for c in row))
    return table


def summary_line(rs: ResultSet) -> Text:
    t = tally(rs)
    counts = {**t.verdicts, "error": t.errors}
    parts = [f"{len(rs.results)} result(s)"]
    for s in ("pass", "warn", "inconclusive", "fail", "error"):
        if counts.get(s):
            parts.append(f"{counts[s]} {s}")
    style = "bold red" if (counts.get("fail") or counts.get("error")) else "bold green"
    return Text(", ".join(parts), style=style)


def print_report(rs: ResultSet, console: Console) -> None:
    console.print(render_results(rs))
    console.print(summary_line(rs))
