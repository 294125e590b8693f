"""Hangs (issue 12, point 6): dead workers and budgets are noticed within seconds.

A ``bench --processes 2`` worker killed with SIGKILL, a ``parallel_case(mode="process")``
of a suite file (its workers must import the file themselves) and one whose worker dies,
and ``compare --against`` with a target that sleeps past the budget: each command ends on
its own, long before any internal limit (the waits here are bounded at 60 s; the old hangs
lasted 600 s or forever), with the failure recorded and no traceback.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
from pathlib import Path

import pytest
from rbhelp import finish, no_traceback, run, start, wait_for

pytestmark = pytest.mark.slow

WORKER_TARGET = '''
import os, pathlib

_pid = []

def f():
    if not _pid:
        _pid.append(os.getpid())
        pathlib.Path(os.environ["PERFGATE_TEST_PID"]).write_text(str(os.getpid()))
    return sum(range(10))
'''


def test_a_killed_bench_worker_is_noticed_and_recorded(tmp_path: Path) -> None:
    (tmp_path / "mod.py").write_text(WORKER_TARGET)
    pid_file = tmp_path / "pid"
    proc = start(["bench", "mod:f", "--processes", "2", "--max-time", "600", "--warmup", "0",
                  "--rounds", "10000000", "--no-memory", "--json", "r.json"], tmp_path,
                 {"PERFGATE_TEST_PID": str(pid_file)})
    wait_for(lambda: pid_file.exists() and pid_file.read_text() != "", "a worker running",
             proc)
    os.kill(int(pid_file.read_text()), signal.SIGKILL)
    done = finish(proc)
    assert done.code == 1, done.both  # the target's failure, recorded
    no_traceback(done)
    r = json.loads((tmp_path / "r.json").read_text())["results"][0]
    assert "worker process 1 of 2 died (killed by SIGKILL)" in r["error"]


PARALLEL_SUITE = '''
import multiprocessing, os
import perfgate as pg

@pg.parallel_case(workers=2, mode="process")
def add():
    return sum(range(100))

@pg.parallel_case(workers=2, mode="process")
def dies_in_workers():
    if multiprocessing.parent_process() is not None:
        os._exit(3)
    return 1
'''


def test_process_parallel_case_of_a_suite_file_runs_and_a_dying_worker_is_reported(
        tmp_path: Path) -> None:
    (tmp_path / "perf_par.py").write_text(PARALLEL_SUITE)
    done = run(["run", "perf_par.py", "--json", "r.json"], tmp_path)
    no_traceback(done)
    assert "ModuleNotFoundError" not in done.both
    assert done.code == 1, done.both  # the second case failed
    add, dies = json.loads((tmp_path / "r.json").read_text())["results"]
    assert "error" not in add and add["metrics"]["speedup"]["value"] > 0
    assert "a worker process died (exit code 3)" in dies["error"]


def _git(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@t", *args],
                          cwd=cwd, check=True, capture_output=True, text=True).stdout


def test_the_gate_budget_holds_when_a_target_sleeps(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    # the target sleeps far past the budget: only the budget can end this gate
    (repo / "mod.py").write_text("import time\n\ndef f():\n    time.sleep(3600)\n")
    _git(repo, "init", "-q")
    _git(repo, "add", "mod.py")
    _git(repo, "commit", "-qm", "x")
    done = run(["compare", "--against", "HEAD", "mod:f", "--budget", "3"], repo)
    assert done.code == 2, done.both
    no_traceback(done)
    assert "still ran when the budget ended" in done.err
    assert _git(repo, "worktree", "list", "--porcelain").count("worktree ") == 1
