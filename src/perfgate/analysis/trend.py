"""Trending toward a limit: a series still inside a check's limit, but heading for it.

For a check such as ``p(95) < 500ms`` and the check's value in each stored run (oldest
first), the newest ``window`` runs (20 by default, only those after the last change point
when there is one, at least 5) get a Theil-Sen line: the median of the pairwise slopes, so
one outlier run does not tilt it, with its 95 % CI from Kendall's tau. At the newest run the
line gives the current level; at that slope the limit is reached after
``(limit − level) / slope`` runs, and the slope's CI bounds that crossing.

Verdicts: ``fail`` when the newest run is already beyond the limit; ``warn`` when the slope
is significantly toward the limit (its whole CI) and the projected crossing lies within
``horizon`` runs; ``pass`` otherwise, saying how far the limit is and whether any trend is
significant.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import stats as _st

from perfgate._errors import UsageError
from perfgate.analysis.checks import Check
from perfgate.model import Status, Verdict
from perfgate.units import format_value

__all__ = ["Projection", "project", "trend_verdict"]

MIN_RUNS = 5


@dataclass(frozen=True)
class Projection:
    """Where a series is heading: its level and slope per run (with CI) at the newest run,
    and in how many runs it reaches ``limit`` (None: never at this slope)."""

    level: float
    slope: float
    slope_ci: tuple[float, float]
    runs: int  # how many runs the fit used
    limit: float
    crossing: float | None
    crossing_ci: tuple[float, float]  # may hold math.inf: not reached at that slope

    def to_dict(self) -> dict[str, Any]:
        def fin(x: float | None) -> float | None:
            return None if x is None or not math.isfinite(x) else x

        return {"level": self.level, "slope": self.slope, "slope_ci": list(self.slope_ci),
                "runs": self.runs, "limit": self.limit, "crossing": fin(self.crossing),
                "crossing_ci": [fin(self.crossing_ci[0]), fin(self.crossing_ci[1])]}


def _runs_to(gap: float, slope: float) -> float:
    """Runs until a line moving ``slope`` per run covers ``gap`` (> 0); inf if never."""
    return gap / slope if slope > 0 else math.inf


def project(values: Sequence[float], limit: float, upward: bool, window: int = 20
            ) -> Projection | None:
    """Fit the newest ``window`` values (oldest first); None with fewer than MIN_RUNS.
    ``upward``: the limit is above (the check is ``<``/``<=``)."""
    y = np.asarray([v for v in values if v is not None and math.isfinite(v)],
                   dtype=np.float64)[-window:]
    if y.size < MIN_RUNS:
        return None
    t = np.arange(y.size, dtype=np.float64)
    slope, icept, lo, hi = (float(z) for z in _st.theilslopes(y, t, 0.95))
    level = icept + slope * t[-1]
    sign = 1.0 if upward else -1.0
    gap = sign * (limit - level)
    toward, toward_lo, toward_hi = sign * slope, min(sign * lo, sign * hi), max(sign * lo,
                                                                                 sign * hi)
    crossing = _runs_to(gap, toward) if gap > 0 else 0.0
    ci = ((_runs_to(gap, toward_hi), _runs_to(gap, toward_lo)) if gap > 0 else (0.0, 0.0))
    return Projection(level, slope, (lo, hi), int(y.size), limit,
                      None if math.isinf(crossing) else crossing, ci)


def _since_last_step(values: list[float]) -> list[float]:
    """The runs after the last step (a level before a step says nothing of the slope now)."""
    if len(values) < 2 * MIN_RUNS or min(values) <= 0:
        return values
    from perfgate.analysis.changepoints import detect_changes

    steps = [c.start for c in detect_changes(values) if c.kind == "step"]
    if steps:
        return values[steps[-1]:]
    return values


def trend_verdict(check: Check, values: Sequence[float], unit: str, *, horizon: int = 10,
                  window: int = 20) -> Verdict:
    """A verdict on ``check`` over a series of its measured values (oldest first)."""
    if check.op not in ("<", "<=", ">", ">="):
        raise UsageError(f"check {check.text!r}: a trend needs a limit on one side "
                         "(<, <=, > or >=)")
    if horizon < 1:
        raise UsageError("the trend horizon must be at least 1 run")
    real = [v for v in values if v is not None and math.isfinite(v)]
    upward = check.op in ("<", "<=")
    if not real:
        return Verdict(check.text, "inconclusive", None, check.limit,
                       "no stored value of this check", unit)

    def fmt(x: float) -> str:
        return format_value(x, unit)

    newest = float(real[-1])
    inside = newest < check.limit if check.op == "<" else (
        newest <= check.limit if check.op == "<=" else
        newest > check.limit if check.op == ">" else newest >= check.limit)
    pr = project(_since_last_step(real), check.limit, upward, window)
    status: Status
    if not inside:
        status = "fail"
        text = f"newest run {fmt(newest)} is beyond the {fmt(check.limit)} limit"
    elif pr is None:
        status = "pass"
        text = (f"newest run {fmt(newest)} is inside the {fmt(check.limit)} limit; "
                f"{len(real)} run(s) are too few for a trend (need {MIN_RUNS})")
    else:
        toward = pr.slope_ci[0] > 0 if upward else pr.slope_ci[1] < 0
        slope_s = (f"{'+' if pr.slope >= 0 else '−'}{fmt(abs(pr.slope))} per run (95% CI "
                   f"{fmt(pr.slope_ci[0])} to {fmt(pr.slope_ci[1])}, {pr.runs} runs)")
        if toward and pr.crossing is not None and pr.crossing <= horizon:
            status = "warn"
            hi = pr.crossing_ci[1]
            text = (f"{fmt(newest)} is inside the {fmt(check.limit)} limit but trending "
                    f"toward it: {slope_s}; at this slope it crosses in ~{pr.crossing:.1f} "
                    f"runs (95% CI {pr.crossing_ci[0]:.1f} to "
                    f"{'never' if math.isinf(hi) else f'{hi:.1f}'}), within {horizon}")
        else:
            status = "pass"
            where = ("no significant trend toward it" if not toward else
                     f"crossing projected in ~{pr.crossing:.0f} runs, beyond {horizon}"
                     if pr.crossing is not None else "no crossing at this slope")
            text = f"{fmt(newest)} is inside the {fmt(check.limit)} limit: {slope_s}; {where}"
    return Verdict(check=f"trend: {check.text}", status=status, value=newest,
                   limit=check.limit, evidence=text, unit=unit)
