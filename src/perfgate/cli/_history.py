"""``perfgate history [NAME]``: the stored runs, and a metric's trend in the terminal."""

from __future__ import annotations

import json
import math
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
from rich.table import Table
from rich.text import Text

from perfgate.cli._common import EXIT_USAGE, POSITIVE_INT, attempt, err, handle_errors, out
from perfgate.report._escape import terminal_text
from perfgate.units import format_value

if TYPE_CHECKING:
    from perfgate.store import MetricPoint, RunInfo

__all__ = ["history_cmd", "sparkline"]

_BARS = "▁▂▃▄▅▆▇█"


def sparkline(values: Sequence[float | None]) -> str:
    """One character per value, scaled between the smallest and largest (gaps as ' ')."""
    real = [v for v in values if v is not None and math.isfinite(v)]
    if not real:
        return ""
    lo, hi = min(real), max(real)
    span = hi - lo
    chars = []
    for v in values:
        if v is None or not math.isfinite(v):
            chars.append(" ")
        elif span == 0:
            chars.append(_BARS[3])
        else:
            chars.append(_BARS[min(7, int((v - lo) / span * 8))])
    return "".join(chars)


@click.command("history")
@click.argument("name", required=False)
@click.option("--json", "as_json", is_flag=True, help="Print {\"runs\": [...]} as JSON.")
@click.option("--metric", default="time", show_default=True,
              help="The metric whose trend is shown for NAME.")
@click.option("--limit", type=POSITIVE_INT, default=50, show_default=True, help="Newest N runs.")
@click.option("--store", "store_url", metavar="URL", envvar="PERFGATE_STORE",
              help="History store URL (default sqlite:///.perfgate/history.db; env "
                   "PERFGATE_STORE).")
@click.option("--html", type=click.Path(dir_okay=False, path_type=Path),
              help="Write a self-contained HTML report: a trend per metric, commits named.")
@handle_errors
def history_cmd(name: str | None, as_json: bool, metric: str, limit: int,
                store_url: str | None, html: Path | None) -> None:
    """List stored runs (newest first); with NAME, that benchmark's METRIC over time."""
    from perfgate.store import open_store

    with open_store(store_url) as store:
        runs = store.runs(name, limit=limit)
        points = store.metric_points([r.id for r in runs], name)
        shown = store.display_url
    doc: dict[str, Any] = {"store": shown, "runs": []}
    for r in runs:
        metrics: dict[str, dict[str, Any]] = {}
        for pt in points[r.id]:
            metrics.setdefault(pt.result, {})[pt.metric] = pt.to_dict()
        doc["runs"].append({**r.to_dict(), "metrics": metrics})
    html_failed = False
    if html is not None:
        def html_() -> str:
            from perfgate.env import collect
            from perfgate.model import ResultSet
            from perfgate.report.html import write_html

            assert html is not None
            write_html(ResultSet(environment=collect()), html, history=doc,
                       title=f"perfgate history{' · ' + name if name else ''}")
            return f"HTML report written to {html}"

        html_failed = not attempt("--html", html_, to=err)  # stdout may carry --json
    _show(doc, runs, points, name, metric, shown, as_json)
    if html_failed:
        sys.exit(EXIT_USAGE)


def _c(value: object) -> Text:
    """A stored string shown as data: no rich markup, no control sequences."""
    return Text(terminal_text(value))


def _show(doc: dict[str, Any], runs: Sequence[RunInfo], points: dict[int, list[MetricPoint]],
          name: str | None, metric: str, shown: str, as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps(doc, indent=2))
        return
    if not runs:
        what = f" holding {name!r}" if name else ""
        out.print(_c(f"no runs{what} in {shown}"))
        return
    if name is None:
        table = Table(title=_c(f"runs in {shown}"))
        for col in ("id", "time", "commit", "branch", "source", "results"):
            table.add_column(col)
        for r in runs:
            n = len({p.result for p in points[r.id]})
            commit = (r.commit or "-")[:10] + ("+" if r.dirty else "")
            table.add_row(str(r.id), _c(r.started_at), _c(commit), _c(r.branch or "-"),
                          _c(r.source), str(n))
        out.print(table)
        return
    table = Table(title=_c(f"{name} · {metric} in {shown}"))
    for col in ("id", "when", "commit", metric, "95% CI", "n"):
        table.add_column(col, justify="right" if col in (metric, "n") else "left")
    values: list[float | None] = []
    for r in runs:
        p: MetricPoint | None = next((q for q in points[r.id] if q.metric == metric), None)
        values.append(p.value if p else None)
        ci = "-"
        if p is not None and p.ci_low is not None and p.ci_high is not None:
            ci = f"{format_value(p.ci_low, p.unit)} – {format_value(p.ci_high, p.unit)}"
        table.add_row(str(r.id), _c(r.started_at),
                      _c((r.commit or "-")[:10] + ("+" if r.dirty else "")),
                      format_value(p.value, p.unit) if p else "-", ci,
                      str(p.n) if p and p.n is not None else "-")
    out.print(table)
    trend = sparkline(list(reversed(values)))
    if trend:
        real = [v for v in values if v is not None]
        unit = next((p.unit for r in runs for p in points[r.id] if p.metric == metric), "1")
        out.print(Text.assemble(("trend (oldest → newest): ", "bold"), (trend, "cyan"),
                                (f"  {format_value(min(real), unit)} … "
                                 f"{format_value(max(real), unit)}", "dim")))
