"""Does the interleaved gate report the *size* of a change truly on a busy machine?

The gate gives both sides the same calls per round, so a slower side's rounds last longer.
Beside busy neighbours a round longer than the scheduler's time slice is preempted far
more often than a shorter one, and on the wall clock the slower side also pays for its
neighbours: the ratio is inflated. The gate's worker takes each round's wait for a CPU
(``/proc/thread-self/schedstat``) out of its time (gate/_worker.py).

For each load (0, 1, 3 processes looping ``while True: pass``, started here and killed by
their PIDs):

1. **mechanism**, in this process: rounds of the base and of a 3.4× slower function
   (``work(300)`` and ``work(900)``, the same calls per round: base ~1 ms), interleaved
   blocks of 150 rounds; the median round of each, on the wall clock and on the wall clock
   less each round's wait for a CPU; the ratio of those medians per block;
2. **the gate** end to end: a throwaway git repository with the base committed and the
   slower function in the working tree, ``perfgate compare --against HEAD target:work
   --json``; its ratio, CI and the workers' wait shares.

    python benchmarks/gate_sizes.py --blocks 8 --gates 2

Prints, per load, the true ratio (quiet-machine CPU clock, measured first), and both
figures beside it.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

SRC = """\
def work(n={n}):
    total = 0
    for i in range(n):
        total += i * i % 7
    return total
"""


def work(n: int) -> int:
    total = 0
    for i in range(n):
        total += i * i % 7
    return total


def sched() -> float:
    with open("/proc/thread-self/schedstat", encoding="ascii") as f:
        return int(f.read().split()[1]) / 1e9


def block(n_calls: int, size: int, rounds: int) -> tuple[float, float]:
    """Median round time per call: wall, and wall less the round's wait for a CPU."""
    wall, adj = [], []
    for _ in range(rounds):
        s0 = sched()
        t0 = time.perf_counter()
        for _ in range(n_calls):
            work(size)
        el = time.perf_counter() - t0
        w = sched() - s0
        wall.append(el / n_calls)
        adj.append((el - w if 0 < w < el else el) / n_calls)
    return statistics.median(wall), statistics.median(adj)


def true_ratio() -> float:
    """The CPU-clock ratio of the two functions, interleaved (quiet machine)."""
    r = []
    for _ in range(15):
        t = []
        for size in (300, 900):
            c0 = time.thread_time()
            for _ in range(200):
                work(size)
            t.append(time.thread_time() - c0)
        r.append(t[1] / t[0])
    return statistics.median(r)


def mechanism(blocks: int) -> tuple[list[float], list[float], int]:
    t0 = time.perf_counter()
    for _ in range(200):
        work(300)
    n_calls = max(1, round(1e-3 / ((time.perf_counter() - t0) / 200)))
    walls, adjs = [], []
    for _ in range(blocks):
        bw, ba = block(n_calls, 300, 150)
        sw, sa = block(n_calls, 900, 150)
        walls.append(sw / bw)
        adjs.append(sa / ba)
    return walls, adjs, n_calls


def gate(repo: Path) -> dict[str, Any]:
    out = repo / "gate.json"
    subprocess.run([sys.executable, "-m", "perfgate", "compare", "--against", "HEAD",
                    "target:work", "--json", str(out)], cwd=repo, capture_output=True,
                   timeout=900, check=False)
    doc = json.loads(out.read_text())
    (c,) = [c for c in doc["comparisons"] if c["metric"] == "time"]
    return c


def make_repo(root: Path) -> Path:
    repo = root / "repo"
    repo.mkdir()
    (repo / "target.py").write_text(SRC.format(n=300))
    for args in (["init", "-q"], ["add", "."],
                 ["-c", "user.email=g@example.com", "-c", "user.name=g", "commit", "-qm", "base"]):
        subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True)
    (repo / "target.py").write_text(SRC.format(n=900))
    return repo


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--blocks", type=int, default=8)
    ap.add_argument("--gates", type=int, default=2, help="gate runs per load")
    ap.add_argument("--loads", default="0,1,3", help="busy loops beside, per setting")
    args = ap.parse_args()
    truth = true_ratio()
    print(f"true ratio (CPU clock, interleaved, before any load): {truth:.2f}×")
    with tempfile.TemporaryDirectory(prefix="perfgate-gate-sizes-") as d:
        repo = make_repo(Path(d))
        for loops in (int(x) for x in args.loads.split(",")):
            hogs = [subprocess.Popen([sys.executable, "-c", "while True: pass"])
                    for _ in range(loops)]
            try:
                time.sleep(0.5)
                walls, adjs, n_calls = mechanism(args.blocks)
                gates = [gate(repo) for _ in range(args.gates)]
                load = os.getloadavg()[0]
            finally:
                for h in hogs:
                    h.kill()
                    h.wait()
            print(f"\n{loops} busy loop(s), load {load:.1f}; {n_calls} calls per round")
            print(f"  rounds on the wall clock:        median ratio "
                  f"{statistics.median(walls):.2f}× ({min(walls):.2f}–{max(walls):.2f})")
            print(f"  wall less the wait for a CPU:    median ratio "
                  f"{statistics.median(adjs):.2f}× ({min(adjs):.2f}–{max(adjs):.2f})")
            for c in gates:
                ci = c.get("ci") or [float("nan")] * 2
                print(f"  gate: {c['ratio']:.2f}× (95% CI {ci[0]:.2f}–{ci[1]:.2f}), "
                      f"{c['status']}; {c['evidence'][-160:]}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
