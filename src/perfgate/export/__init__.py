"""Live metrics while a load test runs: Prometheus (scrape and Pushgateway), OpenTelemetry
(OTLP/HTTP) and a live page, each an :class:`Output` fed once per tick (docs/live.md).

Outputs are a listener concern, not part of a spec: :func:`live_listener` wraps the runner's
listener, and the entry points (``pg.load(prometheus=…)``, ``perfgate load --prometheus``,
``perfgate run --prometheus``) build it from their options.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from perfgate.export._dashboard import DashboardOutput
from perfgate.export._otlp import OtlpOutput
from perfgate.export._output import LiveListener, Output
from perfgate.export._prometheus import PrometheusOutput
from perfgate.model import Result

__all__ = [
    "DashboardOutput",
    "LiveListener",
    "OtlpOutput",
    "Output",
    "PrometheusOutput",
    "live_listener",
    "make_outputs",
]


def make_outputs(*, prometheus: str | None = None, pushgateway: str | None = None,
                 otlp: str | None = None, dashboard: str | bool | None = None,
                 report: Callable[[Sequence[Result]], str] | None = None) -> list[Output]:
    """The outputs the options ask for (none when every option is None/False).

    ``prometheus``: ``HOST:PORT`` to serve ``/metrics`` on; ``pushgateway``: a URL pushed to
    at the end; ``otlp``: an OTLP/HTTP metrics URL (extra ``perfgate[otel]``);
    ``dashboard``: True or ``HOST:PORT`` for the live page (127.0.0.1, a free port), which
    turns into the HTML report that ``report`` renders from the final Results."""
    outs: list[Output] = []
    if prometheus is not None or pushgateway is not None:
        outs.append(PrometheusOutput(prometheus, pushgateway))
    if otlp is not None:
        outs.append(OtlpOutput(otlp))
    if dashboard:
        outs.append(DashboardOutput(dashboard if isinstance(dashboard, str) else None,
                                    report=report))
    return outs


def live_listener(inner: Any, outputs: list[Output], scenario: str = "") -> LiveListener:
    """``inner`` (a runner listener) with ``outputs`` fed each tick; call ``start()``
    before the run and ``stop(results)`` after it (it returns the outputs' warnings)."""
    return LiveListener(inner, outputs, scenario)
