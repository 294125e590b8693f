"""OpenTelemetry: the live numbers exported over OTLP/HTTP with the OpenTelemetry SDK (extra
``perfgate[otel]``), so a team's collector takes them beside the service's own metrics.

Observable instruments read the latest cumulative numbers whenever the SDK's periodic reader
collects (on its own thread, every ``interval`` seconds, and once more at the end), so the
load's thread only swaps a reference per tick. Names mirror the Prometheus ones, in
OpenTelemetry's dotted style: ``perfgate.requests`` (attribute ``outcome``),
``perfgate.errors``, ``perfgate.dropped``, ``perfgate.generator.cpu`` (s),
``perfgate.inflight``, ``perfgate.vus``, ``perfgate.generator.loop_lag`` (s),
``perfgate.generator.rss`` (By), ``perfgate.latency.count``, ``perfgate.latency.sum`` (s) and
``perfgate.latency`` (s, attribute ``quantile``: the whole run so far, per worker).

The OpenTelemetry API records a histogram one value at a time and cannot take perfgate's
pre-bucketed counts, so the latency distribution goes out as quantiles; Prometheus
(``--prometheus``) carries the full histogram. A collector that is down or slow costs at most
the exporter's timeout at the end and gives a warning.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from typing import Any
from urllib.parse import urlsplit

from perfgate._errors import UsageError
from perfgate.load._histogram import LogHistogram
from perfgate.load._outcomes import OK
from perfgate.load._run import LiveStats
from perfgate.model import Result

__all__ = ["OtlpOutput", "metrics_url"]

QUANTILES = (0.5, 0.9, 0.95, 0.99)
PHASE = "main"
_TIMEOUT_S = 3.0


def metrics_url(url: str) -> str:
    """An OTLP/HTTP base URL (``http://host:4318``) gets the metrics path ``/v1/metrics``."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise UsageError(f"--otlp {url!r}: expected an http(s) URL, e.g. "
                         "http://127.0.0.1:4318")
    return url if parts.path not in ("", "/") else url.rstrip("/") + "/v1/metrics"


class OtlpOutput:
    """Exports to the OTLP/HTTP metrics endpoint ``url`` every ``interval`` seconds."""

    name = "otlp"

    def __init__(self, url: str, interval: float = 5.0) -> None:
        self.url = metrics_url(url)
        self.interval = interval
        self.latest: dict[str, LiveStats] = {}
        self.exports = 0
        self.failures: list[str] = []
        self._provider: Any = None
        self._lock = threading.Lock()

    def start(self) -> None:
        if self._provider is not None:
            return
        try:
            from opentelemetry.exporter.otlp.proto.http.metric_exporter import (
                OTLPMetricExporter,
            )
            from opentelemetry.sdk.metrics import MeterProvider
            from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
            from opentelemetry.sdk.resources import Resource
        except ImportError:
            raise UsageError("--otlp needs the OpenTelemetry SDK: "
                             "pip install 'perfgate[otel]'") from None
        exporter = _watched(OTLPMetricExporter(endpoint=self.url, timeout=_TIMEOUT_S), self)
        reader = PeriodicExportingMetricReader(
            exporter, export_interval_millis=self.interval * 1000,
            export_timeout_millis=_TIMEOUT_S * 1000,
        )
        self._provider = MeterProvider(
            metric_readers=[reader], resource=Resource.create({"service.name": "perfgate"}))
        m = self._provider.get_meter("perfgate")
        for name, unit, fn, doc in (
            ("perfgate.requests", "{request}", self._requests, "iterations by outcome class"),
            ("perfgate.errors", "{request}", self._errors, "failed iterations by class"),
            ("perfgate.dropped", "{request}", self._worker("dropped"), "dropped arrivals"),
            ("perfgate.generator.cpu", "s", self._worker("cpu_seconds"), "generator CPU"),
            ("perfgate.latency.count", "{request}", self._lat_count, "latency samples"),
            ("perfgate.latency.sum", "s", self._lat_sum, "sum of latencies"),
        ):
            m.create_observable_counter(name, callbacks=[fn], unit=unit, description=doc)
        for name, unit, fn, doc in (
            ("perfgate.inflight", "{request}", self._worker("inflight"), "in flight"),
            ("perfgate.vus", "{vu}", self._worker("vus"), "virtual users"),
            ("perfgate.generator.loop_lag", "s", self._worker("loop_lag"),
             "largest event-loop lag in the last tick"),
            ("perfgate.generator.rss", "By", self._rss, "generator resident memory"),
            ("perfgate.latency", "s", self._quantiles, "latency quantiles, whole run so far"),
        ):
            m.create_observable_gauge(name, callbacks=[fn], unit=unit, description=doc)

    def add(self, scenario: str, stats: LiveStats) -> None:
        self.latest[scenario] = stats

    def stop(self, results: Sequence[Result]) -> list[str]:
        if self._provider is None:
            return []
        self._provider.shutdown(timeout_millis=_TIMEOUT_S * 2000)  # one last export
        self._provider = None
        if not self.failures:
            return []
        return [f"otlp {self.url}: {len(self.failures)} of {self.exports} export(s) failed "
                f"({self.failures[-1]}); the results are unaffected"]

    # ------------------------------------------------------------------ observations

    def _each(self) -> Iterator[tuple[dict[str, str], Any]]:
        for scenario, s in list(self.latest.items()):
            for w in s.workers:
                yield {"scenario": scenario, "phase": PHASE, "worker": str(w.index)}, w

    def _requests(self, options: Any) -> Iterator[Any]:
        from opentelemetry.metrics import Observation

        for attrs, w in self._each():
            yield Observation(w.requests - sum(w.errors.values()), {**attrs, "outcome": OK})
            for cls, n in w.errors.items():
                yield Observation(n, {**attrs, "outcome": cls})

    def _errors(self, options: Any) -> Iterator[Any]:
        from opentelemetry.metrics import Observation

        for attrs, w in self._each():
            for cls, n in w.errors.items():
                yield Observation(n, {**attrs, "outcome": cls})

    def _worker(self, field: str) -> Any:
        def observe(options: Any) -> Iterator[Any]:
            from opentelemetry.metrics import Observation

            for attrs, w in self._each():
                yield Observation(getattr(w, field), attrs)

        return observe

    def _lat_count(self, options: Any) -> Iterator[Any]:
        from opentelemetry.metrics import Observation

        for attrs, w in self._each():
            yield Observation(w.latency.n, attrs)

    def _lat_sum(self, options: Any) -> Iterator[Any]:
        from opentelemetry.metrics import Observation

        for attrs, w in self._each():
            yield Observation(w.latency.total / 1e9, attrs)

    def _quantiles(self, options: Any) -> Iterator[Any]:
        from opentelemetry.metrics import Observation

        for attrs, w in self._each():
            h: LogHistogram = w.latency
            if h.n:
                for q in QUANTILES:
                    yield Observation(h.quantile(q) / 1e9, {**attrs, "quantile": f"{q:g}"})

    def _rss(self, options: Any) -> Iterator[Any]:
        from opentelemetry.metrics import Observation

        for scenario, s in list(self.latest.items()):
            yield Observation(s.rss, {"scenario": scenario, "phase": PHASE})


def _watched(inner: Any, out: OtlpOutput) -> Any:
    """The OTLP exporter, counting its exports and failures for the end-of-run warning."""
    from opentelemetry.sdk.metrics.export import MetricExporter, MetricExportResult

    class Watched(MetricExporter):
        def __init__(self) -> None:
            super().__init__(preferred_temporality=inner._preferred_temporality,
                             preferred_aggregation=inner._preferred_aggregation)

        def export(self, metrics_data: Any, timeout_millis: float = 10_000,
                   **kwargs: Any) -> MetricExportResult:
            out.exports += 1
            try:
                r = inner.export(metrics_data, timeout_millis=timeout_millis, **kwargs)
            except Exception as exc:  # noqa: BLE001 - a collector's failure is a warning
                out.failures.append(str(exc))
                return MetricExportResult.FAILURE
            if r != MetricExportResult.SUCCESS:
                out.failures.append("the collector did not accept the export")
            return r  # type: ignore[no-any-return]

        def force_flush(self, timeout_millis: float = 10_000) -> bool:
            return bool(inner.force_flush(timeout_millis=timeout_millis))

        def shutdown(self, timeout_millis: float = 30_000, **kwargs: Any) -> None:
            inner.shutdown(timeout_millis=timeout_millis, **kwargs)

    return Watched()
