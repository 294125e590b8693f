"""Shared CLI plumbing: exit codes, error handling, progress, writing outputs.

Exit codes (documented in README):
    0  every check passed (warn and inconclusive do not fail a run)
    1  a check failed, or a target raised
    2  usage or input error (bad option, malformed check, unknown metric, unreadable file)
  130  interrupted by Ctrl-C (results measured so far are still written)
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import click
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, Progress, TaskID, TextColumn, TimeElapsedColumn

from perfgate._errors import PerfgateError
from perfgate.env import collect
from perfgate.model import Environment, Result, ResultSet, write_json
from perfgate.report.terminal import print_report

EXIT_OK, EXIT_FAIL, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130

F = TypeVar("F", bound=Callable[..., Any])

out = Console(highlight=False)
err = Console(stderr=True, highlight=False)


def handle_errors(fn: F) -> F:
    """Turn perfgate's typed errors into a message and exit code 2."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except PerfgateError as exc:
            err.print(f"[bold red]error:[/] {escape(str(exc))}")
            sys.exit(EXIT_USAGE)

    return wrapper  # type: ignore[return-value]


class RichListener:
    """Live progress bars on stderr (transient: the table replaces them)."""

    def __init__(self, progress: Progress) -> None:
        self.p = progress
        self.task: TaskID | None = None

    def started(self, name: str, index: int, total: int) -> None:
        if self.task is not None:
            self.p.remove_task(self.task)
        self.task = self.p.add_task(f"[{index + 1}/{total}] {name}", total=1.0)

    def progress(self, fraction: float) -> None:
        if self.task is not None:
            self.p.update(self.task, completed=fraction)

    def finished(self, result: Result) -> None:
        if self.task is not None:
            self.p.update(self.task, completed=1.0)


@contextmanager
def live_progress() -> Iterator[RichListener]:
    progress = Progress(
        TextColumn("{task.description}"), BarColumn(), TimeElapsedColumn(),
        console=err, transient=True, disable=not err.is_terminal,
    )
    with progress:
        yield RichListener(progress)


@dataclass
class Outputs:
    """Where a command writes its results besides the terminal."""

    json: Path | None = None
    html: Path | None = None
    junit: Path | None = None
    markdown: Path | None = None
    store: str | None = None  # a store URL; None = do not save


def output_options(fn: F) -> F:
    """--json, --html, --junit, --markdown, --store: every run-like verb takes them."""
    opts = [
        click.option("--json", "out_json", type=click.Path(dir_okay=False, path_type=Path),
                     help="Write the results as perfgate JSON (docs/results-format.md)."),
        click.option("--html", "out_html", type=click.Path(dir_okay=False, path_type=Path),
                     help="Write a self-contained HTML report."),
        click.option("--junit", "out_junit", type=click.Path(dir_okay=False, path_type=Path),
                     help="Write JUnit XML: each check a test case."),
        click.option("--markdown", "out_markdown",
                     type=click.Path(dir_okay=False, path_type=Path),
                     help="Write a Markdown summary (also to $GITHUB_STEP_SUMMARY when set)."),
        click.option("--store", "out_store", metavar="URL", envvar="PERFGATE_STORE",
                     help="Save the run to a history store (sqlite:///path.db or a "
                          "PostgreSQL URL; env PERFGATE_STORE)."),
    ]
    for o in reversed(opts):
        fn = o(fn)
    return fn


def outputs_from(kwargs: dict[str, Any]) -> Outputs:
    """Pop the output_options values out of a command's kwargs."""
    return Outputs(
        json=kwargs.pop("out_json", None), html=kwargs.pop("out_html", None),
        junit=kwargs.pop("out_junit", None), markdown=kwargs.pop("out_markdown", None),
        store=kwargs.pop("out_store", None),
    )


def write_outputs(rs: ResultSet, outputs: Outputs) -> None:
    """Write each requested output. Each writer lives in its own module (contract):

    - ``perfgate.report.html.write_html(rs, path)``
    - ``perfgate.report.junit.write_junit(rs, path)``
    - ``perfgate.report.markdown.write_markdown(rs, path)``
    - ``perfgate.store.open_store(url).save(rs)`` (returns the run id)
    JSON is written first: whatever fails later, the measurements are on disk.
    """
    if outputs.json is not None:
        write_json(outputs.json, rs)
        out.print(f"results written to {outputs.json}")
    if outputs.store is not None:
        from perfgate.store import open_store

        with open_store(outputs.store) as store:
            run_id = store.save(rs)
        out.print(f"run {run_id} saved to {store.display_url}")
    if outputs.junit is not None:
        from perfgate.report.junit import write_junit

        write_junit(rs, outputs.junit)
        out.print(f"JUnit XML written to {outputs.junit}")
    if outputs.markdown is not None:
        from perfgate.report.markdown import write_markdown

        write_markdown(rs, outputs.markdown)
        out.print(f"Markdown summary written to {outputs.markdown}")
    if outputs.html is not None:
        from perfgate.report.html import write_html

        write_html(rs, outputs.html)
        out.print(f"HTML report written to {outputs.html}")


def check_option(fn: F) -> F:
    return click.option(
        "--check", "checks", multiple=True, metavar="EXPR",
        help="A check such as 'median < 5ms' or 'p(95) < 300ms warn 200ms' (repeatable).",
    )(fn)


def emit(results: list[Result], outputs: Outputs | Path | None = None, *,
         interrupted: bool = False, environment: Environment | None = None) -> int:
    """Print the table, write every requested output, and return the exit code.
    ``environment``: collected when the run started (its ``started_at`` is the run's)."""
    if not isinstance(outputs, Outputs):
        outputs = Outputs(json=outputs)
    rs = ResultSet(environment=environment or collect(), results=tuple(results))
    print_report(rs, out)
    write_outputs(rs, outputs)
    if interrupted:
        err.print("[yellow]interrupted: results measured so far were written[/]")
        return EXIT_INTERRUPTED
    if any(r.error_kind == "check" for r in results):
        return EXIT_USAGE
    return EXIT_OK if rs.passed else EXIT_FAIL
