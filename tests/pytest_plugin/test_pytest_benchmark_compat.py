"""perfgate's pytest-benchmark compatibility, run for real with pytester.

pytest-benchmark is installed in the test environment, so each run passes ``-p no:benchmark``
to make perfgate the provider of ``benchmark`` (as on a machine without pytest-benchmark);
``test_pytest_benchmark_active_*`` checks the other side: both installed, nothing clashes.
The two end-to-end runs use a fresh interpreter (plugin loading exactly as users get it);
the smaller ones run in-process, which is several times faster.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest
from pytest_benchmark.stats import Stats as UpstreamStats

from perfgate import read_json
from perfgate._pytest.bm_stats import FIELDS, Stats

pytest_plugins = ["pytester"]

# Plugins the inner runs do not need: hypothesis alone costs ~2 s of import per run.
QUIET = ("-p", "no:cacheprovider", "-p", "no:hypothesispytest")

# A suite shaped like the ones projects ship: helpers in conftest, a JSON hook, plain calls,
# pedantic with setup/teardown, groups, parametrisation, extra_info, stats access, classes.
CONFTEST = '''
import pytest

def pytest_benchmark_update_json(config, benchmarks, output_json):
    output_json["project_extra"] = {"benchmarks_seen": len(benchmarks)}

@pytest.fixture
def payload():
    return list(range(200, 0, -1))
'''

SUITE = '''
import pytest

def fib(n):
    return n if n < 2 else fib(n - 1) + fib(n - 2)


def test_plain_call(benchmark):
    result = benchmark(fib, 10)
    assert result == 55


def test_kwargs_and_return_value(benchmark, payload):
    result = benchmark(sorted, payload, reverse=True)
    assert result[0] == 200


@pytest.mark.benchmark(group="sorting", min_rounds=4, warmup=False, disable_gc=True)
def test_pedantic_setup_teardown(benchmark):
    torn = []

    def setup():
        return (list(range(50, 0, -1)),), {"reverse": False}

    def teardown(data, reverse):
        torn.append(len(data))

    out = benchmark.pedantic(sorted, setup=setup, teardown=teardown, rounds=7,
                             warmup_rounds=2)
    assert out[0] == 1
    assert torn == [50] * 9            # warm-up rounds are torn down too
    assert benchmark.stats.stats.rounds == 7
    assert benchmark.stats.iterations == 1


@pytest.mark.benchmark(group="sorting")
def test_pedantic_iterations(benchmark):
    out = benchmark.pedantic(sum, args=([1, 2, 3],), iterations=10, rounds=3)
    assert out == 6
    assert benchmark.stats["iterations"] == 10
    assert benchmark.stats["rounds"] == 3


def test_extra_info_and_names(benchmark):
    benchmark.extra_info["size"] = 100
    benchmark(fib, 5)
    benchmark.extra_info["after"] = True          # set after the run: still reported
    assert benchmark.name == "test_extra_info_and_names"
    assert benchmark.fullname.endswith("test_suite.py::test_extra_info_and_names")
    assert benchmark.group is None
    assert benchmark.disabled is False


def test_stats_shape(benchmark):
    benchmark(fib, 8)
    s = benchmark.stats.stats
    assert s.min <= s.q1 <= s.median <= s.q3 <= s.max
    assert s.min <= s.mean <= s.max
    assert s.iqr == pytest.approx(s.q3 - s.q1)
    assert s.rounds == len(s.data) >= 3
    assert s.stddev >= 0
    assert s.ops == pytest.approx(1 / s.mean)
    assert s.total == pytest.approx(sum(s.data))
    assert benchmark.stats["mean"] == s.mean
    assert benchmark.stats["median"] == s.median
    assert benchmark.stats.iterations >= 1


@pytest.mark.parametrize("n", [5, 10])
def test_parametrized(benchmark, n):
    benchmark.group = "fib"
    assert benchmark(fib, n) == fib(n)


class TestInAClass:
    def test_method(self, benchmark):
        benchmark(str.upper, "perfgate")


def test_not_a_benchmark():
    assert fib(6) == 8
'''

INI = """
[pytest]
addopts = --benchmark-min-rounds=3 --benchmark-max-time=0.005 --benchmark-warmup=off
          --benchmark-sort=mean --benchmark-columns=min,max,mean --benchmark-storage=file://x
filterwarnings = error
"""


@pytest.mark.slow
def test_real_world_suite_runs_unchanged(pytester: pytest.Pytester) -> None:
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile(test_suite=SUITE)
    pytester.makeini(INI)
    res = pytester.runpytest_subprocess(
        "-p", "no:benchmark", *QUIET,
        "--benchmark-json=bench.json", "--perfgate-json=perf.json",
    )
    res.assert_outcomes(passed=10)
    out = res.stdout.str()
    assert "benchmark fixture: perfgate (pytest-benchmark is not active)" in out
    assert "benchmark fixture (measured by perfgate)" in out
    # display options were accepted, and the summary says they were ignored (the storage
    # is honoured: it is where --benchmark-save and --benchmark-compare look)
    res.stdout.fnmatch_lines(["*accepted but ignored*--benchmark-sort*"])
    assert "--benchmark-storage" not in out

    doc = json.loads((pytester.path / "bench.json").read_text())
    assert {"machine_info", "commit_info", "benchmarks", "datetime", "version"} <= set(doc)
    assert doc["project_extra"] == {"benchmarks_seen": 9}          # the conftest hook ran
    by_name = {b["name"]: b for b in doc["benchmarks"]}
    assert len(by_name) == 9
    ped = by_name["test_pedantic_setup_teardown"]
    assert ped["group"] == "sorting"
    assert ped["options"]["disable_gc"] is True and ped["options"]["min_rounds"] == 4
    assert ped["stats"]["rounds"] == 7 and len(ped["stats"]["data"]) == 7
    assert set(FIELDS) | {"data", "iterations"} <= set(ped["stats"])
    assert by_name["test_extra_info_and_names"]["extra_info"] == {"size": 100, "after": True}
    assert by_name["test_parametrized[5]"]["param"] == "5"
    assert by_name["test_parametrized[5]"]["params"] == {"n": 5}
    assert by_name["test_parametrized[10]"]["group"] == "fib"
    assert by_name["test_plain_call"]["options"]["max_time"] == 0.005

    rs = read_json(pytester.path / "perf.json")  # perfgate's own format, readable by perfgate
    names = {r.name.split("::", 1)[1] for r in rs.results}
    assert "test_plain_call" in names and "TestInAClass::test_method" in names
    plain = next(r for r in rs.results if r.name.endswith("test_plain_call"))
    assert plain.kind == "bench" and plain.metric("time").n == plain.params["rounds"]
    assert plain.metric("time").ci_low is not None


BEHAVIOUR = '''
import pytest
from perfgate import PerfgateError

def work():
    return sum(range(50))

def test_twice(benchmark):
    benchmark(work)
    benchmark(work)

def test_weave(benchmark):
    with pytest.raises(NotImplementedError):
        benchmark.weave(work)
    benchmark(work)

def test_pedantic_iterations_with_setup(benchmark):
    with pytest.raises(ValueError, match="iterations"):
        benchmark.pedantic(work, setup=lambda: None, iterations=2)

def test_pedantic_setup_and_args(benchmark):
    with pytest.raises(TypeError, match="setup"):
        benchmark.pedantic(work, args=(1,), setup=lambda: ((), {}))

@pytest.mark.benchmark(bogus=1)
def test_bad_marker(benchmark):
    benchmark(work)

def test_target_raises(benchmark):
    def boom():
        raise KeyError("nope")
    with pytest.raises(KeyError):            # the target's own exception, as pytest-benchmark
        benchmark(boom)

def test_plain():
    pass
'''


@pytest.mark.slow
def test_fixture_errors_match_pytest_benchmark(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_behaviour=BEHAVIOUR)
    res = pytester.runpytest(
        "-p", "no:benchmark", *QUIET, "--benchmark-max-time=0.002",
        "--benchmark-min-rounds=2", "-W", "error",
    )
    res.assert_outcomes(passed=5, failed=1, errors=1)
    res.stdout.fnmatch_lines(["E *FixtureAlreadyUsed: Fixture can only be used once.*"])
    res.stdout.fnmatch_lines(["*benchmark mark can't have 'bogus' keyword argument*"])


SELECTION = '''
def test_bench(benchmark):
    assert benchmark(lambda: 7) == 7

def test_perf(perf):
    perf.bench(lambda: None, max_time=0.002, warmup=0.0, memory=False)

def test_other():
    pass
'''


@pytest.mark.parametrize(
    ("flags", "outcome"),
    [
        (["--benchmark-only"], {"passed": 2, "skipped": 1}),
        (["--benchmark-skip"], {"passed": 1, "skipped": 2}),
        (["--benchmark-disable", "--benchmark-json=b.json"], {"passed": 3}),
        (["--benchmark-compare", "--benchmark-compare-fail=min:5%"], {"passed": 3}),
        (["--benchmark-timer=time.process_time", "--benchmark-json=t.json"], {"passed": 3}),
    ],
)
def test_selection_options(
    pytester: pytest.Pytester, flags: list[str], outcome: dict[str, int]
) -> None:
    pytester.makepyfile(test_sel=SELECTION)
    res = pytester.runpytest(
        "-p", "no:benchmark", *QUIET, "--benchmark-max-time=0.002", *flags
    )
    res.assert_outcomes(**outcome)
    if "--benchmark-disable" in flags:  # nothing measured, so nothing written
        assert not (pytester.path / "b.json").exists()
        res.stdout.fnmatch_lines(["*nothing written to b.json*"])
    if "--benchmark-json=t.json" in flags:  # the timer was used, and is named as upstream does
        doc = json.loads((pytester.path / "t.json").read_text())
        assert doc["benchmarks"][0]["options"]["timer"] == "time.process_time"
    if "--benchmark-compare" in flags:  # nothing saved yet (a pipeline's first run): said
        res.stdout.fnmatch_lines(["warning: --benchmark-compare: no saved runs in *"])
        assert "accepted but ignored" not in res.stdout.str()


COEXIST = '''
import pytest

def test_bench(benchmark):
    assert type(benchmark).__module__ == "pytest_benchmark.fixture"
    benchmark.pedantic(sum, args=([1, 2],), rounds=3)

@pytest.mark.perf(max_time=0.002, warmup=0.0, memory=False)
def test_perf(perf):
    perf.bench(sum, [1, 2], checks=["median < 1s"])
'''


@pytest.mark.slow
def test_pytest_benchmark_active_nothing_clashes(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_coexist=COEXIST)
    pytester.makeini("[pytest]\naddopts = --benchmark-max-time=0.002\nfilterwarnings = error\n")
    res = pytester.runpytest_subprocess(*QUIET, "--perfgate-json=pg.json")
    res.assert_outcomes(passed=2)
    out = res.stdout.str()
    assert "benchmark fixture: pytest-benchmark (perfgate adds the perf fixture only)" in out
    assert "benchmark fixture (measured by perfgate)" not in out
    rs = read_json(pytester.path / "pg.json")
    by_test = {str(r.extra.get("test")).rsplit("::", 1)[-1]: r for r in rs.results}
    assert by_test["test_bench"].params["measured_by"] == "pytest-benchmark"
    assert by_test["test_bench"].metric("time").n == 3
    assert by_test["test_perf"].verdicts[0].status == "pass"


@pytest.mark.parametrize("n", [1, 2, 3, 4, 5, 6, 7, 8, 13, 40])
def test_stats_match_pytest_benchmark(n: int) -> None:
    rng = random.Random(n)
    data = [rng.lognormvariate(0, 0.3) * 1e-6 for _ in range(n)]
    ours, theirs = Stats(data), UpstreamStats()
    for x in data:
        theirs.update(x)
    for f in FIELDS:
        if isinstance(getattr(theirs, f), str):
            assert getattr(ours, f) == getattr(theirs, f), f
        else:
            assert getattr(ours, f) == pytest.approx(getattr(theirs, f), rel=1e-12), f


def test_all_upstream_options_are_accepted() -> None:
    """Every --benchmark-* option pytest-benchmark defines has a perfgate twin."""
    from pytest_benchmark import plugin as upstream

    from perfgate._pytest import bm_options

    seen: list[str] = []

    class Recorder:
        def addoption(self, *names: str, **_: object) -> None:
            seen.extend(n for n in names if n.startswith("--"))

        def getgroup(self, *_: object) -> Recorder:
            return self

    upstream.pytest_addoption(Recorder())
    ours = {flag for flag, _, _ in bm_options._OPTIONS}
    assert set(seen) <= ours, sorted(set(seen) - ours)


def test_docs_name_every_option() -> None:
    from perfgate._pytest import bm_options

    doc = (Path(__file__).resolve().parents[2] / "docs" / "pytest.md").read_text()
    missing = [f for f, _, _ in bm_options._OPTIONS if f not in doc]
    assert not missing, missing


WORKFLOW = '''
import os

def test_work(benchmark):
    n = int(os.environ["PERFGATE_TEST_WORK"])
    assert benchmark(sum, range(n)) == n * (n - 1) // 2
'''


def test_save_then_compare_and_fail(pytester: pytest.Pytester,
                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """pytest-benchmark's workflow: runs saved where it saves them, numbered; a later run
    compared with one of them by perfgate's comparison; `--benchmark-compare-fail` fails the
    session on a regression (here 20× the work, far beyond any noise) and names it."""
    from perfgate._pytest.bm_compare import machine_id

    pytester.makepyfile(test_wf=WORKFLOW)
    args = ("-p", "no:benchmark", *QUIET, "--benchmark-max-time=0.02")
    monkeypatch.setenv("PERFGATE_TEST_WORK", "500")
    res = pytester.runpytest(*args, "--benchmark-autosave")
    assert res.ret == 0
    folder = pytester.path / ".benchmarks" / machine_id()
    (first,) = sorted(folder.glob("*.json"))
    assert first.name.startswith("0001_")
    doc = json.loads(first.read_text())
    assert [b["name"] for b in doc["benchmarks"]] == ["test_work"]
    assert "data" not in doc["benchmarks"][0]["stats"]  # as upstream: only with save-data
    res.stdout.fnmatch_lines(["saved as *0001_*.json (without the rounds*"])

    res = pytester.runpytest(*args, "--benchmark-save=named", "--benchmark-save-data")
    assert res.ret == 0
    second = folder / "0002_named.json"
    assert "data" in json.loads(second.read_text())["benchmarks"][0]["stats"]

    monkeypatch.setenv("PERFGATE_TEST_WORK", "10000")
    res = pytester.runpytest(*args, "--benchmark-compare=1", "--benchmark-compare-fail=mean:5%")
    assert res.ret == 1  # every test passed; the comparison failed the session
    res.assert_outcomes(passed=1)
    res.stdout.fnmatch_lines([
        "compared with the saved run *0001_*.json by perfgate*",
        "  test_work: *× (95% CI *) regression, FAIL — *",
        "error: --benchmark-compare-fail mean:5%: regression in test_work",
    ])
    assert sorted(p.name[:4] for p in folder.glob("*.json")) == ["0001", "0002"]  # no save

    (folder / "0003_broken.json").write_text("{")  # a truncated save
    res = pytester.runpytest(*args, "--benchmark-compare=named")  # report only: exit 0
    assert res.ret == 0
    res.stdout.fnmatch_lines(["warning: left out of the run-to-run noise: *0003_broken.json*",
                              "compared with the saved run *0002_named.json*",
                              "  test_work: *regression*"])
    res = pytester.runpytest(*args, "--benchmark-compare", "--benchmark-compare-fail=mean:5%",
                             "--benchmark-autosave")
    assert res.ret == 1  # the gate could not judge: said, and the session fails
    res.stdout.fnmatch_lines(["error: *0003_broken.json*invalid JSON*", "saved as *0004_*"])
    assert len(list(folder.glob("0004_*.json"))) == 1  # the run itself is not lost


@pytest.mark.parametrize(("flags", "message"), [
    (["--benchmark-compare-fail=mean:5%"], "*--benchmark-compare-fail needs --benchmark-compare*"),
    (["--benchmark-compare", "--benchmark-compare-fail=stddev:5%"], "*not of their spread*"),
    (["--benchmark-compare", "--benchmark-compare-fail=mean:five"], "*expected FIELD:PERCENT%*"),
])
def test_compare_fail_usage_errors(pytester: pytest.Pytester, flags: list[str],
                                   message: str) -> None:
    pytester.makepyfile(test_sel=SELECTION)
    res = pytester.runpytest("-p", "no:benchmark", *QUIET, *flags)
    assert res.ret == pytest.ExitCode.USAGE_ERROR
    res.stderr.fnmatch_lines([message])


def test_other_storage_is_refused_not_ignored(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_sel=SELECTION)
    res = pytester.runpytest("-p", "no:benchmark", *QUIET, "--benchmark-max-time=0.002",
                             "--benchmark-autosave",
                             "--benchmark-storage=elasticsearch+http://127.0.0.1:9200/b")
    assert res.ret == 1  # the run was not saved: the session says so and fails
    res.stdout.fnmatch_lines(["error: --benchmark-storage *file storage*"])
