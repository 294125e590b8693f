"""Results lost or a gate passed that should fail: signals (issue 12, point 2).

SIGTERM (what a CI runner sends when it cancels a job) is handled like Ctrl-C by every verb:
what was measured is written to every output, the exit code is 128 + the signal (143 or
130), no worker traceback is printed, and ``compare --against`` leaves no git worktree.
A second signal while the results are written does not cut the writing short.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
from pathlib import Path

import pytest
from rbhelp import finish, no_traceback, send, start, wait_for

pytestmark = pytest.mark.slow

SUITE = '''
import os, pathlib
import perfgate as pg

MARK = pathlib.Path(os.environ["PERFGATE_TEST_MARK"])
_seen = []

@pg.bench(max_time=0.05, warmup=0.0, memory=False)
def fast():
    return sum(range(10))

@pg.bench(max_time=600.0, rounds=10**7, warmup=0.0, memory=False)
def slow():
    _seen.append(1)
    if len(_seen) == 200_000:  # well past calibration: timed rounds are complete
        MARK.touch()
    return sum(range(10))
'''

OUTPUTS = ("--json", "r.json", "--store", "sqlite:///h.db", "--junit", "r.xml",
           "--markdown", "r.md", "--html", "r.html")


def _suite(tmp_path: Path) -> dict[str, str]:
    (tmp_path / "perf_sig.py").write_text(SUITE)
    return {"PERFGATE_TEST_MARK": str(tmp_path / "mark")}


def _stored_results(db: Path) -> list[str]:
    with sqlite3.connect(db) as c:
        return [r[0] for r in c.execute("SELECT name FROM results ORDER BY position")]


def _assert_all_outputs(tmp_path: Path, names: list[str]) -> None:
    doc = json.loads((tmp_path / "r.json").read_text())
    assert [r["name"] for r in doc["results"]] == names
    assert _stored_results(tmp_path / "h.db") == names
    for f in ("r.xml", "r.md", "r.html"):
        assert (tmp_path / f).stat().st_size > 0, f
    assert not list(tmp_path.glob(".*.tmp"))


# a saved run measures each benchmark in worker processes (10 by default): the signal
# reaches the command, or the whole group; --processes 0 keeps the loop in the command
@pytest.mark.parametrize(("sig", "code", "to", "where"), [
    (signal.SIGTERM, 143, "process", ()), (signal.SIGINT, 130, "process", ()),
    (signal.SIGTERM, 143, "group", ()), (signal.SIGINT, 130, "group", ()),
    (signal.SIGTERM, 143, "process", ("--processes", "0")),
    (signal.SIGTERM, 143, "group", ("--processes", "0"))])
def test_a_signal_to_run_writes_every_output(tmp_path: Path, sig: int, code: int,
                                             to: str, where: tuple[str, ...]) -> None:
    env = _suite(tmp_path)
    proc = start(["run", "perf_sig.py", *where, *OUTPUTS], tmp_path, env)
    wait_for((tmp_path / "mark").exists, "the slow benchmark running", proc)
    send(proc, sig, to)
    done = finish(proc)
    assert done.code == code, done.both
    no_traceback(done)
    _assert_all_outputs(tmp_path, ["fast", "slow"])
    slow = json.loads((tmp_path / "r.json").read_text())["results"][1]
    assert slow["metrics"]["time"]["n"] >= 1  # the partial measurement is kept


def test_sigterm_to_bench_keeps_the_partial_measurement(tmp_path: Path) -> None:
    env = _suite(tmp_path)
    proc = start(["bench", "perf_sig.py:slow", "--max-time", "600", "--rounds", "10000000",
                  "--warmup", "0", "--no-memory", *OUTPUTS], tmp_path, env)
    wait_for((tmp_path / "mark").exists, "the benchmark running", proc)
    proc.send_signal(signal.SIGTERM)
    done = finish(proc)
    assert done.code == 143, done.both
    no_traceback(done)
    _assert_all_outputs(tmp_path, ["slow"])


@pytest.mark.parametrize("to", ["process", "group"])
def test_sigterm_to_load_writes_results_and_no_worker_traceback(tmp_path: Path,
                                                                to: str) -> None:
    from _load_servers import Server, always

    with Server(always(200)) as srv:
        proc = start(["load", srv.url, "--vus", "2", "--duration", "120s", "--processes", "2",
                      "--json", "r.json", "--store", "sqlite:///h.db"], tmp_path)
        wait_for(lambda: srv.answered >= 50, "requests at the server", proc)
        send(proc, signal.SIGTERM, to)
        done = finish(proc)
    assert done.code == 143, done.both
    no_traceback(done)
    doc = json.loads((tmp_path / "r.json").read_text())
    assert doc["results"][0]["metrics"]["requests"]["value"] > 0
    assert len(_stored_results(tmp_path / "h.db")) == 1


def test_a_second_signal_while_writing_does_not_interrupt_the_writing(tmp_path: Path) -> None:
    """$GITHUB_STEP_SUMMARY is a FIFO: the command blocks there, mid-writing, until the
    test reads it — so the second signal lands during the write phase, every time."""
    env = _suite(tmp_path)
    fifo = tmp_path / "summary"
    os.mkfifo(fifo)
    env["GITHUB_STEP_SUMMARY"] = str(fifo)
    proc = start(["run", "perf_sig.py", *OUTPUTS], tmp_path, env)
    wait_for((tmp_path / "mark").exists, "the slow benchmark running", proc)
    proc.send_signal(signal.SIGTERM)
    wait_for((tmp_path / "r.md").exists, "the write phase (Markdown written)", proc)
    proc.send_signal(signal.SIGINT)  # the second Ctrl-C, while blocked on the summary
    with open(fifo, encoding="utf-8") as f:  # unblocks the writer
        summary = f.read()
    done = finish(proc)
    assert done.code == 143, done.both  # the first signal names the exit code
    no_traceback(done)
    assert "perfgate" in summary
    _assert_all_outputs(tmp_path, ["fast", "slow"])


GATE_TARGET = '''
import os, pathlib

def f():
    pathlib.Path(os.environ["PERFGATE_TEST_MARK"]).touch()
    return sum(range(100))
'''


def _git(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True,
                          text=True).stdout


@pytest.mark.parametrize(("sig", "code"), [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_a_signal_to_compare_against_removes_the_worktree(tmp_path: Path, sig: int,
                                                          code: int) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "mod.py").write_text(GATE_TARGET)
    _git(repo, "init", "-q")
    _git(repo, "-c", "user.name=t", "-c", "user.email=t@t", "add", "mod.py")
    _git(repo, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "x")
    env = {"PERFGATE_TEST_MARK": str(tmp_path / "mark")}
    proc = start(["compare", "--against", "HEAD", "mod:f", "--budget", "600",
                  "--max-pairs", "64", "--json", str(tmp_path / "c.json")], repo, env)
    wait_for((tmp_path / "mark").exists, "a gate worker running", proc)
    proc.send_signal(sig)
    done = finish(proc)
    assert done.code == code, done.both
    no_traceback(done)
    assert _git(repo, "worktree", "list", "--porcelain").count("worktree ") == 1
    assert (tmp_path / "c.json").exists()
