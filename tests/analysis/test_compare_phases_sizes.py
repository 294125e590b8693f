"""`perfgate compare` on phases and sweep sizes, and thresholds that must match something.

Real runs: a benchmark whose phase does k or 5·k loop iterations, and sweeps whose cost at
one size grows; their result files go through the CLI as a user's would.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

import perfgate as pg
from perfgate import Environment, ResultSet, write_json
from perfgate.analysis.compare import (
    compare_resultsets,
    metric_family,
    parse_threshold,
    threshold_matches,
)
from perfgate.bench import BenchOptions
from perfgate.cli import main

OPTS = BenchOptions(max_time=0.08, warmup=0.005, memory=False)


def _spin(k: int) -> int:
    s = 0
    for i in range(k):
        s += i
    return s


def _phased(coverage: int) -> pg.Result:
    def op() -> None:
        with pg.phase("parse"):
            _spin(2000)
        with pg.phase("coverage"):
            _spin(coverage)

    return pg.bench_callable(op, name="import", options=OPTS)


def _save(path: Path, *results: pg.Result) -> Path:
    write_json(path, ResultSet(environment=Environment(git_commit="c"), results=results))
    return path


def run(*args: str) -> tuple[int, str]:
    r = CliRunner().invoke(main, ["compare", *args])
    return r.exit_code, " ".join(r.output.split())


@pytest.fixture
def phase_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)
    base = _save(tmp_path / "base.json", _phased(400))
    cur = _save(tmp_path / "cur.json", _phased(2000))  # coverage 5× dearer
    return base, cur


def test_a_5x_phase_regression_fails_compare(phase_files: tuple[Path, Path],
                                             tmp_path: Path) -> None:
    base, cur = phase_files
    code, output = run(str(base), str(cur), "--html", str(tmp_path / "c.html"),
                       "--json", str(tmp_path / "c.json"))
    assert code == 1, output
    import json

    comps = {c["metric"]: c for c in json.loads((tmp_path / "c.json").read_text())[
        "comparisons"]}
    cov = comps["time.coverage"]
    assert cov["status"] == "regression" and cov["level"] == "fail", cov
    assert cov["threshold"] == "5%"  # time's threshold governs its phases
    assert comps["time.coverage"]["ratio"] > 2.5 * comps["time.parse"]["ratio"]
    page = (tmp_path / "c.html").read_text()
    assert "Failed" in page and "Passed" not in page
    # Its own threshold overrides time's: a 10× allowance turns the phase into a warning.
    code, output = run(str(base), str(cur), "--threshold", "time.coverage=1000%",
                       "--threshold", "time=1000%")
    assert code == 0, output


def test_thresholds_that_match_nothing_are_errors(phase_files: tuple[Path, Path]) -> None:
    base, cur = phase_files
    for bad in ("nosuchbench:time=10%", "time.nosuchphase=10%", "queries=0",
                "imp:time=5%"):
        code, output = run(str(base), str(cur), "--threshold", bad)
        assert code == 2, (bad, output)
        assert "matches no benchmark" in output and "import" in output
    for good in ("time.*=10%", "import:time.coverage=10%", "imp*:time=5%", "time=5%"):
        code, output = run(str(base), str(cur), "--threshold", good)
        assert code in (0, 1), (good, output)


def test_threshold_family_and_wildcards() -> None:
    assert metric_family("time.parse[n=1000]") == ["time.parse[n=1000]", "time.parse", "time"]
    assert threshold_matches("time", "b", "time.parse")
    assert threshold_matches("time.*", "b", "time.parse")
    assert not threshold_matches("time.*", "b", "time")
    assert threshold_matches("b:time[n=1000]", "b", "time[n=1000]")
    assert not threshold_matches("c:time", "b", "time")
    key, th = parse_threshold("time[n=1000]=3%")
    assert key == "time[n=1000]" and th.fail == pytest.approx(0.03)


def _sweep(slow_at: int | None) -> pg.Result:
    def op(n: int) -> int:
        return _spin(n * (3 if n == slow_at else 1))

    return pg.sweep(op, [200, 800, 3200], factory=False, name="grow", options=OPTS)


def test_a_sweep_is_compared_size_by_size(tmp_path: Path) -> None:
    base = ResultSet(environment=Environment(), results=(_sweep(None),))
    cur = ResultSet(environment=Environment(), results=(_sweep(800),))  # only n=800 worse
    report = compare_resultsets(base, cur)
    by = {c.metric: c for c in report.comparisons}
    assert set(by) >= {"time[n=200]", "time[n=800]", "time[n=3200]"}
    assert "time" not in by  # the largest size is compared once, as time[n=3200]
    assert by["time[n=800]"].status == "regression" and by["time[n=800]"].level == "fail"
    assert by["time[n=800]"].ratio is not None and 2.0 < by["time[n=800]"].ratio < 4.5
    # The other sizes did not change: whatever a busy machine does to them, n=800 stands out.
    others = [by[k].ratio for k in ("time[n=200]", "time[n=3200]")]
    assert all(r is not None and r < by["time[n=800]"].ratio / 1.5 for r in others), others
    # A size measured on one side only is named, not silently dropped.
    short = pg.sweep(_spin, [200, 800], factory=False, name="grow", options=OPTS)
    rep2 = compare_resultsets(base, ResultSet(environment=Environment(), results=(short,)))
    assert "grow time[n=3200]" in rep2.missing


def test_sweep_files_without_per_size_samples_compare_the_largest_size() -> None:
    # Results written before sizes kept their rounds: the largest size (whose rounds are
    # the top-level metric's) is compared; a median alone is not tested.
    old = _sweep(None)
    stripped = [{"n": p["n"], "metrics": {k: {kk: vv for kk, vv in d.items() if kk != "samples"}
                                          for k, d in p["metrics"].items()}}
                for p in old.extra["by_size"]]
    from dataclasses import replace

    legacy = replace(old, extra={**old.extra, "by_size": stripped})
    rep = compare_resultsets(ResultSet(environment=Environment(), results=(legacy,)),
                             ResultSet(environment=Environment(), results=(legacy,)))
    assert [c.metric for c in rep.comparisons if c.metric.startswith("time[")] == [
        "time[n=3200]"]
    assert rep.comparisons[0].unit_of_analysis == "run"
