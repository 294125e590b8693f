"""``perfgate load … --proxy/--http-proxy … --fault …``: a fault schedule from the shell."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from click.testing import CliRunner

from perfgate.cli import main


class _Ok(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("content-length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def web() -> Iterator[int]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Ok)
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.slow
def test_http_faults_on_a_schedule(web: int, tmp_path: Path) -> None:
    # two worker processes send the load; the faults are switched in this one
    p = _port()
    out = tmp_path / "r.json"
    r = CliRunner().invoke(main, [
        "load", f"http://127.0.0.1:{p}/", "--rate", "40/s", "--processes", "2",
        "--http-proxy", f"api=127.0.0.1:{p},127.0.0.1:{web}",
        "--fault", "1s:baseline", "--fault", "1s:fault:status=503@api",
        "--fault", "1s:recovery", "--check", "error_rate(phase=baseline) < 5%",
        "--check", "error_rate(phase=fault) > 90%", "--json", str(out)])
    assert r.exit_code == 0, r.output
    res = json.loads(out.read_text())["results"][0]
    m = res["metrics"]
    # ticks are snapshotted a little after their boundary (two worker processes here):
    # a request or two may land in the neighbouring phase
    assert m["phase.fault.count.http_5xx"]["value"] >= 0.9 * m["phase.fault.requests"]["value"]
    assert m["phase.recovery.error_rate"]["value"] < 0.1
    assert res["params"]["faults"][1].startswith("1s:fault (api: status 503")


@pytest.mark.slow
def test_a_toxic_on_a_schedule(web: int, tmp_path: Path) -> None:
    p = _port()
    out = tmp_path / "r.json"
    r = CliRunner().invoke(main, [
        "load", f"http://127.0.0.1:{p}/", "--rate", "20/s", "--processes", "1",
        "--proxy", f"web=127.0.0.1:{p},127.0.0.1:{web}",
        "--fault", "1s:baseline", "--fault", "1s:slow:latency=100ms@web",
        "--fault", "1s:recovery", "--check", "p(50, phase=slow) >= 100ms", "--json", str(out)])
    assert r.exit_code == 0, r.output
    assert "phases:" in r.output and "slow" in r.output and "degradation" in r.output
    m = json.loads(out.read_text())["results"][0]["metrics"]
    assert m["phase.baseline.latency"]["p50"] < 0.1 <= m["phase.slow.latency"]["p50"]


@pytest.mark.parametrize(("args", "message"), [
    (["--fault", "1s:fault:latency=1s@nope"], "no proxy named 'nope'"),
    (["--fault", "1s:fault:latency=1s"], "names no proxy"),
    (["--fault", "1s"], "expected DURATION:NAME"),
    (["--fault", "1s:outage"], "has no fault"),
    (["--proxy", "db", "--fault", "1s:baseline"], "expected NAME=LISTEN,UPSTREAM"),
    (["--proxy", "db=127.0.0.1:0,127.0.0.1:1", "--fault", "1s:f:latncy=1s@db"],
     "unknown toxic 'latncy'"),
    (["--proxy", "db=127.0.0.1:0,127.0.0.1:1", "--fault", "1s:f:latency=1s@db"],
     "cannot connect"),
    (["--fault", "1s:baseline", "--duration", "5s"], "phases last 1s but the load lasts 5s"),
    (["--fault", "1.5s:baseline"], "not a whole number of 1s ticks"),
])
def test_bad_schedules_exit_2(web: int, args: list[str], message: str) -> None:
    r = CliRunner().invoke(main, ["load", f"http://127.0.0.1:{web}/", "--rate", "1/s", *args])
    assert r.exit_code == 2, r.output
    assert message in " ".join(r.output.split())
