"""`perfgate import` and `perfgate history`: pytest-benchmark's saved JSON and perfgate JSON."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from storehelp import make_rs

from perfgate import ResultFormatError, write_json
from perfgate.cli import main
from perfgate.store import import_file, open_store

# Written by pytest-benchmark 5.3.1 (`pytest --benchmark-json`), its raw data trimmed.
PYTEST_BENCHMARK = Path(__file__).parent / "data" / "pytest_benchmark_5.3.1.json"


def test_pytest_benchmark_file_converts() -> None:
    rs, source = import_file(PYTEST_BENCHMARK)
    assert source == "pytest-benchmark"
    assert [r.name for r in rs.results] == ["test_sum[10]", "test_sum[100]"]
    t = rs.results[0].metrics["time"]
    raw = json.loads(PYTEST_BENCHMARK.read_text())["benchmarks"][0]["stats"]
    assert t.median == raw["median"]
    assert t.n == raw["rounds"]
    assert t.samples is not None and len(t.samples) == len(raw["data"])
    assert rs.results[0].params["n"] == 10
    env = rs.environment
    assert env.git_commit == "5f1c0de2a9b8c7d6e5f4a3b2c1d0e9f8a7b6c5d4"
    assert env.git_branch == "main"
    assert env.hostname == "ci-runner"
    assert env.extra["imported_from"] == "pytest-benchmark"


def test_import_cli_then_history(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path}/h.db"
    perfgate_json = tmp_path / "pg.json"
    rs, _ = import_file(PYTEST_BENCHMARK)
    write_json(perfgate_json, rs)
    runner = CliRunner()
    r = runner.invoke(main, ["import", str(PYTEST_BENCHMARK), str(perfgate_json),
                             "--store", db])
    assert r.exit_code == 0, r.output
    assert "saved as run 1" in r.output and "saved as run 2" in r.output
    r = runner.invoke(main, ["history", "--json", "--store", db])
    assert r.exit_code == 0, r.output
    doc = json.loads(r.output)
    assert len(doc["runs"]) == 2
    first = doc["runs"][0]
    assert first["commit"] == "5f1c0de2a9b8c7d6e5f4a3b2c1d0e9f8a7b6c5d4"
    assert first["time"]
    assert first["metrics"]["test_sum[10]"]["time"]["unit"] == "s"
    assert {r["source"] for r in doc["runs"]} == {"pytest-benchmark", "perfgate"}
    r = runner.invoke(main, ["history", "test_sum[10]", "--store", db])
    assert r.exit_code == 0, r.output
    assert "trend (oldest → newest)" in r.output
    r = runner.invoke(main, ["history", "--store", db])
    assert r.exit_code == 0 and "pytest-benchmark" in r.output


def test_history_is_newest_first(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path}/h.db"
    with open_store(db) as store:
        store.save(make_rs("new", "2026-11-05T00:00:00+00:00", 2e-3))
        store.save(make_rs("old", "2026-11-01T00:00:00+00:00", 1e-3))
    r = CliRunner().invoke(main, ["history", "parse", "--json", "--store", db])
    assert [x["commit"] for x in json.loads(r.output)["runs"]] == ["new", "old"]


def test_bad_files_are_input_errors(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('{"benchmarks": [1], "machine_info": {}}')
    with pytest.raises(ResultFormatError, match=r"benchmarks\[0\]"):
        import_file(bad)
    other = tmp_path / "other.json"
    other.write_text("[1, 2]")
    r = CliRunner().invoke(main, ["import", str(other), "--store", f"sqlite:///{tmp_path}/h.db"])
    assert r.exit_code == 2
    assert "neither perfgate JSON nor pytest-benchmark JSON" in " ".join(r.output.split())
    with open_store(f"sqlite:///{tmp_path}/h.db") as store:
        assert store.runs() == []


def _headline_only(tmp_path: Path, name: str, scale: float) -> Path:
    """The pytest-benchmark file with its raw data dropped (what `--benchmark-autosave`
    writes without `--benchmark-save-data`) and every timing scaled."""
    doc = json.loads(PYTEST_BENCHMARK.read_text())
    for b in doc["benchmarks"]:
        stats = b["stats"]
        stats.pop("data", None)
        for k in ("min", "max", "mean", "median", "stddev", "iqr", "q1", "q3", "total"):
            if isinstance(stats.get(k), float):
                stats[k] *= scale
        stats["ops"] /= scale
    out = tmp_path / name
    out.write_text(json.dumps(doc))
    return out


def test_headline_only_files_are_judged_against_run_noise(tmp_path: Path) -> None:
    """Two saved files holding only summary statistics used to be compared "as they are":
    8 % apart failed, with no noise estimate at all. Now each is one run: without history
    the assumed run-to-run noise decides (8 % is inconclusive, 40 % still fails); with
    ≥ 5 stored runs of the same benchmarks on the same machine, their spread does."""
    runner = CliRunner()
    base = _headline_only(tmp_path, "base.json", 1.0)
    out = tmp_path / "cmp.json"
    r = runner.invoke(main, ["compare", str(base), str(_headline_only(tmp_path, "c8.json", 1.08)),
                             "--json", str(out)])
    assert r.exit_code == 0, r.output
    comps = json.loads(out.read_text())["comparisons"]
    assert {c["status"] for c in comps} == {"inconclusive"}
    assert all(c["unit_of_analysis"] == "run" and "headline values only" in c["evidence"]
               for c in comps)
    r = runner.invoke(main, ["compare", str(base), str(_headline_only(tmp_path, "c40.json", 1.4)),
                             "--json", str(out)])
    assert r.exit_code == 1, r.output
    assert {c["level"] for c in json.loads(out.read_text())["comparisons"]} == {"fail"}

    db = f"sqlite:///{tmp_path}/h.db"  # a quiet history: runs within ±0.4 %
    past = [_headline_only(tmp_path, f"p{i}.json", s)
            for i, s in enumerate((1.0, 1.004, 0.997, 1.002, 0.999, 1.003, 0.998))]
    assert runner.invoke(main, ["import", *map(str, past), "--store", db]).exit_code == 0
    r = runner.invoke(main, ["compare", str(base), str(_headline_only(tmp_path, "c8.json", 1.08)),
                             "--store", db, "--json", str(out)])
    assert r.exit_code == 1, r.output
    comps = json.loads(out.read_text())["comparisons"]
    assert {c["status"] for c in comps} == {"regression"}
    assert all("stored runs" in c["evidence"] for c in comps)
