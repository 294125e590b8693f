"""Instruction counts under valgrind: per call, only the counted calls, exit 2 without it."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import NoReturn

import pytest
from click.testing import CliRunner

from perfgate._api import bench_callable
from perfgate._errors import UsageError
from perfgate.analysis.compare import compare_resultsets
from perfgate.bench import BenchOptions
from perfgate.bench._instructions import count_instructions, measure_targets
from perfgate.cli import main
from perfgate.model import Environment, Metric, Result, ResultSet

pytest_plugins = ["pytester"]

# A loop whose every iteration costs the same (no small-int cache, no growing numbers).
LOOPS = """\
from itertools import repeat


def work(k):
    s = 0.0
    for _ in repeat(None, k):
        s += 0.5
    return s


def k0():
    return work(0)


def k500():
    return work(500)


def k1000():
    return work(1000)
"""

# The same function behind a heavy import: many modules and a big structure built at import.
HEAVY = LOOPS + """
import decimal, fractions, json, textwrap  # noqa: E401, F401

TABLE = {i: str(i) * 3 for i in range(50_000)}
"""


@pytest.fixture
def valgrind_present(require_system: Callable[[str], NoReturn]) -> None:
    if shutil.which("valgrind") is None:
        require_system("valgrind is not installed (scripts/system-deps installs it)")


@pytest.fixture
def loops(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "loops_mod.py").write_text(LOOPS)
    (tmp_path / "heavy_mod.py").write_text(HEAVY)
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    return tmp_path


@pytest.mark.slow
@pytest.mark.usefixtures("valgrind_present")
def test_counts_scale_with_the_work(loops: Path) -> None:
    counts = measure_targets(["loops_mod:k0", "loops_mod:k500", "loops_mod:k1000"], root=loops)
    c0, c1, c2 = (counts[n].per_call for n in ("k0", "k500", "k1000"))
    # c0 is the constant part of a call: the calling loop's step, k0's frame, work's call
    # and its empty loop; it is small but not zero.
    assert 500 < c0 < 20_000
    assert (c2 - c0) / (c1 - c0) == pytest.approx(2.0, rel=0.005)
    for c in counts.values():  # the batches of one worker agree
        assert c.spread < 1e-3


@pytest.mark.slow
@pytest.mark.usefixtures("valgrind_present")
def test_per_call_count_depends_neither_on_n_nor_on_the_import(loops: Path) -> None:
    few = count_instructions("loops_mod:k1000", calls=5, root=loops)
    many = count_instructions("loops_mod:k1000", calls=40, root=loops)
    heavy = count_instructions("heavy_mod:k1000", calls=5, root=loops)
    assert few.kind == "counter" and few.unit == "1"
    assert few.value == pytest.approx(many.value, rel=1e-3)
    # the heavy import executes tens of millions of instructions; none of them is counted
    assert heavy.value == pytest.approx(few.value, rel=1e-3)
    assert few.extra["calls"] == 5 and many.extra["calls"] == 40

    # the benchmark engine with measure="instructions": time, and the same count beside it
    import loops_mod  # type: ignore[import-not-found]

    opts = BenchOptions(max_time=0.05, warmup=0.0, memory=False, measure="instructions")
    r = bench_callable(loops_mod.work, arg=1000, options=opts)
    assert r.error is None and "time" in r.metrics
    assert r.metrics["instructions"].value == pytest.approx(few.value, rel=0.01)
    assert r.params["measure"] == "instructions"


@pytest.mark.usefixtures("valgrind_present")
def test_a_closure_cannot_be_counted() -> None:
    opts = BenchOptions(max_time=0.05, measure="instructions")
    with pytest.raises(UsageError, match="fresh process can import"):
        bench_callable(lambda: None, options=opts)


def test_measure_must_be_known() -> None:
    with pytest.raises(UsageError, match="measure"):
        BenchOptions(measure="cycles")


def test_missing_valgrind_exits_2(loops: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PERFGATE_VALGRIND", str(loops / "no-such-valgrind"))
    r = CliRunner().invoke(main, ["bench", "loops_mod:k0", "--measure", "instructions"])
    assert r.exit_code == 2
    text = " ".join(r.output.split())
    assert "valgrind" in text and "Debian package" in text
    assert "no-such-valgrind" in "".join(r.output.split())
    r = CliRunner().invoke(main, ["compare", "--against", "HEAD", "loops_mod:k0",
                                  "--measure", "instructions"])
    assert r.exit_code == 2 and "valgrind" in r.output


def test_missing_valgrind_on_path_exits_2(loops: Path) -> None:
    """A real process whose PATH has no valgrind: no silent fallback to time."""
    env = {"PATH": str(loops), "PYTHONPATH": ":".join(p for p in sys.path if p)}
    proc = subprocess.run([sys.executable, "-m", "perfgate", "bench", "loops_mod:k0",
                           "--measure", "instructions"], cwd=loops, env=env,
                          capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "valgrind" in proc.stderr + proc.stdout


def _run(count: float, t: float) -> ResultSet:
    m = {"time": Metric.gauge(t, "s"),
         "instructions": Metric.counter(count, "1", estimates=[count] * 3)}
    return ResultSet(environment=Environment(), results=(
        Result(name="parse", kind="bench", metrics=m),))


@pytest.mark.parametrize(("ratio", "status", "level"), [
    (1.0, "unchanged", "ok"), (1.005, "unchanged", "ok"), (1.02, "regression", "fail"),
    (0.97, "improvement", "ok"),
])
def test_compare_of_files_compares_instructions(ratio: float, status: str, level: str) -> None:
    rep = compare_resultsets(_run(100_000, 1e-5), _run(100_000 * ratio, 1e-5))
    (c,) = [c for c in rep.comparisons if c.metric == "instructions"]
    assert (c.status, c.level) == (status, level)
    # counts need no process-level noise estimate: compared as values, lower is better
    assert c.unit_of_analysis == "value" and not c.higher_is_better
    assert "no process-level noise" in c.evidence


def test_compare_cli_measure_instructions(tmp_path: Path) -> None:
    a, b = tmp_path / "a.json", tmp_path / "b.json"
    a.write_text(json.dumps(_run(100_000, 1e-5).to_dict()))
    b.write_text(json.dumps(_run(103_000, 1e-5).to_dict()))
    r = CliRunner().invoke(main, ["compare", str(a), str(b), "--measure", "instructions",
                                  "--json", str(tmp_path / "c.json")])
    assert r.exit_code == 1, r.output
    doc = json.loads((tmp_path / "c.json").read_text())
    assert {c["metric"] for c in doc["comparisons"]} == {"instructions", "time"}
    only_time = _run(1, 1e-5)
    a.write_text(json.dumps(ResultSet(environment=Environment(), results=tuple(
        Result(name=x.name, kind="bench", metrics={"time": x.metrics["time"]})
        for x in only_time.results)).to_dict()))
    r = CliRunner().invoke(main, ["compare", str(a), str(b), "--measure", "instructions"])
    assert r.exit_code == 2 and "instructions" in r.output


SUITE = """\
import perfgate as pg
from loops_mod import work


@pg.bench(setup=lambda: 1000, measure="instructions", max_time=0.05, warmup=0, memory=False)
def counted(k):
    return work(k)


@pg.bench(max_time=0.05, warmup=0, memory=False)
def timed_only():
    return work(10)
"""


@pytest.mark.slow
@pytest.mark.usefixtures("valgrind_present")
def test_suite_decorator_and_bench_cli(loops: Path) -> None:
    (loops / "perf_loops.py").write_text(SUITE)
    r = CliRunner().invoke(main, ["run", "perf_loops.py", "--json", "run.json"])
    assert r.exit_code == 0, r.output
    doc = json.loads((loops / "run.json").read_text())
    by = {x["name"]: x["metrics"] for x in doc["results"]}
    assert "instructions" not in by["timed_only"]
    counted = by["counted"]["instructions"]
    assert counted["kind"] == "counter" and 150_000 < counted["value"] < 300_000
    # a file path target, through the CLI
    r = CliRunner().invoke(main, ["bench", "loops_mod.py:k500", "--measure", "instructions",
                                  "--max-time", "0.05", "--no-memory", "--json", "b.json"])
    assert r.exit_code == 0, r.output
    (res,) = json.loads((loops / "b.json").read_text())["results"]
    assert res["metrics"]["instructions"]["value"] == pytest.approx(
        counted["value"] / 2, rel=0.05)


@pytest.mark.slow
@pytest.mark.usefixtures("valgrind_present")
def test_pytest_measure_option(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(loops_mod=LOOPS)
    pytester.makepyfile(test_counted="""
        from loops_mod import work

        def test_work(perf):
            r = perf.bench(work, 500, max_time=0.05, warmup=0, memory=False)
            assert 50_000 < r.metrics["instructions"].value < 200_000
            assert "time" in r.metrics
        """)
    res = pytester.runpytest_subprocess("--perfgate-measure=instructions", "-p",
                                        "no:cacheprovider")
    res.assert_outcomes(passed=1)


def test_terminal_report_shows_the_count_beside_time() -> None:
    from rich.console import Console

    from perfgate.report.terminal import render_results

    r = Result(name="[bold]parse", kind="bench", metrics={
        "time": Metric.gauge(1e-5, "s"),
        "instructions": Metric.counter(123_456.0, "1", spread=0.0002)})
    console = Console(record=True, width=120)
    console.print(render_results(ResultSet(environment=Environment(), results=(r,))))
    text = console.export_text()
    assert "[bold]parse: 123,456 instructions per call (callgrind, ±0.020 %)" in text


def test_ctrl_c_while_counting_keeps_the_timing(loops: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    from perfgate.bench import _instructions
    from perfgate.runner import Interrupted

    def interrupted(*_a: object, **_k: object) -> Metric:
        raise KeyboardInterrupt  # what Ctrl-C raises while valgrind runs

    monkeypatch.setenv("PERFGATE_VALGRIND", shutil.which("true") or "/bin/true")
    monkeypatch.setattr(_instructions, "count_instructions", interrupted)
    import loops_mod

    opts = BenchOptions(max_time=0.02, warmup=0.0, memory=False, measure="instructions")
    with pytest.raises(Interrupted) as info:
        bench_callable(loops_mod.work, arg=10, options=opts)
    (r,) = info.value.results
    assert "time" in r.metrics and r.error is not None and "counting" in r.error
