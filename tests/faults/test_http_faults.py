"""HTTP-level faults in front of a real HTTP server (http.server on 127.0.0.1)."""

from __future__ import annotations

import http.client
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from perfgate import UsageError
from perfgate.faults import HttpFaultProxy


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go in two writes

    def do_GET(self) -> None:
        body = b"0123456789" * 100
        self.send_response(200)
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_HEAD(self) -> None:
        self.send_response(200)
        self.send_header("content-length", "1000")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def api() -> Iterator[HttpFaultProxy]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    try:
        with HttpFaultProxy(f"127.0.0.1:{server.server_address[1]}", seed=5) as p:
            yield p
    finally:
        server.shutdown()
        server.server_close()


def _get(conn: http.client.HTTPConnection, method: str = "GET") -> tuple[int, bytes]:
    conn.request(method, "/")
    r = conn.getresponse()
    return r.status, r.read()


def test_passes_requests_through_on_one_keep_alive_connection(api: HttpFaultProxy) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", api.port, timeout=5)
    for _ in range(3):
        assert _get(conn) == (200, b"0123456789" * 100)
    assert _get(conn, "HEAD") == (200, b"")
    conn.close()
    assert api.requests == 4 and api.faulted == 0


def test_a_fraction_of_responses_becomes_503(api: HttpFaultProxy) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", api.port, timeout=5)
    with api.fault(status=503, fraction=0.3):
        statuses = [_get(conn)[0] for _ in range(100)]
    assert set(statuses) == {200, 503}
    assert 15 < statuses.count(503) < 45
    assert statuses.count(503) == api.faulted
    assert _get(conn)[0] == 200  # the rule is gone
    conn.close()


def test_every_response_429_with_retry_after(api: HttpFaultProxy) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", api.port, timeout=5)
    with api.fault(status=429):
        conn.request("GET", "/")
        r = conn.getresponse()
        assert r.status == 429 and r.getheader("retry-after") == "1"
        assert b"injected by perfgate" in r.read()
    conn.close()


def test_delay(api: HttpFaultProxy) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", api.port, timeout=5)
    with api.fault(delay="50ms"):
        t = time.perf_counter()
        assert _get(conn)[0] == 200
        assert time.perf_counter() - t >= 0.05
    conn.close()


def test_cut_mid_body(api: HttpFaultProxy) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", api.port, timeout=5)
    with api.fault(cut=True):
        conn.request("GET", "/")
        r = conn.getresponse()
        assert r.status == 200
        with pytest.raises(http.client.IncompleteRead) as exc:
            r.read()
        assert len(exc.value.partial) == 500
    conn.close()


def test_bad_rules_are_refused(api: HttpFaultProxy) -> None:
    with pytest.raises(UsageError, match="exactly one of"):
        api.fault(status=503, delay="1s")
    with pytest.raises(UsageError, match="not an HTTP status"):
        api.fault(status=999)
    with pytest.raises(UsageError, match="between 0 and 1"):
        api.fault(status=503, fraction=2)
    with pytest.raises(UsageError, match="not a duration"):
        api.fault(delay="soon")
