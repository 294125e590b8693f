"""``perfgate compare``: two runs side by side, or the interleaved gate against a git ref.

    perfgate compare base.json current.json          # files (perfgate or pytest-benchmark)
    perfgate compare 12 latest --store URL            # stored runs
    perfgate compare --against origin/main perf/      # the interleaved gate

Exit codes: 1 when a regression crosses a fail threshold; 0 otherwise (improvement,
unchanged, inconclusive, warn); 2 on a usage or input error.
"""

from __future__ import annotations

import json
import sys
import time
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
from rich.table import Table
from rich.text import Text

from perfgate._errors import ResultFormatError, UsageError
from perfgate.cli import _signals
from perfgate.cli._common import (
    EXIT_FAIL,
    EXIT_OK,
    EXIT_USAGE,
    POSITIVE_FLOAT,
    POSITIVE_INT,
    attempt,
    err,
    handle_errors,
    out,
    write_markdown_outputs,
)
from perfgate.model import ResultSet, write_atomic
from perfgate.report._escape import terminal_text
from perfgate.units import format_value

if TYPE_CHECKING:  # the statistics (scipy) load only when a comparison runs
    from perfgate.analysis.compare import CompareReport, RunNoise, Threshold

__all__ = ["compare_cmd", "load_config", "resolve_run"]

DEFAULT_BUDGET = 9.5
_REPORT_RESERVE = 0.3  # seconds kept for removing the worktree and writing the report
_EMBEDDED_AFTER = 60.0  # a process older than this at the command's start is not a CLI run
_STYLE = {"regression": "bold red", "improvement": "green", "unchanged": "dim",
          "inconclusive": "magenta"}


def _seconds_since_start() -> float:
    """Seconds since this process started (its imports count against --budget); 0 when
    the command runs inside a long-lived process (a test runner), where that means nothing."""
    import psutil

    try:
        age = time.time() - psutil.Process().create_time()
    except psutil.Error:
        return 0.0
    return age if 0 <= age <= _EMBEDDED_AFTER else 0.0


def load_config(start: Path | None = None) -> dict[str, Any]:
    """``[tool.perfgate]`` of the nearest pyproject.toml above ``start`` (or {})."""
    here = (start or Path.cwd()).resolve()
    for d in (here, *here.parents):
        f = d / "pyproject.toml"
        if f.is_file():
            try:
                doc = tomllib.loads(f.read_text(encoding="utf-8"))
            except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
                raise UsageError(f"{f}: cannot read: {exc}") from None
            cfg = doc.get("tool", {}).get("perfgate", {})
            if not isinstance(cfg, dict):
                raise UsageError(f"{f}: [tool.perfgate] must be a table")
            return {**cfg, "_file": str(f)}
    return {}


def _thresholds(cfg: Mapping[str, Any], cli: tuple[str, ...]) -> dict[str, Threshold]:
    from perfgate.analysis.compare import parse_threshold

    out_: dict[str, Threshold] = {}
    table = cfg.get("thresholds", {})
    where = f"{cfg.get('_file', 'pyproject.toml')} [tool.perfgate.thresholds]"
    if not isinstance(table, Mapping):
        raise UsageError(f"{where}: must be a table such as time = \"5%\"")
    for key, value in table.items():
        if isinstance(value, Mapping):  # [tool.perfgate.thresholds.parse_orders] time = "10%"
            for metric, v in value.items():
                k, t = parse_threshold(f"{key}:{metric}={v}", where)
                out_[k] = t
        else:
            k, t = parse_threshold(f"{key}={value}", where)
            out_[k] = t
    for text in cli:
        k, t = parse_threshold(text, "--threshold")
        out_[k] = t
    return out_


def _cli_keys(cli: tuple[str, ...]) -> tuple[str, ...]:
    from perfgate.analysis.compare import parse_threshold

    return tuple(parse_threshold(text, "--threshold")[0] for text in cli)


def _require_matches(cli: tuple[str, ...], base: ResultSet, cur: ResultSet) -> None:
    """A --threshold that applies to no benchmark and metric of either run is a mistake
    (a typo, or a phase that is not there): say so rather than gate nothing."""
    from perfgate.analysis.compare import compared_metrics, unmatched_thresholds

    present = {(r.name, k) for rs in (base, cur) for r in rs.results
               for k in compared_metrics(r)}
    bad = unmatched_thresholds(_cli_keys(cli), present)
    if bad:
        names = sorted({b for b, _ in present})
        metrics = sorted({k for _, k in present if "[n=" not in k})
        raise UsageError(f"--threshold {', '.join(repr(k) for k in bad)} matches no benchmark "
                         f"and metric of these runs (benchmarks: {', '.join(names) or 'none'}; "
                         f"metrics: {', '.join(metrics) or 'none'})")


def _fraction(value: Any, what: str) -> float:
    text = str(value).strip()
    try:
        return float(text[:-1]) / 100 if text.endswith("%") else float(text)
    except ValueError:
        raise UsageError(f"{what}: expected a number or a percentage, got {value!r}") from None


def resolve_run(ref: str, store_url: str | None) -> tuple[ResultSet, str]:
    """A results file, or a stored run: an id, ``latest`` or ``previous``."""
    p = Path(ref)
    if p.exists():
        from perfgate.store import import_file

        return import_file(p)[0], str(p)
    if ref.isdigit() or ref in ("latest", "previous"):
        from perfgate.store import open_store

        with open_store(store_url) as store:
            if ref.isdigit():
                return store.load(int(ref)), f"run {ref}"
            runs = store.runs(limit=2)
            k = 0 if ref == "latest" else 1
            if len(runs) <= k:
                raise UsageError(f"{ref!r}: the store {store.display_url} holds "
                                 f"{len(runs)} run(s)")
            return store.load(runs[k].id), f"run {runs[k].id} ({ref})"
    raise ResultFormatError(f"{ref}: no such file (nor a stored run id, 'latest' or "
                            "'previous')")


_NOISE_RUNS = 100  # newest stored runs whose spread estimates the run-to-run noise


def history_noise(keys: set[tuple[str, str]], hostname: str, store_url: str | None
                  ) -> dict[tuple[str, str], RunNoise]:
    """Run-to-run noise per (benchmark, metric) from the store's newest runs of it on
    ``hostname`` (the same machine); keys with too little history are left out."""
    from perfgate.analysis.compare import run_noise
    from perfgate.store import open_store

    found: dict[tuple[str, str], RunNoise] = {}
    if not hostname:
        return found
    from perfgate.analysis.run_noise import steady_runs
    from perfgate.cli._history_check import machine_of

    with open_store(store_url) as store:
        for name, metric in sorted(keys):
            pts = store.series(name, metric, hostname=hostname, limit=_NOISE_RUNS)
            # runs the host slowed are not this machine's usual spread (run_noise.py)
            values = steady_runs([p.value for p in pts], machine_of(store, name, hostname, pts))
            rn = run_noise(values,
                           f"runs {pts[0].run_id}–{pts[-1].run_id} on {hostname}" if pts else "")
            if rn is not None:
                found[(name, metric)] = rn
    return found


def render(report: CompareReport) -> Table:
    table = Table(title=Text(terminal_text(f"{report.current_label} vs {report.base_label}")))
    for col, just in (("benchmark", "left"), ("metric", "left"), ("base", "right"),
                      ("current", "right"), ("ratio (95% CI)", "right"),
                      ("status", "center"), ("gate", "center")):
        table.add_column(col, justify=just)  # type: ignore[arg-type]
    for c in report.comparisons:
        ratio = "-"
        if c.ratio is not None:
            ratio = f"{c.ratio:.3f}×"
            if c.ci is not None:
                ratio += f" ({c.ci[0]:.3f}–{c.ci[1]:.3f})"
        level = Text({"fail": "FAIL", "warn": "warn", "ok": ""}[c.level],
                     style={"fail": "bold red", "warn": "yellow", "ok": ""}[c.level])
        table.add_row(Text(terminal_text(c.name)), Text(terminal_text(c.metric)),
                      format_value(c.base, c.unit),
                      format_value(c.current, c.unit), ratio,
                      Text(c.status, style=_STYLE[c.status]), level)
    return table


def _emit(report: CompareReport, json_path: Path | None, junit: Path | None,
          markdown: Path | None, html: Path | None = None,
          current: ResultSet | None = None) -> int:
    out.print(render(report))
    counts = report.counts()
    summary = ", ".join(f"{n} {s}" for s, n in sorted(counts.items())) or "nothing compared"
    out.print(Text(summary, style="bold red" if report.failed else "bold green"))
    for c in report.comparisons:
        if c.unit_of_analysis == "run":
            out.print(f"[yellow]note:[/] {c.name} · {c.metric}: "
                      f"{c.evidence.partition('; ')[2] or c.evidence}")
    if report.missing:
        out.print(Text.assemble(("only on one side: ", "yellow"),
                                terminal_text(", ".join(report.missing))))
    for note in report.extra.get("gate", {}).get("disagreements", ()):
        out.print(Text.assemble(("counts and time disagree: ", "yellow"),
                                terminal_text(str(note))))
    ok = True  # each output on its own: one that fails does not cost the others
    if json_path is not None:
        def json_() -> str:
            assert json_path is not None
            write_atomic(json_path, json.dumps(report.to_dict(), indent=2) + "\n")
            return f"comparison written to {json_path}"

        ok &= attempt("--json", json_)
    if junit is not None:
        def junit_() -> str:
            from perfgate.report.junit import write_junit_comparison

            assert junit is not None
            write_junit_comparison(report, junit)
            return f"JUnit XML written to {junit}"

        ok &= attempt("--junit", junit_)
    from perfgate.report.markdown import comparison_markdown

    ok &= write_markdown_outputs(comparison_markdown(report), markdown)
    if html is not None:
        def html_() -> str:
            from perfgate.env import collect
            from perfgate.report.html import write_html

            assert html is not None
            rs = current if current is not None else ResultSet(environment=collect())
            write_html(rs, html, comparisons=report, title="perfgate comparison")
            return f"HTML report written to {html}"

        ok &= attempt("--html", html_)
    if not ok:
        return EXIT_USAGE
    return EXIT_FAIL if report.failed else EXIT_OK


def _gate(ref: str, targets: tuple[str, ...], cfg: Mapping[str, Any],
          thresholds: dict[str, Threshold], alpha: float, min_effect: float,
          budget: float | None, max_pairs: int | None, process_time: float | None,
          hash_seed: int, must_match: tuple[str, ...] = (),
          measure: str = "time") -> CompareReport:
    from perfgate.gate import GateOptions, run_gate

    gcfg = cfg.get("gate", {}) if isinstance(cfg.get("gate", {}), Mapping) else {}
    kw: dict[str, Any] = {"alpha": alpha, "min_effect": min_effect, "thresholds": thresholds,
                          "hash_seed": hash_seed, "must_match": must_match,
                          "measure": measure}
    for name, value in (("budget", budget if budget is not None else gcfg.get("budget")),
                        ("max_pairs", max_pairs if max_pairs is not None
                         else gcfg.get("max_pairs")),
                        ("process_time", process_time if process_time is not None
                         else gcfg.get("process_time"))):
        if value is not None:
            kw[name] = int(value) if name == "max_pairs" else float(value)
    if "max_pairs" in kw:
        kw["min_pairs"] = min(8, kw["max_pairs"])
    # --budget is the whole check: this process's start-up (imports) counts too
    total = float(kw.get("budget", DEFAULT_BUDGET))
    kw["budget"] = max(0.5, total - _seconds_since_start() - _REPORT_RESERVE)
    opts = GateOptions(**kw)

    def progress(pairs: int, spent: float, _note: str) -> None:
        if err.is_terminal:
            err.print(f"[dim]gate: {pairs} pair(s), {spent:.1f} s[/]", end="\r")

    how = ("instruction counts under valgrind, then " if measure == "instructions" else "")
    err.print(Text.assemble(("perfgate gate", "bold"), terminal_text(
        f": {', '.join(targets)} — working tree vs {ref}, {how}fresh processes A B / B A, "
        f"{opts.budget:.1f} s left of the budget")))
    report, _raw = run_gate(ref, targets, options=opts, progress=progress)
    gate = report.extra["gate"]
    err.print(f"gate: {gate['pairs']} pairs in {gate['seconds']:.1f} s "
              f"(stopped: {gate['stopped']})")
    return report


@click.command("compare")
@click.argument("args", nargs=-1, metavar="BASE CURRENT | TARGET...")
@click.option("--against", "ref", metavar="REF",
              help="Run the interleaved gate: TARGETs of the working tree vs git REF.")
@click.option("--threshold", "thresholds", multiple=True, metavar="[BENCH:]METRIC=AMOUNT",
              help="Fail level such as time=5%, 'time=5% warn 2%', alloc_bytes=0, "
                   "parse:time=10% (repeatable; overrides [tool.perfgate.thresholds]).")
@click.option("--metric", "metrics", multiple=True,
              help="Compare only these metrics (default: time and thresholded ones).")
@click.option("--min-effect", metavar="PCT", help="Smallest change called a regression "
              "or improvement (default 1%).")
@click.option("--alpha", type=float, help="Significance level, family-wise (default 0.05).")
@click.option("--budget", type=POSITIVE_FLOAT, metavar="SECONDS",
              help="Gate: wall-clock seconds for the whole check, start-up included "
                   "(default 9.5).")
@click.option("--max-pairs", type=POSITIVE_INT, help="Gate: most process pairs (default 64).")
@click.option("--process-time", type=POSITIVE_FLOAT, metavar="SECONDS",
              help="Gate: timed seconds per target in each worker (default 0.05).")
@click.option("--hash-seed", type=int, default=0, show_default=True,
              help="Gate: seeds the PYTHONHASHSEED drawn for each pair (both workers of a "
                   "pair share it).")
@click.option("--measure", type=click.Choice(["time", "instructions"]), default="time",
              show_default=True, help="Gate: instructions = decide from instruction counts "
              "(valgrind), wall time reported beside them. Files: compare only the "
              "instructions metric (and time).")
@click.option("--store", "store_url", metavar="URL", envvar="PERFGATE_STORE",
              help="Store holding BASE/CURRENT run ids (env PERFGATE_STORE).")
@click.option("--json", "json_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Write every comparison (ratio, CI, p, status) as JSON.")
@click.option("--junit", type=click.Path(dir_okay=False, path_type=Path),
              help="Write JUnit XML: each comparison a test case.")
@click.option("--markdown", type=click.Path(dir_okay=False, path_type=Path),
              help="Write a Markdown table (also to $GITHUB_STEP_SUMMARY when set).")
@click.option("--html", type=click.Path(dir_okay=False, path_type=Path),
              help="Write a self-contained HTML report: ratios with CIs, regressions first.")
@handle_errors
def compare_cmd(args: tuple[str, ...], ref: str | None, thresholds: tuple[str, ...],
                metrics: tuple[str, ...], min_effect: str | None, alpha: float | None,
                budget: float | None, max_pairs: int | None, process_time: float | None,
                hash_seed: int, measure: str, store_url: str | None, json_path: Path | None,
                junit: Path | None, markdown: Path | None, html: Path | None) -> None:
    """Compare BASE and CURRENT (result files or stored run ids), or with --against REF
    run TARGETs (suite paths or MODULE:CALLABLE) of this tree and of REF interleaved.

    Exit codes: 1 a regression crosses a fail threshold; 0 otherwise (improvement,
    unchanged, inconclusive, warn); 2 usage or input error.
    """
    cfg = load_config()
    th = _thresholds(cfg, thresholds)
    a = alpha if alpha is not None else float(cfg.get("alpha", 0.05))
    me = _fraction(min_effect if min_effect is not None else cfg.get("min_effect", 0.01),
                   "--min-effect")
    if not 0 < a < 1:
        raise UsageError(f"--alpha must be between 0 and 1, got {a}")
    if ref is not None:
        if not args:
            raise UsageError("--against REF needs at least one TARGET (a suite path or "
                             "MODULE:CALLABLE)")
        if measure == "instructions":
            from perfgate.bench._instructions import valgrind

            valgrind()  # before the worktree: missing valgrind is exit 2, not a failed worker
        report = _gate(ref, args, cfg, th, a, me, budget, max_pairs, process_time, hash_seed,
                       _cli_keys(thresholds), measure)
        current: ResultSet | None = None
    else:
        if len(args) != 2:
            raise UsageError("expected BASE and CURRENT (files or stored run ids), or "
                             "--against REF TARGET...")
        from perfgate.analysis.compare import compare_resultsets

        base, base_label = resolve_run(args[0], store_url)
        cur, cur_label = resolve_run(args[1], store_url)
        if measure == "instructions" and not metrics:
            metrics = ("instructions", "time")
        _require_matches(thresholds, base, cur)
        report = compare_resultsets(base, cur, thresholds=th, alpha=a, min_effect=me,
                                    metrics=metrics or None, base_label=base_label,
                                    current_label=cur_label)
        # Two saved runs: the store's history of the same benchmark on this machine
        # measures the run-to-run noise the two runs cannot show.
        single = {(c.name, c.metric) for c in report.comparisons
                  if c.unit_of_analysis in ("run", "process")}
        stored = any(x.isdigit() or x in ("latest", "previous") for x in args)
        if single and (store_url or stored):
            host = cur.environment.hostname or base.environment.hostname
            noise = history_noise(single, host, store_url)
            if noise:
                report = compare_resultsets(base, cur, thresholds=th, alpha=a, min_effect=me,
                                            metrics=metrics or None, base_label=base_label,
                                            current_label=cur_label, noise=noise)
        if measure == "instructions" and not any(
                c.metric == "instructions" for c in report.comparisons):
            raise UsageError("--measure instructions: neither run has an instructions "
                             "metric in common (measure them with --measure instructions)")
        if not report.comparisons:
            raise UsageError("nothing to compare: no benchmark has the same name and metric "
                             "in both runs")
        current = cur
    with _signals.shielded():  # a second Ctrl-C / SIGTERM cannot cut the writing short
        code = _emit(report, json_path, junit, markdown, html, current)
    if report.extra.get("gate", {}).get("stopped") == "interrupted" or _signals.received():
        err.print("[yellow]interrupted: the comparison covers the pairs measured before "
                  "the signal[/]")
        code = _signals.exit_code()
    sys.exit(code)
