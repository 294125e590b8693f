"""``perfgate bench MODULE:CALLABLE``: benchmark one importable callable."""

from __future__ import annotations

import sys
from typing import Any

import click

from perfgate._errors import Interrupted
from perfgate._importer import load_object
from perfgate.bench._engine import BenchOptions
from perfgate.bench._sweep import parse_sizes
from perfgate.cli._common import (
    NAME,
    NON_NEGATIVE_FLOAT,
    check_option,
    emit,
    handle_errors,
    live_progress,
    output_options,
    outputs_from,
)
from perfgate.env import collect
from perfgate.runner import run_all
from perfgate.spec import BenchSpec, Spec, SweepSpec, parse_checks_for, sizes_of


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
@click.option("--timeout", type=float,
              help="Seconds the whole benchmark may take before the target is stopped and "
                   "recorded as its error (default 300).")
@click.option("--processes", type=int,
              help="Measure in N fresh processes one after another, sharing --max-time (CI "
                   "covers their spread). Default: 10 when the run is saved (--json, --store), "
                   "so a later comparison sees process-to-process noise; 0 (this process) "
                   "otherwise.")
@click.option("--sizes", metavar="N,N,...|auto",
              help="Sweep: benchmark at each size and fit big-O classes; the target (or "
                   "--setup) receives n. 'auto' picks sizes within the time budget.")
@click.option("--queries", is_flag=True,
              help="Count database statements per call (SQLAlchemy, sqlite3), untimed pass.")
@click.option("--calls", is_flag=True,
              help="Count outbound HTTP requests and Redis commands per call, untimed pass.")
@click.option("--measure", type=click.Choice(["time", "instructions"]), default=None,
              help="instructions: also count instructions per call under valgrind.")
@handle_errors
def bench_cmd(target: str, setup: str | None, checks: tuple[str, ...],
              name: str | None, max_time: float | None, rounds: int | None,
              iterations: int | None, warmup: float | None, gc_on: bool | None,
              no_memory: bool, timeout: float | None, sizes: str | None, queries: bool,
              processes: int | None, calls: bool = False, measure: str | None = None,
              **outs: Any) -> None:
    """Benchmark TARGET, an importable MODULE:CALLABLE (sync or async)."""
    outputs = outputs_from(outs)
    swept = sizes is not None
    parsed = parse_checks_for(checks, "sweep" if swept else "bench")  # before anything runs
    options = BenchOptions().merged(
        max_time=max_time, rounds=rounds, iterations=iterations, warmup=warmup, gc=gc_on,
        memory=False if no_memory else None, processes=processes, timeout=timeout,
        measure=measure,
    )
    if processes is None and not swept and (outputs.json or outputs.store):
        options = options.for_saved_run()  # a sweep's sizes are its replication
    fn = load_object(target)
    setup_fn: Any = load_object(setup, "setup") if setup else None
    label = name or target.partition(":")[2]
    spec: Spec
    if swept:
        assert sizes is not None
        tuned = any(v is not None for v in (max_time, rounds, iterations, warmup, gc_on))
        spec = SweepSpec(name=label, fn=fn, checks=parsed, setup=setup_fn, queries=queries,
                         calls=calls,
                         sizes=sizes_of(parse_sizes(sizes), "--sizes"),
                         options=options if tuned or no_memory else None)
    else:
        spec = BenchSpec(name=label, fn=fn, checks=parsed, setup=setup_fn, options=options,
                         queries=queries, calls=calls)
    environment = collect()
    try:
        with live_progress() as listener:
            results = run_all([spec], listener)
        code = emit(results, outputs, environment=environment)
    except Interrupted as exc:
        code = emit(exc.results, outputs, interrupted=True, environment=environment)
    sys.exit(code)
