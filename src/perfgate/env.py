"""Environment fingerprint stored with every result: interpreter, machine, git state, load."""

from __future__ import annotations

import contextlib
import datetime as _dt
import os
import platform
import socket
import subprocess
from pathlib import Path

from perfgate.model import Environment

__all__ = ["collect", "cpu_model", "git_info"]


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith(("model name", "hardware", "cpu model")):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _git(args: list[str], cwd: Path) -> str | None:
    try:
        out = subprocess.run(
            ["git", *args], cwd=cwd, capture_output=True, text=True, timeout=5, check=False
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() if out.returncode == 0 else None


def git_info(cwd: str | Path | None = None) -> tuple[str | None, str | None, bool | None]:
    """(commit, branch, dirty) of the git tree holding ``cwd``; Nones outside a tree."""
    where = Path(cwd or Path.cwd())
    commit = _git(["rev-parse", "HEAD"], where)
    if commit is None:
        return None, None, None
    branch = _git(["rev-parse", "--abbrev-ref", "HEAD"], where)
    status = _git(["status", "--porcelain", "--untracked-files=no"], where)
    return commit, (None if branch == "HEAD" else branch), bool(status)


def collect(cwd: str | Path | None = None) -> Environment:
    from perfgate import __version__

    commit, branch, dirty = git_info(cwd)
    extra: dict[str, object] = {}
    with contextlib.suppress(OSError):  # not every platform has a load average
        extra["load_avg"] = [round(x, 2) for x in os.getloadavg()]
    return Environment(
        python_version=platform.python_version(),
        implementation=platform.python_implementation(),
        platform=platform.platform(),
        cpu_model=cpu_model(),
        cpu_count=os.cpu_count() or 0,
        hostname=socket.gethostname(),
        started_at=_dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
        perfgate_version=__version__,
        git_commit=commit,
        git_branch=branch,
        git_dirty=dirty,
        extra=extra,
    )
