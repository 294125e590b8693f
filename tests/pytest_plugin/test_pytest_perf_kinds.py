"""The ``perf`` fixture's sweep and load methods, used from a real test."""

from __future__ import annotations

import pytest


def _linear(n: int) -> int:
    total = 0
    for i in range(n):
        total += i
    return total


@pytest.mark.slow
def test_perf_sweep_fits_and_checks(perf: object) -> None:
    r = perf.sweep(_linear, [1_000, 4_000, 16_000, 64_000],  # type: ignore[attr-defined]
                   checks=["complexity <= O(n^2)"], budget=0.5)
    assert r.kind == "sweep"
    fit = r.extra["complexity"]["time"]
    # A loaded machine may leave O(n) vs O(n log n) undecided; both are within the check.
    assert fit["class"] in ("O(n)", "O(n log n)") or set(fit["candidates"]) <= {"O(n)", "O(n log n)"}
    assert r.verdicts[-1].status == "pass"


@pytest.mark.slow
def test_perf_sweep_failing_complexity_check_raises(perf: object) -> None:
    with pytest.raises(AssertionError, match="complexity <= O\\(1\\)"):
        perf.sweep(_linear, [1_000, 4_000, 16_000, 64_000],  # type: ignore[attr-defined]
                   checks=["complexity <= O(1)"], budget=0.5)


def test_perf_load_of_a_callable(perf: object) -> None:
    calls = []
    r = perf.load(lambda: calls.append(1), vus=2, iterations=200,  # type: ignore[attr-defined]
                  processes=1, checks=["error_rate < 1%", "count(ok) == 200"])
    assert r.kind == "load"
    assert len(calls) == 200
    assert {v.status for v in r.verdicts} == {"pass"}
