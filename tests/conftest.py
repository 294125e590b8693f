"""Shared fixtures. Tests run against real engines; clocks are injected where timing matters."""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import NoReturn

import pytest

from perfgate.bench import BenchOptions

# Helpers shared by test folders (servers, fake services) live in tests/ itself: importable
# by name (``from _load_servers import Server``) from every folder, whatever runs first.
_HERE = str(Path(__file__).resolve().parent)
if _HERE not in sys.path:
    sys.path.insert(0, _HERE)


@pytest.fixture
def quick() -> BenchOptions:
    """Benchmark options that keep a test well under a second."""
    return BenchOptions(max_time=0.05, warmup=0.0, min_rounds=5, memory_calls=2)


class FakeClock:
    """A timer that only moves when told: the engine's arithmetic becomes exact."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


# --------------------------------------------------------------------------- system packages


def missing_system_package(reason: str) -> NoReturn:
    """Skip on a developer machine without the package; fail under CI, where
    ``scripts/system-deps`` must have installed it (a skip there would hide a broken setup)."""
    if os.environ.get("CI"):
        pytest.fail(f"{reason} — under CI this is a broken setup, not a skip")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def require_system() -> Callable[[str], NoReturn]:
    """The same, for conftest files below this one (which cannot import this module)."""
    return missing_system_package


# --------------------------------------------------------------------------- PostgreSQL


def _pg_bindir() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def postgres_port() -> Iterator[int]:
    """A throwaway PostgreSQL cluster on 127.0.0.1, for the whole session: initdb in a temp
    dir, trust auth for user ``perfgate``, started as ``nobody`` when running as root
    (postgres refuses root). Without the server: a skip on a developer machine, a failure
    under CI (``scripts/system-deps`` installs it)."""
    bindir = _pg_bindir()
    if bindir is None:
        missing_system_package("PostgreSQL server binaries (initdb, pg_ctl) are not "
                               "installed; scripts/system-deps installs them")
    tmp = Path(tempfile.mkdtemp(prefix="perfgate-pg-"))
    data = tmp / "data"
    run_as: list[str] = []
    if os.geteuid() == 0:
        if shutil.which("runuser") is None:
            missing_system_package("running as root without runuser: cannot start postgres")
        os.chmod(tmp, 0o777)
        run_as = ["runuser", "-u", "nobody", "--"]
    port = free_port()
    subprocess.run([*run_as, str(bindir / "initdb"), "-D", str(data), "-U", "perfgate",
                    "--auth=trust", "-E", "UTF8", "--no-sync"],
                   check=True, capture_output=True, timeout=120)
    subprocess.run([*run_as, str(bindir / "pg_ctl"), "-D", str(data), "-w", "-l",
                    str(tmp / "log"), "-o", f"-h 127.0.0.1 -p {port} -k {tmp} -F", "start"],
                   check=True, capture_output=True, timeout=120)
    try:
        yield port
    finally:
        subprocess.run([*run_as, str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate",
                        "-w", "stop"], capture_output=True, timeout=120, check=False)
        shutil.rmtree(tmp, ignore_errors=True)


@pytest.fixture(scope="session")
def pg_database(postgres_port: int) -> Callable[[str], str]:
    """``pg_database(name)`` creates a fresh database on the session cluster; its URL."""
    import psycopg  # in the 'test' extra: an import error is a broken install, not a skip

    def create(name: str) -> str:
        with psycopg.connect(f"postgresql://perfgate@127.0.0.1:{postgres_port}/postgres",
                             autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
            conn.execute(f'CREATE DATABASE "{name}"')
        return f"postgresql://perfgate@127.0.0.1:{postgres_port}/{name}"

    return create
