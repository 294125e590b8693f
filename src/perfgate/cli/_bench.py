"""``perfgate bench MODULE:CALLABLE``: benchmark one importable callable."""

from __future__ import annotations

import sys
from typing import Any

import click

from perfgate.analysis.checks import parse_checks, validate_units
from perfgate.bench._engine import BenchOptions
from perfgate.cli._common import (
    NAME,
    NON_NEGATIVE_FLOAT,
    check_option,
    emit,
    handle_errors,
    live_progress,
    load_object,
    output_options,
    outputs_from,
)
from perfgate.runner import Interrupted, run_specs
from perfgate.suite import Spec


@click.command("bench")
@click.argument("target")
@click.option("--setup", metavar="MODULE:CALLABLE",
              help="Called once, untimed; its return value is the target's only argument.")
@check_option
@output_options
@click.option("--name", type=NAME, help="Name of the result (default: the callable's name).")
@click.option("--max-time", type=NON_NEGATIVE_FLOAT, help="Seconds of timed rounds (default 1).")
@click.option("--rounds", type=int, help="Fixed number of rounds (skips the adaptive stop).")
@click.option("--iterations", type=int, help="Fixed calls per round (skips calibration).")
@click.option("--warmup", type=NON_NEGATIVE_FLOAT, help="Seconds of untimed warm-up (default 0.1).")
@click.option("--gc/--no-gc", "gc_on", default=None, help="Keep the GC running in rounds.")
@click.option("--no-memory", is_flag=True, help="Skip the allocation pass.")
@click.option("--processes", type=int,
              help="Measure in N fresh processes one after another (CI covers their spread).")
@click.option("--sizes", metavar="N,N,...|auto",
              help="Sweep: benchmark at each size and fit big-O classes; the target (or "
                   "--setup) receives n. 'auto' picks sizes within the time budget.")
@click.option("--queries", is_flag=True,
              help="Count database statements per call (SQLAlchemy, sqlite3), untimed pass.")
@handle_errors
def bench_cmd(target: str, setup: str | None, checks: tuple[str, ...],
              name: str | None, max_time: float | None, rounds: int | None,
              iterations: int | None, warmup: float | None, gc_on: bool | None,
              no_memory: bool, sizes: str | None, queries: bool, processes: int | None,
              **outs: Any) -> None:
    """Benchmark TARGET, an importable MODULE:CALLABLE (sync or async)."""
    outputs = outputs_from(outs)
    parsed = parse_checks(checks)  # malformed checks fail before anything runs
    for c in parsed:
        validate_units(c, "sweep" if sizes else "bench")
    options = BenchOptions().merged(
        max_time=max_time, rounds=rounds, iterations=iterations, warmup=warmup, gc=gc_on,
        memory=False if no_memory else None, processes=processes,
    )
    fn = load_object(target)
    setup_fn: Any = load_object(setup, "setup") if setup else None
    spec = Spec(name or target.partition(":")[2], fn, "bench", tuple(parsed), setup_fn, options)
    if sizes or queries:
        from perfgate.bench._sweep import parse_sizes, sweep_spec

        tuned = any(v is not None for v in (max_time, rounds, iterations, warmup, gc_on))
        spec = sweep_spec(spec.name, fn, spec.checks, setup=setup_fn,
                          sizes=parse_sizes(sizes) if sizes else None, queries=queries,
                          budget=None, options=options if tuned or no_memory else None)
    try:
        with live_progress() as listener:
            results = run_specs([spec], listener)
        code = emit(results, outputs)
    except Interrupted as exc:
        code = emit(exc.results, outputs, interrupted=True)
    sys.exit(code)
