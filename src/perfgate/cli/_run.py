"""``perfgate run [PATH]...``: discover suite files and run them."""

from __future__ import annotations

import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

import click

from perfgate._errors import Interrupted
from perfgate.bench._engine import BenchOptions
from perfgate.cli._common import (
    EXIT_USAGE,
    NON_NEGATIVE_FLOAT,
    Outputs,
    emit,
    err,
    handle_errors,
    live_progress,
    output_options,
    outputs_from,
)
from perfgate.cli._export import export_options, exporting, start_outputs
from perfgate.env import collect
from perfgate.runner import run_all
from perfgate.spec import BenchSpec, LoadSpec
from perfgate.suite import discover, suite_files


def run_paths(paths: tuple[str, ...], keyword: str | None, outputs: Outputs,
              live: dict[str, Any] | None = None, cluster: str | None = None,
              **overrides: Any) -> int:
    """Discover and run; ``overrides`` (BenchOptions fields such as ``processes``,
    ``max_time``) apply to every plain benchmark, over what its decorator says; ``cluster``
    to every load scenario. ``live``: the export options (``--prometheus``…) for the load
    tests among them."""
    roots = paths or (".",)
    if cluster is not None:
        from perfgate.load._dask import require_cluster

        require_cluster(cluster)
    specs = discover(roots, keyword)
    if cluster is not None:
        specs = [replace(s, cluster=cluster) if isinstance(s, LoadSpec) else s for s in specs]
    given = {k: v for k, v in overrides.items() if v is not None}
    saved = "processes" not in given and (outputs.json or outputs.store)
    if given or saved:
        specs = [replace(s, options=_saved(s.options.merged(**given), bool(saved)))
                 if isinstance(s, BenchSpec) else s for s in specs]
    if not specs:
        if keyword and any(suite_files(Path(p)) for p in roots):
            err.print(f"[yellow]no benchmark matches[/] -k {keyword!r} "
                      "(it is matched against FILE::NAME)")
        else:
            err.print("[yellow]no benchmarks found[/] (suite files are named perf_*.py or "
                      "*_perf.py)")
        return EXIT_USAGE
    environment = collect()
    live_outs = start_outputs(dict(live or {}), environment)
    try:
        with live_progress() as progress, exporting(progress, live_outs) as listener:
            results = run_all(specs, listener)
        return emit(results, outputs, environment=environment)
    except Interrupted as exc:
        return emit(exc.results, outputs, interrupted=True, environment=environment)


def _saved(options: BenchOptions, saved: bool) -> BenchOptions:
    return options.for_saved_run() if saved else options


@click.command("run")
@click.argument("paths", nargs=-1, type=click.Path(exists=True))
@click.option("-k", "keyword", metavar="EXPR",
              help="Only cases whose file::name matches, e.g. 'parse and not slow'.")
@click.option("--processes", type=int,
              help="Measure every benchmark in N fresh processes (CI covers their spread). "
                   "Default: 10 when the run is saved (--json, --store), so a later "
                   "comparison sees process-to-process noise; 0 (this process) otherwise.")
@click.option("--max-time", type=NON_NEGATIVE_FLOAT, help="Seconds of timed rounds per benchmark.")
@click.option("--measure", type=click.Choice(["time", "instructions"]), default=None,
              help="instructions: also count instructions per call under valgrind.")
@export_options
@click.option("--cluster", metavar="URL",
              help="Run every load scenario's workers on Dask: tcp://HOST:8786 or local:N "
                   "(needs perfgate[distributed]; docs/distributed.md).")
@output_options
@handle_errors
def run_cmd(paths: tuple[str, ...], keyword: str | None, processes: int | None,
            max_time: float | None, measure: str | None = None, cluster: str | None = None,
            **outs: Any) -> None:
    """Discover suite files (perf_*.py, *_perf.py) under PATHS and run them."""
    live = {k: outs.pop(k, None) for k in ("prometheus", "pushgateway", "otlp", "dashboard")}
    sys.exit(run_paths(paths, keyword, outputs_from(outs), live=live, cluster=cluster,
                       processes=processes, max_time=max_time, measure=measure))
