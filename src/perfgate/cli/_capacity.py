"""``perfgate capacity URL|MODULE:CALLABLE --check ...``: the highest rate that passes."""

from __future__ import annotations

import sys
from typing import Any

import click
from rich.table import Table
from rich.text import Text

from perfgate._api import capacity
from perfgate._errors import Interrupted, UsageError
from perfgate._importer import load_object
from perfgate.analysis.capacity import Probe
from perfgate.analysis.capacity_result import CapacityEvidence
from perfgate.cli._common import (
    EXIT_USAGE,
    check_option,
    emit,
    err,
    handle_errors,
    out,
    output_options,
    outputs_from,
)
from perfgate.model import Result
from perfgate.report._capacity_text import capacity_headline
from perfgate.report.terminal import STATUS_STYLE
from perfgate.spec import parse_checks_for
from perfgate.units import format_value

__all__ = ["capacity_cmd", "probe_table"]


def _fmt(x: float | None, unit: str) -> str:
    return "-" if x is None else format_value(x, unit)


def _probe_line(p: Probe) -> Text:
    return Text.assemble(
        ("probe ", "dim"), (f"{format_value(p.rate, '1/s'):>10} ", "bold"),
        (f"{p.status:<12}", STATUS_STYLE.get(p.status, "")),
        f" sent {_fmt(p.achieved, '1/s')}, p95 {_fmt(p.p95, 's')}, "
        f"errors {'-' if p.error_rate is None else f'{p.error_rate:.2%}'}",
        (f"  {p.saturated or p.note}" if p.saturated or p.note else "", "yellow"),
    )


def probe_table(r: Result) -> Table | None:
    """Every probe of a capacity result, in the order it ran."""
    ev = CapacityEvidence.of(r)
    if ev is None:
        return None
    t = Table(title=f"capacity: {r.name}")
    for col in ("#", "phase", "offered", "sent", "p95", "p99", "errors", "status"):
        t.add_column(col, justify="left" if col in ("phase", "status") else "right")
    for i, p in enumerate(ev.probes, 1):
        t.add_row(
            str(i), p.phase, format_value(p.rate, "1/s"), _fmt(p.achieved, "1/s"),
            _fmt(p.p95, "s"), _fmt(p.p99, "s"),
            "-" if p.error_rate is None else f"{p.error_rate:.2%}",
            Text(p.status, style=STATUS_STYLE.get(p.status, "")),
        )
    t.caption = f"stopped: {ev.stop} — {ev.message}"
    return t


def _answer(r: Result) -> None:
    table = probe_table(r)
    if table is not None:
        out.print(table)
    ev = CapacityEvidence.of(r)
    if ev is not None and ev.ramp is not None:
        guess = format_value(ev.ramp.guess, "1/s") if ev.ramp.guess is not None else \
            "nothing (no tick broke the checks)"
        out.print(Text(f"ramp: from {format_value(ev.ramp.start_rate, '1/s')} in "
                       f"{ev.ramp.seconds:.1f} s, guessed {guess}", style="dim"))
    style = "bold green" if "capacity" in r.metrics else "bold red"
    out.print(Text.assemble(("capacity: ", "bold"), (capacity_headline(r), style)))


def _headers(items: tuple[str, ...]) -> dict[str, str]:
    hdrs: dict[str, str] = {}
    for h in items:
        k, sep, val = h.partition(":")
        if not sep:
            raise UsageError(f"header {h!r}: expected 'NAME: VALUE'")
        hdrs[k.strip()] = val.strip()
    return hdrs


@click.command("capacity")
@click.argument("target")
@check_option
@click.option("--max-rate", default="10000/s", show_default=True,
              help="Highest rate to try; a pass there reports 'at least' this.")
@click.option("--min-rate", help="Lowest rate to try (default max-rate/1000).")
@click.option("--duration", default="5s", show_default=True, help="Measured time per probe.")
@click.option("--warmup", default="1s", show_default=True,
              help="Warm-up at the probe's rate before each measured probe (discarded).")
@click.option("--cooldown", default="1s", show_default=True,
              help="Pause after each probe, so its queue does not spill into the next.")
@click.option("--budget", default="5min", show_default=True,
              help="Total time; the search stops before a probe that would not fit.")
@click.option("--precision", type=float, default=0.04, show_default=True,
              help="Stop when the bracket is this narrow (high/low - 1).")
@click.option("--confirm", type=int, default=2, show_default=True,
              help="Passes the lower bound needs before it is trusted.")
@click.option("--max-probes", type=int, default=20, show_default=True)
@click.option("--no-ramp", is_flag=True, help="Skip the ramp; gallop from the middle instead.")
@click.option("--require", "require", multiple=True, metavar="EXPR",
              help="A check on the capacity itself, e.g. 'capacity >= 500/s' (repeatable).")
@click.option("--processes", type=int, default=1, show_default=True,
              help="Generator processes; more raise the generator's own limit (each probe "
                   "starts them afresh).")
@click.option("--max-vus", type=int, default=1000, show_default=True,
              help="Most requests in flight per probe.")
@click.option("-X", "--method", default="GET", show_default=True)
@click.option("-H", "--header", "headers", multiple=True, metavar="'NAME: VALUE'")
@click.option("-d", "--data", help="Request body.")
@click.option("--timeout", type=float, help="Seconds before a request counts as a timeout.")
@click.option("--insecure", is_flag=True, help="Accept any TLS certificate.")
@click.option("--allow-remote", is_flag=True,
              help="Allow a target host that is not loopback (127.0.0.1, ::1, localhost).")
@click.option("--name", help="Name of the result.")
@output_options
@handle_errors
def capacity_cmd(target: str, checks: tuple[str, ...], max_rate: str, min_rate: str | None,
                 duration: str, warmup: str, cooldown: str, budget: str, precision: float,
                 confirm: int, max_probes: int, no_ramp: bool, require: tuple[str, ...],
                 processes: int, max_vus: int, method: str, headers: tuple[str, ...],
                 data: str | None, timeout: float | None, insecure: bool,
                 allow_remote: bool, name: str | None, **outs: Any) -> None:
    """Find the highest open-model rate at which every --check passes, with its bracket.

    TARGET is a URL or MODULE:CALLABLE; a @pg.scenario function brings its own checks.

    \b
    perfgate capacity http://127.0.0.1:8000/ --check "p(95) < 300ms" --check "error_rate < 1%"
    perfgate capacity mypkg.client:checkout --check "p(99) < 50ms" --max-rate 2000/s
    """
    outputs = outputs_from(outs)
    parsed = parse_checks_for(checks, "load")  # malformed checks fail before anything runs
    gate = parse_checks_for(require, "capacity")
    is_url = target.startswith(("http://", "https://"))
    what: Any = target if is_url else load_object(target)
    request: dict[str, Any] = {"name": name} if name else {}
    if is_url:
        request.update(method=method, headers=_headers(headers),
                       body=(data or "").encode(), timeout=timeout, verify=not insecure,
                       allow_remote=allow_remote)
    try:
        result = capacity(
            what, checks=parsed, max_rate=max_rate, min_rate=min_rate, duration=duration,
            warmup=warmup, cooldown=cooldown, budget=budget, precision=precision,
            confirm=confirm, max_probes=max_probes, ramp=not no_ramp, processes=processes,
            max_vus=max_vus, require=gate, progress=lambda p: err.print(_probe_line(p)),
            **request,
        )
    except Interrupted as exc:
        for r in exc.results:
            _answer(r)
        sys.exit(emit(exc.results, outputs, interrupted=True))
    _answer(result)
    code = emit([result], outputs)
    if code == EXIT_USAGE:
        err.print("[red]a check could not be evaluated (see above)[/]")
    sys.exit(code)
