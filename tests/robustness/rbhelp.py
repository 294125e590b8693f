"""Helpers for the robustness tests: the real ``perfgate`` command in a subprocess.

(A module of its own, not conftest.py: test modules import it by name.)

Every test here drives ``python -m perfgate`` with this checkout's ``src`` first on
PYTHONPATH, sends real signals, fills real filesystems and talks to real servers on
127.0.0.1. Waiting is always for a condition (a file appears, a server sees a request) with
a bounded deadline, never a sleep as synchronisation.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

# the perfgate under test (PERFGATE_TEST_SRC: another checkout's src, e.g. to see these
# tests fail on the code before the fixes)
SRC = Path(os.environ.get("PERFGATE_TEST_SRC") or Path(__file__).resolve().parents[2] / "src")
TESTS = Path(__file__).resolve().parents[1]
if str(TESTS) not in sys.path:  # the shared real servers (tests/_load_servers.py)
    sys.path.insert(0, str(TESTS))

DEADLINE = 60.0  # seconds: a bound on every wait, far above what a healthy run needs


@dataclass
class Done:
    code: int
    out: str
    err: str

    @property
    def both(self) -> str:
        return self.out + self.err


def cli_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("GITHUB_STEP_SUMMARY",
                                                             "PERFGATE_STORE")}
    env["PYTHONPATH"] = str(SRC) + (os.pathsep + env["PYTHONPATH"]
                                    if env.get("PYTHONPATH") else "")
    env["COLUMNS"] = "200"
    env.update(extra or {})
    return env


def start(args: Sequence[str], cwd: Path, env: Mapping[str, str] | None = None
          ) -> subprocess.Popen[bytes]:
    """``python -m perfgate ARGS`` started in ``cwd`` (stdout/stderr captured as bytes), in
    its own process group (so a test can signal the group, as a CI runner does)."""
    return subprocess.Popen([sys.executable, "-m", "perfgate", *args], cwd=cwd,
                            env=cli_env(env), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, start_new_session=True)


def send(proc: subprocess.Popen[bytes], sig: int, to: str = "process") -> None:
    """``sig`` to the perfgate process alone, or to its whole process group."""
    if to == "group":
        os.killpg(proc.pid, sig)
    else:
        proc.send_signal(sig)


def finish(proc: subprocess.Popen[bytes], timeout: float = DEADLINE) -> Done:
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
        raise AssertionError(f"perfgate did not end within {timeout} s:\n"
                             f"{out.decode(errors='replace')}\n{err.decode(errors='replace')}"
                             ) from None
    return Done(proc.returncode, out.decode(errors="replace"), err.decode(errors="replace"))


def run(args: Sequence[str], cwd: Path, env: Mapping[str, str] | None = None,
        timeout: float = DEADLINE) -> Done:
    return finish(start(args, cwd, env), timeout)


def wait_for(cond: Callable[[], bool], what: str, proc: subprocess.Popen[bytes] | None = None,
             deadline: float = DEADLINE) -> None:
    """Poll ``cond`` until true; fail (with the process's output) after ``deadline`` s or
    when ``proc`` ended first."""
    end = time.monotonic() + deadline
    while not cond():
        if proc is not None and proc.poll() is not None:
            done = finish(proc)
            raise AssertionError(f"perfgate ended (exit {done.code}) before {what}:\n"
                                 f"{done.out}\n{done.err}")
        if time.monotonic() > end:
            raise AssertionError(f"no {what} within {deadline} s")
        time.sleep(0.02)  # polling interval of a condition, not synchronisation by time


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def no_traceback(done: Done) -> None:
    assert "Traceback" not in done.both, done.both
