"""The interleaved gate on throwaway git repositories (real worktrees, real processes)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from perfgate.cli import main

FAST = "def f():\n    return sum(i * i for i in range(200))\n"
SLOW = "def f():\n    return sum(i * i for i in range(800))\n"


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True,
                          text=True).stdout


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    r = tmp_path / "repo"
    r.mkdir()
    git(r, "init", "-q")
    (r / "mod.py").write_text(FAST)
    git(r, "add", ".")
    git(r, "-c", "user.email=t@t", "-c", "user.name=t", "commit", "-qm", "fast")
    monkeypatch.chdir(r)
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)
    return r


def gate(*args: str) -> tuple[int, str]:
    r = CliRunner().invoke(main, ["compare", *args])
    return r.exit_code, " ".join(r.output.split())


@pytest.mark.slow
def test_a_dirty_worktree_slowdown_fails_the_gate(repo: Path) -> None:
    (repo / "mod.py").write_text(SLOW)  # uncommitted: the working tree is what is measured
    code, output = gate("--against", "HEAD", "mod:f", "--max-pairs", "12", "--budget", "300",
                        "--process-time", "0.02", "--json", "gate.json", "--markdown", "g.md")
    assert code == 1, output
    doc = json.loads((repo / "gate.json").read_text())
    (c,) = doc["comparisons"]
    assert c["status"] == "regression" and c["level"] == "fail"
    assert c["unit_of_analysis"] == "process" and c["n_base"] == c["n_current"] == 12
    assert c["ratio"] > 1.5
    assert doc["gate"]["pairs"] == 12 and doc["gate"]["hash_seed"] == 0
    assert "interleaved gate" in (repo / "g.md").read_text()
    # the temporary worktree is gone
    assert git(repo, "worktree", "list").count("\n") == 1


def test_gate_input_errors(repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    code, output = gate("--against", "no-such-branch", "mod:f")
    assert code == 2 and "no such commit" in output
    (repo / "newmod.py").write_text(FAST)  # exists only in the working tree
    code, output = gate("--against", "HEAD", "newmod:f", "--max-pairs", "3")
    assert code == 2 and "ModuleNotFoundError" in output
    assert git(repo, "worktree", "list").count("\n") == 1
    outside = tmp_path / "outside"
    outside.mkdir()
    monkeypatch.chdir(outside)
    code, output = gate("--against", "HEAD", "mod:f")
    assert code == 2 and "not inside a git repository" in output


@pytest.mark.slow
def test_ctrl_c_reports_the_pairs_already_measured(repo: Path, tmp_path: Path) -> None:
    # The working tree's module sends Ctrl-C to the gate when its second worker process
    # imports it: pair 1 is then half measured, and only pair 0 may be reported.
    counter = tmp_path / "imports"
    (repo / "mod.py").write_text(
        "import os, signal, pathlib\n"
        f"c = pathlib.Path({str(counter)!r})\n"
        "n = int(c.read_text()) + 1 if c.exists() else 1\n"
        "c.write_text(str(n))\n"
        "if n == 2:\n"
        "    os.kill(os.getppid(), signal.SIGINT)\n" + FAST
    )
    code, output = gate("--against", "HEAD", "mod:f", "--max-pairs", "12", "--budget", "300",
                        "--process-time", "0.02", "--json", "gate.json")
    assert code == 130, output
    assert "interrupted" in output
    doc = json.loads((repo / "gate.json").read_text())
    assert doc["gate"]["stopped"] == "interrupted"
    assert doc["gate"]["pairs"] == 1
    (c,) = doc["comparisons"]
    assert c["n_base"] == c["n_current"] == 1
    assert git(repo, "worktree", "list").count("\n") == 1  # the worktree is still removed


SUITE_BASE = '''
import perfgate as pg


def spin(k):
    s = 0
    for i in range(k):
        s += i
    return s


@pg.bench()
def importer():
    with pg.phase("parse"):
        spin(300)
    with pg.phase("coverage"):
        spin(COVERAGE)


@pg.bench(sizes=[100, 400])
def grow(n):
    return lambda: spin(n * (FACTOR if n == 400 else 1))
'''


@pytest.mark.slow
def test_gate_keeps_phases_and_measures_every_sweep_size(repo: Path) -> None:
    (repo / "perf_imp.py").write_text(
        SUITE_BASE.replace("COVERAGE", "300").replace("FACTOR", "1"))
    git(repo, "add", ".")
    git(repo, "-c", "user.email=t@t", "-c", "user.name=t", "commit", "-qm", "suite")
    # Working tree: the coverage phase 5× dearer, and the sweep 3× dearer at n=400 only.
    (repo / "perf_imp.py").write_text(
        SUITE_BASE.replace("COVERAGE", "1500").replace("FACTOR", "3"))
    # 12 pairs: with 8 the signed-rank test cannot reach alpha / 7 at any look.
    code, output = gate("--against", "HEAD", "perf_imp.py", "--max-pairs", "12",
                        "--budget", "300", "--process-time", "0.01", "--json", "g.json")
    assert code == 1, output
    doc = json.loads((repo / "g.json").read_text())
    by = {(c["name"], c["metric"]): c for c in doc["comparisons"]}
    assert set(by) >= {("importer", "time"), ("importer", "time.parse"),
                       ("importer", "time.coverage"), ("grow", "time[n=100]"),
                       ("grow", "time[n=400]")}
    cov = by[("importer", "time.coverage")]
    assert cov["status"] == "regression" and cov["level"] == "fail" and cov["ratio"] > 3
    assert cov["threshold"] == "5%"
    big = by[("grow", "time[n=400]")]
    assert big["status"] == "regression" and big["level"] == "fail" and big["ratio"] > 2
    assert by[("grow", "time[n=100]")]["ratio"] < big["ratio"] / 1.5
    assert "time[n=" in output  # the terminal table shows the size (not eaten as markup)


def test_gate_threshold_matching_nothing_exits_2(repo: Path) -> None:
    code, output = gate("--against", "HEAD", "mod:f", "--max-pairs", "2",
                        "--process-time", "0.005", "--threshold", "time.nosuch=5%")
    assert code == 2, output
    assert "matches no benchmark" in output
