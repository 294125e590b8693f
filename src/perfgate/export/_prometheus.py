"""Prometheus exposition of a running load test, and a push to a Pushgateway at the end.

A custom collector renders the latest cumulative numbers at each scrape, so the load's
thread only swaps a reference per tick (no ``Counter.inc`` on the hot path, no lock a slow
scraper could hold): the scrape runs on ``prometheus_client``'s own server thread.

Metrics (base units; labels ``scenario``, ``phase``, ``worker``, and ``outcome`` for
counts): ``perfgate_requests_total`` by outcome class (``ok``, ``http_5xx``, …; their sum is
the Result's ``requests``), ``perfgate_errors_total`` by class, ``perfgate_dropped_total``,
``perfgate_generator_cpu_seconds_total``; gauges ``perfgate_inflight``, ``perfgate_vus``,
``perfgate_generator_loop_lag_seconds`` (max of the last tick),
``perfgate_generator_rss_bytes``, ``perfgate_elapsed_seconds``, ``perfgate_progress_ratio``;
and ``perfgate_latency_seconds``, a histogram read off perfgate's own log histogram.

Its bucket bounds are two per power of two of nanoseconds (2^k and 1.5·2^k, 8 µs to 52 s):
each is an edge of the log histogram's buckets, so every cumulative count is exact, not
interpolated (a sample equal to a bound, to the nanosecond, counts above it). ``_count``
equals the Result's latency ``n``.

``phase`` is ``main`` until phased (fault) scenarios report their phases.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np

from perfgate._errors import UsageError
from perfgate.load._histogram import LogHistogram, bucket_index
from perfgate.load._outcomes import OK
from perfgate.load._run import LiveStats
from perfgate.model import Result

__all__ = ["BOUNDS_NS", "PrometheusOutput", "parse_listen", "prometheus_buckets"]

PHASE = "main"
BOUNDS_NS = tuple(b for k in range(13, 36) for b in (1 << k, 3 << (k - 1)))
_BOUND_IDX = bucket_index(np.asarray(BOUNDS_NS, dtype=np.int64))
_PUSH_TIMEOUT_S = 5.0


def prometheus_buckets(h: LogHistogram) -> list[tuple[str, float]]:
    """Cumulative ``(le, count)`` pairs, ``+Inf`` last, from a nanosecond log histogram."""
    cum = np.concatenate(([0], np.cumsum(h.counts)))
    below = cum[_BOUND_IDX]  # samples in buckets wholly below each bound
    out = [(repr(b / 1e9), float(c)) for b, c in zip(BOUNDS_NS, below, strict=True)]
    out.append(("+Inf", float(h.n)))
    return out


def parse_listen(text: str, option: str = "--prometheus") -> tuple[str, int]:
    """``HOST:PORT``, ``:PORT`` or ``PORT`` (host 127.0.0.1; port 0 picks a free one)."""
    host, sep, port = text.rpartition(":")
    if not sep:
        host, port = "", text
    host = host.strip("[]") or "127.0.0.1"
    try:
        p = int(port)
    except ValueError:
        raise UsageError(f"{option} {text!r}: expected HOST:PORT, e.g. 127.0.0.1:9464") from None
    if not 0 <= p < 65536:
        raise UsageError(f"{option} {text!r}: port {p} is out of range")
    return host, p


class _Collector:
    """Renders the latest stats of every scenario at scrape time."""

    def __init__(self) -> None:
        self.latest: dict[str, LiveStats] = {}

    def describe(self) -> list[Any]:
        return []  # collect() is cheap; no describe-time work needed

    def collect(self) -> Iterator[Any]:
        from prometheus_client.core import (
            CounterMetricFamily,
            GaugeMetricFamily,
            HistogramMetricFamily,
        )

        latest = dict(self.latest)  # a scrape reads one consistent set of references
        wl = ["scenario", "phase", "worker"]
        req = CounterMetricFamily("perfgate_requests", "Iterations completed, by outcome "
                                  "class (ok, http_4xx, http_5xx, timeout, …).",
                                  labels=[*wl, "outcome"])
        err = CounterMetricFamily("perfgate_errors", "Failed iterations, by outcome class.",
                                  labels=[*wl, "outcome"])
        dropped = CounterMetricFamily("perfgate_dropped", "Open model: arrivals dropped "
                                      "(no free VU within max_wait).", labels=wl)
        cpu = CounterMetricFamily("perfgate_generator_cpu_seconds", "CPU time used by the "
                                  "load generator's worker.", labels=wl)
        inflight = GaugeMetricFamily("perfgate_inflight", "Iterations in flight at the end "
                                     "of the last tick.", labels=wl)
        vus = GaugeMetricFamily("perfgate_vus", "Virtual users (VU slots) of the worker.",
                                labels=wl)
        lag = GaugeMetricFamily("perfgate_generator_loop_lag_seconds", "Largest event-loop "
                                "lag of the worker in the last tick.", labels=wl)
        lat = HistogramMetricFamily("perfgate_latency_seconds", "Latency (open model: from "
                                    "the intended start, coordinated omission corrected).",
                                    labels=wl)
        sl = ["scenario", "phase"]
        rss = GaugeMetricFamily("perfgate_generator_rss_bytes", "Resident memory of the "
                                "generator's processes.", labels=sl)
        elapsed = GaugeMetricFamily("perfgate_elapsed_seconds", "Seconds since the load "
                                    "started.", labels=sl)
        frac = GaugeMetricFamily("perfgate_progress_ratio", "Fraction of the planned "
                                 "duration done (absent for an iterations budget).",
                                 labels=sl)
        for scenario, s in latest.items():
            for w in s.workers:
                labels = [scenario, PHASE, str(w.index)]
                errors = sum(w.errors.values())
                req.add_metric([*labels, OK], w.requests - errors)
                for cls, n in sorted(w.errors.items()):
                    req.add_metric([*labels, cls], n)
                    err.add_metric([*labels, cls], n)
                dropped.add_metric(labels, w.dropped)
                cpu.add_metric(labels, w.cpu_seconds)
                inflight.add_metric(labels, w.inflight)
                vus.add_metric(labels, w.vus)
                lag.add_metric(labels, w.loop_lag)
                lat.add_metric(labels, prometheus_buckets(w.latency),
                               sum_value=w.latency.total / 1e9)
            rss.add_metric([scenario, PHASE], s.rss)
            elapsed.add_metric([scenario, PHASE], s.elapsed)
            if s.fraction is not None:
                frac.add_metric([scenario, PHASE], s.fraction)
        yield from (req, err, dropped, cpu, inflight, vus, lag, lat, rss, elapsed, frac)


class PrometheusOutput:
    """Serves ``/metrics`` on ``listen`` (``HOST:PORT``) while the run goes, and/or pushes
    the final numbers to ``pushgateway`` (a URL) when it ends."""

    name = "prometheus"

    def __init__(self, listen: str | None = None, pushgateway: str | None = None,
                 job: str = "perfgate") -> None:
        from prometheus_client import CollectorRegistry

        self.listen = parse_listen(listen) if listen is not None else None
        self.pushgateway = pushgateway
        self.job = job
        self.collector = _Collector()
        self.registry = CollectorRegistry(auto_describe=False)
        self.registry.register(self.collector)
        self._server: Any = None
        self.port: int | None = None

    @property
    def url(self) -> str | None:
        """Where to scrape, once started."""
        if self.listen is None or self.port is None:
            return None
        host = self.listen[0]
        return f"http://{f'[{host}]' if ':' in host else host}:{self.port}/metrics"

    def start(self) -> None:
        if self.listen is None or self._server is not None:
            return
        from prometheus_client import start_http_server

        host, port = self.listen
        try:
            self._server, _ = start_http_server(port, addr=host, registry=self.registry)
        except OSError as exc:
            raise UsageError(f"--prometheus {host}:{port}: cannot listen ({exc})") from None
        self.port = int(self._server.server_address[1])

    def add(self, scenario: str, stats: LiveStats) -> None:
        self.collector.latest[scenario] = stats

    def stop(self, results: Sequence[Result]) -> list[str]:
        warnings: list[str] = []
        if self.pushgateway is not None and self.collector.latest:
            from prometheus_client import push_to_gateway

            try:
                push_to_gateway(self.pushgateway, job=self.job, registry=self.registry,
                                timeout=_PUSH_TIMEOUT_S)
            except Exception as exc:  # noqa: BLE001 - an unreachable gateway is a warning
                warnings.append(f"pushgateway {self.pushgateway}: the push failed ({exc}); "
                                "the results are unaffected")
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        return warnings
