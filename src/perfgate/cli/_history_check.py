"""What ``perfgate history`` computes beyond listing: change points, the history gate, and
trends toward a check's limit. The CLI command (:mod:`perfgate.cli._history`) prints them.

Every series is taken from the machine of the newest run (its hostname): timings from
another machine are another series, not a change.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from perfgate._errors import UnknownMetricError, UsageError

if TYPE_CHECKING:
    from perfgate.analysis.changepoints import Change
    from perfgate.analysis.compare import CompareReport, Threshold
    from perfgate.model import Verdict
    from perfgate.store import RunInfo, SeriesPoint, Store

__all__ = ["GATE_WINDOW", "HistoryCheck", "changes_of", "history_check"]

GATE_WINDOW = 200  # runs before the newest that the gate looks at (bounded: fast at 10^4 runs)
TREND_WINDOW = 50  # newest runs whose full results are read for a trend


@dataclass
class HistoryCheck:
    """The history gate's outcome: the newest run against its history, and trend verdicts."""

    run: RunInfo
    report: CompareReport
    trends: list[tuple[str, Verdict]] = field(default_factory=list)

    @property
    def failed(self) -> bool:
        return self.report.failed or any(v.status == "fail" for _, v in self.trends)

    def to_dict(self) -> dict[str, Any]:
        return {**self.report.to_dict(), "run": self.run.id, "failed": self.failed,
                "trends": [{"name": n, **v.to_dict()} for n, v in self.trends]}


def changes_of(points: Sequence[SeriesPoint], alpha: float = 0.01) -> list[dict[str, Any]]:
    """Change points of a stored series (oldest first), each with its runs and commits."""
    from perfgate.analysis.changepoints import detect_changes

    if len(points) < 2:
        return []
    changes: list[Change] = detect_changes([p.value for p in points], alpha=alpha)
    out = []
    for c in changes:
        before, first, last = points[c.start - 1], points[c.start], points[c.end]
        # good..bad: the runs (and commits) between which the change came in, 95 % sure —
        # a step's location interval, a drift's whole span; what `git bisect` is given
        lo, hi = c.located if c.located is not None else (c.start, c.end)
        good, bad = points[lo - 1], points[hi]
        out.append({**c.to_dict(), "run": first.run_id, "last_run": last.run_id,
                    "before_run": before.run_id, "before_commit": before.commit,
                    "commit": first.commit, "last_commit": last.commit,
                    "good_run": good.run_id, "good_commit": good.commit,
                    "bad_run": bad.run_id, "bad_commit": bad.commit,
                    "time": first.started_at})
    return out


def machine_of(store: Store, name: str, hostname: str | None,
               series: Sequence[SeriesPoint]) -> list[float | None]:
    """The machine level (reference loop seconds, store.MACHINE_METRIC) of each run of
    ``series``, None where the run has none (saved before references, or one process)."""
    from perfgate.store import MACHINE_METRIC

    if not series:
        return []
    got = {p.run_id: p.value for p in store.series(name, MACHINE_METRIC, hostname=hostname,
                                                    limit=len(series) + 50)}
    return [got.get(p.run_id) for p in series]


def _wanted(metric: str, name: str, thresholds: Mapping[str, Threshold]) -> bool:
    return (metric in ("time", "latency") or metric.startswith("time.")
            or f"{name}:{metric}" in thresholds or metric in thresholds)


def history_check(store: Store, name: str | None, thresholds: Mapping[str, Threshold], *,
                  alpha: float, min_effect: float, check: str | None = None,
                  horizon: int = 10) -> HistoryCheck:
    """Does the newest run start a regression step (per benchmark and compared metric,
    Holm-adjusted), and — with ``check`` — is any series trending toward its limit?"""
    from perfgate.analysis.changepoints import newest_step
    from perfgate.analysis.compare import DEFAULT_THRESHOLDS, CompareReport, finish

    th = {**DEFAULT_THRESHOLDS, **thresholds}
    newest = store.runs(name, limit=1)
    if not newest:
        what = f" holding {name!r}" if name else ""
        raise UsageError(f"no runs{what} in {store.display_url}: nothing to check")
    run = newest[0]
    points = store.metric_points([run.id], name)[run.id]
    raw = []
    for pt in points:
        if not _wanted(pt.metric, pt.result, th) or pt.value is None:
            continue
        series = store.series(pt.result, pt.metric, hostname=run.hostname,
                              limit=GATE_WINDOW + 1)
        if not series or series[-1].run_id != run.id:
            continue
        t = th.get(f"{pt.result}:{pt.metric}") or th.get(pt.metric)
        machine = machine_of(store, pt.result, run.hostname, series)
        raw.append(newest_step([p.value for p in series], pt.result, pt.metric, pt.unit,
                               threshold=t, window=GATE_WINDOW,
                               run_ids=[p.run_id for p in series], machine=machine))
    report = CompareReport(tuple(finish(raw, alpha, min_effect)), alpha, min_effect,
                           base_label=f"history on {run.hostname or 'this machine'}",
                           current_label=f"run {run.id}")
    trends = _trends(store, run, sorted({p.result for p in points}), check, horizon) \
        if check else []
    return HistoryCheck(run, report, trends)


def _trends(store: Store, run: RunInfo, names: list[str], text: str, horizon: int
            ) -> list[tuple[str, Verdict]]:
    from perfgate.analysis.checks import evaluate, parse_check
    from perfgate.analysis.trend import trend_verdict

    chk = parse_check(text)
    out = []
    for name in names:
        values: list[float] = []
        unit = "1"
        for _pt, result in store.result_history(name, hostname=run.hostname,
                                                limit=TREND_WINDOW):
            try:
                v = evaluate(chk, result)
            except UnknownMetricError:  # a run without the check's metric: a gap, not an error
                continue
            if v.value is not None and math.isfinite(v.value):
                values.append(v.value)
                unit = v.unit
        if values:
            out.append((name, trend_verdict(chk, values, unit, horizon=horizon)))
    if not out:
        raise UsageError(f"check {text!r}: no stored result of {', '.join(names)} "
                         "has what it measures")
    return out
