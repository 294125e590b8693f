"""pytest-benchmark's saved runs and comparisons, judged by perfgate.

``--benchmark-save=NAME`` / ``--benchmark-autosave`` write the session's document where
pytest-benchmark does (``STORAGE/MACHINE_ID/NNNN_NAME.json``), so its tools and perfgate's
``import`` read them. ``--benchmark-compare[=NUM|ID]`` compares this session with a saved
run, and ``--benchmark-compare-fail=EXPR`` fails the session on a regression — with
perfgate's comparison of saved runs (analysis/compare.py), not a threshold on two numbers:
each file is one run of one process, so a change is called only beyond the run-to-run
noise, measured from the other saved runs of the same benchmark in the same folder (≥ 5),
else assumed (6 % per run: only changes beyond ~18 % are called). pytest-benchmark itself
fails ``min:5%`` on any 5 % difference of two minima, which noise alone makes.
"""

from __future__ import annotations

import platform
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from perfgate._errors import UsageError
from perfgate.analysis.compare import (
    CompareReport,
    Threshold,
    compare_resultsets,
    run_noise,
)
from perfgate.analysis.run_noise import RunNoise
from perfgate.model import ResultSet

__all__ = ["HISTORY_RUNS", "FailRule", "compare_with_saved", "describe",
           "machine_id", "parse_fail", "pick_saved", "save_path", "saved_runs",
           "storage_folder"]

HISTORY_RUNS = 100  # newest saved runs whose spread estimates the run-to-run noise

_SAVED = re.compile(r"^(\d{4})_.*\.json$")
# pytest-benchmark's expressions: FIELD:PERCENT% or FIELD:SECONDS
_FAIL = re.compile(r"^(?P<field>min|max|mean|median|stddev|iqr):"
                   r"(?:(?P<pct>\d+(?:\.\d*)?)%|(?P<abs>\d*\.?\d+(?:[eE][-+]?\d+)?))$")
_LOCATION = ("min", "max", "mean", "median")


def machine_id() -> str:
    """pytest-benchmark's folder name for this interpreter: ``Linux-CPython-3.11-64bit``."""
    return "-".join((platform.system(), platform.python_implementation(),
                     ".".join(platform.python_version_tuple()[:2]), platform.architecture()[0]))


def storage_folder(uri: str, cwd: Path) -> Path:
    """The folder of this machine's saved runs under ``--benchmark-storage`` (``file://``
    or a plain path, relative to ``cwd``; other storages are refused, not ignored)."""
    path = uri[len("file://"):] if uri.startswith("file://") else uri
    if "://" in path or not path:
        raise UsageError(f"--benchmark-storage {uri!r}: perfgate saves and compares only "
                         "file storage (file://PATH)")
    root = Path(path).expanduser()
    return (root if root.is_absolute() else cwd / root) / machine_id()


def saved_runs(folder: Path) -> list[Path]:
    """The saved runs in ``folder``, oldest (lowest number) first."""
    if not folder.is_dir():
        return []
    found = [(int(m.group(1)), p) for p in folder.iterdir()
             if (m := _SAVED.match(p.name)) is not None and p.is_file()]
    return [p for _, p in sorted(found)]


def save_path(folder: Path, name: str) -> Path:
    """``NNNN_NAME.json``, numbered after the newest saved run."""
    runs = saved_runs(folder)
    last = int(runs[-1].name[:4]) if runs else 0
    safe = re.sub(r"[^\w.-]+", "_", name).strip("_") or "run"
    return folder / f"{last + 1:04d}_{safe}.json"


def pick_saved(folder: Path, which: str | bool) -> Path:
    """The run ``--benchmark-compare`` names: the newest (no value), a number (``3`` or
    ``0003``), or the one saved run whose file name holds the text."""
    runs = saved_runs(folder)
    if not runs:
        raise UsageError(f"--benchmark-compare: no saved runs in {folder} (save one first "
                         "with --benchmark-autosave or --benchmark-save=NAME)")
    if which is True or which == "":
        return runs[-1]
    text = str(which)
    if text.isdigit():
        hit = [p for p in runs if int(p.name[:4]) == int(text)]
    else:
        hit = [p for p in runs if text in p.stem]
    if len(hit) != 1:
        names = ", ".join(p.name for p in runs[-5:])
        raise UsageError(f"--benchmark-compare={text}: {'no' if not hit else len(hit)} saved "
                         f"run(s) match in {folder} (the newest: {names})")
    return hit[0]


@dataclass(frozen=True)
class FailRule:
    """One ``--benchmark-compare-fail`` expression as a perfgate threshold on ``time``."""

    text: str
    threshold: Threshold


def parse_fail(exprs: Sequence[str]) -> list[FailRule]:
    """pytest-benchmark's ``FIELD:N%`` / ``FIELD:SECONDS`` expressions. Every location
    field (min, max, mean, median) is judged on perfgate's comparison of the rounds (their
    Hodges-Lehmann shift, with the run-to-run noise); the spread fields (stddev, iqr) are
    refused: a gate that silently judged something else would not be gating."""
    rules = []
    for e in exprs:
        m = _FAIL.match(e.strip())
        if m is None:
            raise UsageError(f"--benchmark-compare-fail {e!r}: expected FIELD:PERCENT% or "
                             "FIELD:SECONDS, e.g. mean:5% or min:0.001")
        if m.group("field") not in _LOCATION:
            raise UsageError(f"--benchmark-compare-fail {e!r}: perfgate judges a change of "
                             f"the timings' level ({', '.join(_LOCATION)}), not of their "
                             "spread")
        pct, absolute = m.group("pct"), m.group("abs")
        th = (Threshold(float(pct) / 100, relative=True, text=f"{pct}%") if pct is not None
              else Threshold(float(absolute), relative=False, text=f"{absolute}s"))
        rules.append(FailRule(e.strip(), th))
    return rules


def _noise(history: Sequence[ResultSet]) -> dict[tuple[str, str], RunNoise]:
    """Run-to-run noise of each benchmark's time over the saved runs (oldest first)."""
    values: dict[str, list[float]] = {}
    for rs in history:
        for r in rs.results:
            t = r.metrics.get("time")
            if r.error is None and t is not None and t.central:
                values.setdefault(r.name, []).append(float(t.central))
    out = {}
    for name, v in values.items():
        rn = run_noise(v, f"{len(v)} saved runs in this folder")
        if rn is not None:
            out[(name, "time")] = rn
    return out


def compare_with_saved(current: ResultSet, base: ResultSet, history: Sequence[ResultSet],
                       rules: Sequence[FailRule], base_label: str
                       ) -> tuple[CompareReport, list[str]]:
    """This session against a saved run; returns the report (decided with the strictest
    rule, else perfgate's default thresholds) and the rules that failed."""
    noise = _noise(history)

    def one(th: Threshold | None) -> CompareReport:
        return compare_resultsets(base, current, thresholds={"time": th} if th else None,
                                  metrics=["time"], noise=noise, base_label=base_label,
                                  current_label="this session")

    if not rules:
        return one(None), []
    judged = [(r.text, one(r.threshold)) for r in rules]  # the same comparison, each level
    failed = [text for text, rep in judged if any(c.level == "fail" for c in rep.comparisons)]
    shown = next((rep for text, rep in judged if text in failed), judged[0][1])
    return shown, failed


def describe(report: CompareReport) -> list[str]:
    """One plain line per comparison, for the terminal summary."""
    lines = []
    for c in report.comparisons:
        ci = f" (95% CI {c.ci[0]:.3f}–{c.ci[1]:.3f})" if c.ci else ""
        ratio = f"{c.ratio:.3f}×" if c.ratio is not None else "-"
        level = f", {c.level.upper()}" if c.level != "ok" else ""
        lines.append(f"  {c.name}: {ratio}{ci} {c.status}{level} — {c.evidence}")
    return lines

