"""``perfgate proxy LISTEN UPSTREAM --toxic latency=200ms``: a fault proxy from the shell.

It runs until Ctrl-C (or ``--duration``). Lines on standard input change it while traffic
flows: ``add latency=100ms``, ``update latency latency=300ms``, ``remove latency``,
``down [refuse|blackhole]``, ``up``, ``list``, ``stats``, ``quit``.
"""

from __future__ import annotations

import sys
import threading
import time

import click
from rich.markup import escape

from perfgate._errors import PerfgateError, UsageError
from perfgate.cli._common import err, handle_errors, out
from perfgate.faults import HttpFaultProxy, Proxy, parse_toxic
from perfgate.faults._spec import parse_rule
from perfgate.units import parse_duration

__all__ = ["proxy_cmd"]


def _command(p: Proxy, line: str) -> str:
    """Apply one control line; what to print."""
    verb, _, rest = line.strip().partition(" ")
    rest = rest.strip()
    if verb == "add":
        return f"added {p.add(parse_toxic(rest, where='add')).describe()}"
    if verb == "update":
        name, _, kv = rest.partition(" ")
        params = dict(x.split("=", 1) for x in kv.split(",") if "=" in x)
        return f"updated {p.update(name, **params).describe()}"
    if verb == "remove":
        p.remove(rest)
        return f"removed {rest}"
    if verb == "down":
        p.disable(rest or "refuse")  # type: ignore[arg-type]
        return f"down ({rest or 'refuse'})"
    if verb == "up":
        p.enable()
        return "up"
    if verb == "stats":
        st = p.stats
        late = st.lateness()
        timer = (f"; timer late p50 {late['p50'] * 1e3:.3f} ms, p99 {late['p99'] * 1e3:.3f} ms, "
                 f"max {late['max'] * 1e3:.3f} ms (n={late['n']})") if late["n"] else ""
        return (f"{st.accepted} connections, {st.bytes_up:,} B up, {st.bytes_down:,} B down"
                + timer)
    if verb == "list":
        return "; ".join(f"{t.name}: {t.describe()}" for t in p.toxics()) or "no toxics"
    raise UsageError(f"unknown command {verb!r} "
                     "(add, update, remove, down, up, list, stats, quit)")


def _control(p: Proxy, stop: threading.Event) -> None:
    for line in sys.stdin:
        if not line.strip():
            continue
        if line.strip() in ("quit", "exit"):
            stop.set()
            return
        try:
            out.print(escape(_command(p, line)))
        except (PerfgateError, ValueError) as exc:
            err.print(f"[red]error:[/] {escape(str(exc))}")


@click.command("proxy")
@click.argument("listen")
@click.argument("upstream")
@click.option("--toxic", "toxics", multiple=True, metavar="SPEC",
              help="latency=200ms[,jitter=10ms][,direction=upstream][,toxicity=50%]; also "
                   "bandwidth=, slow_close=, timeout=, reset_peer=, slicer=, limit_data=.")
@click.option("--http", "http_mode", is_flag=True,
              help="HTTP-aware mode: per-response faults with --http-fault.")
@click.option("--http-fault", "http_faults", multiple=True, metavar="RULE",
              help="status=503,fraction=0.2 | delay=2s | cut,fraction=0.1 (implies --http).")
@click.option("--duration", default=None, help="Stop after this long (default: Ctrl-C).")
@click.option("--seed", type=int, default=None, help="Seed of the toxicity draws.")
@click.option("--allow-remote", is_flag=True,
              help="Allow non-loopback listen and upstream addresses.")
@click.option("--no-check-upstream", is_flag=True,
              help="Start even if the upstream does not accept connections yet.")
@handle_errors
def proxy_cmd(listen: str, upstream: str, toxics: tuple[str, ...], http_mode: bool,
              http_faults: tuple[str, ...], duration: str | None, seed: int | None,
              allow_remote: bool, no_check_upstream: bool) -> None:
    """Forward LISTEN (e.g. 127.0.0.1:6432, or a port) to UPSTREAM with faults.

    Toxics apply to responses (downstream) unless direction=upstream. Standard input takes
    commands while it runs: add SPEC, update NAME k=v, remove NAME, down [refuse|blackhole],
    up, list, stats, quit.
    """
    try:
        limit = parse_duration(duration) if duration else None
    except ValueError as exc:
        raise UsageError(f"--duration: {exc}") from None
    specs = [parse_toxic(t) for t in toxics]  # all validated before anything listens
    stop = threading.Event()
    if http_mode or http_faults:
        if specs:
            raise UsageError("--toxic works on the TCP proxy; with --http give --http-fault")
        hp = HttpFaultProxy(upstream, listen, allow_remote=allow_remote, seed=seed)
        rules = [parse_rule(hp, r, f"--http-fault {r!r}") for r in http_faults]
        with hp:
            for r in rules:
                r.__enter__()
            out.print(f"perfgate proxy (HTTP) {hp.address} → {upstream}"
                      + "".join(f"\n  {escape(r.label)}" for r in rules))
            _wait(stop, limit)
            out.print(f"{hp.requests} requests, {hp.faulted} faulted")
        return
    p = Proxy(upstream, listen, allow_remote=allow_remote, seed=seed,
              check_upstream=not no_check_upstream)
    with p:
        for s in specs:
            p.add(s)
        out.print(f"perfgate proxy {p.address} → {upstream}"
                  + "".join(f"\n  {escape(t.name)}: {escape(t.describe())}" for t in specs))
        threading.Thread(target=_control, args=(p, stop), daemon=True).start()
        _wait(stop, limit)
        st = p.stats
        out.print(f"{st.accepted} connections, {st.bytes_up:,} B up, {st.bytes_down:,} B down, "
                  f"{st.upstream_failures} upstream failures")


def _wait(stop: threading.Event, limit: float | None) -> None:
    end = None if limit is None else time.monotonic() + limit
    try:
        while not stop.is_set():
            rem = None if end is None else end - time.monotonic()
            if rem is not None and rem <= 0:
                return
            stop.wait(0.2 if rem is None else min(rem, 0.2))
    except KeyboardInterrupt:
        err.print("stopped")
