"""The perfgate command, run as a user runs it: in a subprocess, with real files."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import perfgate
from perfgate.bench._engine import SAVED_PROCESSES

TARGETS = '''
import asyncio, os, signal

def fast():
    return sum(range(20))

def make_data():
    return list(range(1000))

def total(data):
    return sum(data)

async def coro():
    await asyncio.sleep(0)

def boom():
    raise ValueError("bad input row 7")

def interrupt():
    os.kill(os.getpid(), signal.SIGINT)
'''

QUICK = ["--max-time", "0.02", "--warmup", "0"]


def perfgate_cli(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(cwd), "NO_COLOR": "1", "COLUMNS": "200"}
    return subprocess.run(
        [sys.executable, "-c", "from perfgate.cli import main; main()", *args],
        cwd=cwd, capture_output=True, text=True, env=env, timeout=120, check=False,
    )


@pytest.fixture
def proj(tmp_path: Path) -> Path:
    (tmp_path / "targets.py").write_text(TARGETS)
    return tmp_path


def test_version(proj: Path) -> None:
    r = perfgate_cli(proj, "--version")
    assert r.returncode == 0 and perfgate.__version__ in r.stdout


@pytest.mark.slow
def test_bench_passes_and_writes_json(proj: Path) -> None:
    r = perfgate_cli(proj, "bench", "targets:fast", *QUICK, "--check", "median < 1s",
                     "--json", "out/r.json")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "median < 1s" in r.stdout and "pass" in r.stdout
    doc = json.loads((proj / "out" / "r.json").read_text())
    assert doc["schema"] == 1
    (res,) = doc["results"]
    assert res["name"] == "fast" and res["kind"] == "bench"
    assert res["verdicts"][0]["status"] == "pass"


@pytest.mark.slow
def test_setup_value_is_the_argument_and_async_is_awaited(proj: Path) -> None:
    r = perfgate_cli(proj, "bench", "targets:total", "--setup", "targets:make_data", *QUICK,
                     "--json", "a.json")
    assert r.returncode == 0, r.stderr
    r = perfgate_cli(proj, "bench", "targets:coro", *QUICK, "--json", "b.json")
    assert r.returncode == 0, r.stderr
    assert json.loads((proj / "b.json").read_text())["results"][0]["params"]["async"] is True


@pytest.mark.slow
def test_failed_check_exits_1(proj: Path) -> None:
    r = perfgate_cli(proj, "bench", "targets:fast", *QUICK, "--check", "median < 1ns")
    assert r.returncode == 1
    assert "fail" in r.stdout


def test_malformed_check_exits_2_before_running(proj: Path) -> None:
    r = perfgate_cli(proj, "bench", "targets:boom", "--check", "p(95) < 300 parsecs")
    assert r.returncode == 2
    assert "unknown unit 'parsecs' at position 12" in r.stderr
    assert "bad input row" not in r.stdout + r.stderr  # nothing ran


@pytest.mark.parametrize(
    ("target", "message"),
    [("nomodule:fn", "cannot import nomodule"), ("targets:nofn", "has no attribute"),
     ("targets", "expected MODULE:CALLABLE")],
)
def test_bad_targets_exit_2(proj: Path, target: str, message: str) -> None:
    r = perfgate_cli(proj, "bench", target)
    assert r.returncode == 2
    assert message in r.stderr


def test_raising_target_exits_1_and_keeps_results(proj: Path) -> None:
    r = perfgate_cli(proj, "bench", "targets:boom", *QUICK, "--json", "r.json")
    assert r.returncode == 1
    assert "ValueError: bad input row 7" in r.stdout
    res = json.loads((proj / "r.json").read_text())["results"][0]
    assert res["error"] == "ValueError: bad input row 7"


@pytest.mark.slow
def test_ctrl_c_writes_what_was_measured(proj: Path) -> None:
    (proj / "perf_two.py").write_text(
        "import perfgate as pg, targets\n"
        "@pg.bench(max_time=0.02, warmup=0)\ndef first(): targets.fast()\n"
        "@pg.bench(max_time=0.02, warmup=0)\ndef second(): targets.interrupt()\n"
        "@pg.bench(max_time=0.02, warmup=0)\ndef third(): pass\n"
    )
    r = perfgate_cli(proj, "run", "perf_two.py", "--json", "r.json")
    assert r.returncode == 130, r.stdout + r.stderr
    results = json.loads((proj / "r.json").read_text())["results"]
    assert [x["name"] for x in results] == ["first", "second"]
    assert results[0]["metrics"]["time"]["n"] >= 1
    assert results[1]["error"] == "interrupted (Ctrl-C)"


@pytest.mark.slow
def test_run_with_keyword_and_exit_codes(proj: Path) -> None:
    (proj / "perf_suite.py").write_text(
        "import perfgate as pg\n"
        "@pg.bench(checks=['median < 1s'], max_time=0.02, warmup=0)\ndef ok_case(): pass\n"
        "@pg.bench(checks=['median < 1ns'], max_time=0.02, warmup=0)\ndef slow_case(): pass\n"
    )
    assert perfgate_cli(proj, "run", ".", "-k", "ok_case").returncode == 0
    assert perfgate_cli(proj, "run", ".").returncode == 1
    r = perfgate_cli(proj, "run", ".", "-k", "nothing_matches")
    # -k matched nothing: said so, without blaming the suite file's name
    assert r.returncode == 2 and "no benchmark matches -k 'nothing_matches'" in r.stderr
    assert "perf_*.py" not in r.stderr


@pytest.mark.slow
def test_a_saved_run_is_measured_in_several_processes_by_default(proj: Path) -> None:
    # a saved run is compared later, to a run made in other conditions: it carries the
    # process-to-process spread; a run that is only printed stays in this process
    r = perfgate_cli(proj, "bench", "targets:fast", *QUICK, "--no-memory", "--json", "s.json")
    assert r.returncode == 0, r.stdout + r.stderr
    res = json.loads((proj / "s.json").read_text())["results"][0]
    assert res["params"]["processes"] == SAVED_PROCESSES
    assert len(res["metrics"]["time"]["process_medians"]) == SAVED_PROCESSES
    r = perfgate_cli(proj, "bench", "targets:fast", *QUICK, "--no-memory", "--processes", "0",
                     "--json", "one.json")
    assert r.returncode == 0, r.stdout + r.stderr
    res = json.loads((proj / "one.json").read_text())["results"][0]
    assert "process_medians" not in res["metrics"]["time"]


@pytest.mark.slow
def test_run_processes_override_reaches_every_benchmark(proj: Path) -> None:
    (proj / "perf_p.py").write_text(
        "import perfgate as pg\n@pg.bench()\ndef one(): sum(range(10))\n"
    )
    r = perfgate_cli(proj, "run", "perf_p.py", "--processes", "3", "--max-time", "0.1",
                     "--json", "r.json")
    assert r.returncode == 0, r.stdout + r.stderr
    res = json.loads((proj / "r.json").read_text())["results"][0]
    assert res["params"]["processes"] == 3
    assert len(res["metrics"]["time"]["process_medians"]) == 3
