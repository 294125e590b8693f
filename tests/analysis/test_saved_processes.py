"""Two saved runs of several processes each: the log-linear model with each process's wait."""

from __future__ import annotations

import math

import numpy as np

from perfgate.analysis.compare import compare_resultsets
from perfgate.analysis.saved_processes import compare_saved_processes, usable_processes
from perfgate.model import Environment, Metric, Result, ResultSet


def _run(medians: list[float], waits: list[float] | None) -> ResultSet:
    extra: dict[str, object] = {"process_medians": medians}
    if waits is not None:
        extra["process_waits"] = waits
        extra["cpu_wait"] = float(np.median(waits))
    m = Metric(unit="s", kind="distribution", n=len(medians),
               median=float(np.median(medians)), extra=extra)
    return ResultSet(environment=Environment(),
                     results=(Result(name="f", kind="bench", metrics={"time": m}),))


def _side(rng: np.random.Generator, level: float, waits: list[float]) -> list[float]:
    # on this project's VM a process that shared its vCPU (waited ~half its time) ran
    # ~10 % faster: the SMT sibling ran alone meanwhile
    return [level * math.exp(-0.2 * w + rng.normal(0, 0.015)) for w in waits]


def test_the_wait_term_recovers_a_slowdown_hidden_by_the_mix_of_conditions() -> None:
    rng = np.random.default_rng(3)
    wb = [0.5, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.5]  # two of ten shared a vCPU
    wc = [0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.0, 0.0, 0.0, 0.5]  # seven of ten did
    base, cur = _side(rng, 70e-6, wb), _side(rng, 70e-6 * 1.25, wc)
    c = compare_resultsets(_run(base, wb), _run(cur, wc)).comparisons[0]
    assert c.status == "regression" and c.level == "fail", c
    assert c.ratio is not None and abs(math.log(c.ratio / 1.25)) < 0.03  # adjusted, not 1.19
    assert "wait for a CPU" in c.evidence
    # the same mix, no change in the code: no verdict against it
    same = compare_resultsets(_run(base, wb), _run(_side(rng, 70e-6, wc), wc)).comparisons[0]
    assert same.level == "ok" and same.status != "regression", same


def test_waiting_that_matches_the_runs_exactly_cannot_be_told_from_the_code() -> None:
    # every process of one run waited, none of the other's: δ and the wait are one thing
    rng = np.random.default_rng(4)
    wb, wc = [0.0] * 8, [0.5] * 8
    c = compare_saved_processes("f", "time", "s", _side(rng, 70e-6, wb), wb,
                                _side(rng, 70e-6 * 1.4, wc), wc, threshold=None,
                                higher_is_better=False, noise=None)
    assert c.ci is not None and c.ci[0] < 1.0 < c.ci[1] and (c.p_value or 0) > 0.05
    assert "cannot be told from the waiting" in c.evidence


def test_far_processes_are_left_out_unless_they_are_the_majority() -> None:
    kept, waits, far = usable_processes([1.0, 1.02, 0.98, 1.55, 1.01], [0, 0, 0, 0, 0.1])
    assert kept == [1.0, 1.02, 0.98, 1.01] and waits == [0, 0, 0, 0.1] and far == 1
    # no three processes agree: all are kept
    kept, _, far = usable_processes([1.0, 1.5, 2.2], None)
    assert kept == [1.0, 1.5, 2.2] and far == 0
