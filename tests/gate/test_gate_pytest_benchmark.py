"""`perfgate compare --against REF` on a plain pytest-benchmark test file (a real git
repository in tmp_path, real worker processes): the same kind of verdict as on a suite."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from perfgate.cli import main

TESTS = '''
import pytest

def work(n):
    return sum(i * i for i in range(n))

def test_work(benchmark):
    assert benchmark(work, 300) == sum(i * i for i in range(300))

def test_pedantic(benchmark):
    benchmark.pedantic(work, args=(200,), rounds=3)

def test_needs_a_fixture(benchmark, tmp_path):
    benchmark(work, 10)

@pytest.mark.parametrize("n", [1, 2])
def test_parametrized(benchmark, n):
    benchmark(work, n)

class TestGroup:
    def test_method(self, benchmark):
        benchmark(work, 100)
'''


def git(repo: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True)


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    r = tmp_path / "repo"
    r.mkdir()
    git(r, "init", "-q")
    (r / "test_bench.py").write_text(TESTS)
    git(r, "add", ".")
    git(r, "-c", "user.email=t@t", "-c", "user.name=t", "commit", "-qm", "base")
    monkeypatch.chdir(r)
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)
    return r


def test_worker_discovers_benchmark_fixture_tests(repo: Path) -> None:
    worker = Path(__file__).parents[2] / "src/perfgate/gate/_worker.py"
    job = {"root": str(repo), "targets": ["test_bench.py"], "time": 0.001, "warmup": 0.0,
           "round_time": 1e-4}
    proc = subprocess.run([sys.executable, str(worker), json.dumps(job)], cwd=repo,
                          capture_output=True, text=True, check=True, timeout=120)
    doc = json.loads(proc.stdout)
    assert sorted(doc["results"]) == ["TestGroup.test_method", "test_pedantic", "test_work"]
    assert doc["errors"] == {}
    assert doc["skipped"] == {"test_needs_a_fixture": "needs fixture(s) tmp_path",
                              "test_parametrized": "parametrized"}
    assert all(len(r["samples"]) >= 5 for r in doc["results"].values())


@pytest.mark.slow
def test_compare_against_a_ref_on_a_pytest_benchmark_file(repo: Path) -> None:
    # Same results, 4× the work in `work`, which every test times: each is a regression,
    # the verdicts a perfgate suite gets from the same gate.
    (repo / "test_bench.py").write_text(TESTS.replace(
        "    return sum(i * i for i in range(n))",
        "    sum(i * i for i in range(3 * n))\n    return sum(i * i for i in range(n))"))
    r = CliRunner().invoke(main, ["compare", "--against", "HEAD", "test_bench.py",
                                  "--max-pairs", "12", "--budget", "300",
                                  "--process-time", "0.02", "--json", "g.json"])
    doc = json.loads((repo / "g.json").read_text())
    by = {c["name"]: c for c in doc["comparisons"]}
    assert set(by) == {"TestGroup.test_method", "test_pedantic", "test_work"}, r.output
    assert r.exit_code == 1
    assert all(c["status"] == "regression" and c["ratio"] > 2 for c in by.values())
    assert all(c["unit_of_analysis"] == "process" for c in by.values())
    assert doc["gate"]["pairs"] == 12
