"""Instruction counts: how well they repeat, and what ``--measure instructions`` costs.

1. Repeatability: the same ~30 µs benchmark counted in ``--processes`` fresh workers under
   Callgrind (each a new interpreter: what a CI job does), first from one directory, then
   from copies of the module in directories whose paths differ in length (the gate counts
   REF in a temporary worktree, the working tree where it is). Prints each per-call count
   and the spread (max − min) / median.
2. Overhead: wall seconds of ``perfgate bench target:work`` with and without
   ``--measure instructions`` (``--runs`` each, alternating), start-up included.

    python benchmarks/instructions_repeat.py                 # 10 processes, 3 runs
    python benchmarks/instructions_repeat.py --processes 4 --runs 1

Prints the load average beside the figures: valgrind is CPU-bound, and on a shared machine
its wall time moves with the neighbours (its counts do not).
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from perfgate.bench._instructions import measure_targets

TARGET = """\
def work():
    total = 0
    for i in range({n}):
        total += i * i % 7
    return total
"""


def spread(xs: list[float]) -> float:
    return (max(xs) - min(xs)) / statistics.median(xs)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--processes", type=int, default=10)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--n", type=int, default=900, help="loop length (900 ≈ 30 µs)")
    ap.add_argument("--overhead-only", action="store_true", help="skip the repeatability part")
    args = ap.parse_args()
    src = TARGET.format(n=args.n)
    with tempfile.TemporaryDirectory(prefix="perfgate-irepeat-") as tmp:
        base = Path(tmp)
        (base / "target.py").write_text(src)
        print(f"load average {os.getloadavg()[0]:.2f}; cpu count {os.cpu_count()}", flush=True)
        same: list[float] = []
        for i in range(0 if args.overhead_only else args.processes):
            t0 = time.perf_counter()
            c = measure_targets(["target:work"], root=base)["work"]
            same.append(c.per_call)
            print(f"  process {i + 1}: {c.per_call:,.1f} instructions/call "
                  f"(N={c.calls}, spread in worker {100 * c.spread:.4f} %, "
                  f"{time.perf_counter() - t0:.1f} s)", flush=True)
        moved: list[float] = []
        for i in range(0 if args.overhead_only else args.processes):
            d = base / ("p" * (1 + 17 * i)) / "tree"
            d.mkdir(parents=True)
            (d / "target.py").write_text(src)
            c = measure_targets(["target:work"], root=d)["work"]
            moved.append(c.per_call)
            print(f"  path length {len(str(d)):3d}: {c.per_call:,.1f}", flush=True)
        if same:
            print(f"same directory, {len(same)} fresh processes: spread "
                  f"{100 * spread(same):.4f} %; {len(moved)} directories of different "
                  f"path lengths: {100 * spread(moved):.4f} %; all "
                  f"{len(same) + len(moved)}: {100 * spread(same + moved):.4f} %", flush=True)

        env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
        walls: dict[str, list[float]] = {"time": [], "time + instructions": []}
        cpus: dict[str, list[float]] = {"time": [], "time + instructions": []}
        for _ in range(args.runs):
            for label, extra in (("time", []), ("time + instructions",
                                                ["--measure", "instructions"])):
                t0 = time.perf_counter()
                r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
                subprocess.run([sys.executable, "-m", "perfgate", "bench", "target:work",
                                *extra], cwd=base, env=env, check=True, capture_output=True)
                walls[label].append(time.perf_counter() - t0)
                r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
                cpus[label].append(r1.ru_utime - r0.ru_utime + r1.ru_stime - r0.ru_stime)
        print("\n| perfgate bench target:work | wall seconds per benchmark (mean of "
              f"{args.runs}) | CPU seconds (all processes) |\n|---|---|---|")
        for label, xs in walls.items():
            print(f"| {label} | {statistics.mean(xs):.2f} (min {min(xs):.2f}) | "
                  f"{statistics.mean(cpus[label]):.2f} |")
        print(f"\nload average {os.getloadavg()[0]:.2f} at the end", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
