"""The ``perfgate`` command. The only place that prints and turns errors into exit codes.

Each verb lives in its own module and is registered here. While a verb runs, SIGTERM is
handled like Ctrl-C (:mod:`perfgate.cli._signals`).
"""

from __future__ import annotations

import os
import sys
from typing import Any

import click

from perfgate import __version__
from perfgate.cli._bench import bench_cmd
from perfgate.cli._capacity import capacity_cmd
from perfgate.cli._compare import compare_cmd
from perfgate.cli._demo import demo_cmd
from perfgate.cli._history import history_cmd
from perfgate.cli._import import import_cmd
from perfgate.cli._load import load_cmd
from perfgate.cli._proxy import proxy_cmd
from perfgate.cli._report import report_cmd
from perfgate.cli._run import run_cmd
from perfgate.cli._signals import exit_code, installed
from perfgate.cli._versus import versus_cmd

__all__ = ["main"]


class _Main(click.Group):
    """Runs every verb with SIGINT/SIGTERM raising KeyboardInterrupt; one that escapes a
    verb (nothing measured yet, or a verb that only reads) exits 130/143 quietly."""

    def invoke(self, ctx: click.Context) -> Any:
        with installed():
            try:
                return super().invoke(ctx)
            except KeyboardInterrupt:
                code = exit_code()
                click.echo(f"interrupted ({'SIGTERM' if code == 143 else 'SIGINT'})",
                           err=True)
                sys.exit(code)
            except BrokenPipeError:  # `perfgate history --json | head`: the reader left
                devnull = os.open(os.devnull, os.O_WRONLY)
                os.dup2(devnull, sys.stdout.fileno())  # so the exit's flush is quiet too
                sys.exit(128 + 13)  # the shell's code for SIGPIPE


@click.group(cls=_Main, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="perfgate")
def main() -> None:
    """Performance tests that teams can trust.

    Exit codes: 0 every check passed; 1 a check failed or a target raised;
    2 usage or input error, or an output that could not be written; 130 interrupted
    by Ctrl-C, 143 by SIGTERM (results so far are written).
    """


main.add_command(bench_cmd)
main.add_command(run_cmd)
main.add_command(demo_cmd)
main.add_command(history_cmd)
main.add_command(import_cmd)
main.add_command(compare_cmd)
main.add_command(load_cmd)
main.add_command(report_cmd)
main.add_command(versus_cmd)
main.add_command(capacity_cmd)
main.add_command(proxy_cmd)
