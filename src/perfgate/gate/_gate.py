"""The interleaved gate: REF and the working tree, measured alternately in fresh processes.

1. ``git worktree add --detach`` checks REF out into a temporary directory (removed after);
   the current tree is the working directory as it is, uncommitted changes included.
2. Pairs of fresh worker processes run, one per tree, in the order A B, B A, A B … (the
   order alternates so that "second in a pair" cannot favour one side). Both workers of a
   pair get the same ``PYTHONHASHSEED`` and the same environment padding, drawn per pair
   from ``hash_seed``: a fixed seed and layout for every process would turn whatever
   dict order and memory/stack alignment a tree's paths happen to produce into a bias that
   repeats in every pair (identical code measured 2 % apart); drawing them per pair turns
   it into noise that the test accounts for. Every worker uses the same iterations per
   round (calibrated once).
3. Each worker's median round time is one observation — of the total, and of each
   ``pg.phase`` (timed in the same rounds) as ``time.<phase>``; a sweep is measured at
   every size, compared as ``time[n=SIZE]``; the pairs' log-ratios are tested
   with Wilcoxon's signed-rank test and a Hodges-Lehmann CI (:mod:`perfgate.analysis.compare`),
   Holm-adjusted across benchmarks.
4. Early stop: the data are analysed at fixed looks (after 8, 12, 16, 24, 32, 48 and 64
   pairs, and once more when the budget ends). Each analysis uses ``alpha / 7`` (Bonferroni
   over the looks), so looking early cannot inflate false alarms. The gate stops at the
   first look where every comparison is decided (regression, improvement or unchanged).
5. The budget is a hard limit: a worker still running when it ends (a target that sleeps
   or never returns) is killed, the pair it belonged to is dropped, and the gate reports on
   the complete pairs (with none, it is the target's error). The temporary worktree is
   removed however the gate ends — a second Ctrl-C/SIGTERM during the removal included.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from perfgate._errors import TargetError, UsageError
from perfgate.analysis.compare import (
    DEFAULT_THRESHOLDS,
    CompareReport,
    Comparison,
    Threshold,
    compare_samples,
    finish,
    size_metric,
    threshold_for,
    unmatched_thresholds,
)
from perfgate.analysis.run_noise import WAIT_FLOOR

__all__ = ["LOOKS", "GateOptions", "GateProgress", "git_root", "ref_worktree", "run_gate"]

LOOKS = (8, 12, 16, 24, 32, 48, 64)
_MIN_WORKER_S = 0.5  # a worker always gets this long, even when the budget is spent
WORKER = Path(__file__).with_name("_worker.py")
GateProgress = Callable[[int, float, str], None]  # (pairs done, seconds spent, note)


@dataclass(frozen=True)
class GateOptions:
    budget: float = 9.0  # wall-clock seconds for run_gate, worktree and workers included
    min_pairs: int = LOOKS[0]
    max_pairs: int = LOOKS[-1]
    process_time: float = 0.05  # seconds of timed rounds per target in each worker
    warmup: float = 0.03
    round_time: float = 1e-3
    alpha: float = 0.05
    min_effect: float = 0.01
    hash_seed: int = 0  # seeds the per-pair PYTHONHASHSEED and padding draws
    thresholds: Mapping[str, Threshold] = field(default_factory=dict)
    must_match: tuple[str, ...] = ()  # threshold keys that must apply to something measured
    python: str = sys.executable
    measure: str = "time"  # "instructions": counts decide, time beside them (gate/_instr.py)

    def __post_init__(self) -> None:
        if self.budget <= 0 or self.process_time <= 0:
            raise UsageError("the gate's budget and process time must be > 0")
        if not 2 <= self.min_pairs <= self.max_pairs:
            raise UsageError("need 2 ≤ min pairs ≤ max pairs")
        if self.measure not in ("time", "instructions"):
            raise UsageError(f"--measure must be time or instructions, not {self.measure!r}")


def _git(args: Sequence[str], cwd: Path) -> str:
    try:
        out = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True,
                             timeout=60, check=False)
    except (OSError, subprocess.SubprocessError) as exc:
        raise UsageError(f"git {args[0]}: {exc}") from None
    if out.returncode != 0:
        msg = (out.stderr or out.stdout).strip().splitlines()
        raise UsageError(f"git {' '.join(args)}: {msg[-1] if msg else 'failed'}")
    return out.stdout.strip()


def git_root(cwd: Path) -> Path:
    try:
        return Path(_git(["rev-parse", "--show-toplevel"], cwd))
    except UsageError:
        raise UsageError(f"{cwd}: not inside a git repository (the gate compares "
                         "against a git ref)") from None


@contextmanager
def ref_worktree(root: Path, ref: str) -> Iterator[tuple[Path, str]]:
    """A temporary detached worktree of ``ref``: yields (path, commit); always removed."""
    try:
        commit = _git(["rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}"], root)
    except UsageError:
        raise UsageError(f"--against {ref!r}: no such commit, branch or tag") from None
    tmp = Path(tempfile.mkdtemp(prefix="perfgate-gate-"))
    wt = tmp / "ref"
    try:
        _git(["worktree", "add", "--detach", "--quiet", str(wt), commit], root)
        yield wt, commit
    finally:
        _remove_worktree(root, wt, tmp)


def _remove_worktree(root: Path, wt: Path, tmp: Path) -> None:
    """Remove the worktree; a Ctrl-C/SIGTERM arriving meanwhile is raised only after."""
    interrupted: KeyboardInterrupt | None = None
    for _ in range(3):
        try:
            subprocess.run(["git", "worktree", "remove", "--force", str(wt)], cwd=root,
                           capture_output=True, check=False, timeout=60)
            shutil.rmtree(tmp, ignore_errors=True)
            subprocess.run(["git", "worktree", "prune"], cwd=root, capture_output=True,
                           check=False, timeout=60)
            break
        except KeyboardInterrupt as exc:  # a second signal: finish removing first
            interrupted = exc
        except (OSError, subprocess.SubprocessError):
            break
    if interrupted is not None:
        raise interrupted


class _Side:
    def __init__(self, label: str, root: Path) -> None:
        self.label = label
        self.root = root
        self.medians: dict[str, list[float]] = {}
        self.samples: dict[str, list[float]] = {}
        # per worker, the share of its timed rounds' wall time it waited for a CPU (taken
        # out of every round: gate/_worker.py says why)
        self.waits: dict[str, list[float]] = {}


def _median(xs: Sequence[float]) -> float:
    s = sorted(xs)
    k = len(s)
    return s[k // 2] if k % 2 else (s[k // 2 - 1] + s[k // 2]) / 2


class _OverBudget(Exception):
    """A worker killed because the gate's budget ended while it ran."""


def _run_worker(side: _Side, targets: Sequence[str], opts: GateOptions,
                iterations: Mapping[str, int], seed: int, pad: int,
                limit: float = 600.0) -> dict[str, Any]:
    job = {"root": str(side.root), "targets": list(targets), "time": opts.process_time,
           "warmup": opts.warmup, "round_time": opts.round_time,
           "iterations": dict(iterations)}
    env = {**os.environ, "PYTHONHASHSEED": str(seed), "PYTHONDONTWRITEBYTECODE": "1",
           "PERFGATE_GATE_PAD": "x" * pad}
    env.pop("PYTHONPATH", None)
    try:
        proc = subprocess.run([opts.python, str(WORKER), json.dumps(job)], cwd=side.root,
                              env=env, capture_output=True, text=True, timeout=limit,
                              check=False)
    except subprocess.TimeoutExpired:  # subprocess.run has killed it
        raise _OverBudget(f"{side.label}: a worker still ran when the budget ended "
                          f"({limit:.1f} s left for it)") from None
    if proc.returncode != 0:
        tail = "\n".join(proc.stderr.strip().splitlines()[-5:])
        raise TargetError(f"{side.label}: the worker failed (exit {proc.returncode}):\n{tail}")
    try:
        out: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        raise TargetError(f"{side.label}: the worker wrote no result "
                          f"(stdout: {proc.stdout[-200:]!r})") from None
    if out.get("errors"):
        what = "; ".join(f"{k}: {v}" for k, v in out["errors"].items())
        raise TargetError(f"{side.label}: {what}")
    return out


_SEP = "\x1f"  # series key: the bench name alone for its total time, else bench SEP metric


def _series(key: str, data: Mapping[str, Any]) -> Iterator[tuple[str, list[float]]]:
    """The series one worker result feeds: the total, and each phase, at its size."""
    bench = str(data.get("bench") or key)
    size = data.get("size")

    def sid(metric: str) -> str:
        metric = size_metric(metric, int(size)) if size is not None else metric
        return bench if metric == "time" else f"{bench}{_SEP}{metric}"

    yield sid("time"), list(data["samples"])
    for phase, samples in sorted((data.get("phases") or {}).items()):
        yield sid(f"time.{phase}"), list(samples)


def _split(series: str) -> tuple[str, str]:
    bench, sep, metric = series.partition(_SEP)
    return bench, metric if sep else "time"


def _label(series: str) -> str:
    """``bench`` for a total time, ``bench time.parse[n=100]`` for the others."""
    return series.replace(_SEP, " ")


def _analyse(a: _Side, b: _Side, names: Sequence[str], opts: GateOptions, alpha: float
             ) -> list[Comparison]:
    th = {**DEFAULT_THRESHOLDS, **opts.thresholds}
    raw = []
    for series in names:
        name, metric = _split(series)
        t = threshold_for(th, name, metric)
        c = compare_samples(name, metric, "s", a.medians[series], b.medians[series],
                            paired=True, unit_of_analysis="process", threshold=t)
        wa, wb = (sum(s.waits[series]) / max(1, len(s.waits[series])) for s in (a, b))
        if max(wa, wb) > WAIT_FLOOR and not metric.startswith("time."):
            c = replace(c, evidence=(
                f"{c.evidence}; each round timed less its wait for a CPU (base "
                f"{100 * wa:.0f}%, current {100 * wb:.0f}% of the rounds' wall time): a "
                "slower side's longer rounds are preempted more often on a busy machine"))
        raw.append(c)
    return finish(raw, alpha, opts.min_effect)


def run_gate(ref: str, targets: Sequence[str], *, cwd: Path | None = None,
             options: GateOptions | None = None, progress: GateProgress | None = None,
             clock: Callable[[], float] = time.monotonic) -> tuple[CompareReport, dict[str, Any]]:
    """Run the interleaved gate; returns the report and the raw per-process data
    (``{"base": {name: {"process_medians": [...], "samples": [...]}}, "current": …}``)."""
    opts = options or GateOptions()
    if not targets:
        raise UsageError("the gate needs at least one TARGET (a suite path or MODULE:CALLABLE)")
    if opts.measure == "instructions":  # perfgate.gate.run_gate sends these to gate._instr
        raise UsageError("instruction mode runs through perfgate.gate.run_gate")
    start = clock()
    here = (cwd or Path.cwd()).resolve()
    root = git_root(here)
    rel = here.relative_to(root.resolve())
    with ref_worktree(root, ref) as (wt, commit):
        base, cur = _Side(f"{ref} ({commit[:10]})", wt / rel), _Side("working tree", here)
        if not base.root.is_dir():
            raise UsageError(f"{rel} does not exist at {ref}")
        loop_start = clock()
        iterations: dict[str, int] = {}
        rng = random.Random(opts.hash_seed)
        names: list[str] = []
        pairs, stopped = 0, "max-pairs"
        alpha_look = opts.alpha / len(LOOKS)
        comps: list[Comparison] = []
        try:
            while pairs < opts.max_pairs:
                order = (base, cur) if pairs % 2 == 0 else (cur, base)
                seed, pad = rng.randrange(1, 2**32 - 1), rng.randrange(0, 4096)
                for side in order:
                    left = max(_MIN_WORKER_S, opts.budget - (clock() - start))
                    out = _run_worker(side, targets, opts, iterations, seed, pad, left)
                    for key, data in out["results"].items():
                        iterations.setdefault(key, int(data["iterations"]))
                        for series, samples in _series(key, data):
                            side.medians.setdefault(series, []).append(_median(samples))
                            side.samples.setdefault(series, []).extend(samples)
                            side.waits.setdefault(series, []).append(
                                float(data.get("cpu_wait") or 0.0))
                if pairs == 0:
                    names = [n for n in cur.medians if n in base.medians]
                    if not names:
                        raise UsageError("no benchmark exists in both trees: "
                                         f"{sorted(base.medians)} vs {sorted(cur.medians)}")
                    bad = unmatched_thresholds(opts.must_match, map(_split, names))
                    if bad:
                        raise UsageError(
                            f"--threshold {', '.join(repr(k) for k in bad)} matches no "
                            "benchmark and metric measured in both trees: "
                            f"{', '.join(_label(n) for n in names)}")
                pairs += 1
                now = clock()
                spent = now - start
                if progress is not None:
                    progress(pairs, spent, "")
                next_end = spent + (now - loop_start) / pairs  # when the next pair would end
                last = pairs >= opts.max_pairs or (pairs >= 3 and next_end > opts.budget)
                if pairs in LOOKS or last:
                    comps = _analyse(base, cur, names, opts, alpha_look)
                    if not last and pairs >= opts.min_pairs and all(
                            c.status != "inconclusive" for c in comps):
                        stopped = "clear"
                        break
                if last:
                    stopped = "budget" if pairs < opts.max_pairs else "max-pairs"
                    break
        except (KeyboardInterrupt, _OverBudget) as exc:
            # Ctrl-C, or a worker killed at the budget: keep every complete pair measured
            # so far and report on them.
            if isinstance(exc, _OverBudget) and pairs == 0:
                raise TargetError(f"{exc}; no pair was complete: does a target sleep or "
                                  "never return?") from None
            stopped = "interrupted" if isinstance(exc, KeyboardInterrupt) else "budget"
            for side in (base, cur):
                for n in side.medians:
                    side.medians[n] = side.medians[n][:pairs]
                    side.waits[n] = side.waits[n][:pairs]
            comps = _analyse(base, cur, names, opts, alpha_look) if pairs >= 1 and names else []
        seconds = clock() - start
    report = CompareReport(
        tuple(comps), alpha_look, opts.min_effect, base_label=f"{ref} ({commit[:10]})",
        current_label="working tree",
        missing=tuple(sorted(_label(k) for k in
                             set(base.medians).symmetric_difference(cur.medians))),
        extra={"gate": {"ref": ref, "commit": commit, "pairs": pairs, "stopped": stopped,
                        "seconds": round(seconds, 3), "looks": list(LOOKS),
                        "alpha_overall": opts.alpha, "hash_seed": opts.hash_seed,
                        "process_time": opts.process_time, "budget": opts.budget,
                        "iterations": iterations}},
    )
    raw = {side_name: {_label(n): {"process_medians": s.medians[n], "samples": s.samples[n],
                                   "process_waits": s.waits[n]}
                       for n in names}
           for side_name, s in (("base", base), ("current", cur))}
    return report, raw
