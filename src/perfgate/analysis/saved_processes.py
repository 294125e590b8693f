"""Two saved runs of several worker processes each: the ratio of their speeds, with a CI
that holds on a busy machine.

Each process is one observation (its median round time, ``extra["process_medians"]``); the
model, on a log scale, is

    log median_i = a + δ · [i is current] + b · wait_i + ε_i

where ``wait_i`` is the share of the process's timed rounds its thread spent waiting for a
CPU (``extra["process_waits"]``). δ is the change; its least-squares estimate and standard
error come with n − p degrees of freedom. Why this shape (docs/history.md has the figures):

- **Waiting for a core is a condition, not noise.** Beside busy neighbours a process either
  shares its vCPU (it waits ~half its time, and on SMT siblings its rounds run ~10 % *faster*)
  or does not. In one saved run both kinds occur, in another run in other proportions; the
  ``b`` term takes that out of δ when the data can tell them apart, and when it cannot — all
  of one run waited, none of the other — δ and b are confounded and the CI widens by itself
  (rerun). Widening the CI by the difference of the runs' median waits instead made 25 %
  slowdowns inconclusive in 8 of 20 pairs at load 3, because a median of ten waits flips
  between 0 and 0.5.
- **A process far from its run's others ran in another machine state** (``FAR_PROCESS``):
  left out, on both sides alike, and counted in the evidence.
- **A whole run can land on a machine in another state** (the host's, ~1.5× slower for
  seconds, no wait to show it): each process also timed a fixed reference loop
  (``extra["process_references"]``), and when the two runs' references differ beyond
  ``run_noise.MACHINE_SHIFT`` the CI covers the change as measured and relative to the machine.
- **The processes of one run share that moment's machine**, so the run-to-run noise that they
  cannot show is added to δ's variance: measured from the store's history of the benchmark
  on this machine when given (Welch-Satterthwaite degrees of freedom, the interval widened
  to ± the largest consecutive difference the history saw), else ``ASSUMED_BETWEEN_RUNS``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from scipy import stats as _st

from perfgate.analysis.comparison import Comparison, Threshold
from perfgate.analysis.run_noise import (
    ASSUMED_BETWEEN_RUNS,
    WAIT_FLOOR,
    RunNoise,
    both_readings,
    machine_level,
    noise_interval,
)

__all__ = ["FAR_PROCESS", "MIN_PROCESSES", "compare_saved_processes",
           "machine_shift", "usable_processes"]

# A worker process of a saved run whose median lands this far (×/÷) from the run's median
# process ran in another machine state, not another code. Beside a busy loop on this
# project's 2-core VM, 1 process in 10 — with no wait for a core, nothing in its rounds to
# show why — ran 1.5× slower than the others, which agreed within 3-5 % (the SMT "fast
# mode" is 0.88×, inside the band); three such processes among ten made a 25 % slowdown
# inconclusive.
FAR_PROCESS = 1.3
MIN_PROCESSES = 3  # per side, after leaving out the far ones


def usable_processes(medians: Sequence[float], waits: Sequence[float] | None
                     ) -> tuple[list[float], list[float] | None, int]:
    """The processes a comparison uses — their medians, their waits (None when not recorded
    for every process) — and how many were left out as far from the run's median process."""
    pairs = [(float(m), None if waits is None or len(waits) != len(medians) else waits[i])
             for i, m in enumerate(medians) if isinstance(m, int | float) and m > 0]
    if not pairs:
        return [], None, len(medians)
    mid = float(np.median([m for m, _ in pairs]))
    kept = [(m, w) for m, w in pairs if mid / FAR_PROCESS <= m <= mid * FAR_PROCESS]
    if len(kept) < MIN_PROCESSES:  # no majority state: keep them all
        kept = pairs
    got = [w for _, w in kept]
    ws = [float(w) for w in got if isinstance(w, int | float)] if waits else []
    return [m for m, _ in kept], ws if len(ws) == len(kept) else None, len(medians) - len(kept)




def machine_shift(base_refs: Sequence[float] | None, current_refs: Sequence[float] | None
                  ) -> float:
    """log(current / base) of the two runs' median reference times, 0 when either run has
    none."""
    a, b = machine_level(base_refs or ()), machine_level(current_refs or ())
    return math.log(b / a) if a and b else 0.0


def compare_saved_processes(
    name: str, metric: str, unit: str,
    base: Sequence[float], base_waits: Sequence[float] | None,
    current: Sequence[float], current_waits: Sequence[float] | None,
    *, threshold: Threshold | None, higher_is_better: bool, noise: RunNoise | None,
    base_refs: Sequence[float] | None = None, current_refs: Sequence[float] | None = None,
) -> Comparison:
    """The undecided comparison of two saved runs' processes (``unit_of_analysis
    "process"``); the status is decided with the others (:func:`~perfgate.analysis.compare.
    finish`)."""
    a, wa, fa = usable_processes(base, base_waits)
    b, wb, fb = usable_processes(current, current_waits)
    # the machine's speed in the processes used (a far process ran in another state)
    base_refs, current_refs = (usable_processes(m, r)[1] if r is not None and len(r) == len(m)
                               else None
                               for m, r in ((base, base_refs), (current, current_refs)))
    y = np.log(np.asarray(a + b, dtype=np.float64))
    group = np.r_[np.zeros(len(a)), np.ones(len(b))]
    cols = [np.ones_like(y), group]
    adjusted = False
    if wa is not None and wb is not None:
        w = np.asarray(wa + wb, dtype=np.float64)
        w = np.where(w > WAIT_FLOOR, w, 0.0)
        if float(np.ptp(w)) > WAIT_FLOOR:
            cols.append(w)
            adjusted = True
    x = np.column_stack(cols)
    df = y.size - x.shape[1]
    beta, *_ = np.linalg.lstsq(x, y, rcond=None)
    resid = y - x @ beta
    if df < 1 or np.linalg.matrix_rank(x) < x.shape[1]:
        # δ cannot be separated from the waits (every process of one run waited alike,
        # none of the other's): nothing decides, which is what the CI says
        est, se_proc, df = float(y[group == 1].mean() - y[group == 0].mean()), math.inf, 1
    else:
        s2 = max(float(resid @ resid) / df, 1e-12)
        est = float(beta[1])
        se_proc = math.sqrt(s2 * float(np.linalg.pinv(x.T @ x)[1, 1]))
    sigma = noise.sigma if noise is not None else ASSUMED_BETWEEN_RUNS
    between = 2 * sigma**2
    se = math.sqrt(se_proc**2 + between)
    if noise is not None and math.isfinite(se):  # Welch-Satterthwaite
        dof = se**4 / (se_proc**4 / df + between**2 / noise.df)
    else:
        dof = float(df)
    q = float(_st.t.ppf(0.975, dof))
    p = float(2 * _st.t.sf(abs(est) / se, dof)) if math.isfinite(se) else 1.0
    ci = noise_interval(est, se, q, noise) if math.isfinite(se) else (0.0, math.inf)
    read = both_readings(
        est, machine_shift(base_refs, current_refs),
        lambda x: noise_interval(x, se, q, noise),
        lambda x: float(2 * _st.t.sf(abs(x) / se, dof)), "current run", "base run",
    ) if math.isfinite(se) else None
    if read is not None:
        est, ci, p = read.est, (read.lo, read.hi), max(p, read.p)
    how = [f"{len(a)} vs {len(b)} processes, log-linear model"
           + (" with each process's wait for a CPU" if adjusted else "")
           + f" (t, {dof:.0f} df)"]
    if fa or fb:
        how.append(f"left out: processes whose median lay beyond ×/÷{FAR_PROCESS:g} of their "
                   f"run's median process (base {fa}, current {fb}) — another machine state, "
                   "not another code")
    if not math.isfinite(se_proc):
        how.append("every process of one run waited for a CPU alike and none of the other's "
                   "did: the change cannot be told from the waiting — rerun on a quieter "
                   "machine")
    if read is not None:
        how.append(read.note)
    if noise is not None:
        how.append(f"saved runs: the run-to-run spread of {noise.runs} stored runs added (σ "
                   f"{100 * sigma:.1f}% per run, at most "
                   f"{100 * (math.exp(noise.largest) - 1):.1f}% between consecutive runs"
                   f"{'; ' + noise.source if noise.source else ''})")
    else:
        how.append(f"saved runs: run-to-run noise of {100 * sigma:g}% per run assumed beside "
                   "the processes' own spread (give `--store` with stored runs of this "
                   "benchmark on this machine to measure it, or gate with `perfgate compare "
                   "--against REF`)")
    return Comparison(
        name=name, metric=metric, unit=unit, base=float(np.median(a)),
        current=float(np.median(b)), ratio=math.exp(est), ci=ci, p_value=p, p_adjusted=p,
        status="inconclusive", level="ok", unit_of_analysis="process", n_base=len(a),
        n_current=len(b), threshold=threshold, higher_is_better=higher_is_better,
        evidence="; ".join(how))
