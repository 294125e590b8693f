"""Issue 11 points 1–3: percentiles of calls, phases on the engine's clock, allocations as
users mean them — and a target that exits or hangs cannot take the run down (issue 12)."""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

import pytest

import perfgate as pg
from perfgate.bench import BenchOptions

FAST = BenchOptions(warmup=0, max_time=0.05, memory=False)


def test_percentiles_are_of_calls_and_show_a_rare_stall(clock: Any) -> None:
    calls = 0

    def op() -> None:
        nonlocal calls
        calls += 1
        clock.advance(5e-3 if calls % 50 == 0 else 2e-6)  # 2 % of calls stall for 5 ms

    r = pg.bench_callable(op, timer=clock, options=BenchOptions(warmup=0, rounds=20,
                                                               memory=False))
    t = r.metrics["time"]
    assert t.extra["of"] == "calls" and r.params["timed"] == "per call"
    assert t.median == pytest.approx(2e-6)  # not the 102 µs a round mean would say
    assert t.p99 == pytest.approx(5e-3)
    assert t.n is not None and t.n > 20  # calls, not rounds
    v = pg.apply_checks(r, [pg.parse_check("median < 50us"), pg.parse_check("p(99) < 1ms")])
    assert [x.status for x in v.verdicts] == ["pass", "fail"]


def test_calls_too_short_for_the_clock_are_round_means_and_tails_undecidable() -> None:
    r = pg.bench_callable(lambda: None, options=FAST, checks=["p(99) < 1s", "median < 1s"])
    assert r.metrics["time"].extra["of"] == "round means"
    p99, median = r.verdicts
    assert p99.status == "inconclusive" and "round means" in p99.evidence
    assert median.status == "pass"


def test_forcing_per_call_timing() -> None:
    r = pg.bench_callable(lambda: None, options=FAST.merged(per_call=True))
    assert r.metrics["time"].extra["of"] == "calls"


def test_phases_are_on_the_engine_clock_and_add_up_to_the_call(clock: Any) -> None:
    def op() -> None:
        with pg.phase("parse"):
            clock.advance(1e-6)
        with pg.phase("save"):
            clock.advance(3e-6)
        clock.advance(1e-6)

    r = pg.bench_callable(op, timer=clock, options=BenchOptions(warmup=0, rounds=10,
                                                               memory=False))
    m = r.metrics
    assert m["time"].median == pytest.approx(5e-6)
    assert m["time.parse"].median == pytest.approx(1e-6)
    assert m["time.save"].median == pytest.approx(3e-6)
    assert m["time.parse"].n == m["time"].n  # one phase sample per call


def _busy(seconds: float) -> None:
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        pass


def test_phases_of_each_real_call_add_up_to_at_most_its_time() -> None:
    def op() -> None:
        with pg.phase("a"):
            _busy(20e-6)
        with pg.phase("b"):
            _busy(40e-6)

    r = pg.bench_callable(op, options=FAST)
    total = r.metrics["time"].samples
    a, b = r.metrics["time.a"].samples, r.metrics["time.b"].samples
    assert total is not None and a is not None and b is not None
    assert len(total) == len(a) == len(b)
    cost = float(r.params["clock_cost"])
    # per call, on the same clock: the phases' clock reads sit inside the call's
    assert all(x + y <= t + 2 * cost + 1e-9 for x, y, t in zip(a, b, total, strict=True))


KEPT: list[bytes] = []


def test_allocations_count_what_a_call_makes_and_what_it_keeps() -> None:
    def temporaries() -> None:
        for _ in range(1000):
            bytearray(800)

    def keeps() -> None:
        KEPT.extend(b"x" * 100 + bytes([i % 256]) for i in range(100))

    opts = BenchOptions(warmup=0, max_time=0.02, memory_calls=4)
    made = pg.bench_callable(temporaries, options=opts).metrics
    assert 800_000 <= (made["alloc_bytes"].value or 0) <= 1_100_000
    assert (made["allocs"].value or 0) >= 1000
    assert (made["retained_bytes"].value or 0) < 2_000  # nothing survives the call
    assert (made["alloc_peak"].value or 0) < 50_000  # one 800 B buffer at a time
    kept = pg.bench_callable(keeps, options=opts).metrics
    assert (kept["retained_allocs"].value or 0) >= 100
    assert (kept["retained_bytes"].value or 0) >= 100 * 100


def test_a_target_that_calls_sys_exit_is_recorded_not_obeyed() -> None:
    def leaves() -> None:
        sys.exit(0)

    r = pg.bench_callable(leaves, options=FAST)
    assert r.status == "error" and "sys.exit(0)" in (r.error or "")


def test_a_target_that_never_returns_is_stopped_at_its_time_limit() -> None:
    def hangs() -> None:
        time.sleep(30)

    r = pg.bench_callable(hangs, options=FAST.merged(timeout=0.3))
    assert r.status == "error" and "time limit" in (r.error or "")


def test_a_suite_file_that_exits_while_imported_is_an_input_error(tmp_path: Path) -> None:
    f = tmp_path / "perf_exits.py"
    f.write_text("import sys\nsys.exit(5)\n")
    with pytest.raises(pg.TargetError, match=r"perf_exits.py: called sys.exit\(5\)"):
        pg.discover([f])


def test_a_target_that_calls_os_exit_is_recorded_not_obeyed() -> None:
    import os

    def leaves() -> None:
        os._exit(0)

    r = pg.bench_callable(leaves, options=FAST)
    assert r.status == "error" and "os._exit(0)" in (r.error or "")
    assert os._exit.__name__ == "_exit"  # the real one is back


@pytest.mark.slow
@pytest.mark.parametrize("exit_call", ["sys.exit(0)", "os._exit(0)", "raise SystemExit('msg')"])
def test_the_cli_keeps_results_and_its_exit_code_when_a_target_exits(
        tmp_path: Path, exit_call: str) -> None:
    import json
    import os
    import subprocess

    (tmp_path / "perf_exits.py").write_text(
        "import os, sys\nimport perfgate as pg\n"
        "@pg.bench(checks=['median < 1ns'], max_time=0.02, warmup=0, memory=False)\n"
        "def fails_its_check(): pass\n"
        "@pg.bench(max_time=0.02, warmup=0, memory=False)\n"
        f"def leaves():\n    {exit_call}\n")
    env = {**os.environ, "NO_COLOR": "1"}
    out = subprocess.run(
        [sys.executable, "-m", "perfgate", "run", ".", "--json", "r.json"], cwd=tmp_path,
        env=env, capture_output=True, text=True, timeout=120, check=False)
    assert out.returncode == 1, out.stdout + out.stderr  # the check failed: not the target's 0
    doc = json.loads((tmp_path / "r.json").read_text())
    by_name = {r["name"]: r for r in doc["results"]}
    assert by_name["fails_its_check"]["verdicts"][0]["status"] == "fail"
    assert "exit" in by_name["leaves"]["error"]
