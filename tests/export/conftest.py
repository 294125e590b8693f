"""A real Prometheus Pushgateway (Debian's prometheus-pushgateway) on 127.0.0.1."""

from __future__ import annotations

import shutil
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from typing import NoReturn

import pytest
from _scrape import free_port

_DEADLINE = 20.0


@pytest.fixture
def pushgateway(require_system: Callable[[str], NoReturn]) -> Iterator[str]:
    exe = shutil.which("prometheus-pushgateway") or shutil.which("pushgateway")
    if exe is None:
        require_system("prometheus-pushgateway is not installed (scripts/system-deps)")
    port = free_port()
    proc = subprocess.Popen([exe, f"--web.listen-address=127.0.0.1:{port}",
                             "--persistence.file="],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        end = time.monotonic() + _DEADLINE
        while True:  # poll readiness up to a deadline; no sleep stands in for it
            if proc.poll() is not None:
                pytest.fail(f"pushgateway exited ({proc.returncode})")
            try:
                with urllib.request.urlopen(f"{url}/-/ready", timeout=2) as r:
                    if r.status == 200:
                        break
            except (urllib.error.URLError, ConnectionError):
                pass
            if time.monotonic() > end:
                pytest.fail("pushgateway did not become ready")
            time.sleep(0.02)  # a poll interval
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=_DEADLINE)
