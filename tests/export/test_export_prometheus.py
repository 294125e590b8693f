"""Prometheus exposition during a real load test against a real local server.

Scrapes happen inside the live callback (between two ticks, while the workers run) and once
more on the final tick, so no sleep or timing guess decides what a scrape sees.
"""

from __future__ import annotations

import itertools
import socket
from collections.abc import Sequence

import numpy as np
import pytest
from _scrape import free_port, scrape, total

import perfgate as pg
from _load_servers import Reply, Server
from perfgate.export._prometheus import BOUNDS_NS, parse_listen, prometheus_buckets
from perfgate.load import LiveStats, LogHistogram
from perfgate.load._histogram import _edges, bucket_index
from perfgate.model import Result


def mixed(n: int, path: str) -> Reply:
    """Every 10th request a 500, every 7th a 404: three outcome classes to count."""
    if n % 10 == 0:
        return Reply(500)
    if n % 7 == 0:
        return Reply(404)
    return Reply(200)


def _assert_final_matches(final: dict, r: Result) -> None:
    m = r.metrics
    assert total(final, "perfgate_requests_total") == m["requests"].value
    assert total(final, "perfgate_errors_total") == m["errors"].value
    for cls in ("ok", "http_4xx", "http_5xx"):
        assert total(final, "perfgate_requests_total", outcome=cls) == m[f"count.{cls}"].value
    assert m["count.http_4xx"].value > 0 and m["count.http_5xx"].value > 0
    assert total(final, "perfgate_latency_seconds_count") == m["latency"].n
    assert total(final, "perfgate_latency_seconds_bucket", le="+Inf") == m["latency"].n
    assert total(final, "perfgate_latency_seconds_sum") == pytest.approx(
        m["latency"].mean * m["latency"].n, rel=1e-9)
    assert total(final, "perfgate_dropped_total") == m["dropped"].value


@pytest.mark.slow
def test_scrapes_during_a_run_are_monotonic_and_end_at_the_result() -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}/metrics"
    scrapes: list[dict] = []
    final: list[dict] = []

    def during(s: LiveStats) -> None:
        (final if s.final else scrapes).append(scrape(url))

    with Server(mixed) as srv:
        r = pg.load(srv.url, vus=4, duration="1.5s", processes=2, tick=0.25,
                    prometheus=f"127.0.0.1:{port}", progress=during, name="mixed <b>&\"")
    assert r.error is None
    assert len(scrapes) >= 4 and len(final) == 1
    # counters never go down, across every scrape, for every label set
    counters = ("perfgate_requests_total", "perfgate_errors_total", "perfgate_dropped_total",
                "perfgate_latency_seconds_count", "perfgate_latency_seconds_bucket",
                "perfgate_generator_cpu_seconds_total")
    seq = [*scrapes, final[0]]
    for a, b in itertools.pairwise(seq):
        for key, v in a.items():
            if key[0] in counters:
                assert b.get(key, -1) >= v, key
    assert total(scrapes[-1], "perfgate_requests_total") > total(scrapes[0],
                                                                 "perfgate_requests_total")
    _assert_final_matches(final[0], r)
    # one series per worker, the scenario name carried as a label value, verbatim
    workers = {dict(k[1])["worker"] for k in final[0] if k[0] == "perfgate_vus"}
    assert workers == {"0", "1"}
    assert {dict(k[1])["scenario"] for k in final[0]} == {"mixed <b>&\""}
    assert total(final[0], "perfgate_vus") == 4
    assert total(final[0], "perfgate_generator_rss_bytes") > 0


def test_histogram_buckets_are_exact_edges_of_the_log_histogram() -> None:
    lo, _ = _edges(bucket_index(np.asarray(BOUNDS_NS, dtype=np.int64)))
    assert list(lo) == list(BOUNDS_NS)  # a bound never cuts a bucket: counts are exact
    values = np.array([8191, 8192, 12287, 12288, 1_000_000, 5_000_000_000, 10**12])
    buckets = dict(prometheus_buckets(LogHistogram.of(values)))
    for b in BOUNDS_NS:
        assert buckets[repr(b / 1e9)] == int((values < b).sum())
    assert buckets["+Inf"] == len(values)


@pytest.mark.parametrize("text", ["nonsense", "127.0.0.1:99999", "host:port"])
def test_a_bad_listen_address_is_a_usage_error(text: str) -> None:
    with pytest.raises(pg.UsageError, match="--prometheus"):
        parse_listen(text)


def test_a_port_in_use_fails_before_the_load_starts() -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        taken = s.getsockname()[1]
        with pytest.raises(pg.UsageError, match="cannot listen"):
            pg.load(lambda: None, iterations=1, prometheus=f"127.0.0.1:{taken}")


def test_a_stuck_scraper_holds_neither_the_load_nor_other_scrapes() -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}/metrics"
    stuck: list[socket.socket] = []
    final: list[dict] = []

    def during(s: LiveStats) -> None:
        if not stuck:  # a scraper that never finishes its request
            c = socket.create_connection(("127.0.0.1", port))
            c.sendall(b"GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\n")
            stuck.append(c)
        if s.final:
            final.append(scrape(url))

    try:
        r = pg.load(lambda: None, vus=1, iterations=3000, processes=1, tick=0.02,
                    prometheus=f"127.0.0.1:{port}", progress=during)
    finally:
        for c in stuck:
            c.close()
    assert r.error is None and stuck
    assert total(final[0], "perfgate_requests_total") == 3000 == r.metrics["requests"].value


class Broken:
    """An output that fails on its second tick."""

    name = "broken"

    def __init__(self) -> None:
        self.calls = 0
        self.stopped = False

    def start(self) -> None:
        pass

    def add(self, scenario: str, stats: LiveStats) -> None:
        self.calls += 1
        if self.calls == 2:
            raise RuntimeError("disk full")

    def stop(self, results: Sequence[Result]) -> list[str]:
        self.stopped = True
        return []


def test_an_output_that_raises_is_switched_off_with_a_warning() -> None:
    b = Broken()
    r = pg.load(lambda: None, vus=1, iterations=2000, processes=1, tick=0.01, outputs=[b])
    assert r.error is None and r.metrics["requests"].value == 2000
    assert b.calls == 2 and b.stopped  # not called again after it failed
    assert "broken: switched off after an error: disk full" in r.warnings
