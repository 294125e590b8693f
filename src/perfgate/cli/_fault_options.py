"""``perfgate load … --proxy NAME=LISTEN,UPSTREAM --fault DURATION:PHASE[:FAULT@PROXY]``:
the fault proxies a load test starts for itself, and its schedule (see
:mod:`perfgate.faults._spec` for the syntax)."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import click

from perfgate.faults import HttpFaultProxy, Phase, Proxy
from perfgate.faults._spec import parse_phase, parse_proxy

__all__ = ["fault_options", "fault_schedule"]

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
