"""The gate's worker script, run in-process: callables, async callables, suites, errors."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from perfgate.gate import _worker

SUITE = '''
import perfgate as pg


@pg.bench()
def plain():
    sum(range(50))


@pg.bench(setup=lambda: list(range(100)))
def with_setup(data):
    sorted(data)
'''

MOD = '''
async def coro():
    return 1


def boom():
    raise ValueError("nope")
'''


@pytest.fixture
def tree(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "perf_suite.py").write_text(SUITE)
    (tmp_path / "wmod.py").write_text(MOD)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "path", list(sys.path))
    monkeypatch.delitem(sys.modules, "wmod", raising=False)
    return tmp_path


def run_worker(tree: Path, targets: list[str], capsys: pytest.CaptureFixture[str]
               ) -> dict[str, dict[str, object]]:
    job = {"root": str(tree), "targets": targets, "time": 0.005, "warmup": 0.0,
           "round_time": 1e-4, "iterations": {"plain": 3}}
    assert _worker.main(["worker", json.dumps(job)]) == 0
    out: dict[str, dict[str, object]] = json.loads(capsys.readouterr().out)
    return out


def test_suite_and_async_targets(tree: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = run_worker(tree, ["perf_suite.py", "wmod:coro"], capsys)
    assert out["errors"] == {}
    results = out["results"]
    assert set(results) == {"plain", "with_setup", "coro"}
    assert results["plain"]["iterations"] == 3  # the gate's fixed iterations are obeyed
    for r in results.values():
        samples = r["samples"]
        assert isinstance(samples, list) and len(samples) >= 5
        assert all(s > 0 for s in samples)


def test_errors_are_reported_not_raised(tree: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = run_worker(tree, ["wmod:boom", "nosuchmod:f"], capsys)
    assert "ValueError: nope" in str(out["errors"]["boom"])
    assert "ModuleNotFoundError" in str(out["errors"]["nosuchmod:f"])
    assert out["results"] == {}


PHASED = '''
import perfgate as pg


@pg.bench()
def phased():
    with pg.phase("parse"):
        sum(range(50))
    with pg.phase("coverage"):
        sum(range(200))


@pg.bench(sizes=[10, 40])
def grow(n):
    data = list(range(n))
    return lambda: sorted(data)
'''


def test_phases_and_sweep_sizes(tree: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tree / "perf_phased.py").write_text(PHASED)
    out = run_worker(tree, ["perf_phased.py"], capsys)
    assert out["errors"] == {}
    res: dict[str, dict[str, object]] = out["results"]  # type: ignore[assignment]
    assert set(res) == {"phased", "grow[n=10]", "grow[n=40]"}
    ph = res["phased"]
    phases: dict[str, list[float]] = ph["phases"]  # type: ignore[assignment]
    samples: list[float] = ph["samples"]  # type: ignore[assignment]
    assert set(phases) == {"parse", "coverage"}
    # Same rounds, same clock: the phases of a round never exceed its total.
    for i, total in enumerate(samples):
        assert phases["parse"][i] + phases["coverage"][i] <= total * 1.0001
    assert res["grow[n=40]"]["bench"] == "grow" and res["grow[n=40]"]["size"] == 40


def test_rounds_lose_the_time_they_waited_for_a_cpu() -> None:
    """A round's wait for a CPU (scheduler statistics) is taken out of its time: on a busy
    machine the slower side's longer rounds are preempted more often, which inflated a
    3.4× change to 7.9×. A wait longer than the round happened outside it (in the reads)
    and stays in; without scheduler statistics the rounds are plain wall time."""
    now, waited, rounds = [0.0], [0.0], [0]

    def run(n: int) -> None:  # 1 ms of CPU per call; every other round also waits 4 ms
        rounds[0] += 1
        now[0] += 1e-3 * n
        if rounds[0] % 2 == 0:
            now[0] += 4e-3
            waited[0] += 4e-3

    def sched() -> tuple[float, float]:
        return 0.0, waited[0]

    out = _worker._measure(run, 0.05, 0.0, 1e-3, 2, clock=lambda: now[0], sched=sched)
    assert len(out["samples"]) >= 5
    assert out["samples"] == pytest.approx([1e-3] * len(out["samples"]))
    assert 0.3 < out["cpu_wait"] < 0.6  # 4 ms of every 12 ms of wall time: 1/3

    def sched_gap() -> tuple[float, float]:  # waits that no round could hold
        waited[0] += 0.1
        return 0.0, waited[0]

    rounds[0] = 1  # no waits inside the rounds
    out = _worker._measure(run, 0.05, 0.0, 1e-3, 2, clock=lambda: now[0], sched=sched_gap)
    assert out["cpu_wait"] == 0.0
    assert min(out["samples"]) == pytest.approx(1e-3)

    rounds[0] = 0
    out = _worker._measure(run, 0.05, 0.0, 1e-3, 2, clock=lambda: now[0], sched=lambda: None)
    assert sorted({round(s, 6) for s in out["samples"]}) == [1e-3, 3e-3]
    assert out["cpu_wait"] == 0.0
