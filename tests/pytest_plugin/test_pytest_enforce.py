"""Issue 10.2: a failed check made in a test fails it — through ``perf.*`` or ``pg.*`` —
with the verdicts in the message; the opt-out; async targets inside a running loop."""

from __future__ import annotations

import asyncio

import pytest

from perfgate._loops import off_running_loop
from perfgate.bench._calls import run_coroutine as run_coroutine_blocking

pytest_plugins = ["pytester"]

QUIET = ("-p", "no:cacheprovider", "-p", "no:hypothesispytest")
INI = "[pytest]\nfilterwarnings = error\n"

SUITE = '''
import asyncio

import pytest

import perfgate as pg

FAST = dict(max_time=0.01, warmup=0.0, memory=False, min_rounds=3)


def work():
    return sum(range(50))


def _linear(n):
    return sum(range(n))


def test_perf_load_fails(perf):
    perf.load(work, vus=1, iterations=30, checks=["p(99) < 1ns"])


def test_perf_sweep_fails(perf):
    perf.sweep(_linear, [100, 200, 400], checks=["time < 1ns"], budget=0.2)


def test_perf_bench_fails(perf):
    perf.bench(work, checks=["median < 1ns"], **FAST)


def test_pg_load_with_checks_fails():
    r = pg.load(work, vus=1, iterations=30, checks=["p(99) < 1ns"])
    assert r.status == "fail"  # returned, not raised: the plugin fails the test


def test_a_failure_the_test_expects_passes(perf):
    with pytest.raises(AssertionError, match="median < 1ns"):
        perf.bench(work, checks=["median < 1ns"], **FAST)


def test_perf_check_without_new_checks_raises_the_old_failure(perf):
    r = pg.load(work, vus=1, iterations=30, checks=["p(99) < 1ns"])
    with pytest.raises(AssertionError, match="p\\\\(99\\\\) < 1ns"):
        perf.check(r)


def test_async_targets_inside_a_running_loop(perf):
    async def op():
        await asyncio.sleep(0)

    async def inside():  # what an @pytest.mark.asyncio test is: a running loop
        r = perf.bench(op, **FAST)
        outcome = perf.burst(op, n=4)
        return r, outcome

    r, outcome = asyncio.run(inside())
    assert r.error is None and outcome.counts == {"ok": 4}
'''


def _outcomes(res: pytest.RunResult) -> dict[str, str]:
    out = {}
    for line in res.outlines:
        for word in ("PASSED", "FAILED"):
            if line.startswith("test_enf.py::") and f" {word}" in line:
                out[line.split("::")[1].split()[0]] = word
    return out


@pytest.mark.slow
def test_failed_checks_fail_their_tests_and_the_opt_outs(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_enf=SUITE)
    pytester.makeini(INI)
    res = pytester.runpytest_subprocess(*QUIET, "-v")
    got = _outcomes(res)
    assert got == {
        "test_perf_load_fails": "FAILED",
        "test_perf_sweep_fails": "FAILED",
        "test_perf_bench_fails": "FAILED",
        "test_pg_load_with_checks_fails": "FAILED",
        "test_a_failure_the_test_expects_passes": "PASSED",
        "test_perf_check_without_new_checks_raises_the_old_failure": "PASSED",
        "test_async_targets_inside_a_running_loop": "PASSED",
    }, res.stdout.str()
    text = res.stdout.str()
    assert "p(99) < 1ns: fail" in text and "opt out" in text  # the verdicts in the message

    res = pytester.runpytest_subprocess(*QUIET, "-v", "--perfgate-no-enforce",
                             "-k", "fails")
    assert set(_outcomes(res).values()) == {"PASSED"} and len(_outcomes(res)) == 4, \
        res.stdout.str()

    pytester.makepyfile(test_enf=SUITE.replace(
        "FAST = dict(", "pytestmark = pytest.mark.perf(enforce=False)\nFAST = dict("))
    res = pytester.runpytest_subprocess(*QUIET, "-v", "-k", "fails")
    assert set(_outcomes(res).values()) == {"PASSED"} and len(_outcomes(res)) == 4, \
        res.stdout.str()


def test_run_coroutine_blocking_with_and_without_a_running_loop() -> None:
    async def value() -> int:
        await asyncio.sleep(0)
        return 42

    assert run_coroutine_blocking(value) == 42

    async def inside() -> int:
        return run_coroutine_blocking(value)  # would be "another loop is running"

    assert asyncio.run(inside()) == 42

    async def boom() -> None:
        raise KeyError("x")

    with pytest.raises(KeyError):
        asyncio.run(_call_blocking(boom))
    assert off_running_loop(lambda: 5) == 5


async def _call_blocking(f: object) -> object:
    return run_coroutine_blocking(f)  # type: ignore[arg-type]


def test_perf_load_with_no_successful_iteration_raises_unless_opted_out() -> None:
    from perfgate._errors import TargetError
    from perfgate._pytest.collector import Collector
    from perfgate._pytest.perf import Perf

    def boom() -> None:
        raise ConnectionRefusedError("down")

    with pytest.raises(TargetError, match="every iteration failed"):
        Perf("t", Collector()).load(boom, vus=1, iterations=3)
    r = Perf("t", Collector(), enforce=False).load(boom, vus=1, iterations=3)
    assert r.status == "error" and r.metrics["count.ConnectionRefusedError"].value == 3


def test_observation_reports_each_unraised_failure_once() -> None:
    import dataclasses

    from perfgate._observe import notify, observing, raised
    from perfgate.model import Result, Verdict

    v = Verdict("p(99) < 1ns", "fail", 1.0, 1e-9, 0.0, "p99 1 s")
    ok = Verdict("error_rate < 1%", "pass", 0.0, 0.01, 0.01, "")
    r = Result(name="x", kind="load", verdicts=(v, ok))
    with observing() as obs:
        notify(r)
        notify(dataclasses.replace(r, extra={"test": "t"}))  # the perf fixture's copy
        failures = obs.unraised_failures()
        assert len(failures) == 1 and failures[0][1] == [v, ok]
        raised([v])
        assert obs.unraised_failures() == []
    notify(r)  # outside an observed block: nothing happens, nothing fails
