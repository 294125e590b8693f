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
from perfgate.units import format_value

__all__ = ["STATUS_STYLE", "render_results", "summary_line"]

STATUS_STYLE = {
    "pass": "green", "warn": "yellow", "fail": "bold red",
    "inconclusive": "magenta", "error": "bold red",
}


def _headline(r: Result) -> str:
    m = r.metrics.get("time")
    if r.kind == "burst":
        counts = {k[6:]: int(v.value or 0) for k, v in r.metrics.items() if k.startswith("count.")}
        return ", ".join(f"{k}: {v}" for k, v in sorted(counts.items()))
    if "speedup" in r.metrics:
        s = r.metrics["speedup"]
        return f"speedup {s.value:.2f}× (95% CI {s.ci_low:.2f}–{s.ci_high:.2f})"
    if r.kind == "load" and "latency" in r.metrics:
        lat = r.metrics["latency"]
        rps = r.metrics.get("rps")
        rate = f", {format_value(rps.value, '1/s')}" if rps is not None else ""
        return f"p50 {format_value(lat.p50, 's')}, p99 {format_value(lat.p99, 's')}{rate}"
    if m is None or m.median is None:
        return "-"
    ci = ""
    if m.ci_low is not None and m.ci_high is not None and m.median:
        half = max(m.median - m.ci_low, m.ci_high - m.median)
        ci = f" ± {100 * half / m.median:.1f}%"
    return f"{format_value(m.median, 's')}{ci}"


def _fmt_metric(m: Metric | None) -> str:
    if m is None:
        return "-"
    return format_value(m.central, m.unit)


def render_results(rs: ResultSet) -> RenderableType:
    table = Table(title=None, expand=False, show_lines=False)
    table.add_column("result", overflow="fold")
    table.add_column("measured (median ± 95% CI)", justify="right")
    table.add_column("ops/s", justify="right")
    table.add_column("alloc/op", justify="right")
    table.add_column("n", justify="right")
    table.add_column("status", justify="center")
    notes: list[RenderableType] = []
    for r in rs.results:
        status = r.status
        t = r.metrics.get("time") or r.metrics.get("latency")
        table.add_row(
            Text(_t(r.name)),
            Text(_t(_headline(r))),
            _fmt_metric(r.metrics.get("ops")),
            _fmt_metric(r.metrics.get("alloc_bytes")),
            str(t.n) if t is not None and t.n is not None else "-",
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
        for item in r.extra.get("n_plus_one") or ():
            if isinstance(item, dict):
                notes.append(Text(_t(
                    f"! {r.name}: N+1 — {item.get('statement')} ran {item.get('count')}× "
                    f"per operation, issued at {item.get('location')}"), style="yellow"))
        for w in r.warnings:
            notes.append(Text(f"! {_t(r.name)}: {_t(w)}", style="yellow"))
    return Group(table, *notes)


def summary_line(rs: ResultSet) -> Text:
    counts: dict[str, int] = {}
    for r in rs.results:
        for v in r.verdicts:
            counts[v.status] = counts.get(v.status, 0) + 1
        if r.error:
            counts["error"] = counts.get("error", 0) + 1
    parts = [f"{len(rs.results)} result(s)"]
    for s in ("pass", "warn", "inconclusive", "fail", "error"):
        if counts.get(s):
            parts.append(f"{counts[s]} {s}")
    style = "bold red" if (counts.get("fail") or counts.get("error")) else "bold green"
    return Text(", ".join(parts), style=style)


def print_report(rs: ResultSet, console: Console) -> None:
    console.print(render_results(rs))
    console.print(summary_line(rs))
