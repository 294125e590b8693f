"""The live page's server without a browser: its state, its handover to the report, and a
page that never comes back (the run still ends promptly)."""

from __future__ import annotations

import json
import threading
import time
import urllib.error
import urllib.request

import pytest

from perfgate.export import DashboardOutput
from perfgate.load import LiveStats, LogHistogram
from perfgate.load._run import WorkerLive
from perfgate.model import Result

HOSTILE = '</script><img src=x onerror=alert(1)>'


def _stats(requests: int, final: bool = False) -> LiveStats:
    w = WorkerLive(0, requests=requests, errors={"http_5xx": 1}, inflight=2, vus=2,
                   cpu_seconds=0.1, latency=LogHistogram.of([1000] * requests))
    return LiveStats(elapsed=requests / 10, fraction=None, rps=10.0, errors=1, p99=1e-6,
                     requests=requests, total_errors=1, inflight=2, workers=(w,), rss=1e6,
                     final=final)


def _get(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=10) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def test_state_carries_names_as_data_and_hands_over_to_the_report() -> None:
    d = DashboardOutput(report=lambda rs: f"<html><head></head><body>{len(rs)} result</body>"
                                          "</html>")
    d.start()
    assert d.url is not None
    d.add(HOSTILE, _stats(5))
    d.add(HOSTILE, _stats(9))
    code, body = _get(d.url + "state")
    state = json.loads(body)
    assert code == 200 and state["done"] is False and state["report"] is False
    sc = state["scenarios"][0]
    assert sc["name"] == HOSTILE  # JSON data; the page shows it with textContent
    assert [r[0] for r in sc["rows"]] == [0.5, 0.9]
    assert sc["now"]["by_class"] == {"ok": 8, "http_5xx": 1} and sc["now"]["vus"] == 2
    assert sc["now"]["run_p50"] == pytest.approx(1e-6)  # every sample was 1000 ns
    assert _get(d.url + "report")[0] == 404  # not before the end
    page = _get(d.url)[1].decode()
    assert "textContent" in page and "innerHTML" not in page and "http" not in page.split(
        "<script>", 1)[1].split("fetch(", 1)[0]
    # the end: a watching page (we just polled /state) gets the report before the server goes
    stopper = threading.Thread(target=d.stop, args=([Result(name="r", kind="load")],))
    stopper.start()
    end = time.monotonic() + 10
    while not json.loads(_get(d.url + "state")[1])["report"]:  # what the page's poll does
        assert time.monotonic() < end
    code, body = _get(d.url + "report")
    assert code == 200 and b"1 result" in body and b'<link rel="icon" href="data:,">' in body
    stopper.join(10)
    assert not stopper.is_alive()
    with pytest.raises(OSError):
        urllib.request.urlopen(d.url + "state", timeout=2)


def test_without_a_watching_page_the_end_does_not_wait() -> None:
    d = DashboardOutput(report=lambda rs: "<html><head></head></html>")
    d.handover = 3600.0  # were it to wait for a page, the join below would give up
    d.start()
    d.add("s", _stats(3))
    got: list[list[str]] = []
    t = threading.Thread(target=lambda: got.append(d.stop([Result(name="r", kind="load")])))
    t.start()
    t.join(60)
    assert not t.is_alive() and got == [[]]
