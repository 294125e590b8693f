"""Markdown summaries fit for a pull-request comment.

Each writer also appends its table to ``$GITHUB_STEP_SUMMARY`` when that is set (GitHub
Actions shows it on the job's page). Reports render; they compute nothing of their own.

Everything that comes from data (names, checks, messages, labels, the environment) is
escaped (:mod:`perfgate.report._escape`): a target's exception text cannot add HTML, a link,
a heading or a table cell to a pull request's page.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from perfgate.analysis.compare import CompareReport
from perfgate.model import Result, ResultSet, write_atomic
from perfgate.report._escape import code_span, markdown_text
from perfgate.units import format_value

__all__ = ["append_step_summary", "comparison_markdown", "results_markdown",
           "write_markdown", "write_markdown_comparison"]

_ICON = {"pass": "✅", "warn": "⚠️", "fail": "❌", "inconclusive": "❔", "error": "💥",
         "regression": "🔺", "improvement": "🟢", "unchanged": "➖"}


def _cell(text: str) -> str:
    return markdown_text(text)  # escapes "|" too: a name cannot add a cell


def _table(header: list[str], rows: Iterable[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in rows]
    return lines


def _headline(r: Result) -> str:
    t = r.metrics.get("time")
    if t is None or t.median is None:
        return "-"
    ci = ""
    if t.ci_low is not None and t.ci_high is not None:
        ci = f" ({format_value(t.ci_low, 's')} – {format_value(t.ci_high, 's')})"
    return format_value(t.median, "s") + ci


def results_markdown(rs: ResultSet) -> str:
    """A summary table of a run, then the checks that did not pass."""
    counts: dict[str, int] = {}
    for r in rs.results:
        counts[r.status] = counts.get(r.status, 0) + 1
    title = "✅ perfgate: all checks passed" if rs.passed else "❌ perfgate: checks failed"
    tally = ", ".join(f"{n} {s}" for s, n in sorted(counts.items()))
    rows = []
    for r in rs.results:
        t = r.metrics.get("time")
        rows.append([r.name, _headline(r), str(t.n) if t is not None and t.n else "-",
                     f"{_ICON.get(r.status, '')} {r.status}",
                     str(sum(1 for v in r.verdicts if v.status == "pass")) + "/"
                     + str(len(r.verdicts))])
    lines = [f"### {title}", "", f"{len(rs.results)} result(s): {tally}", ""]
    lines += _table(["benchmark", "median (95% CI)", "n", "status", "checks passed"], rows)
    notes = []
    for r in rs.results:
        if r.error:
            notes.append(f"- 💥 **{markdown_text(r.name)}**: {markdown_text(r.error)}")
        for v in r.verdicts:
            if v.status != "pass":
                notes.append(f"- {_ICON[v.status]} **{markdown_text(r.name)}**: "
                             f"{code_span(v.check)} — {markdown_text(v.evidence)}")
    if notes:
        lines += ["", *notes]
    env = rs.environment
    if env.git_commit:
        lines += ["", f"<sub>commit {markdown_text(env.git_commit[:10])}"
                  + (" (uncommitted changes)" if env.git_dirty else "")
                  + f" · Python {markdown_text(env.python_version)} · "
                  f"{markdown_text(env.cpu_model)}</sub>"]
    return "\n".join(lines) + "\n"


def comparison_markdown(report: CompareReport) -> str:
    """A table of ratios with their 95 % CI and statuses, regressions first."""
    order = {"fail": 0, "warn": 1, "ok": 2}
    comps = sorted(report.comparisons, key=lambda c: (order[c.level], c.name, c.metric))
    counts = report.counts()
    title = ("❌ perfgate: performance regression" if report.failed
             else "✅ perfgate: no regression beyond the thresholds")
    rows = []
    for c in comps:
        ratio = f"{c.ratio:.3f}×" if c.ratio is not None else "-"
        ci = f"{c.ci[0]:.3f} – {c.ci[1]:.3f}" if c.ci else "-"
        level = {"fail": "❌ fail", "warn": "⚠️ warn", "ok": ""}[c.level]
        rows.append([c.name, c.metric, format_value(c.base, c.unit),
                     format_value(c.current, c.unit), ratio, ci,
                     f"{_ICON.get(c.status, '')} {c.status}", level])
    tally = ", ".join(f"{n} {s}" for s, n in sorted(counts.items())) or "nothing compared"
    lines = [f"### {title}", "",
             f"{markdown_text(report.current_label)} vs {markdown_text(report.base_label)}: "
             f"{tally}", ""]
    lines += _table(["benchmark", "metric", "base", "current", "ratio", "95% CI", "status",
                     "gate"], rows)
    gate = report.extra.get("gate")
    if isinstance(gate, dict):
        lines += ["", f"<sub>interleaved gate: {gate.get('pairs')} process pairs in "
                  f"{markdown_text(gate.get('seconds'))} s "
                  f"(stopped: {markdown_text(gate.get('stopped'))}); "
                  f"Wilcoxon signed-rank per benchmark, Holm-adjusted, "
                  f"α = {report.alpha:.4g} per look; minimum effect "
                  f"{100 * report.min_effect:g}%</sub>"]
    else:
        lines += ["", f"<sub>α = {report.alpha:g} (Holm across comparisons); minimum effect "
                  f"{100 * report.min_effect:g}%</sub>"]
    if report.missing:
        lines += ["", "Only on one side: " + ", ".join(code_span(m) for m in report.missing)]
    return "\n".join(lines) + "\n"


def append_step_summary(text: str, besides: str | Path | None = None) -> Path | None:
    """Append ``text`` to ``$GITHUB_STEP_SUMMARY`` when set (and not the file ``besides``,
    already written); returns the path appended to. Raises ``OSError`` when it cannot."""
    summary = os.environ.get("GITHUB_STEP_SUMMARY")
    if not summary or (besides is not None
                       and Path(summary).resolve() == Path(besides).resolve()):
        return None
    with open(summary, "a", encoding="utf-8", errors="backslashreplace") as f:
        f.write(text + "\n")
    return Path(summary)


def _write(text: str, path: str | Path) -> None:
    write_atomic(path, text)
    append_step_summary(text, besides=path)


def write_markdown(rs: ResultSet, path: str | Path) -> None:
    """Write the run's summary to ``path`` (and append it to $GITHUB_STEP_SUMMARY)."""
    _write(results_markdown(rs), path)


def write_markdown_comparison(report: CompareReport, path: str | Path) -> None:
    """Write the comparison table to ``path`` (and append it to $GITHUB_STEP_SUMMARY)."""
    _write(comparison_markdown(report), path)
