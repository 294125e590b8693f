"""Fault schedules through every entry point: pytest's ``perf.load``, ``@pg.scenario`` run by
the runner — and a proxy that dies mid-run, which must not hang the load test."""

from __future__ import annotations

import socket
import time

import pytest
from fault_servers import EchoServer, recv_exactly

import perfgate as pg
from perfgate.faults import Proxy
from perfgate.runner import run_specs


def _work() -> None:
    time.sleep(0.002)


def _sched(fault: object) -> list[object]:
    return [pg.baseline("0.2s"), pg.fault("0.2s", fault), pg.recovery("0.4s")]


@pytest.mark.slow
def test_perf_load_takes_faults_and_checks_phases(perf: object) -> None:
    w = pg.faulty(_work, delay="20ms", enabled=False)
    r = perf.load(w, vus=2, tick=0.2, faults=_sched(w),  # type: ignore[attr-defined]
                  checks=["p(50, phase=fault) > 10ms", "degradation(p50) > 3"])
    assert {v.status for v in r.verdicts} == {"pass"}
    w2 = pg.faulty(_work, delay="20ms", enabled=False)
    with pytest.raises(AssertionError, match=r"p\(50, phase=fault\) < 5ms"):
        perf.load(w2, vus=2, tick=0.2, faults=_sched(w2),  # type: ignore[attr-defined]
                  checks=["p(50, phase=fault) < 5ms"])


flaky = pg.faulty(_work, raises=ConnectionError("db gone"), enabled=False)


@pg.scenario(executor=pg.closed(vus=2, duration="0.8s"), tick=0.2, faults=_sched(flaky),
             # a tick's snapshot is taken a little after its boundary: a few of the fault's
             # instant errors may land in the baseline's last tick
             checks=["error_rate(phase=baseline) < 5%", "error_rate(phase=fault) > 95%"])
def checkout() -> None:
    # not a tight loop of instant errors: VU threads that never release the GIL would starve
    # the worker's loop, whose late tick snapshots would blur the phase boundaries
    time.sleep(0.002)
    flaky()


@pytest.mark.slow
def test_scenario_with_faults_runs_through_the_runner() -> None:
    [r] = run_specs(checkout.__perfgate__)  # type: ignore[attr-defined]
    assert r.error is None, r.error
    assert [v.status for v in r.verdicts] == ["pass", "pass"], [v.evidence for v in r.verdicts]
    assert r.metrics["phase.fault.count.ConnectionError"].value > 0
    assert r.metrics["recovery_time"].value <= 0.2  # within a tick of the fault's end


class _Crash:
    """A fault that kills the proxy outright (as a crashed proxy process would)."""

    label = "proxy crash"

    def __init__(self, proxy: Proxy) -> None:
        self.proxy = proxy

    def __enter__(self) -> None:
        self.proxy.stop()

    def __exit__(self, *exc: object) -> None:
        pass


@pytest.mark.slow
# A proxy stopped mid-flood once left the connection accepted at that instant open (Python
# 3.11's Server._attach assertion, swallowed): its client waited for its own timeout, both
# VUs in 2 runs of 20 beside a busy loop, and the fault phase saw only timeouts.
# faults._loop.shut_down now stops accepting before it closes the server.
def test_a_proxy_that_dies_mid_run_does_not_hang_the_load(echo: EchoServer) -> None:
    proxy = Proxy(f"127.0.0.1:{echo.port}").start()

    def call() -> None:
        time.sleep(0.002)  # some work: refusals alone would spin the VUs (see checkout)
        with socket.create_connection(("127.0.0.1", proxy.port), timeout=1) as c:
            c.sendall(b"hi")
            if recv_exactly(c, 2) != b"hi":
                raise ConnectionError("cut")

    r = pg.load(call, vus=2, tick=0.2,
                faults=[pg.baseline("0.4s"), pg.fault("0.4s", _Crash(proxy))])
    assert r.error is None
    assert r.metrics["phase.baseline.requests"].value > 0
    assert r.metrics["phase.baseline.error_rate"].value < 0.05  # the boundary tick's lag
    assert r.metrics["phase.fault.errors"].value > 0  # refused: counted, not hung
    classes = {k.rsplit(".", 1)[1] for k in r.metrics if k.startswith("phase.fault.count.")}
    assert classes & {"ConnectionRefusedError", "ConnectionResetError", "ConnectionError"}
    assert "timeout" not in classes  # no connection was left open behind the dead proxy
