"""The terminal report: one rich table of results, then the verdicts that need a look."""

from __future__ import annotations

from rich.console import Console, Group, RenderableType
from rich.table import Table
from rich.text import Text

from perfgate.model import Metric, Result, ResultSet
from perfgate.report._sizes import size_rows
from perfgate.units import format_value

__all__ = ["STATUS_STYLE", "render_results", "size_table", "summary_line"]

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
            Text(r.name),
            _headline(r),
            _fmt_metric(r.metrics.get("ops")),
            _fmt_metric(r.metrics.get("alloc_bytes")),
            str(t.n) if t is not None and t.n is not None else "-",
            Text(status, style=STATUS_STYLE.get(status, "")),
        )
        if r.error:
            notes.append(Text(f"✗ {r.name}: {r.error}", style="red"))
        for v in r.verdicts:
            mark = {"pass": "✓", "warn": "!", "fail": "✗", "inconclusive": "?"}[v.status]
            notes.append(
                Text.assemble(
                    (f"{mark} ", STATUS_STYLE[v.status]), (f"{r.name}: ", "bold"),
                    (f"{v.check}", ""), (f" — {v.evidence}", "dim"),
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
                    notes.append(Text.assemble(("◆ ", "cyan"), (f"{r.name}: ", "bold"), line))
        for item in r.extra.get("n_plus_one") or ():
            if isinstance(item, dict):
                notes.append(Text(
                    f"! {r.name}: N+1 — {item.get('statement')} ran {item.get('count')}× "
                    f"per operation, issued at {item.get('location')}", style="yellow"))
        for w in r.warnings:
            notes.append(Text(f"! {r.name}: {w}", style="yellow"))
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
