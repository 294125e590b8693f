"""OTLP/HTTP export read back by a local collector stand-in that decodes the real protobuf
(``ExportMetricsServiceRequest`` from opentelemetry-proto)."""

from __future__ import annotations

import gzip
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from _scrape import free_port

import perfgate as pg
from _load_servers import Reply, Server

pb = pytest.importorskip("opentelemetry.proto.collector.metrics.v1.metrics_service_pb2")


class Collector:
    """Accepts POST /v1/metrics, keeps every decoded request."""

    def __init__(self) -> None:
        self.requests: list[Any] = []
        got = self.requests

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                if self.headers.get("Content-Encoding") == "gzip":
                    body = gzip.decompress(body)
                msg = pb.ExportMetricsServiceRequest()
                msg.ParseFromString(body)
                got.append(msg)
                reply = pb.ExportMetricsServiceResponse().SerializeToString()
                self.send_response(200)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def points(self, name: str) -> list[tuple[dict[str, str], float]]:
        """The data points of ``name`` in the last export that carries it."""
        for req in reversed(self.requests):
            found = [
                m for rm in req.resource_metrics for sm in rm.scope_metrics
                for m in sm.metrics if m.name == name
            ]
            if found:
                m = found[0]
                data = m.sum if m.HasField("sum") else m.gauge
                return [({a.key: a.value.string_value for a in p.attributes},
                         p.as_int if p.HasField("as_int") else p.as_double)
                        for p in data.data_points]
        return []


@pytest.fixture
def collector() -> Iterator[Collector]:
    c = Collector()
    try:
        yield c
    finally:
        c.server.shutdown()
        c.server.server_close()


def _statuses(n: int, path: str) -> Reply:
    return Reply(503) if n % 5 == 0 else Reply(200)


@pytest.mark.slow
def test_the_last_export_equals_the_result(collector: Collector) -> None:
    with Server(_statuses) as srv:
        r = pg.load(srv.url, vus=2, iterations=400, processes=1, tick=0.1,
                    otlp=collector.url, name="otlp run")
    assert r.error is None
    assert not [w for w in r.warnings if w.startswith("otlp")], r.warnings  # a busy machine may add a generator warning
    assert collector.requests  # at least the final export at shutdown
    req = collector.points("perfgate.requests")
    assert sum(v for _, v in req) == 400 == r.metrics["requests"].value
    by = {a["outcome"]: v for a, v in req}
    assert by == {"ok": r.metrics["count.ok"].value, "http_5xx": r.metrics["count.http_5xx"].value}
    assert {a["scenario"] for a, _ in req} == {"otlp run"}
    assert sum(v for _, v in collector.points("perfgate.latency.count")) == r.metrics["latency"].n
    quantiles = {a["quantile"] for a, _ in collector.points("perfgate.latency")}
    assert quantiles == {"0.5", "0.9", "0.95", "0.99"}
    res = collector.requests[-1].resource_metrics[0].resource
    assert {a.key: a.value.string_value for a in res.attributes}["service.name"] == "perfgate"


@pytest.mark.slow
def test_an_unreachable_collector_is_a_warning_not_a_failed_run() -> None:
    dead = f"http://127.0.0.1:{free_port()}"
    with Server(_statuses) as srv:
        r = pg.load(srv.url, vus=1, iterations=30, processes=1, otlp=dead)
    assert r.error is None and r.metrics["requests"].value == 30
    assert any(w.startswith(f"otlp {dead}/v1/metrics:") and "failed" in w for w in r.warnings)


def test_a_malformed_otlp_url_is_a_usage_error() -> None:
    with pytest.raises(pg.UsageError, match="--otlp"):
        pg.load(lambda: None, iterations=1, otlp="127.0.0.1:4318")
