"""``--prometheus``, ``--pushgateway``, ``--otlp``, ``--dashboard``: live outputs for the
verbs that run load tests (``perfgate load``, ``perfgate run``)."""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import click
from rich.markup import escape

from perfgate._api import html_report
from perfgate._errors import Interrupted
from perfgate.cli._common import F, err
from perfgate.model import Environment, Result

if TYPE_CHECKING:  # the export package is imported when an option asks for it
    from perfgate.export import LiveListener, Output


def export_options(fn: F) -> F:
    opts = [
        click.option("--prometheus", metavar="HOST:PORT",
                     help="Serve live metrics for Prometheus on /metrics, e.g. "
                          "127.0.0.1:9464 (docs/live.md)."),
        click.option("--pushgateway", metavar="URL",
                     help="Push the final metrics to this Prometheus Pushgateway."),
        click.option("--otlp", metavar="URL",
                     help="Export live metrics over OTLP/HTTP, e.g. http://127.0.0.1:4318 "
                          "(needs perfgate[otel])."),
        click.option("--dashboard", "dashboard", is_flag=False, flag_value="127.0.0.1:0",
                     default=None, metavar="[HOST:PORT]",
                     help="Serve a live page of the run (127.0.0.1, a free port unless "
                          "given); it turns into the HTML report at the end."),
    ]
    for o in reversed(opts):
        fn = o(fn)
    return fn


def start_outputs(opts: dict[str, Any], environment: Environment | None = None
                  ) -> list[Output]:
    """Pop the export options, start what they ask for, and say where to look."""
    given = {k: opts.pop(k, None) for k in ("prometheus", "pushgateway", "otlp", "dashboard")}
    if not any(given.values()):
        return []
    from perfgate.export import make_outputs

    if given["otlp"]:  # a failed export is one warning at the end, not log lines meanwhile
        logging.getLogger("opentelemetry").setLevel(logging.CRITICAL)
    outs = make_outputs(**given, report=lambda rs: html_report(rs, environment))
    for o in outs:
        o.start()
        url = getattr(o, "url", None)
        if isinstance(url, str) and o.name != "otlp":
            err.print(f"[bold]{o.name}:[/] {escape(url)}")
    return outs


def print_warnings(warnings: Sequence[str]) -> None:
    for w in warnings:
        err.print(f"[yellow]warning:[/] {escape(w)}")


@contextmanager
def exporting(inner: Any, outs: list[Output]) -> Iterator[Any]:
    """``inner`` wrapped so every load test's ticks reach ``outs`` (``inner`` itself when
    there are none); the outputs stop at the end, their warnings printed."""
    if not outs:
        yield inner
        return
    from perfgate.export import live_listener

    lst: LiveListener = live_listener(inner, outs)
    lst.start()
    results: list[Result] | None = None
    try:
        yield lst
    except Interrupted as exc:
        results = list(exc.results)
        raise
    finally:
        print_warnings(lst.stop(results))
