"""``perfgate history [NAME]``: the stored runs, and a metric's trend in the terminal.

    perfgate history parse_orders --changes            # steps and drifts, commits named
    perfgate history --check                           # nightly gate: exit 1 on a new step
    perfgate history parse_orders --check "p(95) < 500ms"   # … and trends toward the limit

Exit codes: 1 when ``--check`` finds a regression step at the newest run beyond a fail
threshold, or a trend check already beyond its limit; 0 otherwise; 2 on a usage error.
"""

from __future__ import annotations

import json
import math
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
from rich.table import Table
from rich.text import Text

from perfgate.cli._common import (
    EXIT_FAIL,
    EXIT_OK,
    EXIT_USAGE,
    POSITIVE_INT,
    attempt,
    err,
    handle_errors,
    out,
)
from perfgate.report._escape import terminal_text
from perfgate.units import format_value

if TYPE_CHECKING:
    from perfgate.cli._history_check import HistoryCheck
    from perfgate.store import MetricPoint, RunInfo, SeriesPoint

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
@click.option("--changes", is_flag=True,
              help="With NAME: find the steps and drifts in METRIC's series (same machine "
                   "as the newest run), with the commits bounding each.")
@click.option("--check", "check", is_flag=False, flag_value="", default=None,
              metavar="[EXPR]",
              help="Gate the newest run against its history: exit 1 when it starts a "
                   "regression step beyond the [tool.perfgate] thresholds. With a check "
                   "such as 'p(95) < 500ms', also warn when the series trends toward the "
                   "limit (put NAME before --check, or write --check= for none).")
@click.option("--horizon", type=click.IntRange(min=1), default=10, show_default=True,
              help="Runs ahead within which a projected crossing of the limit warns.")
@click.option("--threshold", "thresholds", multiple=True, metavar="[BENCH:]METRIC=AMOUNT",
              help="Fail level for --check, as for `perfgate compare` (repeatable).")
@click.option("--junit", type=click.Path(dir_okay=False, path_type=Path),
              help="--check: write JUnit XML (a failure per failing benchmark or trend).")
@click.option("--markdown", type=click.Path(dir_okay=False, path_type=Path),
              help="--check: write a Markdown summary (also to $GITHUB_STEP_SUMMARY).")
@handle_errors
def history_cmd(name: str | None, as_json: bool, metric: str, limit: int,
                store_url: str | None, html: Path | None, changes: bool, check: str | None,
                horizon: int, thresholds: tuple[str, ...], junit: Path | None,
                markdown: Path | None) -> None:
    """List stored runs (newest first); with NAME, that benchmark's METRIC over time."""
    from perfgate.store import open_store

    if check and name is None and not any(ch in check for ch in "<>=!"):
        name, check = check, ""  # `history --check NAME`: a name, not a check
    if changes and name is None:
        raise click.UsageError("--changes needs a benchmark NAME")
    gate: HistoryCheck | None = None
    with open_store(store_url) as store:
        runs = store.runs(name, limit=limit)
        points = store.metric_points([r.id for r in runs], name)
        shown = store.display_url
        series: list[SeriesPoint] = []
        found: list[dict[str, Any]] = []
        if changes and runs and name is not None:
            from perfgate.cli._history_check import changes_of

            series = store.series(name, metric, hostname=runs[0].hostname, limit=limit)
            found = changes_of(series)
        if check is not None:
            gate = _run_check(store, name, check, horizon, thresholds)
    doc: dict[str, Any] = {"store": shown, "runs": []}
    for r in runs:
        metrics: dict[str, dict[str, Any]] = {}
        for pt in points[r.id]:
            metrics.setdefault(pt.result, {})[pt.metric] = pt.to_dict()
        doc["runs"].append({**r.to_dict(), "metrics": metrics})
    _annotate(doc, name, metric, found, gate)
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
    if changes and not as_json:
        _print_changes(name or "", metric, series, found)
    code = _emit_check(gate, junit, markdown) if not as_json else _check_exit(gate)
    if as_json and gate is not None:
        _write_check(gate, junit, markdown)
    sys.exit(EXIT_USAGE if html_failed and code == EXIT_OK else code)


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



def _run_check(store: Any, name: str | None, check: str, horizon: int,
               cli_thresholds: tuple[str, ...]) -> HistoryCheck:
    from perfgate.cli._compare import _fraction, _thresholds, load_config
    from perfgate.cli._history_check import history_check

    cfg = load_config()
    alpha = float(cfg.get("alpha", 0.05))
    if not 0 < alpha < 1:
        raise click.UsageError(f"alpha must be between 0 and 1, got {alpha}")
    return history_check(store, name, _thresholds(cfg, cli_thresholds), alpha=alpha,
                         min_effect=_fraction(cfg.get("min_effect", 0.01), "min_effect"),
                         check=check or None, horizon=horizon)


def _annotate(doc: dict[str, Any], name: str | None, metric: str,
              found: list[dict[str, Any]], gate: HistoryCheck | None) -> None:
    """Change points and limit lines ride on the runs they belong to (the HTML report draws
    them there): ``changes`` on the run where each starts, ``limits`` on the newest."""
    by_id = {r["id"]: r for r in doc["runs"]}
    if found:
        doc["changes"] = [{"result": name, "metric": metric, **c} for c in found]
        for c in doc["changes"]:
            if c["run"] in by_id:
                by_id[c["run"]].setdefault("changes", []).append(c)
    if gate is not None:
        doc["check"] = gate.to_dict()
        bad = [f"{c.name} · {c.metric}" for c in gate.report.comparisons
               if c.status == "regression"]
        if bad and gate.run.id in by_id:
            by_id[gate.run.id]["regressions"] = bad  # the HTML marks them with a red cross
        limits = [{"result": n, "metric": _metric_of(v.check, metric), "limit": v.limit,
                   "check": v.check, "status": v.status, "unit": v.unit}
                  for n, v in gate.trends if v.limit is not None]
        if limits and gate.run.id in by_id:
            by_id[gate.run.id]["limits"] = limits


def _metric_of(check_text: str, default: str) -> str:
    """The stored metric a limit line belongs beside: the distribution a check reads."""
    from perfgate.analysis.checks import parse_check

    c = parse_check(check_text.removeprefix("trend: "))
    return c.metric or default


def _print_changes(name: str, metric: str, series: list[SeriesPoint],
                   found: list[dict[str, Any]]) -> None:
    host = series[-1].hostname if series else None
    if not found:
        out.print(f"no change point in the {len(series)} runs of {name} · {metric}"
                  f"{f' on {host}' if host else ''} (α = 0.01, permutation test)")
        return
    table = Table(title=f"change points of {name} · {metric} ({len(series)} runs"
                        f"{f' on {host}' if host else ''})")
    for col in ("kind", "runs", "commits", "change (95% CI)", "p"):
        table.add_column(col, justify="right" if col in ("p",) else "left")
    for c in found:
        def pct(r: float) -> str:
            return f"{100 * (r - 1):+.1f}%"

        size = f"{pct(c['ratio'])} ({pct(c['ci'][0])} to {pct(c['ci'][1])})"
        if c["kind"] == "drift" and c.get("slope") is not None:
            size += f", {100 * c['slope']:+.2f}%/run"
        runs_s = (f"{c['before_run']} → {c['run']}" if c["kind"] == "step"
                  else f"{c['run']} … {c['last_run']}")
        if c["kind"] == "step" and (c["good_run"], c["bad_run"]) != (c["before_run"],
                                                                     c["run"]):
            runs_s += f"\nwithin {c['good_run']} → {c['bad_run']}"
        commits = f"{(c['good_commit'] or '?')[:10]}..{(c['bad_commit'] or '?')[:10]}"
        table.add_row(Text(c["kind"], style="bold red" if c["ratio"] > 1 else "green"),
                      runs_s, commits, size, f"{c['p_value']:.3g}")
    out.print(table)


def _check_exit(gate: HistoryCheck | None) -> int:
    return EXIT_FAIL if gate is not None and gate.failed else EXIT_OK


def _emit_check(gate: HistoryCheck | None, junit: Path | None, markdown: Path | None) -> int:
    if gate is None:
        return EXIT_OK
    from perfgate.cli._compare import render

    report = gate.report
    if report.comparisons:
        out.print(render(report))
        for c in report.comparisons:
            if c.status != "unchanged":
                out.print(f"[dim]{c.name} · {c.metric}: {c.evidence}[/]")
    else:
        out.print(f"run {gate.run.id}: no benchmark with a stored series to check")
    style = {"fail": "bold red", "warn": "yellow", "pass": "green", "inconclusive": "magenta"}
    for n, v in gate.trends:
        out.print(Text.assemble((f"{v.status:>5} ", style.get(v.status, "")),
                                f"{n} · {v.check}: {v.evidence}"))
    out.print(Text(f"history check of run {gate.run.id}: "
                   f"{'FAIL' if gate.failed else 'ok'}",
                   style="bold red" if gate.failed else "bold green"))
    _write_check(gate, junit, markdown)
    return _check_exit(gate)


def _write_check(gate: HistoryCheck, junit: Path | None, markdown: Path | None) -> None:
    """JUnit, Markdown and the GitHub step summary of a history check (messages to stderr,
    so that --json stays parseable)."""
    from perfgate.report.junit import write_junit_history
    from perfgate.report.markdown import history_check_markdown

    trends = list(gate.trends)
    if junit is not None:
        write_junit_history(gate.report, trends, junit)
        err.print(f"JUnit XML written to {junit}")
    text = history_check_markdown(gate.report, trends)
    if markdown is not None:
        markdown.parent.mkdir(parents=True, exist_ok=True)
        markdown.write_text(text, encoding="utf-8")
        err.print(f"Markdown summary written to {markdown}")
    summary = os.environ.get("GITHUB_STEP_SUMMARY")
    if summary and (markdown is None or Path(summary).resolve() != markdown.resolve()):
        with open(summary, "a", encoding="utf-8") as f:
            f.write(text + "\n")
