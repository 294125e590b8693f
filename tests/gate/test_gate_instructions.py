"""The gate in instruction mode: counts decide, wall time is beside them, disagreement said."""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import NoReturn

import pytest
from click.testing import CliRunner

from perfgate.analysis.compare import Comparison, Threshold
from perfgate.bench._instructions import InstructionCounts
from perfgate.cli import main
from perfgate.gate._instr import REPEATABILITY, disagreement, instruction_comparison

ONE_PCT = Threshold(0.01, text="1%")


def counts(*per_call: float, calls: int = 10, fixed: int = 5000) -> InstructionCounts:
    """Batches as a worker counts them: N and 2N calls per repeat, a fixed cost each."""
    batches = tuple((k * calls, round(fixed + k * calls * p)) for p in per_call for k in (1, 2))
    if len(per_call) == 1:
        batches *= 2
    return InstructionCounts(tuple(per_call), calls, batches)


def test_the_typical_count_is_the_median() -> None:
    c = InstructionCounts((0, 0, 0), 10, ((10, 1_005_000), (20, 2_005_000), (10, 1_005_000),
                                          (20, 2_085_000), (10, 990_000), (20, 2_005_000)))
    assert c.per_call == 100_000  # the batches in a dearer or cheaper state are set aside
    assert c.spread == 0.0  # each size's median was seen twice
    apart = InstructionCounts((0, 0, 0), 10, ((10, 1_005_000), (20, 2_005_000), (10, 1_015_000),
                                              (20, 2_025_000), (10, 1_025_000), (20, 2_045_000)))
    assert apart.spread == pytest.approx(2 * 20_000 / 10 / apart.per_call)


@pytest.mark.parametrize(("cur", "status", "level"), [
    ((100_000, 100_000, 100_000), "unchanged", "ok"),
    ((100_005, 100_004, 100_006), "unchanged", "ok"),  # within the repeatability
    ((100_500, 100_500, 100_501), "unchanged", "ok"),  # real but under the 1 % minimum
    ((101_500, 101_500, 101_500), "regression", "fail"),
    ((97_000, 97_000, 97_000), "improvement", "ok"),
    ((101_500, 101_530, 101_620), "regression", "fail"),  # a batch with a stray event
])
def test_instruction_decision(cur: tuple[float, ...], status: str, level: str) -> None:
    c = instruction_comparison("f", counts(100_000, 100_000, 100_000), counts(*cur), ONE_PCT,
                               min_effect=0.01)
    assert (c.status, c.level) == (status, level)
    assert c.metric == "instructions" and c.unit_of_analysis == "value"
    assert c.ci is not None and c.ci[0] <= c.ratio <= c.ci[1]  # type: ignore[operator]
    assert c.ci[1] / c.ci[0] >= (1 + REPEATABILITY) ** 2 * 0.9999


def test_counts_that_do_not_repeat_are_inconclusive() -> None:
    cur = InstructionCounts((0, 0, 0), 10, ((10, 1_005_000), (20, 2_025_000), (10, 1_015_000),
                                            (20, 2_045_000), (10, 1_025_000), (20, 2_065_000)))
    c = instruction_comparison("f", counts(100_000), cur, ONE_PCT, min_effect=0.01)
    assert c.ratio == pytest.approx(1.03) and c.status == "inconclusive"


def test_a_small_regression_under_the_threshold_warns() -> None:
    c = instruction_comparison("f", counts(100_000), counts(102_000), Threshold(0.05),
                               min_effect=0.01)
    assert (c.status, c.level) == ("regression", "warn")


def _wall(status: str, ratio: float) -> Comparison:
    return Comparison(name="f", metric="time", unit="s", base=1e-5, current=1e-5 * ratio,
                      ratio=ratio, ci=(ratio * 0.99, ratio * 1.01), p_value=0.001,
                      p_adjusted=0.001, status=status,  # type: ignore[arg-type]
                      level="ok", unit_of_analysis="process", n_base=12, n_current=12)


def test_disagreement_is_said() -> None:
    flat = instruction_comparison("f", counts(1e5), counts(1e5), ONE_PCT, 0.01)
    worse = instruction_comparison("f", counts(1e5), counts(1.2e5), ONE_PCT, 0.01)
    note = disagreement(flat, _wall("regression", 1.3))
    assert note is not None and "flat" in note and "+30.0 %" in note and "I/O" in note
    note = disagreement(worse, _wall("unchanged", 1.0))
    assert note is None  # time unchanged proves nothing either way: no claim
    note = disagreement(worse, _wall("improvement", 0.8))
    assert note is not None and "worse (+20.0 %)" in note and "better" in note
    assert disagreement(worse, _wall("regression", 1.2)) is None
    assert disagreement(flat, _wall("inconclusive", 1.1)) is None


# ----------------------------------------------------------------------------- end to end

FAST = """\
import time


def f():
    return sum(i * i for i in range(400))
"""
SLOWER = FAST.replace("range(400)", "range(800)")
SLEEPY = FAST.replace("    return", "    time.sleep(0.002)\n    return")


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True,
                          text=True).stdout


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
         require_system: Callable[[str], NoReturn]) -> Path:
    if shutil.which("valgrind") is None:
        require_system("valgrind is not installed (scripts/system-deps installs it)")
    r = tmp_path / "repo"
    r.mkdir()
    git(r, "init", "-q")
    (r / "mod.py").write_text(FAST)
    git(r, "add", ".")
    git(r, "-c", "user.email=t@t", "-c", "user.name=t", "commit", "-qm", "fast")
    monkeypatch.chdir(r)
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)
    return r


def gate(repo: Path) -> tuple[int, str, dict[str, dict[str, object]], dict[str, object]]:
    r = CliRunner().invoke(main, ["compare", "--against", "HEAD", "mod:f", "--measure",
                                  "instructions", "--max-pairs", "12", "--budget", "300",
                                  "--process-time", "0.02", "--json", "g.json"])
    doc = json.loads((repo / "g.json").read_text())
    by_metric = {c["metric"]: c for c in doc["comparisons"]}
    return r.exit_code, " ".join(r.output.split()), by_metric, doc["gate"]


@pytest.mark.slow
def test_instruction_gate_catches_more_work_and_shows_time(repo: Path) -> None:
    (repo / "mod.py").write_text(SLOWER)
    code, output, c, g = gate(repo)
    assert code == 1, output
    assert c["instructions"]["status"] == "regression" and c["instructions"]["level"] == "fail"
    assert 1.8 < c["instructions"]["ratio"] < 2.2  # type: ignore[operator]
    assert c["time"]["status"] in ("regression", "inconclusive")  # beside, never deciding
    assert c["time"]["level"] != "fail"
    assert g["measure"] == "instructions" and g["pairs"] == 12
    assert git(repo, "worktree", "list").count("\n") == 1


@pytest.mark.slow
def test_instruction_gate_says_when_time_disagrees(repo: Path) -> None:
    (repo / "mod.py").write_text(SLEEPY)  # a sleep: a few instructions, much wall time
    code, output, c, g = gate(repo)
    assert code == 0, output  # counts decide: the sleep costs (almost) no instructions
    assert c["instructions"]["status"] == "unchanged"
    assert c["time"]["status"] == "regression" and c["time"]["level"] == "warn"
    assert "counts and time disagree" in output and "I/O" in output
    assert g["disagreements"]
