"""``perfgate report``: turn saved JSON into one self-contained HTML page.

    perfgate report results.json --html report.html
    perfgate report run1.json run2.json compare.json history.json --html report.html

Each FILE is recognised by its content: perfgate results (merged into one report, the
first file's environment kept), a ``perfgate compare --json`` document (shown as
comparisons), or a ``perfgate history --json`` document (shown as trends).

Exit codes: 0 when the report was written (whatever the results say: this verb reports,
it does not gate); 2 when a file cannot be read or is not one of those documents.
"""

from __future__ import annotations

import json
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

import click

from perfgate._errors import ResultFormatError, UsageError
from perfgate.cli._common import EXIT_USAGE, attempt, handle_errors, out
from perfgate.model import Environment, Result, ResultSet, read_json, read_text
from perfgate.report.terminal import summary_line

__all__ = ["report_cmd"]


def _peek(path: Path) -> Any:
    """The parsed JSON of a file, or None when it is not JSON (read_json says why)."""
    text = read_text(path)
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return None
    except RecursionError:
        raise ResultFormatError(f"{path}: JSON nested too deeply to be a perfgate "
                                "document") from None


@click.command("report")
@click.argument("files", nargs=-1, required=True,
                type=click.Path(dir_okay=False, path_type=Path))
@click.option("--html", "html_path", required=True,
              type=click.Path(dir_okay=False, path_type=Path),
              help="Where to write the self-contained HTML report.")
@click.option("--title", default="perfgate report", show_default=True,
              help="The title shown above the verdict.")
@handle_errors
def report_cmd(files: tuple[Path, ...], html_path: Path, title: str) -> None:
    """Write an HTML report from perfgate JSON FILEs (results, compare, history)."""
    from perfgate.analysis.compare import CompareReport, Comparison
    from perfgate.report.html import write_html

    results: list[Result] = []
    env: Environment | None = None
    sources: list[str] = []
    comparisons: list[Comparison] = []
    history: list[Any] = []
    for path in files:
        doc = _peek(path)
        if isinstance(doc, dict) and "results" not in doc and isinstance(
                doc.get("comparisons"), list):
            comparisons.extend(CompareReport.from_dict(doc, str(path)).comparisons)
        elif isinstance(doc, dict) and "results" not in doc and isinstance(doc.get("runs"), list):
            history.extend(doc["runs"])
        else:
            rs = read_json(path)  # raises a ResultFormatError naming the file and the place
            env = env or rs.environment
            results.extend(rs.results)
            sources.append(str(path))
    if not results and not comparisons and not history:
        raise UsageError("no results, comparisons or history in the given files")
    environment = env or Environment()
    if len(sources) > 1:
        environment = replace(environment, extra={**environment.extra, "merged_from": sources})
    rs = ResultSet(environment=environment, results=tuple(results))

    def html_() -> str:
        write_html(rs, html_path, comparisons=comparisons or None, history=history or None,
                   title=title)
        return f"HTML report written to {html_path}"

    out.print(summary_line(rs))
    if not attempt("--html", html_):
        sys.exit(EXIT_USAGE)
