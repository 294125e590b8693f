"""``perfgate load URL|MODULE:CALLABLE``: a load test from the command line."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import click
from rich.console import Group
from rich.live import Live
from rich.table import Table
from rich.text import Text

from perfgate._api import load
from perfgate._errors import Interrupted, UsageError
from perfgate._importer import load_object
from perfgate.cli._common import (
    NAME,
    NON_NEGATIVE_FLOAT,
    POSITIVE_FLOAT,
    POSITIVE_INT,
    check_option,
    emit,
    err,
    handle_errors,
    out,
    output_options,
    outputs_from,
)
from perfgate.cli._export import export_options, start_outputs
from perfgate.cli._fault_options import fault_options, fault_schedule, phase_table
from perfgate.env import collect
from perfgate.load import LiveStats, Request
from perfgate.model import Result
from perfgate.report._escape import terminal_text
from perfgate.spec import parse_checks_for
from perfgate.units import format_value


@contextmanager
def _live_view(title: str) -> Iterator[Any]:
    """A one-line live view on stderr: elapsed, rate, errors and p99 of the last second."""
    text = Text(f"{title}: starting…")
    if not err.is_terminal:
        yield lambda s: None
        return
    with Live(text, console=err, transient=True, refresh_per_second=4) as live:

        def update(s: LiveStats) -> None:
            frac = f" {s.fraction:4.0%}" if s.fraction is not None else ""
            live.update(Text(
                f"{title}{frac}  {s.elapsed:5.1f} s  {format_value(s.rps, '1/s')}  "
                f"errors {s.errors} (total {s.total_errors})  "
                f"p99 {format_value(s.p99, 's')}  in flight {s.inflight}  "
                f"requests {s.requests:,}"
            ))

        yield update


def _summary(r: Result) -> Group:
    """What teams ask of a load run: count, success rate, rate, and the latency of the
    successful iterations — avg, min, p50, p95, p99, max (two narrow tables, so that an
    80-column terminal shows every header whole)."""
    m = r.metrics
    it, req = m.get("iterations"), m.get("requests")
    apart = it is not None and req is not None and it.value != req.value
    lat = m.get("latency")

    def v(name: str) -> str:
        x = m.get(name)
        return format_value(x.value, x.unit) if x is not None else "-"

    n = it or req
    total = float(n.value or 0) if n is not None else 0.0
    ok = m.get("count.ok")
    success = f"{float(ok.value or 0) / total:.2%}" if ok is not None and total else "-"
    er = m.get("error_rate")
    errors = v("errors") + (f" ({er.value:.2%})" if er is not None and er.value else "")
    counts = {"iterations": v("iterations"), "requests": v("requests")} if apart else \
        {"count": v("iterations" if it else "requests")}
    top = Table(title=Text(terminal_text(f"load: {r.name}")), show_header=True)
    row1 = {**counts, "success": success, "rps": v("rps"), "errors": errors,
            "dropped": v("dropped")}
    for col in row1:
        top.add_column(col, justify="right")
    top.add_row(*row1.values())
    lows = Table(show_header=True)
    row2 = {k: _q_of(lat, a) for k, a in (("avg", "mean"), ("min", "min"), ("p50", "p50"),
                                          ("p95", "p95"), ("p99", "p99"), ("max", "max"))}
    lows.add_column("latency", justify="left")
    for col in row2:
        lows.add_column(col, justify="right")
    lows.add_row(f"n={lat.n:,}" if lat is not None and lat.n is not None else "-",
                 *row2.values())
    for key in sorted(k for k in m if k.startswith("latency.")):  # pg.phase steps
        ph = m[key]
        lows.add_row(Text(terminal_text(f"{key[len('latency.'):]} n={ph.n or 0:,}")),
                     *(_q_of(ph, a) for a in ("mean", "min", "p50", "p95", "p99", "max")))
    svc = m.get("service_time")
    corr = r.extra.get("latency_correction")
    if r.params.get("model") == "open" and svc is not None and lat is not None:
        lows.caption = (f"latency from the intended start (coordinated omission corrected); "
                        f"service time p99 {_q_of(svc, 'p99')}")
    elif isinstance(corr, str):
        lows.caption = f"latency: {corr}"
    failed = m.get("latency_failed")
    if failed is not None and failed.n:
        lows.caption = (lows.caption or "") + (
            f"; {failed.n:,} failed iteration(s) not in latency "
            f"(their p50 {_q_of(failed, 'p50')})")
    return Group(top, lows)


def _q_of(metric: Any, attr: str) -> str:
    x = getattr(metric, attr, None)
    return format_value(x, "s") if x is not None else "-"


def _examples(r: Result) -> None:
    ex = r.extra.get("errors_examples")
    if not isinstance(ex, dict):
        return
    for cls, items in ex.items():
        count = r.metrics.get(f"count.{cls}")
        n = int(count.value or 0) if count is not None else len(items)
        first = items[0]["message"] if items else ""
        out.print(Text.assemble((terminal_text(cls), "red"), f" ×{n}: ", terminal_text(first)))


def _pid_exists(pid: int) -> bool:
    import psutil

    try:
        return bool(psutil.pid_exists(pid))
    except (OverflowError, ValueError):  # beyond what the OS can name
        return False


@click.command("load")
@click.argument("target")
@click.option("--vus", type=POSITIVE_INT, help="Closed model: virtual users looping (default 1).")
@click.option("--rate", help="Open model: arrivals per second, e.g. 2000/s.")
@click.option("--max-vus", type=POSITIVE_INT,
              help="Open model: most iterations in flight (default 100).")
@click.option("--max-wait", default="1s", show_default=True,
              help="Open model: how long an arrival may wait for a free VU before it is "
                   "dropped.")
@click.option("--duration", help="How long, e.g. 30s, 2min (default 10s unless --iterations "
                                 "or --stages).")
@click.option("--iterations", type=POSITIVE_INT, help="Closed model: total iterations.")
@click.option("--per-vu", is_flag=True, help="--iterations counts per VU rather than in all.")
@click.option("--stages", help="Ramp: DURATION:TARGET,… e.g. 10s:50,20s:50,5s:0 (VUs) or "
                               "10s:500/s,20s:500/s (rate).")
@click.option("--processes", type=POSITIVE_INT,
              help="Worker processes (default: every core for a URL, 1 for a callable).")
@click.option("--cluster", metavar="URL",
              help="Run the workers on Dask: tcp://HOST:8786 (a running scheduler) or local:N "
                   "(N local worker processes); needs perfgate[distributed]. --processes then "
                   "counts Dask workers (default: all). See docs/distributed.md.")
@click.option("-X", "--method", default="GET", show_default=True)
@click.option("-H", "--header", "headers", multiple=True, metavar="'NAME: VALUE'")
@click.option("-d", "--data", help="Request body (@FILE reads a file).")
@click.option("--timeout", type=POSITIVE_FLOAT, help="Seconds before a request counts as a timeout "
                                            "(default 30 for URLs).")
@click.option("--insecure", is_flag=True, help="Accept any TLS certificate.")
@click.option("--ca-file", type=click.Path(exists=True, dir_okay=False),
              help="Trust this CA bundle for https.")
@click.option("--pid", "target_pid", type=POSITIVE_INT,
              help="Also sample this process's memory (soak: rss_growth of the target).")
@click.option("--warmup", type=NON_NEGATIVE_FLOAT, help="Seconds of memory samples to ignore for "
                                           "rss_growth (default: the first 20%).")
@click.option("--allow-remote", is_flag=True,
              help="Allow a target host that is not loopback (127.0.0.1, ::1, localhost).")
@click.option("--name", type=NAME, help="Name of the result.")
@check_option
@fault_options
@export_options
@output_options
@handle_errors
def load_cmd(target: str, vus: int | None, rate: str | None, max_vus: int | None,
             max_wait: str, duration: str | None, iterations: int | None, per_vu: bool,
             stages: str | None, processes: int | None, cluster: str | None, method: str,
             headers: tuple[str, ...], data: str | None, timeout: float | None,
             insecure: bool, ca_file: str | None, target_pid: int | None,
             warmup: float | None, allow_remote: bool, name: str | None,
             checks: tuple[str, ...], **outs: Any) -> None:
    """Load-test TARGET: an http(s) URL, or an importable MODULE:CALLABLE (sync or async).

    \b
    perfgate load http://127.0.0.1:8000/health --rate 2000/s --duration 30s --check "p(99)<50ms"
    perfgate load http://127.0.0.1:8000/ --vus 50 --duration 10s --json out.json
    perfgate load mypkg.client:checkout --vus 10 --iterations 1000
    """
    faults_given = bool(outs.get("fault_specs"))
    outputs = outputs_from(outs)
    parsed = parse_checks_for(checks, "load")  # malformed checks fail before anything runs
    if cluster is not None:
        from perfgate.load._dask import require_cluster

        require_cluster(cluster)
    if duration is None and iterations is None and stages is None and not faults_given:
        duration = "10s"
    is_url = target.startswith(("http://", "https://"))
    hdrs: dict[str, str] = {}
    for h in headers:
        k, sep, val = h.partition(":")
        if not sep:
            raise UsageError(f"header {h!r}: expected 'NAME: VALUE'")
        hdrs[k.strip()] = val.strip()
    body = b""
    if data is not None:
        if data.startswith("@"):
            try:
                with click.open_file(data[1:], "rb") as f:
                    body = f.read()
            except OSError as exc:
                raise UsageError(f"--data {data}: {exc}") from None
        else:
            body = data.encode()
    if target_pid is not None and not _pid_exists(target_pid):
        raise UsageError(f"--pid {target_pid}: no such process")
    if is_url:
        try:
            Request(target).parts  # noqa: B018 - parsed for its errors
        except ValueError as exc:  # a port out of range, a malformed IPv6 address, …
            raise UsageError(f"{target}: not a valid URL: {exc}") from None
    # where the traffic may go is decided on resolved addresses, by perfgate._net
    what: Any = target if is_url else load_object(target)
    title = name or target
    environment = collect()
    live_outs = start_outputs(outs, environment)  # a bad address fails before the load
    try:
        with fault_schedule(outs, allow_remote) as faults, _live_view(title) as progress:
            result = load(
                what, vus=vus, rate=rate, duration=duration, iterations=iterations,
                per_vu=per_vu, stages=stages, max_vus=max_vus, max_wait=max_wait,
                processes=processes, checks=parsed, name=name or target, method=method,
                headers=hdrs, body=body, timeout=timeout, verify=not insecure,
                ca_file=ca_file, allow_remote=allow_remote, target_pid=target_pid,
                warmup=warmup, progress=progress, faults=faults, outputs=live_outs,
                cluster=cluster,
            )
    except Interrupted as exc:
        for r in exc.results:
            out.print(_summary(r))
        sys.exit(emit(exc.results, outputs, interrupted=True, environment=environment))
    out.print(_summary(result))
    if (phases := phase_table(result)) is not None:
        out.print(phases)
    _examples(result)
    code = emit([result], outputs, environment=environment)
    sys.exit(code)
