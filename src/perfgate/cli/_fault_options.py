"""``perfgate load … --proxy NAME=LISTEN,UPSTREAM --fault DURATION:PHASE[:FAULT@PROXY]``:
the fault proxies a load test starts for itself, and its schedule (see
:mod:`perfgate.faults._spec` for the syntax)."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import click
from rich.table import Table

from perfgate.faults import HttpFaultProxy, Phase, Proxy
from perfgate.faults._spec import parse_phase, parse_proxy
from perfgate.model import Result
from perfgate.units import format_value

__all__ = ["fault_options", "fault_schedule", "phase_table"]

F = TypeVar("F", bound=Callable[..., Any])


def fault_options(fn: F) -> F:
    fn = click.option(
        "--fault", "fault_specs", multiple=True, metavar="DURATION:PHASE[:FAULT@PROXY;…]",
        help="A phase of a fault schedule, in order: 10s:baseline, "
             "20s:fault:latency=300ms@db, 20s:recovery (the duration follows the phases)."
    )(fn)
    fn = click.option(
        "--http-proxy", "http_proxy_specs", multiple=True, metavar="NAME=LISTEN,UPSTREAM",
        help="Start an HTTP fault proxy for the run (faults: status=503,fraction=0.2@NAME, "
             "delay=2s@NAME, cut@NAME).")(fn)
    return click.option(
        "--proxy", "proxy_specs", multiple=True, metavar="NAME=LISTEN,UPSTREAM",
        help="Start a TCP fault proxy for the run (faults: TOXIC@NAME, down@NAME, "
             "blackhole@NAME).")(fn)


@contextlib.contextmanager
def fault_schedule(opts: dict[str, Any], allow_remote: bool) -> Iterator[list[Phase] | None]:
    """Pop the fault options from ``opts``; everything is validated before any proxy
    starts, and every proxy is stopped when the block ends (whatever happened in it)."""
    proxies: dict[str, Proxy | HttpFaultProxy] = {}
    for text in opts.pop("proxy_specs", ()):
        name, listen, upstream = parse_proxy(text)
        proxies[name] = Proxy(upstream, listen, allow_remote=allow_remote, name=name)
    for text in opts.pop("http_proxy_specs", ()):
        name, listen, upstream = parse_proxy(text, "--http-proxy")
        proxies[name] = HttpFaultProxy(upstream, listen, allow_remote=allow_remote, name=name)
    specs = opts.pop("fault_specs", ())
    phases = [parse_phase(t, proxies) for t in specs] or None
    with contextlib.ExitStack() as stack:
        for p in proxies.values():
            stack.enter_context(p)
        yield phases


def phase_table(r: Result) -> Table | None:
    """Per phase: requests, rps, error rate, p50/p95/p99; then degradation and recovery."""
    phases = r.extra.get("phases")
    if not isinstance(phases, list) or not phases:
        return None
    t = Table(title=f"phases: {r.name}")
    for col in ("phase", "window", "requests", "rps", "errors", "p50", "p95", "p99"):
        t.add_column(col, justify="left" if col in ("phase", "window") else "right")
    m = r.metrics
    for p in phases:
        name = str(p.get("name"))
        lat = m.get(f"phase.{name}.latency")
        req, rps, er = (m.get(f"phase.{name}.{k}") for k in ("requests", "rps", "error_rate"))
        label = f"{name} ({p['label']})" if p.get("label") else name
        t.add_row(
            label, f"{p.get('start', 0):g}–{p.get('end', 0):g} s",
            f"{int(req.value or 0):,}" if req else "-",
            format_value(rps.value, "1/s") if rps else "-",
            f"{er.value:.2%}" if er and er.value is not None else "-",
            *(format_value(getattr(lat, q), "s") if lat else "-" for q in ("p50", "p95", "p99")))
    notes = []
    for q in ("p50", "p95", "p99"):
        d = m.get(f"degradation.{q}")
        if d is not None and d.value is not None:
            ci = (f" (95% CI {d.ci_low:.3g}–{d.ci_high:.3g})"
                  if d.ci_low is not None and d.ci_high is not None else "")
            notes.append(f"{q} ×{d.value:.3g}{ci}")
    rec = m.get("recovery_time")
    if rec is not None and rec.value is not None:
        seen = format_value(rec.extra.get("at_least"), "s")
        notes.append("recovery " + (format_value(rec.value, "s") if rec.extra.get("recovered")
                                    else f"not within {seen}"))
    if notes:
        t.caption = "degradation (fault ÷ baseline): " + ", ".join(notes)
    return t
