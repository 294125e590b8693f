"""Change points on synthetic histories with known steps: perfgate beside ruptures (PELT).

Series (fixed seed): 60–120 runs of a benchmark's headline value with log-normal noise of
1–5 %, 0–3 steps of 2–20 % either way (segments ≥ 12 runs), outlier runs (×1.3–2 or ×0.6)
in half of them, and in a fifth of them a drift (a ramp of 5–15 % over 15–25 runs) instead
of a step. A found change matches a true step when it is within ±2 runs of it; a found
change inside a true drift (±2 runs) matches the drift; anything else is a false change
point.

Printed per method: recall of steps ≥ 5 % and of 2–4 % steps, false change points (share of
all changes reported, per series, and how many have no true step even within 7 runs — the
rest are real steps placed 3–7 runs off), drifts reported as one drift, and seconds.

The reference is ``ruptures`` (PELT, least squares on log values, a BIC penalty
2·σ²·ln n with σ from successive differences; and the same with the robust L1 cost), run
by a Python that has it — its own venv, so that perfgate does not depend on it:

    python3 -m venv /tmp/cpref && /tmp/cpref/bin/pip install ruptures
    python benchmarks/changepoints_accuracy.py --series 240 --ref-python /tmp/cpref/bin/python

Then the 10,000-run history: a SQLite store filled with 10,000 runs of one benchmark, one
run appended and ``history --check``'s computation timed (it reads the newest 201 runs),
beside change points over the whole 10,000-run series.
"""

from __future__ import annotations

import argparse
import datetime
import json
import math
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

REF = r"""
import json, sys, numpy as np, ruptures as rpt
series = json.load(open(sys.argv[1]))
out = {}
for model in ("l2", "l1"):
    found = []
    for s in series:
        x = np.log(np.asarray(s))
        d = np.diff(x)
        sigma = 1.4826 * np.median(np.abs(d - np.median(d))) / np.sqrt(2)
        pen = 2 * sigma ** 2 * np.log(x.size) * (1 if model == "l2" else 0)
        if model == "l1":
            pen = 2 * sigma * np.log(x.size)
        bk = rpt.Pelt(model=model, min_size=3, jump=1).fit(x.reshape(-1, 1)).predict(pen=pen)
        found.append([int(b) for b in bk[:-1]])
    out[model] = found
json.dump(out, open(sys.argv[2], "w"))
"""


def make_series(rng: np.random.Generator, outliers: list[int] | None = None) -> tuple[list[float], list[tuple[int, float]],
                                                    list[tuple[int, int]]]:
    n = int(rng.integers(60, 121))
    sd = float(rng.uniform(0.01, 0.05))
    level = np.zeros(n)
    steps: list[tuple[int, float]] = []
    drifts: list[tuple[int, int]] = []
    k = int(rng.integers(0, 4))
    cuts = sorted(int(c) for c in rng.choice(np.arange(12, n - 12), size=k, replace=False))
    cuts = [c for i, c in enumerate(cuts) if i == 0 or c - cuts[i - 1] >= 12]
    for c in cuts:
        size = float(rng.choice([0.02, 0.03, 0.04, 0.05, 0.08, 0.10, 0.15, 0.20]))
        size *= 1 if rng.random() < 0.5 else -1
        if rng.random() < 0.2 and c + 15 < n:  # a drift instead of a step
            length = int(rng.integers(15, 26))
            end = min(n - 1, c + length)
            total = float(rng.uniform(0.05, 0.15)) * (1 if size > 0 else -1)
            ramp = np.clip((np.arange(n) - c) / (end - c), 0, 1) * math.log(1 + total)
            level += ramp
            drifts.append((c, end))
        else:
            level[c:] += math.log(1 + size)
            steps.append((c, size))
    x = level + rng.normal(0, sd, n)
    if rng.random() < 0.5:
        for _ in range(int(rng.integers(1, 3))):
            j = int(rng.integers(0, n))
            x[j] += math.log(float(rng.choice([1.3, 1.6, 2.0, 0.6])))
            if outliers is not None:
                outliers.append(j)
    return list(np.exp(x)), steps, drifts


def score(found: list[list[tuple[int, int, str]]], truth: list[Any],
          located: list[list[tuple[int, int] | None]] | None = None) -> dict[str, Any]:
    """found: per series, (start, end, kind) of each change reported; located: per series,
    each change's 95 % location interval (steps), when the method gives one."""
    big = small = big_hit = small_hit = false = reported = drifts = drift_one = spurious = 0
    covered = matched = outside = 0
    for n, (f, (_v, steps, drs)) in enumerate(zip(found, truth, strict=True)):
        reported += len(f)
        for (s, _e, _k), loc in zip(f, located[n] if located else [None] * len(f),
                                    strict=True):
            if loc is None:
                continue
            near = [c for c, _ in steps if abs(s - c) <= 7]
            if near:  # a real step: does the interval hold it?
                matched += 1
                covered += any(loc[0] <= c <= loc[1] for c in near)
            inside_drift = any(a - 2 <= s <= b + 2 for a, b in drs)
            outside += (not near and not inside_drift) or (
                bool(near) and not any(loc[0] - 2 <= c <= loc[1] + 2 for c in near))
        for c, size in steps:
            hit = any(abs(s - c) <= 2 for s, _e, _k in f)
            if abs(size) >= 0.05:
                big, big_hit = big + 1, big_hit + hit
            else:
                small, small_hit = small + 1, small_hit + hit
        for a, b in drs:
            drifts += 1
            inside = [k for s, e, k in f if a - 2 <= s <= b + 2 or a - 2 <= e <= b + 2]
            drift_one += inside == ["drift"]
        for s, e, _k in f:
            ok = any(abs(s - c) <= 2 for c, _ in steps) or any(
                a - 2 <= s <= b + 2 or a - 2 <= e <= b + 2 for a, b in drs)
            false += not ok
            # nothing real within 7 runs: not a misplaced step but a change that is not there
            spurious += not ok and not any(abs(s - c) <= 7 for c, _ in steps)
    return {"recall_ge5": big_hit / max(big, 1), "steps_ge5": big,
            "recall_2to4": small_hit / max(small, 1), "steps_2to4": small,
            "false_share": false / max(reported, 1), "false": false, "reported": reported,
            "false_per_series": false / len(found), "spurious": spurious,
            "drift_as_one_drift": drift_one / max(drifts, 1), "drifts": drifts,
            "located": bool(located), "covered": covered, "matched": matched,
            "outside": outside}


def show(name: str, s: dict[str, Any], seconds: float) -> None:
    print(f"{name:<28} steps ≥5%: {100 * s['recall_ge5']:5.1f}% found (of {s['steps_ge5']}) | "
          f"2–4%: {100 * s['recall_2to4']:5.1f}% (of {s['steps_2to4']}) | false: "
          f"{s['false']}/{s['reported']} = {100 * s['false_share']:.1f}% "
          f"({s['false_per_series']:.2f}/series; {s['spurious']} with no step within 7 runs) "
          f"| drifts as one drift: "
          f"{100 * s['drift_as_one_drift']:.0f}% (of {s['drifts']}) | {seconds:.1f} s")
    if s.get("located"):
        print(f"{'':<28} 95% location intervals: hold the true step for {s['covered']} of "
              f"{s['matched']} steps found near one ({100 * s['covered'] / max(1, s['matched']):.1f}%);"
              f" changes with no true step within their interval ±2 runs: {s['outside']}/"
              f"{s['reported']} = {100 * s['outside'] / max(1, s['reported']):.1f}%")


def oracle(truth: list[Any], outliers: list[list[int]]) -> float:
    """Share of ≥ 5 % steps that least squares places within ±2 runs when it is told the
    true changes (between which neighbours each step lies) and which runs are outliers (left
    out): about the most any method can place here — the rest are steps too small for their
    noise to place within ±2 runs."""
    hit = big = 0
    for (v, steps, drs), wild in zip(truth, outliers, strict=True):
        x = np.log(np.asarray(v))
        x[wild] = np.nan
        marks = sorted([c for c, _ in steps] + [a for a, _ in drs] + [b for _, b in drs])
        for c, size in steps:
            if abs(size) < 0.05:
                continue
            big += 1
            lo = max([m for m in marks if m < c], default=0)
            hi = min([m for m in marks if m > c], default=x.size)
            seg = x[lo:hi]
            idx = np.flatnonzero(np.isfinite(seg))
            y = seg[idx] - seg[idx].mean()
            t = np.arange(2, y.size - 1)
            head = np.cumsum(y)[t - 1]
            placed = lo + int(idx[t[np.argmax(head ** 2 / t + head ** 2 / (y.size - t))]])
            hit += abs(placed - c) <= 2
    return hit / max(big, 1)


def ten_thousand(tmp: Path) -> None:
    from perfgate import Environment, Metric, Result, ResultSet
    from perfgate.analysis.changepoints import detect_changes
    from perfgate.cli._history_check import history_check
    from perfgate.store import open_store

    rng = np.random.default_rng(5)
    url = f"sqlite:///{tmp / 'big.db'}"

    def run(i: int, v: float) -> ResultSet:
        when = datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC) + datetime.timedelta(hours=i)
        env = Environment(hostname="h", git_commit=f"{i:08x}", started_at=when.isoformat())
        m = Metric(unit="s", kind="distribution", n=30, median=v)
        return ResultSet(environment=env, results=(
            Result(name="f", kind="bench", metrics={"time": m}),))

    t0 = time.perf_counter()
    with open_store(url) as store:
        for i in range(10_000):
            store.save(run(i, 1e-3 * math.exp(rng.normal(0, 0.02)) * (1.05 if i > 6000 else 1)))
    fill = time.perf_counter() - t0
    with open_store(url) as store:
        t0 = time.perf_counter()
        store.save(run(10_000, 1.15e-3))
        chk = history_check(store, "f", {}, alpha=0.05, min_effect=0.01)
        took = time.perf_counter() - t0
        (c,) = chk.report.comparisons
        values = [p.value for p in store.series("f", "time")]
    print(f"\n10,000 stored runs (filled in {fill:.0f} s): appending one run and re-checking "
          f"took {took:.3f} s → {c.status}, {c.level} ({c.ratio:.3f}×)")
    t0 = time.perf_counter()
    ch = detect_changes(values)
    print(f"change points over all {len(values)} runs: {len(ch)} found "
          f"({', '.join(f'{x.kind} at {x.start} {x.ratio:.3f}×' for x in ch)}) in "
          f"{time.perf_counter() - t0:.2f} s")


def main() -> None:
    from perfgate.analysis.changepoints import detect_changes

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--series", type=int, default=240)
    ap.add_argument("--seed", type=int, default=13)
    ap.add_argument("--ref-python", help="a Python with ruptures installed")
    ap.add_argument("--skip-10k", action="store_true")
    args = ap.parse_args()
    print(f"load average at start: {os.getloadavg()[0]:.1f}")
    rng = np.random.default_rng(args.seed)
    outliers: list[list[int]] = [[] for _ in range(args.series)]
    truth = [make_series(rng, outliers[k]) for k in range(args.series)]
    t0 = time.perf_counter()
    found = [detect_changes(v) for v, _s, _d in truth]
    took = time.perf_counter() - t0
    ours = [[(c.start, c.end, c.kind) for c in f] for f in found]
    show("perfgate (rank binseg)", score(ours, truth, [[c.located for c in f] for f in found]),
         took)
    print(f"{'least squares told the truth':<28} steps ≥5%: {100 * oracle(truth, outliers):5.1f}% "
          f"placed within ±2 runs (told the true changes and which runs are outliers)")
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        if args.ref_python:
            (tmp / "s.json").write_text(json.dumps([v for v, _s, _d in truth]))
            (tmp / "ref.py").write_text(REF)
            t0 = time.perf_counter()
            subprocess.run([args.ref_python, str(tmp / "ref.py"), str(tmp / "s.json"),
                            str(tmp / "r.json")], check=True, timeout=3600)
            took = time.perf_counter() - t0
            ref = json.loads((tmp / "r.json").read_text())
            for model, found in ref.items():
                show(f"ruptures PELT {model} (BIC pen)",
                     score([[(b, b, "step") for b in f] for f in found], truth), took / 2)
        print(f"load average: {os.getloadavg()[0]:.1f}")
        if not args.skip_10k:
            ten_thousand(tmp)
            print(f"load average: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    sys.exit(main())
