"""The ``perf`` fixture, markers and ``--perfgate-json``, run for real with pytester."""

from __future__ import annotations

import pytest

from perfgate import read_json

pytest_plugins = ["pytester"]

# Plugins the inner runs do not need: hypothesis alone costs ~2 s of import per run.
QUIET = ("-p", "no:cacheprovider", "-p", "no:hypothesispytest")

INI = "[pytest]\nfilterwarnings = error\n"

PERF_SUITE = '''
import threading

import pytest

from perfgate import CheckSyntaxError, Metric, Result, TargetError

pytestmark = pytest.mark.perf(max_time=0.003, warmup=0.0, memory_calls=1, min_rounds=3)


class Shift:
    """Ten people swap the same shift at once: exactly one may win."""

    def __init__(self):
        self.owner = "alice"
        self._lock = threading.Lock()

    def swap(self, who):
        with self._lock:
            if self.owner != "alice":
                raise ValueError("shift already swapped")
            self.owner = who


def test_burst_exactly_one_wins(perf):
    shift = Shift()
    outcome = perf.burst(shift.swap, n=10, args=[f"p{i}" for i in range(10)])
    assert outcome.counts == {"ok": 1, "ValueError": 9}
    outcome.check("count(ok) == 1", "count(ValueError) == 9")


def test_burst_check_fails(perf):
    outcome = perf.burst(Shift().swap, n=4, args=["a", "b", "c", "d"])
    outcome.check("count(ok) == 4")


def test_bench_passes(perf):
    r = perf.bench(sorted, list(range(100)), checks=["median < 1s", "alloc_bytes < 1GB"])
    assert r.kind == "bench" and r.metric("time").n >= 3
    assert [v.status for v in r.verdicts] == ["pass", "pass"]
    assert perf.results == [r]


def test_bench_check_fails(perf):
    perf.bench(sum, range(100), checks=["median < 1ns"])


def test_inconclusive_does_not_fail(perf):
    made = Result(name="hand-made", kind="bench", metrics={"time": Metric(
        unit="s", kind="distribution", n=9, median=1e-3, ci_low=0.5e-3, ci_high=2e-3)})
    checked = perf.check(made, "median < 1.5ms")
    assert checked.verdicts[0].status == "inconclusive"


def test_malformed_check_rejected_before_running(perf):
    calls = []
    with pytest.raises(CheckSyntaxError, match="position"):
        perf.bench(lambda: calls.append(1), checks=["median <"])
    assert calls == []


def test_target_error(perf):
    with pytest.raises(TargetError, match="ZeroDivisionError"):
        perf.bench(lambda: 1 / 0)


def test_check_later_and_failure_attributes(perf):
    r = perf.bench(sum, range(10), name="sum-10")
    with pytest.raises(AssertionError) as info:
        perf.check(r, "ops < 1/s")
    assert info.value.verdicts[0].status == "fail"
    assert info.value.result.name == "sum-10"


def test_parallel(perf):
    r = perf.parallel(lambda: sum(range(100)), workers=2, duration=0.002, trials=2)
    assert {"speedup", "efficiency"} <= set(r.metrics)
'''


def test_perf_fixture(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_perf_suite=PERF_SUITE)
    pytester.makeini(INI)
    res = pytester.runpytest(*QUIET, "--perfgate-json=out/perf.json")
    res.assert_outcomes(passed=7, failed=2)
    # a failing check fails its test, and the report carries the verdict with its evidence
    res.stdout.fnmatch_lines([
        "*AssertionError: perfgate: 1 of 1 check(s) failed for*test_bench_check_fails::sum*",
        "*✗ median < 1ns: fail — median * is not below the 1 ns limit.",
    ])
    res.stdout.fnmatch_lines(["*count(ok) == 4*not equal to the 4 limit*"])
    res.stdout.fnmatch_lines(["*perfgate JSON (* results) written to out/perf.json*"])

    rs = read_json(pytester.path / "out" / "perf.json")
    assert rs.environment.python_version
    by_test = {str(r.extra["test"]).split("::")[-1]: r for r in rs.results}
    race = by_test["test_burst_exactly_one_wins"]
    assert race.kind == "burst" and race.metric("count.ok").value == 1
    # verdicts added by outcome.check() after the burst ran still reach the JSON
    assert [v.status for v in race.verdicts] == ["pass", "pass"]
    assert by_test["test_bench_check_fails"].verdicts[0].status == "fail"
    assert by_test["test_inconclusive_does_not_fail"].verdicts[0].status == "inconclusive"
    assert by_test["test_check_later_and_failure_attributes"].name == "sum-10"
    assert by_test["test_target_error"].error is not None  # measured-so-far is kept
    assert by_test["test_parallel"].metric("speedup").value is not None


MARKERS = '''
import pytest

def test_uses_perf(perf):
    pass

@pytest.mark.slow
def test_slow():
    pass

def test_plain():
    pass
'''


def test_markers_registered_and_perf_added(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_markers=MARKERS)
    res = pytester.runpytest(*QUIET, "--strict-markers", "-m", "not perf")
    res.assert_outcomes(passed=2, deselected=1)
    res = pytester.runpytest(*QUIET, "--markers")
    res.stdout.fnmatch_lines(["@pytest.mark.perf(**bench_options)*", "@pytest.mark.slow*"])


def test_unknown_bench_option_is_a_usage_error(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_opts='''
import pytest
from perfgate import UsageError

def test_it(perf):
    with pytest.raises(UsageError, match="unknown option.*max_tiem"):
        perf.bench(lambda: None, max_tiem=1)
''')
    pytester.runpytest(*QUIET).assert_outcomes(passed=1)


def test_perfgate_max_time_option(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_budget='''
from perfgate import BenchOptions

def test_it(perf):
    r = perf.bench(lambda: None, memory=False)
    assert r.params["max_time"] == 0.004 and r.params["warmup"] == 0.004

def test_options_object_wins(perf):
    r = perf.bench(lambda: None, options=BenchOptions(max_time=0.003, warmup=0.0), memory=False)
    assert r.params["max_time"] == 0.003 and r.params["warmup"] == 0.0
''')
    res = pytester.runpytest(*QUIET, "--perfgate-max-time=0.004")
    res.assert_outcomes(passed=2)
