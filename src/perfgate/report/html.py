"""The HTML report: one self-contained page with tables, verdicts and plotly plots.

Everything is inline — styles, plotly.js (once), the data — and nothing is fetched from the
network, so the file opens offline, from a CI artifact or an e-mail. The tables and
verdicts are plain HTML (readable with JavaScript off); the plots enhance them.

Each result ``kind`` has its own small renderer; to add a kind, write a function
``(results, page) -> Markup`` and register it with :func:`register_kind`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from markupsafe import Markup

from perfgate.analysis.compare import CompareReport, Comparison
from perfgate.model import Environment, Result, ResultSet, write_atomic
from perfgate.report import (
    _html_capacity,
    _html_compare,
    _html_kinds,
    _html_load,
    _html_sweep,
    _html_versus,
)
from perfgate.report._html_page import (
    Page,
    fmt,
    json_for_script,
    plotly_js,
)
from perfgate.report._view import reasons, tally

__all__ = ["KindRenderer", "register_kind", "render_html", "write_html"]

KindRenderer = Callable[[Sequence[Result], Page], Markup]


@dataclass(frozen=True)
class _Kind:
    title: str
    render: KindRenderer


_KINDS: dict[str, _Kind] = {}


def register_kind(kind: str, title: str, render: KindRenderer) -> None:
    """Render results of ``kind`` with ``render`` (all of them at once, in run order)."""
    _KINDS[kind] = _Kind(title, render)


register_kind("bench", "Benchmarks", _html_kinds.render_bench)
register_kind("burst", "Bursts", _html_kinds.render_burst)
register_kind("load", "Load tests", _html_load.render_load)
register_kind("sweep", "Scaling sweeps", _html_sweep.render_sweep)
register_kind("versus", "Side by side", _html_versus.render_versus)
register_kind("capacity", "Capacity searches", _html_capacity.render_capacity)


def _reasons(rs: ResultSet) -> list[dict[str, Any]]:
    """Every verdict and every target error, worst first: the "why" under the banner."""
    rows: list[dict[str, Any]] = []
    for why in reasons(rs):
        v = why.verdict
        rows.append({"status": why.status, "result": why.result, "check": why.check,
                     "measured": fmt(v.value, v.unit) if v is not None else "",
                     "limit": fmt(v.limit, v.unit) if v is not None and v.limit is not None
                     else "", "evidence": why.evidence, "order": why.order})
    return rows


def _counts(rs: ResultSet, comparisons: Sequence[Comparison]) -> dict[str, int]:
    t = tally(rs)
    counts = dict.fromkeys(("pass", "warn", "inconclusive", "fail", "error"), 0)
    counts.update(t.verdicts)
    counts["error"] = t.errors
    regressions = sum(1 for c in comparisons if _html_compare.failing(c))
    if regressions:
        counts["regression"] = regressions
    return counts


def _headline(
    rs: ResultSet, counts: dict[str, int], reasons: list[dict[str, Any]],
    comparisons: Sequence[Comparison],
) -> dict[str, Any]:
    """The banner: passed or failed, and in one sentence why."""
    checks = sum(counts[s] for s in ("pass", "warn", "inconclusive", "fail"))
    bad = counts["fail"] + counts["error"] + counts.get("regression", 0)
    n = len(rs.results)
    results = f"{n} result{'s' if n != 1 else ''}"
    if bad:
        parts = []
        if counts["fail"]:
            parts.append(f"{counts['fail']} of {checks} checks failed")
        if counts["error"]:
            parts.append(f"{counts['error']} target{'s' if counts['error'] != 1 else ''} raised")
        if counts.get("regression"):
            parts.append(f"{counts['regression']} regression"
                         f"{'s' if counts['regression'] != 1 else ''}")
        first = next((r for r in reasons if r["status"] in ("fail", "error")), None)
        why = f"{first['result']}: {first['check']}" if first else ""
        if first and first["measured"] not in ("", "–"):
            why += f", measured {first['measured']}"
        reg = next((c for c in comparisons if _html_compare.failing(c)), None)
        if not why and reg is not None:
            why = f"{reg.name} {reg.metric} ×{reg.ratio or 0.0:.3g}"
        return {"status": "fail", "title": "Failed", "text": f"{', '.join(parts)} ({results})",
                "why": why}
    soft = [f"{counts[s]} {s}" for s in ("warn", "inconclusive") if counts[s]]
    if checks == 0:
        return {"status": "none", "title": "No checks", "why": "",
                "text": f"{results} measured; no check was set, so nothing can fail"}
    text = f"all {checks} checks passed ({results})" if not soft else (
        f"no check failed: {counts['pass']} passed, {', '.join(soft)} ({results})")
    return {"status": "pass", "title": "Passed", "text": text, "why": ""}


def _environment(env: Environment) -> tuple[list[str], list[tuple[str, str]]]:
    """A one-line summary and the full key/value table of the environment."""
    summary = [s for s in (
        f"{env.implementation} {env.python_version}".strip(),
        env.platform,
        f"{env.cpu_model} × {env.cpu_count}" if env.cpu_count else env.cpu_model,
        f"host {env.hostname}" if env.hostname else "",
    ) if s]
    if env.git_commit:
        branch = f" on {env.git_branch}" if env.git_branch else ""
        dirty = " (uncommitted changes)" if env.git_dirty else ""
        summary.append(f"commit {env.git_commit[:12]}{branch}{dirty}")
    if env.started_at:
        summary.append(env.started_at)
    table = [(k, "–" if v is None else str(v)) for k, v in env.to_dict().items()]
    return summary, table


def _comparisons(obj: CompareReport | Sequence[Comparison] | None) -> list[Comparison]:
    if obj is None:
        return []
    comps = obj.comparisons if isinstance(obj, CompareReport) else obj
    return _html_compare.normalize_comparisons(comps)


def render_html(
    rs: ResultSet,
    *,
    comparisons: CompareReport | Sequence[Comparison] | None = None,
    history: Sequence[Mapping[str, Any]] | Mapping[str, Any] | None = None,
    title: str = "perfgate report",
) -> str:
    """The report as one HTML document (see :func:`write_html`)."""
    page = Page()
    comps = _comparisons(comparisons)
    runs = _html_compare.normalize_history(history)
    reasons = _reasons(rs)
    counts = _counts(rs, comps)
    sections: list[dict[str, Any]] = []
    if comps:
        sections.append({"id": "comparisons", "title": "Comparisons",
                         "html": _html_compare.render_comparisons(comps, page)})
    by_kind: dict[str, list[Result]] = {}
    for r in rs.results:
        by_kind.setdefault(r.kind, []).append(r)
    known = [k for k in _KINDS if k in by_kind]
    for kind in known + sorted(k for k in by_kind if k not in _KINDS):
        spec = _KINDS.get(kind)
        render = spec.render if spec else _html_kinds.render_generic
        heading = spec.title if spec else kind.replace("_", " ").capitalize()
        sections.append({"id": f"kind-{kind}", "title": heading,
                         "html": render(by_kind[kind], page)})
    if runs:
        sections.append({"id": "history", "title": "History",
                         "html": _html_compare.render_history(runs, page)})
    env_summary, env_table = _environment(rs.environment)
    # Plots are rendered first (above) so that page.plots is complete here.
    return page.render(
        "report.html.j2",
        title=title,
        headline=_headline(rs, counts, reasons, comps),
        counts={k: v for k, v in counts.items() if v},
        reasons=reasons,
        warnings=[(r.name, w) for r in rs.results for w in r.warnings],
        sections=sections,
        env_summary=env_summary,
        env_table=env_table,
        plots_json=json_for_script(page.plots),
        plotly_js=plotly_js() if page.plots else Markup(""),
    )


def write_html(
    rs: ResultSet,
    path: str | Path,
    *,
    comparisons: CompareReport | Sequence[Comparison] | None = None,
    history: Sequence[Mapping[str, Any]] | Mapping[str, Any] | None = None,
    title: str = "perfgate report",
) -> None:
    """Write the report for ``rs`` to ``path`` (atomically: never a half-written page).

    ``comparisons``: a :class:`~perfgate.analysis.compare.CompareReport` (or its
    comparisons); ``CompareReport.from_dict`` reads one back from ``perfgate compare
    --json``. The report sorts them regressions first, then by the size of the effect; a
    regression at the ``fail`` level fails the banner.

    ``history``: a list of runs, in any order (sorted by ``time`` when every run has one,
    else taken as newest first); a dict with a ``"runs"`` list (``perfgate history
    --json``) is accepted too::

        {"commit": "3f2a9c1", "time": "2026-11-20T10:00:00+00:00",
         "metrics": {"parse_orders": 0.0038,                     # name → value, or
                     "sort_orders": {"value": 3.2e-4, "ci_low": 3.1e-4, "ci_high": 3.3e-4,
                                     "unit": "s", "status": "regression"},
                     "import_batch": {"time": {"value": ..., "unit": "s"}}},  # result → metric
         "regressions": ["parse_orders"]}       # optional markers: series or result names

    Each metric gets a trend plot (up to 24; all are in the table) with its regressions
    marked and the commits named.
    """
    # atomic, and no .tmp left behind when the disk is full
    write_atomic(Path(path), render_html(rs, comparisons=comparisons, history=history,
                                         title=title))


