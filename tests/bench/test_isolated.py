"""Benchmarks measured in several fresh processes: the CI covers process-to-process spread."""

from __future__ import annotations

from pathlib import Path

import pytest

import perfgate as pg
from perfgate.bench._isolated import hierarchical_median_ci
from perfgate.runner import run_specs
from perfgate.suite import discover


def _work() -> int:
    return sum(range(200))


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
