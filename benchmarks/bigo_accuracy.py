"""perfgate's big-O classification against the big_O package's, on the same functions and sizes.

Five functions of known complexity (constant, logarithmic, linear, n log n, quadratic) are
classified ``--runs`` times by each tool, end to end: each tool times the function itself at
the same sizes (big_O's convention: ``--points`` sizes evenly spaced between a minimum and a
maximum) and fits the classes. big_O is limited to the classes perfgate knows (its
Polynomial class has no counterpart), and always names one; perfgate may answer
``inconclusive``, which is counted apart: not correct, and not wrong either.

A second table feeds the *same* timings (perfgate's per-size medians) to both fitters, so the
fitting method is compared without the measuring.

A third table runs **held-out cases**: effects the classifier was not tuned on — a linear
dict build at three sizes with a cache step (the issue's 153 → 205 ns per item), random
access from L2 to RAM (a memory-hierarchy step), 0-40 % noise per call, a constant cost
larger than the linear part at small n, and n log n against n over short ranges. Each tool
may be inconclusive there; a class named with confidence must be the true one, and the
count of wrong confident classes is printed per tool (perfgate's must be 0).

Printed per tool and function: correct / inconclusive / wrong out of the runs, and overall
accuracy (correct / runs) and error rate (wrong / runs).

big_O picks the class with the least squared residual (seconds²), preferring the simpler
class unless a richer one improves it by more than its ``simplicity_bias`` (1e-6 s² by
default): with sub-millisecond timings that bias swamps the residuals, so big_O then keeps
the simplest class that is roughly right. ``--bias 0`` removes it (big_O then always takes
the least residual).

Usage: python benchmarks/bigo_accuracy.py [--runs 5] [--points 8] [--clock auto|wall|cpu]
                                          [--bias 1e-6] [--held-out-only]
  --clock  perfgate's sweep clock (default auto, as users get it: the thread's CPU time for
           calls that never wait, else the wall clock). ``wall`` shows what a busy machine
           does to wall-clock sweeps: calls longer than a scheduler time slice also time the
           neighbours. big_O always uses the wall clock.
"""

from __future__ import annotations

import argparse
import math
import os
import random
import sys
import time
from collections import Counter
from collections.abc import Callable, Sequence
from typing import Any

import big_o
import numpy as np

import perfgate as pg
from perfgate.bench import BenchOptions


def lookup(d: dict[int, int]) -> int:
    return d[0]


def bsearch(data: list[int]) -> int:
    lo, hi, x = 0, len(data), len(data) // 3
    while lo < hi:
        mid = (lo + hi) // 2
        if data[mid] < x:
            lo = mid + 1
        else:
            hi = mid
    return lo


def loop(n: int) -> int:
    s = 0
    for i in range(n):
        s += i
    return s


def n_log_n(n: int) -> int:
    s = 0
    for i in range(int(n * math.log2(n))):
        s += i
    return s


def quadratic(n: int) -> int:
    s = 0
    for _ in range(n):
        for j in range(n):
            s += j
    return s


# name: (function, input builder, min n, max n)
CASES: dict[str, tuple[Callable[[Any], Any], Callable[[int], Any], int, int]] = {
    "O(1)": (lookup, lambda n: {i: i for i in range(n)}, 1_000, 100_000),
    "O(log n)": (bsearch, lambda n: list(range(n)), 1_000, 262_144),
    "O(n)": (loop, lambda n: n, 1_000, 40_000),
    "O(n log n)": (n_log_n, lambda n: n, 500, 10_000),
    "O(n^2)": (quadratic, lambda n: n, 20, 200),
}
def build_dict(n: int) -> dict[int, int]:
    return {i: i for i in range(n)}


def shuffled(n: int) -> tuple[list[int], list[int]]:
    data = list(range(n))
    order = list(range(n))
    random.Random(n).shuffle(order)
    return data, order


def gather(arg: tuple[list[int], list[int]]) -> int:
    data, order = arg
    s = 0
    for i in order:  # random access: from L2 to RAM as n grows, each item gets dearer
        s += data[i]
    return s


_JITTER = random.Random(11)


def noisy_loop(n: int) -> int:
    return loop(int(n * (1.0 + 0.4 * _JITTER.random())))  # each call 0-40 % extra work


def overhead_then_loop(n: int) -> int:
    loop(20_000)  # a fixed cost (~0.5 ms) larger than the linear part at small n
    return loop(n)


def sort_random(data: list[float]) -> list[float]:
    return sorted(data)


def random_floats(n: int) -> list[float]:
    rng = random.Random(n)
    return [rng.random() for _ in range(n)]


# Held-out cases: effects the fitter was not tuned on. name: (true class, function, input
# builder, sizes). A tool may be inconclusive on them; a class named with confidence must
# be the true one.
HELD_OUT: dict[str, tuple[str, Callable[[Any], Any], Callable[[int], Any], list[int]]] = {
    "dict build, 3 sizes (cache step)": ("O(n)", build_dict, lambda n: n, [100, 1000, 10_000]),
    "random gather (memory hierarchy)": ("O(n)", gather, shuffled,
                                         [10_000, 30_000, 100_000, 300_000, 1_000_000]),
    "loop + 0-40 % noise per call": ("O(n)", noisy_loop, lambda n: n,
                                     [1000, 2000, 5000, 10_000, 20_000, 50_000]),
    "constant 0.5 ms + loop": ("O(n)", overhead_then_loop, lambda n: n,
                               [100, 300, 1000, 3000, 10_000, 30_000]),
    "sorted(), short range": ("O(n log n)", sort_random, random_floats,
                              [1000, 1500, 2000, 3000, 4000]),
    "loop, short range": ("O(n)", loop, lambda n: n, [1000, 1500, 2000, 3000, 4000]),
}
BIG_O_NAMES = {
    "Constant": "O(1)", "Logarithmic": "O(log n)", "Linear": "O(n)",
    "Linearithmic": "O(n log n)", "Quadratic": "O(n^2)", "Cubic": "O(n^3)",
    "Exponential": "O(2^n)",
}
C = big_o.complexities
# In big_O's own order (ALL_CLASSES, Polynomial left out): its near-tie rule favours earlier.
BIG_O_CLASSES = [C.Constant, C.Linear, C.Quadratic, C.Cubic, C.Logarithmic, C.Linearithmic,
                 C.Exponential]


def sizes_for(lo: int, hi: int, points: int) -> list[int]:
    return [round(float(x)) for x in np.linspace(lo, hi, points)]


def perfgate_run(case: str, points: int, clock: str) -> tuple[str, list[int], list[float]]:
    fn, build, lo, hi = CASES[case]
    sizes = sizes_for(lo, hi, points)
    r = pg.sweep(fn, sizes, setup=build, options=BenchOptions(max_time=0.05, warmup=0.01,
                                                                 memory=False),
                 clock=clock)
    medians = [p["metrics"]["time"]["median"] for p in r.extra["by_size"]]
    return r.extra["complexity"]["time"]["class"], sizes, medians


def held_out_run(case: str, clock: str, bias: float) -> tuple[str, str, str]:
    """(perfgate's class end to end, big_O's on perfgate's medians, big_O end to end with
    its own timing — the minimum of 3 calls per size — at the same sizes)."""
    _, fn, build, sizes = HELD_OUT[case]
    r = pg.sweep(fn, sizes, setup=build, options=BenchOptions(max_time=0.05, warmup=0.01,
                                                                 memory=False),
                 clock=clock)
    medians = [p["metrics"]["time"]["median"] for p in r.extra["by_size"]]
    entry = r.extra["complexity"]["time"]
    if entry["class"] not in (HELD_OUT[case][0], "inconclusive"):  # show why, for the record
        errs = [(p["metrics"]["time"]["ci_low"], p["metrics"]["time"]["ci_high"])
                for p in r.extra["by_size"]]
        print(f"    [perfgate wrong on {case}: {entry['evidence']}; medians {medians}; "
              f"CIs {errs}]", file=sys.stderr)
    own = []
    for n in sizes:
        arg = build(n)
        best = math.inf
        for _ in range(3):
            t0 = time.perf_counter()
            fn(arg)
            best = min(best, time.perf_counter() - t0)
        own.append(best)
    return (r.extra["complexity"]["time"]["class"], big_o_fit(sizes, medians, bias),
            big_o_fit(sizes, own, bias))


def _held_line(tool: str, truth: str, tally: Counter[str], runs: int) -> str:
    correct, inconclusive = tally[truth], tally["inconclusive"]
    wrong = runs - correct - inconclusive
    others = ", ".join(f"{k}×{v}" for k, v in tally.items() if k not in (truth, "inconclusive"))
    return (f"    {tool:<22} correct {correct:>2}/{runs}  inconclusive {inconclusive:>2}  "
            f"wrong with confidence {wrong:>2}" + (f"  ({others})" if others else ""))


def held_out(runs: int, clock: str, bias: float, only: Sequence[str] = ()) -> None:
    tools = ("perfgate", "big_O (same timings)", "big_O (own timing)")
    wrong = dict.fromkeys(tools, 0)
    total = 0
    print("held-out cases (true class; sizes): perfgate beside big_O")
    for case, (truth, _, _, sizes) in HELD_OUT.items():
        if only and not any(word in case for word in only):
            continue
        tallies: dict[str, Counter[str]] = {t: Counter() for t in tools}
        for _ in range(runs):
            for tool, cls in zip(tools, held_out_run(case, clock, bias), strict=True):
                tallies[tool][cls] += 1
        total += runs
        print(f"  {case}: {truth}; n = {', '.join(f'{n:,}' for n in sizes)}")
        for tool in tools:
            print(_held_line(tool, truth, tallies[tool], runs))
            wrong[tool] += runs - tallies[tool][truth] - tallies[tool]["inconclusive"]
    print("  wrong classes named with confidence: "
          + ", ".join(f"{t} {wrong[t]}/{total}" for t in tools))
    print()


def big_o_run(case: str, points: int, bias: float) -> str:
    """big_O end to end: its own timing (min of 3 calls per size), then its fit."""
    fn, build, lo, hi = CASES[case]
    ns, times = big_o.measure_execution_time(fn, build, min_n=lo, max_n=hi, n_measures=points,
                                             n_repeats=1, n_timings=3)
    return big_o_fit(list(ns), list(times), bias)


def big_o_fit(sizes: list[int], times: list[float], bias: float = 1e-6) -> str:
    """big_O's ``infer_big_o_class``, skipping a class whose fit fails numerically (its Cubic
    class raises IndexError at n ≈ 2.6e5: rank-deficient least squares) instead of crashing."""
    ns, t = np.asarray(sizes, dtype=float), np.asarray(times, dtype=float)
    best, best_res = "none", math.inf
    for cls in BIG_O_CLASSES:
        try:
            res = float(cls().fit(ns, t))
        except (IndexError, ValueError, FloatingPointError):
            continue
        if res < best_res - bias:  # big_O's own rule: the first (simplest) wins near-ties
            best, best_res = BIG_O_NAMES[cls.__name__], res
    return best


def _line(tool: str, case: str, tally: Counter[str], runs: int) -> str:
    correct, inconclusive = tally[case], tally["inconclusive"]
    wrong = runs - correct - inconclusive
    others = ", ".join(f"{k}×{v}" for k, v in tally.items() if k not in (case, "inconclusive"))
    return (f"  {tool:<9} {case:<11} correct {correct:>2}/{runs}  inconclusive "
            f"{inconclusive:>2}  wrong {wrong:>2}" + (f"  ({others})" if others else ""))


def _summary(tool: str, tallies: dict[str, Counter[str]], runs: int) -> str:
    total = runs * len(tallies)
    correct = sum(t[c] for c, t in tallies.items())
    inconclusive = sum(t["inconclusive"] for t in tallies.values())
    wrong = total - correct - inconclusive
    return (f"  {tool:<9} accuracy {correct / total:6.1%}   inconclusive "
            f"{inconclusive / total:6.1%}   wrong {wrong / total:6.1%}   (n={total})")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--points", type=int, default=8)
    ap.add_argument("--clock", choices=("auto", "wall", "cpu"), default="auto")
    ap.add_argument("--bias", type=float, default=1e-6, help="big_O's simplicity_bias")
    ap.add_argument("--held-out-only", action="store_true",
                    help="only the held-out cases (cache steps, noise, overheads, short ranges)")
    ap.add_argument("--case", action="append", default=[],
                    help="with --held-out-only: cases whose name contains this (repeatable)")
    args = ap.parse_args()
    try:
        load = f"load {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs"
    except OSError:
        load = "load unknown"
    if args.held_out_only:
        t0 = time.perf_counter()
        held_out(args.runs, args.clock, args.bias, args.case)
        print(f"{load} at the end; {time.perf_counter() - t0:.0f} s")
        return
    e2e: dict[str, dict[str, Counter[str]]] = {"perfgate": {}, "big_O": {}}
    same: dict[str, dict[str, Counter[str]]] = {"perfgate": {}, "big_O": {}}
    t0 = time.perf_counter()
    for case in CASES:
        for tool in ("perfgate", "big_O"):
            e2e[tool][case] = Counter()
            same[tool][case] = Counter()
        for _ in range(args.runs):
            cls, sizes, medians = perfgate_run(case, args.points, args.clock)
            e2e["perfgate"][case][cls] += 1
            same["perfgate"][case][cls] += 1
            same["big_O"][case][big_o_fit(sizes, medians, args.bias)] += 1
            e2e["big_O"][case][big_o_run(case, args.points, args.bias)] += 1
    print(f"big-O classification, {args.runs} runs x {len(CASES)} functions, {args.points} "
          f"evenly spaced sizes each; perfgate clock={args.clock}; big_O bias={args.bias:g}; "
          f"{load}; "
          f"{time.perf_counter() - t0:.0f} s in all\n")
    for title, table in (("end to end (each tool measures)", e2e),
                         ("same timings, fitters only (perfgate's medians)", same)):
        print(title)
        for case in CASES:
            for tool in ("perfgate", "big_O"):
                print(_line(tool, case, table[tool][case], args.runs))
        for tool in ("perfgate", "big_O"):
            print(_summary(tool, table[tool], args.runs))
        print()
    held_out(args.runs, args.clock, args.bias)


if __name__ == "__main__":
    main()
