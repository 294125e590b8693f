"""Shared CLI plumbing: exit codes, error handling, progress, writing outputs.

Exit codes (documented in README and docs/guarantees.md):
    0  every check passed (warn and inconclusive do not fail a run)
    1  a check failed, or a target raised
    2  usage or input error (bad option, malformed check, unknown metric, unreadable file),
       or an output that could not be written (the others still are)
  130  interrupted by Ctrl-C, 143 by SIGTERM (results measured so far are still written)

Outputs are attempted one by one, JSON first: a full disk or an unwritable path for one
output is a one-line error, and every later output is still written.
"""

from __future__ import annotations

import functools
import math
import os
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
from rich.text import Text

from perfgate._errors import PerfgateError
from perfgate.cli import _signals
from perfgate.env import collect
from perfgate.model import Environment, Result, ResultSet, write_json
from perfgate.report._escape import terminal_text
from perfgate.report.terminal import print_report

EXIT_OK, EXIT_FAIL, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130

F = TypeVar("F", bound=Callable[..., Any])

class _Console(Console):
    """A console whose reader went away (``perfgate run | head``) falls silent instead of
    exiting (rich's default): the outputs after the table must still be written."""

    def on_broken_pipe(self) -> None:
        self.quiet = True
        devnull = os.open(os.devnull, os.O_WRONLY)
        try:
            os.dup2(devnull, self.file.fileno())
        except (OSError, ValueError):  # no real descriptor: quiet is enough
            pass
        finally:
            os.close(devnull)


out = _Console(highlight=False)
err = _Console(stderr=True, highlight=False)


def handle_errors(fn: F) -> F:
    """Turn perfgate's typed errors into a message and exit code 2."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except PerfgateError as exc:
            err.print(f"[bold red]error:[/] {escape(terminal_text(exc))}")
            sys.exit(EXIT_USAGE)
        except RecursionError:  # e.g. a check or a document nested beyond reason
            err.print("[bold red]error:[/] input nested too deeply")
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
        # a description is rich markup: the name must be text there
        self.task = self.p.add_task(f"[{index + 1}/{total}] {escape(terminal_text(name))}",
                                    total=1.0)

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


def attempt(what: str, write: Callable[[], str | None], to: Console | None = None) -> bool:
    """Run one output's ``write`` (which returns the line to print, on ``to``, on success,
    or None); a failure is one line on stderr naming the output, never a traceback.
    Returns success."""
    try:
        done = write()
    except OSError as exc:
        where = f" {exc.filename}" if exc.filename else ""
        err.print(f"[bold red]error:[/] {escape(what)}: cannot write{escape(terminal_text(where))}"
                  f": {escape(terminal_text(exc.strerror or exc))}")
        return False
    except PerfgateError as exc:
        err.print(f"[bold red]error:[/] {escape(what)}: {escape(terminal_text(exc))}")
        return False
    except Exception as exc:  # noqa: BLE001 - one output's bug must not cost the others
        err.print(f"[bold red]error:[/] {escape(what)}: {type(exc).__name__}: "
                  f"{escape(terminal_text(exc))}")
        return False
    if done:
        (to or out).print(Text(terminal_text(done)))
    return True


def write_outputs(rs: ResultSet, outputs: Outputs) -> bool:
    """Write each requested output, each attempted on its own; False if any failed.
    Each writer lives in its own module (contract):

    - ``perfgate.report.html.write_html(rs, path)``
    - ``perfgate.report.junit.write_junit(rs, path)``
    - ``perfgate.report.markdown.write_markdown(rs, path)``
    - ``perfgate.store.open_store(url).save(rs)`` (returns the run id)
    JSON is written first: whatever fails later, the measurements are on disk.
    """
    ok = True

    def json_() -> str:
        assert outputs.json is not None
        write_json(outputs.json, rs)
        return f"results written to {outputs.json}"

    def store_() -> str:
        from perfgate.store import open_store

        with open_store(outputs.store) as store:
            run_id = store.save(rs)
        return f"run {run_id} saved to {store.display_url}"

    def junit_() -> str:
        from perfgate.report.junit import write_junit

        assert outputs.junit is not None
        write_junit(rs, outputs.junit)
        return f"JUnit XML written to {outputs.junit}"

    def html_() -> str:
        from perfgate.report.html import write_html

        assert outputs.html is not None
        write_html(rs, outputs.html)
        return f"HTML report written to {outputs.html}"

    if outputs.json is not None:
        ok &= attempt("--json", json_)
    if outputs.store is not None:
        ok &= attempt("--store", store_)
    if outputs.junit is not None:
        ok &= attempt("--junit", junit_)
    if outputs.markdown is not None:
        from perfgate.report.markdown import results_markdown

        ok &= write_markdown_outputs(results_markdown(rs), outputs.markdown)
    if outputs.html is not None:
        ok &= attempt("--html", html_)
    return ok


def write_markdown_outputs(text: str, path: Path | None) -> bool:
    """The Markdown file (when asked) and $GITHUB_STEP_SUMMARY (when set), each on its own."""
    from perfgate.model import write_atomic
    from perfgate.report.markdown import append_step_summary

    ok = True
    if path is not None:
        def md() -> str:
            write_atomic(path, text)
            return f"Markdown summary written to {path}"

        ok &= attempt("--markdown", md)

    def summary() -> None:
        append_step_summary(text, besides=path)  # silent, as GitHub shows it on the job

    ok &= attempt("$GITHUB_STEP_SUMMARY", summary)
    return ok


class Number(click.ParamType):  # type: ignore[type-arg]  # generic only in newer click
    """A finite int or float at or above ``low`` (above it when ``strict``): click's own
    ranges let ``nan`` through (every comparison with it is false)."""

    def __init__(self, kind: type[int] | type[float], low: float, strict: bool) -> None:
        self.kind, self.low, self.strict = kind, low, strict
        bound = f"> {low:g}" if strict else f"≥ {low:g}"
        self.name = f"{'an integer' if kind is int else 'a finite number'} {bound}"

    def convert(self, value: Any, param: click.Parameter | None,
                ctx: click.Context | None) -> Any:
        if isinstance(value, self.kind) and not isinstance(value, bool):
            x = value
        else:
            try:
                x = self.kind(str(value).strip())
            except ValueError:
                self.fail(f"{value!r} is not a{'n integer' if self.kind is int else ' number'}",
                          param, ctx)
        if not math.isfinite(x) or x < self.low or (self.strict and x == self.low):
            self.fail(f"{value!r}: expected {self.name}", param, ctx)
        return x


class Name(click.ParamType):  # type: ignore[type-arg]  # generic only in newer click
    """Text for a result's name: bytes that are not UTF-8 (they reach Python as lone
    surrogates) are refused before anything runs, not discovered by an output later."""

    name = "text"

    def convert(self, value: Any, param: click.Parameter | None,
                ctx: click.Context | None) -> Any:
        text = str(value)
        try:
            text.encode("utf-8")
        except UnicodeEncodeError as exc:
            shown = text.encode("utf-8", "surrogateescape")[exc.start:exc.end]
            self.fail(f"not valid UTF-8 (byte {shown.hex(' ')} at position {exc.start}): "
                      "a name must be text", param, ctx)
        return text


NAME = Name()
POSITIVE_INT = Number(int, 0, strict=True)
NON_NEGATIVE_INT = Number(int, 0, strict=False)
POSITIVE_FLOAT = Number(float, 0.0, strict=True)
NON_NEGATIVE_FLOAT = Number(float, 0.0, strict=False)


def check_option(fn: F) -> F:
    return click.option(
        "--check", "checks", multiple=True, metavar="EXPR",
        help="A check such as 'median < 5ms' or 'p(95) < 300ms warn 200ms' (repeatable).",
    )(fn)


def emit(results: list[Result], outputs: Outputs | Path | None = None, *,
         interrupted: bool = False, environment: Environment | None = None) -> int:
    """Print the table, write every requested output, and return the exit code.
    ``environment``: collected when the run started (its ``started_at`` is the run's).

    Signals are held off while this runs (a second Ctrl-C or SIGTERM cannot cut the
    writing short); one that arrived meanwhile makes the exit code 130/143.
    """
    if not isinstance(outputs, Outputs):
        outputs = Outputs(json=outputs)
    with _signals.shielded():
        rs = ResultSet(environment=environment or collect(), results=tuple(results))
        try:
            print_report(rs, out)
        except Exception as exc:  # noqa: BLE001 - the table is not worth the outputs
            err.print(f"[bold red]error:[/] cannot print the table: {type(exc).__name__}")
        written = write_outputs(rs, outputs)
    if interrupted or _signals.received():
        what = "were written" if written else "were written where they could be (see above)"
        err.print(f"[yellow]interrupted: results measured so far {what}[/]")
        return _signals.exit_code()
    if not written:
        return EXIT_USAGE
    if any(r.error_kind == "check" for r in results):  # typed: runner.judge marked it
        err.print("[red]a check could not be evaluated (see above)[/]")
        return EXIT_USAGE
    return EXIT_OK if rs.passed else EXIT_FAIL
