"""The judgement behind `--benchmark-compare-fail`, on synthetic saved runs (no timing)."""

from __future__ import annotations

from pathlib import Path

import pytest

from perfgate import Environment, Metric, Result, ResultSet, UsageError
from perfgate._pytest import bm_compare


def run(median: float, *, data: bool = False) -> ResultSet:
    samples = tuple(median * (1 + 0.01 * ((i % 5) - 2)) for i in range(50)) if data else None
    t = Metric(unit="s", kind="distribution", n=50, median=median, mean=median,
               min=median * 0.98, max=median * 1.02, samples=samples)
    env = Environment(python_version="3.11", implementation="CPython", platform="Linux",
                      cpu_model="cpu", cpu_count=2, hostname="ci", started_at="",
                      perfgate_version="")
    return ResultSet(environment=env, results=(Result(name="test_work", kind="bench",
                                                      params={}, metrics={"time": t}),))


def test_a_difference_inside_the_noise_does_not_fail() -> None:
    """pytest-benchmark fails `mean:5%` on any 5 % difference of two numbers. Here each
    side is one run: with no history the assumed run-to-run noise leaves 8 % undecided,
    while 40 % fails; a quiet history of saved runs makes 8 % a regression."""
    rules = bm_compare.parse_fail(["mean:5%"])
    report, failed = bm_compare.compare_with_saved(run(108e-6), run(100e-6), [], rules, "0001")
    assert failed == []
    (c,) = report.comparisons
    assert c.status == "inconclusive" and c.unit_of_analysis == "run"
    report, failed = bm_compare.compare_with_saved(run(140e-6), run(100e-6), [], rules, "0001")
    assert failed == ["mean:5%"] and report.comparisons[0].level == "fail"

    quiet = [run(100e-6 * s) for s in (1.0, 1.004, 0.997, 1.002, 0.999, 1.003, 0.998)]
    report, failed = bm_compare.compare_with_saved(run(108e-6, data=True), run(100e-6),
                                                   quiet, rules, "0001")
    assert failed == ["mean:5%"]
    assert "7 saved runs in this folder" in report.comparisons[0].evidence


def test_each_rule_is_judged_and_absolute_amounts_are_seconds() -> None:
    rules = bm_compare.parse_fail(["min:50%", "mean:0.00001"])  # 10 µs
    assert [r.threshold.relative for r in rules] == [True, False]
    _, failed = bm_compare.compare_with_saved(run(140e-6), run(100e-6), [], rules, "0001")
    assert failed == ["mean:0.00001"]  # +40 µs crosses 10 µs; +40 % does not cross 50 %


def test_saved_runs_are_numbered_and_picked(tmp_path: Path) -> None:
    folder = bm_compare.storage_folder("file://./.benchmarks", tmp_path)
    assert folder == tmp_path / ".benchmarks" / bm_compare.machine_id()
    with pytest.raises(UsageError, match="no saved runs"):
        bm_compare.pick_saved(folder, True)
    folder.mkdir(parents=True)
    for name in ("0001_abc_20261129.json", "0002_nightly.json", "0010_nightly-2.json",
                 "notes.txt", "12_short.json"):
        (folder / name).write_text("{}")
    assert [p.name for p in bm_compare.saved_runs(folder)] == [
        "0001_abc_20261129.json", "0002_nightly.json", "0010_nightly-2.json"]
    assert bm_compare.save_path(folder, "my run/1").name == "0011_my_run_1.json"
    assert bm_compare.pick_saved(folder, True).name == "0010_nightly-2.json"
    assert bm_compare.pick_saved(folder, "2").name == "0002_nightly.json"
    assert bm_compare.pick_saved(folder, "abc").name == "0001_abc_20261129.json"
    with pytest.raises(UsageError, match="2 saved run"):
        bm_compare.pick_saved(folder, "nightly")
    with pytest.raises(UsageError, match="file storage"):
        bm_compare.storage_folder("elasticsearch+http://127.0.0.1:9200", tmp_path)
