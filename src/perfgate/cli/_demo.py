"""``perfgate demo``: the bundled example suite, end to end."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from perfgate.cli._common import Outputs, handle_errors, out
from perfgate.cli._run import run_paths


def examples_dir() -> Path:
    """The examples shipped in the wheel, or the repository's when installed editable."""
    here = Path(__file__).resolve().parent.parent
    for candidate in (here / "_examples", here.parent.parent / "examples"):
        if (candidate / "demo").is_dir():
            return candidate / "demo"
    raise FileNotFoundError("the bundled examples are missing from this installation")


@click.command("demo")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path),
              default=Path("perfgate-demo"), show_default=True,
              help="Where results.json (and the report) are written.")
@handle_errors
def demo_cmd(out_dir: Path) -> None:
    """Run the bundled example suite end to end and write DIR/results.json."""
    suite = examples_dir()
    out.print(f"[bold]perfgate demo[/]: running the example suite in {suite}")
    code = run_paths((str(suite),), None, Outputs(json=out_dir / "results.json",
                                                        html=out_dir / "report.html",
                                                        store=f"sqlite:///{out_dir}/history.db"))
    sys.exit(code)
