"""Markdown summaries fit for a pull-request comment.

Each writer also appends its table to ``$GITHUB_STEP_SUMMARY`` when that is set (GitHub
Actions shows it on the job's page). Reports render; they compute nothing of their own.

Everything that comes from data (names, checks, messages, labels, the environment) is
escaped (:mod:`perfgate.report._escape`): a target's exception text cannot add HTML, a link,
a heading or a table cell to a pull request's page.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from pathlib import Path

from perfgate.analysis.compare import CompareReport
from perfgate.model import Result, ResultSet, Verdict, write_atomic
from perfgate.report._escape import code_span, markdown_text
from perfgate.report._probes import n_plus_one_line, probe_counts_line
from perfgate.report._sizes import size_rows
from perfgate.report._view import headline, reasons
from perfgate.units import format_value

__all__ = ["append_step_summary", "comparison_markdown", "history_check_markdown",
           "results_markdown", "size_markdown", "write_markdown", "write_markdown_comparison"]

_ICON = {"pass": "✅", "warn": "⚠️", "fail": "❌", "inconclusive": "❔", "error": "💥",
         "regression": "🔺", "improvement": "🟢", "unchanged": "➖"}


def _cell(text: str) -> str:
    return markdown_text(text)  # escapes "|" too: a name cannot add a cell


def _table(header: list[str], rows: Iterable[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in rows]
    return lines


def _headline(r: Result) -> str:
    head = headline(r)
    return head.text if head.what in ("", "median") else f"{head.text} ({head.what})"


def _probe_notes(r: Result) -> list[str]:
    """Counts per operation (queries, HTTP calls, cache commands) and N+1 findings."""
    counted = probe_counts_line(r)
    name = markdown_text(r.name)
    notes = [f"- 🔢 **{name}**: {_cell(counted)}"] if counted else []
    for item in r.extra.get("n_plus_one") or ():
        if isinstance(item, dict):
            notes.append(f"- ⚠️ **{name}**: {_cell(n_plus_one_line(item))}")
    return notes


def size_markdown(r: Result) -> list[str]:
    """A sweep's values at each size as a table (no lines for other results)."""
    got = size_rows(r)
    if got is None:
        return []
    header, rows = got
    return ["", f"**{_cell(r.name)}** per size:", "", *_table(header, rows)]


def results_markdown(rs: ResultSet) -> str:
    """A summary table of a run, then the checks that did not pass."""
    counts: dict[str, int] = {}
    for r in rs.results:
        counts[r.status] = counts.get(r.status, 0) + 1
    title = "✅ perfgate: all checks passed" if rs.passed else "❌ perfgate: checks failed"
    tally = ", ".join(f"{n} {s}" for s, n in sorted(counts.items()))
    rows = []
    for r in rs.results:
        n = headline(r).n
        rows.append([r.name, _headline(r), str(n) if n is not None else "-",
                     f"{_ICON.get(r.status, '')} {r.status}",
                     str(sum(1 for v in r.verdicts if v.status == "pass")) + "/"
                     + str(len(r.verdicts))])
    lines = [f"### {title}", "", f"{len(rs.results)} result(s): {tally}", ""]
    lines += _table(["result", "measured (± 95% CI)", "n", "status", "checks passed"], rows)
    for r in rs.results:
        lines += size_markdown(r)
    notes = []
    for why in reasons(rs, passed=False):
        if why.verdict is None:
            notes.append(f"- 💥 **{markdown_text(why.result)}**: {markdown_text(why.evidence)}")
        else:
            notes.append(f"- {_ICON[why.status]} **{markdown_text(why.result)}**: "
                         f"{code_span(why.check)} — {markdown_text(why.evidence)}")
    for r in rs.results:
        notes += _probe_notes(r)
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


def history_check_markdown(report: CompareReport, trends: Sequence[tuple[str, Verdict]]
                           ) -> str:
    """``perfgate history --check``: the comparison table, then the trend verdicts."""
    text = comparison_markdown(report)
    if any(v.status == "fail" for _, v in trends) and not report.failed:
        text = text.replace("✅ perfgate: no regression beyond the thresholds",
                            "❌ perfgate: a check is beyond its limit", 1)
    if not trends:
        return text
    rows = [[name, v.check, f"{_ICON.get(v.status, '')} {v.status}", v.evidence]
            for name, v in trends]
    return text + "\n".join(["", "#### Trends toward limits", "",
                             *_table(["benchmark", "check", "verdict", "evidence"], rows)]
                            ) + "\n"
