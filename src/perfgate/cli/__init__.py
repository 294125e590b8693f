"""The ``perfgate`` command. The only place that prints and turns errors into exit codes.

Each verb lives in its own module and is registered here.
"""

from __future__ import annotations

import click

from perfgate import __version__
from perfgate.cli._bench import bench_cmd
from perfgate.cli._compare import compare_cmd
from perfgate.cli._demo import demo_cmd
from perfgate.cli._history import history_cmd
from perfgate.cli._import import import_cmd
from perfgate.cli._load import load_cmd
from perfgate.cli._proxy import proxy_cmd
from perfgate.cli._report import report_cmd
from perfgate.cli._run import run_cmd

__all__ = ["main"]


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="perfgate")
def main() -> None:
    """Performance tests that teams can trust.

    Exit codes: 0 every check passed; 1 a check failed or a target raised;
    2 usage or input error; 130 interrupted (results so far are written).
    """


main.add_command(bench_cmd)
main.add_command(run_cmd)
main.add_command(demo_cmd)
main.add_command(history_cmd)
main.add_command(import_cmd)
main.add_command(compare_cmd)
main.add_command(load_cmd)
main.add_command(report_cmd)
main.add_command(proxy_cmd)
