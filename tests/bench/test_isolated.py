"""Benchmarks measured in several fresh processes: the CI covers process-to-process spread."""

from __future__ import annotations

from pathlib import Path

import pytest

import perfgate as pg
from perfgate.bench._engine import SAVED_PROCESSES
from perfgate.bench._isolated import hierarchical_median_ci
from perfgate.runner import run_specs
from perfgate.suite import discover


def _work() -> int:
    return sum(range(200))


def _phased() -> int:
    with pg.phase("parse"):
        a = sum(range(300))
    with pg.phase("save"):
        b = sum(range(100))
    return a + b


def test_hierarchical_ci_widens_when_processes_disagree() -> None:
    agree = [[1.0, 1.01, 0.99] * 10 for _ in range(4)]
    disagree = [[1.0, 1.01, 0.99] * 10, [1.2, 1.21, 1.19] * 10,
                [0.9, 0.91, 0.89] * 10, [1.1, 1.11, 1.09] * 10]
    lo_a, hi_a = hierarchical_median_ci(agree)
    lo_d, hi_d = hierarchical_median_ci(disagree)
    assert hi_a - lo_a < 0.03
    assert hi_d - lo_d > 0.1  # one process's rounds could never show this
    assert lo_d <= 1.0 <= hi_d


@pytest.mark.slow
def test_processes_option_runs_fresh_workers() -> None:
    r = pg.bench_callable(_work, options=pg.BenchOptions(processes=2, max_time=0.1, warmup=0))
    assert r.params["processes"] == 2
    t = r.metrics["time"]
    assert len(t.extra["process_medians"]) == 2
    assert t.ci_low is not None and t.ci_high is not None
    assert t.ci_low <= t.median <= t.ci_high
    assert r.metrics["alloc_bytes"].value is not None  # measured in the first worker
    # each worker also timed the machine's reference loop after its rounds
    refs = t.extra["process_references"]
    assert len(refs) == 2 and all(0 < x < 1 for x in refs)


def test_processes_need_an_importable_target() -> None:
    with pytest.raises(pg.UsageError, match="module-level function"):
        pg.bench_callable(lambda: None, options=pg.BenchOptions(processes=2))


@pytest.mark.slow
def test_processes_work_for_suite_files(tmp_path: Path) -> None:
    # Suite files are imported under a synthetic module name; the workers load the file.
    (tmp_path / "perf_iso.py").write_text(
        "import perfgate as pg\n"
        "@pg.bench(processes=2, max_time=0.1, warmup=0, memory=False)\n"
        "def summing():\n    sum(range(100))\n"
    )
    (r,) = run_specs(discover([tmp_path]))
    assert r.error is None
    assert r.params["processes"] == 2
    assert len(r.metrics["time"].extra["process_medians"]) == 2


SCRIPT = '''
import os, sys
if __name__ != "__main__":  # spawn re-runs the parent's script in a worker as __mp_main__
    with open(os.environ["RERUN_MARK"], "a") as f:
        f.write("rerun\\n")
import perfgate as pg
from helper_mod import work

def local():
    return sum(range(100))

if __name__ == "__main__":
    fn = local if sys.argv[1] == "local" else work
    r = pg.bench_callable(fn, options=pg.BenchOptions(processes=2, max_time=0.02, warmup=0,
                                                      memory=False))
    print(r.params["processes"], r.error)
'''


@pytest.mark.slow
@pytest.mark.parametrize("which", ["imported", "local"])
def test_workers_rerun_the_parents_script_only_when_the_target_lives_there(
        tmp_path: Path, which: str) -> None:
    # The perfgate command is the parent's __main__ of every `perfgate bench`: re-running it
    # in each worker cost ~1 s of imports per process. A target defined in the script
    # itself still needs it (its pickle names __main__).
    import os
    import subprocess
    import sys

    (tmp_path / "helper_mod.py").write_text("def work():\n    return sum(range(100))\n")
    (tmp_path / "main.py").write_text(SCRIPT)
    mark = tmp_path / "mark.txt"
    env = {**os.environ, "RERUN_MARK": str(mark), "PYTHONPATH": str(tmp_path)}
    out = subprocess.run([sys.executable, "main.py", which], cwd=tmp_path, env=env,
                         capture_output=True, text=True, timeout=120, check=False)
    assert out.returncode == 0 and out.stdout.split() == ["2", "None"], out.stderr
    reruns = mark.read_text().count("rerun") if mark.exists() else 0
    assert reruns == (2 if which == "local" else 0)


def test_default_processes_of_a_saved_run_fall_back_for_a_lambda() -> None:
    # --json / --store choose SAVED_PROCESSES processes themselves; a target no fresh process can receive
    # is then measured here (as before), not an error — an asked-for processes=2 still is one
    opts = pg.BenchOptions(max_time=0.02, warmup=0, memory=False).for_saved_run()
    assert opts.processes == SAVED_PROCESSES and opts.processes_optional
    r = pg.bench_callable(lambda: sum(range(10)), options=opts)
    assert r.error is None and r.params.get("processes", 0) in (0, None)
    assert "process_medians" not in r.metrics["time"].extra
    asked = pg.BenchOptions(processes=2)
    assert asked.for_saved_run() == asked


@pytest.mark.slow
def test_phases_of_a_multi_process_run_are_compared_per_process() -> None:
    # a phase runs in the same processes as the total: its per-process medians (and the
    # processes' waits) make it a process-level comparison too, not a one-run guess
    from perfgate.analysis.compare import compare_resultsets
    from perfgate.model import Environment, ResultSet

    opts = pg.BenchOptions(processes=3, max_time=0.06, warmup=0, memory=False)
    runs = [ResultSet(environment=Environment(),
                      results=(pg.bench_callable(_phased, name="p", options=opts),))
            for _ in range(2)]
    parse = runs[0].results[0].metrics["time.parse"]
    assert len(parse.extra["process_medians"]) == 3
    assert parse.extra.get("process_waits") == runs[0].results[0].metrics["time"].extra.get(
        "process_waits")
    units = {c.metric: c.unit_of_analysis for c in compare_resultsets(*runs).comparisons}
    assert units == {"time": "process", "time.parse": "process", "time.save": "process"}
