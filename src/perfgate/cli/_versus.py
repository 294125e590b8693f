"""``perfgate versus A B …``: importable callables timed side by side in one process.

    perfgate versus mod:plain mod:with_layer --check "overhead < 5ms" --check "ratio < 1.1"

The first target is the baseline; rounds alternate A B, B A … (docs/benchmarks.md).
"""

from __future__ import annotations

import sys
from typing import Any

import click

from perfgate._errors import Interrupted, UsageError
from perfgate._importer import load_object
from perfgate.cli._common import (
    EXIT_USAGE,
    check_option,
    emit,
    err,
    handle_errors,
    output_options,
    outputs_from,
)
from perfgate.env import collect
from perfgate.runner import run_all
from perfgate.spec import VersusSpec, parse_checks_for

__all__ = ["versus_cmd"]


@click.command("versus")
@click.argument("targets", nargs=-1, metavar="A B [C...]")
@check_option
@output_options
@click.option("--name", help="Name of the result (default: 'A vs B').")
@click.option("--max-time", type=float, help="Seconds of timed rounds, all variants (default 2).")
@click.option("--warmup", type=float, help="Seconds of untimed calls per variant (default 0.1).")
@click.option("--clock", type=click.Choice(["auto", "wall", "cpu"]), default="auto",
              show_default=True, help="cpu: the thread's CPU time; auto: cpu when no variant "
                                      "waits (I/O, locks, sleeps), else wall.")
@handle_errors
def versus_cmd(targets: tuple[str, ...], checks: tuple[str, ...], name: str | None,
               max_time: float | None, warmup: float | None, clock: str, **outs: Any) -> None:
    """Time TARGETs (MODULE:CALLABLE, sync or async) in alternating rounds; report each
    one's ratio and overhead per call against the first, with 95 % CIs."""
    from perfgate.bench._versus import VersusOptions

    outputs = outputs_from(outs)
    if len(targets) < 2:
        raise UsageError("versus needs at least two targets: A B (MODULE:CALLABLE each)")
    parsed = parse_checks_for(checks, "versus")  # malformed checks fail before anything runs
    fns = [load_object(t) for t in targets]
    names = [t.partition(":")[2].rsplit(".", 1)[-1] for t in targets]
    defaults = VersusOptions()
    opts = VersusOptions(max_time=max_time if max_time is not None else defaults.max_time,
                         warmup=warmup if warmup is not None else defaults.warmup)
    spec = VersusSpec(name=name or " vs ".join(names), fns=tuple(fns), names=tuple(names),
                      options=opts, clock=clock, checks=parsed)  # type: ignore[arg-type]
    environment = collect()
    try:
        results = run_all([spec])
    except Interrupted as exc:
        sys.exit(emit(exc.results, outputs, interrupted=True, environment=environment))
    code = emit(results, outputs, environment=environment)
    if code == EXIT_USAGE:
        err.print("[red]a check could not be evaluated (see above)[/]")
    sys.exit(code)
