"""`pg.versus` on a pair whose true ratio is known: how often its 95 % CI holds the truth.

Two variants do k and k + k/10 calls of the same small function (``unit``), so the second
costs 1.1× the first (the outer loop's own cost scales with it). Each run times them side by
side (``pg.versus``, ABBA rounds, paired Hodges-Lehmann ratio with a Wilcoxon CI); printed:
how many runs' CIs hold 1.1, how many exclude 1, the estimates' range, the CIs' median
width, and the same for an A/A pair (both k: true ratio 1). Also printed for ``clock=wall``
with ``--wall``: what the wall clock does on a shared machine.

Usage: python benchmarks/versus_accuracy.py [--runs 20] [--max-time 1.0] [--wall]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from collections.abc import Callable

import perfgate as pg


def unit() -> int:
    return sum(range(100))


def loop(k: int) -> None:
    for _ in range(k):
        unit()


def k_calls() -> None:
    loop(100)


def k_plus_tenth() -> None:
    loop(110)


def series(b: Callable[[], None], truth: float, runs: int, max_time: float, clock: str) -> str:
    opts = pg.VersusOptions(max_time=max_time, warmup=0.05)
    held = excluded_one = 0
    est, widths = [], []
    for _ in range(runs):
        r = pg.versus(k_calls, b, names=["a", "b"], options=opts, clock=clock)
        m = r.metrics["ratio"]
        assert m.value is not None
        assert m.ci_low is not None
        assert m.ci_high is not None
        held += m.ci_low <= truth <= m.ci_high
        excluded_one += not (m.ci_low <= 1.0 <= m.ci_high)
        est.append(m.value)
        widths.append(m.ci_high - m.ci_low)
    return (f"true {truth}: CI holds it {held}/{runs}, excludes 1 {excluded_one}/{runs}; "
            f"estimates {min(est):.4f}–{max(est):.4f}; median CI width "
            f"{statistics.median(widths):.4f}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--max-time", type=float, default=1.0)
    ap.add_argument("--wall", action="store_true", help="also with clock=wall")
    args = ap.parse_args()
    t0 = time.perf_counter()
    for clock in ("auto", "wall") if args.wall else ("auto",):
        print(f"clock={clock}, {args.runs} runs of {args.max_time:g} s each")
        print("  1.1× pair:", series(k_plus_tenth, 1.1, args.runs, args.max_time, clock))
        print("  A/A pair: ", series(k_calls, 1.0, args.runs, args.max_time, clock))
    print(f"load {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs at the end; "
          f"{time.perf_counter() - t0:.0f} s")


if __name__ == "__main__":
    main()
