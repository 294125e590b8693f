"""The load engine against real HTTP servers on 127.0.0.1 (started by each test)."""

from __future__ import annotations

from pathlib import Path

import pytest

import perfgate as pg
from _load_servers import Reply, Server, Stalls, always, self_signed
from perfgate.model import ResultSet


def test_closed_model_counts_every_request(tmp_path: Path) -> None:
    with Server(always()) as s:
        r = pg.load(s.url, vus=4, duration=0.4, processes=1,
                    checks=["error_rate < 1%", "p(99) < 1s", "count(ok) > 10"])
    m = r.metrics
    assert r.kind == "load" and r.status == "pass"
    n = m["requests"].value
    assert n == s.answered == m["count.ok"].value == m["service_time"].n
    assert m["latency"].n == n + r.extra.get("co_synthetic_samples", 0)
    assert m["errors"].value == 0 and m["dropped"].value == 0
    lat = m["latency"]
    assert lat.min is not None and lat.p99 is not None and lat.max is not None
    assert 0 < lat.min <= lat.median <= lat.p99 <= lat.max  # type: ignore[operator]
    assert m["rps"].value and m["rps"].value > 0
    assert m["series.rps"].points and m["series.inflight"].points
    assert lat.extra["histogram"]["n"] == lat.n
    # the JSON form round-trips
    back = ResultSet.from_json(ResultSet(pg.collect_environment(), (r,)).to_json())
    assert back.results[0].metrics["requests"].value == n


def test_error_classes_are_counted_with_examples() -> None:
    def flaky(n: int, path: str) -> Reply:
        return Reply(500) if n % 5 == 0 else Reply(404) if n % 7 == 0 else Reply()

    with Server(flaky) as s:
        r = pg.load(s.url, iterations=140, vus=2, processes=1, checks=["error_rate < 1%"])
    m = r.metrics
    assert m["requests"].value == 140 == s.answered
    assert m["count.http_5xx"].value == 28
    assert m["count.http_4xx"].value == 16  # multiples of 7 that are not multiples of 5
    assert m["errors"].value == 44 and m["count.ok"].value == 96
    assert m["error_rate"].value == pytest.approx(44 / 140)
    assert r.extra["errors_examples"]["http_5xx"][0]["message"] == "HTTP 500"
    assert r.extra["status_codes"] == {"404": 16, "500": 28}
    assert r.status == "fail"


def test_chunked_bodies_and_weighted_endpoints() -> None:
    with Server(lambda n, path: Reply(body=b"x" * 100, chunked=True)) as s:
        r = pg.load([(3, s.url + "a"), (1, s.url + "b")], iterations=400, vus=2, processes=1)
    assert r.metrics["count.ok"].value == 400 and r.metrics["errors"].value == 0
    assert s.paths["/a"] + s.paths["/b"] == 400
    assert 0.65 < s.paths["/a"] / 400 < 0.85


def test_post_with_headers_and_body() -> None:
    with Server(always(201)) as s:
        r = pg.load(pg.Request(s.url + "orders", "POST", {"X-Test": "1"}, b'{"sku": 1}'),
                    iterations=20, processes=1)
    assert r.metrics["count.ok"].value == 20 and s.paths["/orders"] == 20


def test_tls(tmp_path: Path) -> None:
    ctx, cert = self_signed(tmp_path)
    with Server(lambda n, p: Reply(chunked=n % 2 == 0), tls=ctx) as s:
        verified = pg.load(s.url, iterations=30, vus=2, processes=1, ca_file=str(cert))
        insecure = pg.load(s.url, iterations=10, processes=1, verify=False)
        refused = pg.load(s.url, iterations=3, processes=1)  # unknown CA
    assert verified.metrics["count.ok"].value == 30
    assert insecure.metrics["count.ok"].value == 10
    assert refused.metrics["count.ok"].value == 0
    assert refused.metrics["count.SSLCertVerificationError"].value == 3


def test_a_server_that_dies_mid_run() -> None:
    duration = 0.8
    with Server(lambda n, p: Reply(die=n == 50)) as s:
        r = pg.load(s.url, vus=3, duration=duration, processes=1, grace=0.2)
    m = r.metrics
    # Ended with its schedule, not by waiting out the 30 s request timeout on dead
    # connections: a behaviour bound, far from anything a slow machine could reach.
    assert r.extra["duration"] < 10
    assert m["count.ok"].value == 50  # what was measured is kept
    assert m["errors"].value >= 3  # the requests in flight, then refused connections
    assert m["count.ConnectionRefusedError"].value > 0
    assert r.error is None and m["service_time"].n == m["count.ok"].value == m["latency"].n


def test_timeouts() -> None:
    with Server(lambda n, p: Reply(hang=n == 0)) as s:
        r = pg.load(s.url, vus=1, iterations=3, timeout=0.2, processes=1)
    assert r.metrics["count.timeout"].value == 1
    assert r.metrics["count.ok"].value == 2
    # the timed-out iteration is a failure: its 0.2 s is not a request's latency
    assert r.metrics["latency_failed"].max == pytest.approx(0.2, abs=0.1)
    assert r.metrics["latency"].n == 2 and r.metrics["latency"].max < 0.15


@pytest.mark.slow
def test_open_model_shows_the_stall_and_closed_model_does_not_hide_it() -> None:
    # the server holds every answer for 0.3 s once every 0.9 s
    with Server(Stalls(period=0.9, stall=0.3)) as s:
        opened = pg.load(s.url, rate="200/s", duration=2.0, max_vus=200, processes=1, tick=0.25)
    lat, svc = opened.metrics["latency"], opened.metrics["service_time"]
    assert lat.p99 is not None and lat.p99 > 0.2  # p99 shows the stall
    assert lat.extra["percentiles"]["99"] > 0.2
    assert opened.metrics["requests"].value == pytest.approx(400, abs=5)
    assert max(v for _, v in opened.metrics["series.p99"].points or ()) > 0.2
    assert svc.median is not None and svc.median < 0.05

    with Server(Stalls(period=0.9, stall=0.3)) as s:
        closed = pg.load(s.url, vus=4, duration=2.0, processes=1, tick=0.25, co_correct=True)
    clat, csvc = closed.metrics["latency"], closed.metrics["service_time"]
    # only the 4 requests in flight see each stall: raw service times hide it in p99 ...
    assert csvc.max is not None and csvc.max > 0.2
    # ... so the asked-for correction adds (boundedly) the samples the stuck VUs failed to
    # send, and p99 shows it while p50 stays the real one
    assert clat.p99 is not None and csvc.p99 is not None and clat.p99 > csvc.p99
    assert 0 < closed.extra["co_synthetic_samples"] <= 0.05 * csvc.n + 1
    assert clat.p50 == pytest.approx(csvc.p50, rel=0.1)
    assert "bounded" in closed.extra["latency_correction"]
    assert max(v for _, v in closed.metrics["series.p99"].points or ()) > 0.2


@pytest.mark.slow
def test_open_model_drops_what_cannot_start_in_time() -> None:
    with Server(lambda n, p: Reply(delay=0.1)) as s:
        r = pg.load(s.url, rate="100/s", duration=1.0, max_vus=2, max_wait=0.05, processes=1)
    m = r.metrics
    assert m["dropped"].value and m["dropped"].value > 30
    assert m["requests"].value is not None and m["requests"].value <= 25
    assert m["requests"].value + m["dropped"].value == pytest.approx(100, abs=3)
    assert any("dropped" in w for w in r.warnings)
    # latency counts from the intended start: waiting for a VU is included
    assert m["latency"].mean is not None and m["service_time"].mean is not None
    assert m["latency"].mean > m["service_time"].mean


@pytest.mark.slow
def test_processes_merge_exactly() -> None:
    with Server(always()) as s:
        r = pg.load(s.url, vus=4, iterations=2000, processes=2)
    assert r.params["processes"] == 2
    assert r.metrics["requests"].value == 2000 == s.answered
    assert r.metrics["service_time"].n == 2000
    assert set(r.extra["generator"]["cpu"]) == {"0", "1"}


def test_remote_hosts_are_refused() -> None:
    for url in ("http://10.1.2.3/", "https://example.com/"):
        with pytest.raises(pg.UsageError, match="loopback"):
            pg.load(url, iterations=1)


def test_bad_arguments() -> None:
    with pytest.raises(pg.UsageError):
        pg.load("ftp://127.0.0.1/", iterations=1)
    with pytest.raises(pg.CheckSyntaxError):
        pg.load("http://127.0.0.1:1/", iterations=1, checks=["p(99) <"])
    with pytest.raises(pg.UnitError):
        pg.load("http://127.0.0.1:1/", iterations=1, checks=["p(99) < 5MB"])


def test_connection_refused_from_the_start() -> None:
    with Server(always()) as s:
        url = s.url
    r = pg.load(url, vus=2, duration=0.2, processes=1)
    assert r.metrics["count.ok"].value == 0
    assert r.metrics["count.ConnectionRefusedError"].value
    assert r.metrics["error_rate"].value == 1.0
