"""``perfgate proxy``: a real process, driven through its standard input."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from fault_servers import EchoServer, connect, round_trip

from perfgate.cli import main

SRC = str(Path(__file__).resolve().parents[2] / "src")


@pytest.mark.slow
def test_proxy_process_applies_toxics_given_at_start_and_on_stdin(echo: EchoServer) -> None:
    env = {**os.environ, "PYTHONPATH": SRC, "COLUMNS": "200"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "perfgate", "proxy", "127.0.0.1:0", f"127.0.0.1:{echo.port}",
         "--toxic", "latency=30ms,name=lat", "--duration", "60s"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env=env)
    try:
        assert proc.stdout is not None and proc.stdin is not None
        first = proc.stdout.readline()  # printed once it listens
        assert "perfgate proxy 127.0.0.1:" in first, first + proc.stderr.read()
        port = int(first.split()[2].rsplit(":", 1)[1])
        assert "lat: latency=30ms downstream" in proc.stdout.readline()
        with connect(port) as c:
            assert round_trip(c) >= 0.030
            proc.stdin.write("update lat latency=60ms\n")
            proc.stdin.flush()
            assert "updated latency=60ms" in proc.stdout.readline()
            assert round_trip(c) >= 0.060
            proc.stdin.write("remove lat\nlist\nbogus\n")
            proc.stdin.flush()
            assert proc.stdout.readline().startswith("removed lat")
            assert proc.stdout.readline().startswith("no toxics")
            assert round_trip(c) < 0.030
        proc.stdin.write("quit\n")
        proc.stdin.flush()
        assert proc.wait(30) == 0
        assert "1 connections" in proc.stdout.read()
        assert "unknown command 'bogus'" in proc.stderr.read()
    finally:
        proc.kill()
        proc.wait()
        for f in (proc.stdin, proc.stdout, proc.stderr):
            if f is not None:
                f.close()


@pytest.mark.parametrize(("args", "message"), [
    (["--toxic", "latency=soon"], "latency='soon' is not a duration"),
    (["--toxic", "latency=1s,toxicity=2"], "toxicity='2' must be between 0 and 1"),
    (["--duration", "forever"], "--duration"),
    (["--http-fault", "status=abc"], "status='abc' is not a number"),
])
def test_bad_input_exits_2_naming_the_place(echo: EchoServer, args: list[str],
                                            message: str) -> None:
    r = CliRunner().invoke(main, ["proxy", "0", f"127.0.0.1:{echo.port}", *args])
    assert r.exit_code == 2, r.output
    assert message in " ".join(r.output.split())


def test_port_in_use_and_refusing_upstream_exit_2(echo: EchoServer) -> None:
    r = CliRunner().invoke(main, ["proxy", f"127.0.0.1:{echo.port}", f"127.0.0.1:{echo.port}",
                                  "--duration", "0"])
    assert r.exit_code == 2 and "in use" in r.output
    echo.close()
    r = CliRunner().invoke(main, ["proxy", "0", f"127.0.0.1:{echo.port}"])
    assert r.exit_code == 2 and "cannot connect" in r.output
    r = CliRunner().invoke(main, ["proxy", "0", "10.1.2.3:5432"])
    assert r.exit_code == 2 and "not a loopback address" in " ".join(r.output.split())
