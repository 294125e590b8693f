"""Fixtures of the fault tests: an echo server, a proxy in front of it, a real redis-server."""

from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import NoReturn

import pytest
from fault_servers import EchoServer, echo_server

from perfgate.faults import Proxy


@pytest.fixture
def echo() -> Iterator[EchoServer]:
    with echo_server() as s:
        yield s


@pytest.fixture
def proxy(echo: EchoServer) -> Iterator[Proxy]:
    with Proxy(f"127.0.0.1:{echo.port}", seed=7) as p:
        yield p


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def redis_port(require_system: Callable[[str], NoReturn]) -> Iterator[int]:
    """A throwaway redis-server on 127.0.0.1 (no persistence), for the whole session."""
    exe = shutil.which("redis-server")
    if exe is None:
        require_system("redis-server is not installed; scripts/system-deps installs it")
    port = _free_port()
    tmp = Path(tempfile.mkdtemp(prefix="perfgate-redis-"))
    proc = subprocess.Popen(
        [str(exe), "--port", str(port), "--bind", "127.0.0.1", "--save", "",
         "--appendonly", "no", "--dir", str(tmp)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        assert proc.stdout is not None
        deadline = time.monotonic() + 30  # readiness is redis's own log line, not a sleep
        for line in proc.stdout:
            if "Ready to accept connections" in line:
                break
            if time.monotonic() > deadline:
                pytest.fail("redis-server did not start")
        else:
            pytest.fail(f"redis-server exited: {proc.wait()}")
        threading.Thread(target=proc.stdout.read, daemon=True).start()  # keep the pipe empty
        yield port
    finally:
        proc.terminate()
        proc.wait(10)
        if proc.stdout is not None:
            proc.stdout.close()
        shutil.rmtree(tmp, ignore_errors=True)
