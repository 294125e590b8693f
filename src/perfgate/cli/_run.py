"""``perfgate run [PATH]...``: discover suite files and run them."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from perfgate.cli._common import EXIT_USAGE, emit, err, handle_errors, json_option, live_progress
from perfgate.runner import Interrupted, run_specs
from perfgate.suite import discover


def run_paths(paths: tuple[str, ...], keyword: str | None, json_path: Path | None) -> int:
    specs = discover(paths or (".",), keyword)
    if not specs:
        err.print("[yellow]no benchmarks found[/] (suite files are named perf_*.py or *_perf.py)")
        return EXIT_USAGE
    try:
        with live_progress() as listener:
            results = run_specs(specs, listener)
        return emit(results, json_path=json_path)
    except Interrupted as exc:
        return emit(exc.results, json_path=json_path, interrupted=True)


@click.command("run")
@click.argument("paths", nargs=-1, type=click.Path(exists=True))
@click.option("-k", "keyword", metavar="EXPR",
              help="Only cases whose file::name matches, e.g. 'parse and not slow'.")
@json_option
@handle_errors
def run_cmd(paths: tuple[str, ...], keyword: str | None, json_path: Path | None) -> None:
    """Discover suite files (perf_*.py, *_perf.py) under PATHS and run them."""
    sys.exit(run_paths(paths, keyword, json_path))
