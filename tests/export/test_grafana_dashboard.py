"""The Grafana dashboard in examples/grafana/ asks only for metrics and labels the exporter
serves (read back from a real ``/metrics`` endpoint)."""

from __future__ import annotations

import json
import re
from pathlib import Path

from _scrape import scrape

from perfgate.export._prometheus import PrometheusOutput
from perfgate.load import LiveStats, LogHistogram
from perfgate.load._run import WorkerLive

DASHBOARD = Path(__file__).parents[2] / "examples" / "grafana" / "perfgate-live.json"


def _served() -> tuple[set[str], set[str]]:
    out = PrometheusOutput("127.0.0.1:0")
    out.start()
    try:
        w = WorkerLive(0, requests=10, errors={"http_5xx": 2}, dropped=1, inflight=3, vus=4,
                       cpu_seconds=0.5, loop_lag=0.001,
                       latency=LogHistogram.of([1_000_000] * 10))
        out.add("s", LiveStats(elapsed=1.0, fraction=0.5, rps=10.0, errors=2, p99=0.001,
                               requests=10, total_errors=2, inflight=3, workers=(w,),
                               rss=1e6))
        assert out.url is not None
        got = scrape(out.url)
    finally:
        out.stop([])
    names = {n for n, _ in got}
    labels = {k for _, ls in got for k, _ in ls}
    return names, labels


def test_every_query_names_a_served_metric() -> None:
    dash = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    exprs = [t["expr"] for p in dash["panels"] for t in p["targets"]]
    assert len(dash["panels"]) >= 6
    names, labels = _served()
    asked = {m for e in exprs for m in re.findall(r"\bperfgate_[a-z_]+", e)}
    assert asked and asked <= names, asked - names
    by = {lab.strip() for e in exprs for grp in re.findall(r"by \(([^)]*)\)", e)
          for lab in grp.split(",")}
    assert by - {"le"} <= labels
    for needed in ("perfgate_requests_total", "perfgate_errors_total",
                   "perfgate_latency_seconds_bucket", "perfgate_inflight",
                   "perfgate_generator_cpu_seconds_total"):
        assert needed in asked
