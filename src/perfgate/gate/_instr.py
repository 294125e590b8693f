"""The gate in instruction mode: counts decide, wall time is reported beside them.

``perfgate compare --against REF --measure instructions``:

1. REF is checked out as in the time gate; each tree's targets are counted in one worker
   under Callgrind (:mod:`perfgate.bench._instructions`). The two workers run at the same
   time: a count does not depend on what runs beside it.
2. Per benchmark the decision is made on the counts. The ratio of the per-call counts has
   an interval of ± (each side's ``spread``, the uncertainty of its median-based count,
   plus ``REPEATABILITY``, the spread of counts across fresh processes and tree paths
   measured by benchmarks/instructions_repeat.py), so a change is real only beyond what
   identical code shows. Then as for time: ``regression`` needs the whole interval above 1
   and the change at least ``min_effect``; ``unchanged`` needs the interval inside
   ± max(min effect, threshold); ``fail`` needs the change to reach the threshold
   (``instructions=1%`` by default).
3. The interleaved time gate then runs with what is left of the budget, and its comparisons
   are reported beside the counts — never failing the check (at most ``warn``). Where the
   two disagree (counts flat but time worse: I/O, syscalls, cache misses, contention; or
   counts worse but time flat), the report says so: counts alone miss real wall-time
   changes, and a reader must see both.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from perfgate._errors import UsageError
from perfgate.analysis.compare import (
    DEFAULT_THRESHOLDS,
    CompareReport,
    CompareStatus,
    Comparison,
    Level,
    Threshold,
    _crosses,
)
from perfgate.bench._instructions import InstructionCounts, measure_targets

if TYPE_CHECKING:
    from perfgate.gate._gate import GateOptions, GateProgress

__all__ = ["REPEATABILITY", "disagreement", "instruction_comparison", "run_instruction_gate"]

# Identical code counted in fresh processes from trees at different paths differs by less
# than this (benchmarks/instructions_repeat.py: within ±0.01 %); a safety factor of 10.
REPEATABILITY = 0.001


def instruction_comparison(name: str, base: InstructionCounts, current: InstructionCounts,
                           threshold: Threshold | None, min_effect: float) -> Comparison:
    """Current against base, decided from per-call counts and their repeatability."""
    ratio = current.per_call / base.per_call
    width = REPEATABILITY + base.spread + current.spread
    lo, hi = ratio * (1 - width), ratio * (1 + width)
    eq = max(min_effect, threshold.fail if threshold is not None and threshold.relative
             else 0.0)
    status: CompareStatus
    if lo > 1 and ratio - 1 >= min_effect:
        status = "regression"
    elif hi < 1 and 1 / ratio - 1 >= min_effect:
        status = "improvement"
    elif lo >= 1 / (1 + eq) and hi <= 1 + eq:
        status = "unchanged"
    else:
        status = "inconclusive"
    evidence = (f"instructions per call (callgrind), {base.calls}/{current.calls} calls per "
                f"batch, {len(base.estimates)}/{len(current.estimates)} repeats (spread "
                f"{100 * base.spread:.3f} % / {100 * current.spread:.3f} %) plus the "
                f"{100 * REPEATABILITY:g} % repeatability across processes")
    c = Comparison(name=name, metric="instructions", unit="1", base=base.per_call,
                   current=current.per_call, ratio=ratio, ci=(lo, hi), p_value=None,
                   p_adjusted=None, status=status, level="ok", unit_of_analysis="value",
                   n_base=len(base.estimates), n_current=len(current.estimates),
                   threshold=threshold, evidence=evidence)
    level: Level = "ok"
    if status == "regression":
        if threshold is not None and _crosses(c, threshold.fail, threshold.relative):
            level = "fail"
        elif (threshold is None or threshold.warn is None
              or _crosses(c, threshold.warn, threshold.relative)):
            level = "warn"
    return replace(c, level=level)


def disagreement(counts: Comparison, wall: Comparison) -> str | None:
    """A sentence when counts and wall time point different ways, else None."""
    if wall.status not in ("regression", "improvement") or counts.status == wall.status:
        return None
    def pct(c: Comparison) -> str:
        return f"{100 * ((c.ratio or 1.0) - 1):+.1f} %"

    what = {"regression": "worse", "improvement": "better", "unchanged": "flat",
            "inconclusive": "unclear"}
    why = ("the change lies where counts do not look — I/O, syscalls, cache misses, branch "
           "mispredictions, contention" if wall.status == "regression" and
           counts.status != "improvement" else
           "cheap or expensive instructions changed places (memory stalls, vectorised "
           "or I/O paths)")
    return (f"{counts.name}: instruction counts {what[counts.status]} ({pct(counts)}) but "
            f"wall time {what[wall.status]} ({pct(wall)}): {why}")


def _as_information(c: Comparison) -> Comparison:
    """A time comparison in instruction mode: shown in full, never failing the check."""
    return replace(c, level="warn" if c.level == "fail" else c.level,
                   evidence=f"{c.evidence}; informational: instruction mode decides from counts")


def run_instruction_gate(ref: str, targets: Sequence[str], *, cwd: Path | None,
                         options: GateOptions, progress: GateProgress | None = None,
                         clock: Callable[[], float] = time.monotonic
                         ) -> tuple[CompareReport, dict[str, Any]]:
    from perfgate.gate._gate import git_root, ref_worktree, run_gate  # time, beside counts

    opts = options
    start = clock()
    here = (cwd or Path.cwd()).resolve()
    root = git_root(here)
    rel = here.relative_to(root.resolve())
    with ref_worktree(root, ref) as (wt, _commit):
        if not (wt / rel).is_dir():
            raise UsageError(f"{rel} does not exist at {ref}")
        with ThreadPoolExecutor(2) as pool:
            futures = [pool.submit(measure_targets, targets, root=r, python=opts.python)
                       for r in (wt / rel, here)]
            base, cur = (f.result() for f in futures)
    counted = clock() - start
    if progress is not None:
        progress(0, counted, "instructions counted")
    names = [n for n in cur if n in base]
    if not names:
        raise UsageError(f"no benchmark exists in both trees: {sorted(base)} vs {sorted(cur)}")
    th = {**DEFAULT_THRESHOLDS, **opts.thresholds}
    counts = [instruction_comparison(
        n, base[n], cur[n], th.get(f"{n}:instructions") or th.get("instructions"),
        opts.min_effect) for n in names]
    left = max(0.5, opts.budget - (clock() - start))
    time_report, raw = run_gate(ref, targets, cwd=here, progress=progress, clock=clock,
                                options=replace(opts, measure="time", budget=left))
    walls = {c.name: c for c in time_report.comparisons}
    notes = [s for c in counts if c.name in walls
             if (s := disagreement(c, walls[c.name])) is not None]
    seconds = clock() - start
    extra = {**time_report.extra["gate"], "measure": "instructions",
             "seconds": round(seconds, 3), "instruction_seconds": round(counted, 3),
             "budget": opts.budget, "disagreements": notes,
             "instructions": {n: {"base": list(base[n].estimates),
                                  "current": list(cur[n].estimates),
                                  "calls": [base[n].calls, cur[n].calls]} for n in names}}
    report = CompareReport(
        (*counts, *(_as_information(c) for c in time_report.comparisons)),
        time_report.alpha, opts.min_effect, base_label=time_report.base_label,
        current_label=time_report.current_label,
        missing=tuple(sorted(set(base).symmetric_difference(cur))), extra={"gate": extra})
    return report, raw
