"""Change points, the newest-run step check and trends, on seeded synthetic series."""

from __future__ import annotations

import math

import numpy as np
import pytest

from perfgate import UsageError
from perfgate.analysis.changepoints import detect_changes, newest_step
from perfgate.analysis.checks import parse_check
from perfgate.analysis.compare import Comparison, finish, parse_threshold, run_noise
from perfgate.analysis.trend import project, trend_verdict


def noisy(levels: list[tuple[int, float]], sd: float, seed: int) -> list[float]:
    """Concatenated flat segments (length, level) with log-normal noise of ``sd``."""
    rng = np.random.default_rng(seed)
    x = np.concatenate([np.full(n, math.log(lv)) for n, lv in levels])
    return list(np.exp(x + rng.normal(0, sd, x.size)))


def test_a_step_is_found_with_its_size_and_ci() -> None:
    v = noisy([(30, 1.0), (30, 1.08)], 0.02, seed=1)
    (c,) = detect_changes(v)
    assert c.kind == "step" and abs(c.start - 30) <= 2
    assert c.ci[0] < 1.08 < c.ci[1] and c.ratio > 1.04
    assert c.p_value <= 0.01


def test_a_flat_noisy_series_has_no_change_point() -> None:
    found = [detect_changes(noisy([(60, 1.0)], 0.03, seed=s)) for s in range(10)]
    assert sum(len(f) for f in found) <= 1  # alpha 0.01 per test: rarely, never often


def test_a_single_outlier_is_not_a_change_point() -> None:
    v = noisy([(50, 1.0)], 0.01, seed=3)
    v[20] *= 2.0  # one wild run
    v[21] *= 0.6  # and one the other way right after it
    assert detect_changes(v) == []


def test_a_drift_is_reported_as_a_drift() -> None:
    rng = np.random.default_rng(4)
    x = np.concatenate([np.zeros(30), np.linspace(0, 0.12, 30), np.full(30, 0.12)])
    v = list(np.exp(x + rng.normal(0, 0.01, x.size)))
    (c,) = detect_changes(v)
    assert c.kind == "drift"
    assert 20 <= c.start <= 40 and 50 <= c.end <= 70
    assert c.slope is not None and 0.002 < c.slope < 0.008  # 0.4 % per run
    assert c.ratio > 1.05


def test_a_step_is_located_as_precisely_as_its_size_allows() -> None:
    """A step's location interval: on its run when the step is ten noise SDs, several runs
    wide when it is one SD — and over seeded series it holds the true run ≥ 90 % of the
    time (nominally 95 %)."""
    (big,) = detect_changes(noisy([(40, 1.0), (40, 1.2)], 0.02, seed=6))
    assert big.located == (40, 40)
    held = widths = found = 0
    for seed in range(40):
        for c in detect_changes(noisy([(40, 1.0), (40, 1.04)], 0.04, seed=100 + seed)):
            assert c.located is not None and c.located[0] <= c.start <= c.located[1]
            found += 1
            held += c.located[0] <= 40 <= c.located[1]
            widths += c.located[1] - c.located[0]
    assert found >= 15  # a one-SD step over 40 + 40 runs is usually seen
    assert held >= 0.9 * found
    assert widths / found >= 4  # and nobody is told it happened on one run


def test_two_steps_both_ways() -> None:
    v = noisy([(25, 1.0), (25, 1.15), (25, 1.0)], 0.02, seed=5)
    got = detect_changes(v)
    assert [c.kind for c in got] == ["step", "step"]
    assert abs(got[0].start - 25) <= 2 and abs(got[1].start - 50) <= 2
    assert got[0].ratio > 1 > got[1].ratio


def test_bad_series_are_usage_errors() -> None:
    with pytest.raises(UsageError, match="> 0"):
        detect_changes([1.0, 0.0, 2.0])
    with pytest.raises(UsageError, match="min_size"):
        detect_changes([1.0] * 10, min_size=1)
    assert detect_changes([]) == [] and detect_changes([1.0] * 5) == []


def test_run_noise_ignores_steps_but_counts_outlier_runs() -> None:
    v = noisy([(20, 1.0), (20, 1.3)], 0.01, seed=6)
    rn = run_noise(v)  # a 30 % step is one lone difference: not noise
    assert rn is not None and 0.005 < rn.sigma < 0.02 and rn.runs == 40
    assert rn.largest < 0.05
    v[10] *= 1.2  # one run 20 % slow: two runs of this code can land that far apart
    rn = run_noise(v)
    assert rn is not None and rn.sigma > 0.025 and rn.largest == pytest.approx(
        math.log(1.2), abs=0.03)
    assert run_noise(v[:4]) is None  # too little history


def test_a_difference_the_history_has_already_shown_is_not_a_regression() -> None:
    from perfgate.analysis.compare import compare_samples, with_run_noise

    hist = noisy([(30, 1.0)], 0.01, seed=8)
    hist[12] *= 1.12  # an outlier run: identical code, 12 % slow
    noise = run_noise(hist)
    assert noise is not None
    base = [1.0 * (1 + 0.001 * i) for i in range(50)]

    def status(shift: float) -> str:
        c = compare_samples("f", "time", "s", base, [x * shift for x in base],
                            paired=False, unit_of_analysis="round")
        return finish([with_run_noise(c, noise)], 0.05, 0.01)[0].status

    assert status(1.10) == "inconclusive"  # within what the history saw
    assert status(1.30) == "regression"
    hist[12] /= 1.12  # the same history without its outlier run decides 10 %
    noise = run_noise(hist)
    assert status(1.10) == "regression"


def _decide(values: list[float]) -> tuple[str, str]:
    th = dict([parse_threshold("time=5%")])["time"]
    c = newest_step(values, "f", "time", "s", threshold=th, run_ids=list(range(len(values))))
    done = finish([c], 0.05, 0.01)[0]
    return done.status, done.level


def test_newest_run_starting_a_step_fails_and_a_normal_one_passes() -> None:
    base = noisy([(30, 1.0)], 0.01, seed=7)
    assert _decide([*base, 1.12]) == ("regression", "fail")
    assert _decide([*base, 1.0]) == ("unchanged", "ok")
    assert _decide([*base, 0.85])[0] == "improvement"
    # the level is the one after the last change point, not the whole history's
    stepped = noisy([(30, 1.0), (15, 1.2)], 0.01, seed=8)
    assert _decide([*stepped, 1.2]) == ("unchanged", "ok")
    status, level = _decide([1.0, 1.0, 1.5])  # too little history to know the noise
    assert status == "inconclusive" and level == "ok"


def test_a_recent_step_stays_a_regression_until_it_is_history() -> None:
    # a 6 % step in runs that swing ±2 % (σ 2.8 % per run): one run on it is not enough
    # to tell …
    def swing(level: float, n: int, phase: int = 0) -> list[float]:
        return [level * (1.02 if (i + phase) % 2 else 0.98) for i in range(n)]

    base = swing(1.0, 40)
    th = dict([parse_threshold("time=2%")])["time"]

    def decide(values: list[float]) -> Comparison:
        c = newest_step(values, "f", "time", "s", threshold=th,
                        run_ids=list(range(len(values))))
        return finish([c], 0.05, 0.01)[0]

    after = swing(1.06, 12)
    first = decide([*base, after[0]])
    assert first.status != "regression"  # one run inside the noise
    # … but each run that lands on the new level adds evidence against the old one
    c = decide([*base, *after[:5]])
    assert (c.status, c.level) == ("regression", "fail"), c.evidence
    assert c.n_current == 5 and "newest 5 runs (40–44) against the level of runs" in c.evidence
    assert c.ratio is not None and 1.05 < c.ratio < 1.07
    # after RECENT runs the new level is the history the newest run is held against
    c = decide([*base, *after])
    assert c.status != "regression" and "against the level of runs" in c.evidence


def test_trend_toward_a_limit_warns_with_the_crossing() -> None:
    rng = np.random.default_rng(9)
    chk = parse_check("p(95) < 500ms")
    rising = list(0.35 + 0.008 * np.arange(15) + rng.normal(0, 0.003, 15))
    v = trend_verdict(chk, rising, "s", horizon=10)
    assert v.status == "warn" and "crosses in" in v.evidence
    pr = project(rising, 0.5, upward=True)
    assert pr is not None and pr.crossing is not None and 2 < pr.crossing < 10
    assert pr.crossing_ci[0] <= pr.crossing <= pr.crossing_ci[1]
    assert trend_verdict(chk, rising, "s", horizon=2).status == "pass"  # beyond the horizon
    flat = list(0.40 + rng.normal(0, 0.003, 15))
    assert trend_verdict(chk, flat, "s").status == "pass"
    assert trend_verdict(chk, [*flat, 0.52], "s").status == "fail"
    assert trend_verdict(chk, flat[:3], "s").status == "pass"  # too few runs for a trend
    falling = [0.85 - x for x in rising]  # a ">" check is the mirror image
    assert trend_verdict(parse_check("mean > 350ms"), falling, "s").status == "warn"
    with pytest.raises(UsageError, match="one side"):
        trend_verdict(parse_check("mean == 5ms"), flat, "s")
