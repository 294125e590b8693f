"""How often ``perfgate compare`` of two load runs is wrong: A/A and a 20 % slower server.

A server process (tests/_fast_server.py) answers every request after a fixed service time
(``--delay``, 10 ms by default: timers are ms-grained) on core 0, while a busy-loop process loads core 1 — the noisy
neighbour every CI machine has. Each trial runs three short closed-model load tests
(``--vus`` users, ``--duration`` seconds, 0.25 s ticks, one process): a base and a second
run against the same server (A/A), and one against a server whose service time is 20 %
longer. The base is compared with each (``compare_resultsets``: per-tick batch means, Holm,
the default 5 % latency threshold) and the script counts

- A/A comparisons with a regression at the ``fail`` level — goal ≤ 1 %;
- slower-server comparisons whose ``latency p50`` is a ``fail``-level regression — goal ≥ 95 %.

    .venv/bin/python benchmarks/load_compare_accuracy.py [--trials 50] [--duration 2]

The load average is printed beside the figures: say when the machine was busy.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import perfgate as pg  # noqa: E402
from perfgate.analysis.compare import compare_resultsets  # noqa: E402
from perfgate.model import Environment, Result, ResultSet  # noqa: E402


def _pinned(core: int, cmd: list[str]) -> list[str]:
    return ["taskset", "-c", str(core), *cmd] if shutil.which("taskset") else cmd


def _server(delay: float) -> tuple[subprocess.Popen[str], str]:
    p = subprocess.Popen(_pinned(0, [sys.executable, str(ROOT / "tests" / "_fast_server.py"),
                                     str(delay)]), stdout=subprocess.PIPE, text=True)
    assert p.stdout is not None
    return p, f"http://127.0.0.1:{int(p.stdout.readline())}/"


def _rs(r: Result) -> ResultSet:
    return ResultSet(environment=Environment(git_commit="x"), results=(r,))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--trials", type=int, default=50)
    ap.add_argument("--duration", type=float, default=2.0)
    ap.add_argument("--vus", type=int, default=8)
    ap.add_argument("--delay", type=float, default=0.01)
    a = ap.parse_args()
    busy = subprocess.Popen(_pinned(1, [sys.executable, "-c", "while True: pass"]))
    same, same_url = _server(a.delay)
    slow, slow_url = _server(a.delay * 1.2)
    aa_fail = caught = 0
    statuses: dict[str, int] = {}
    t0 = time.monotonic()

    def run(url: str) -> Result:
        return pg.load(url, vus=a.vus, duration=a.duration, processes=1, tick=0.25,
                       name="GET /")

    try:
        for i in range(a.trials):
            base = run(same_url)
            again = run(same_url)
            slower = run(slow_url)
            aa = compare_resultsets(_rs(base), _rs(again))
            ab = compare_resultsets(_rs(base), _rs(slower))
            aa_fail += aa.failed
            for c in aa.comparisons:
                statuses[c.status] = statuses.get(c.status, 0) + 1
            p50 = next(c for c in ab.comparisons if c.metric == "latency p50")
            caught += p50.status == "regression" and p50.level == "fail"
            bad = [f"{c.metric} {c.ratio:.3f}×" for c in aa.comparisons
                   if c.level == "fail" and c.ratio is not None]
            print(f"trial {i + 1}: A/A {'FAIL ' + ', '.join(bad) if aa.failed else 'ok'}; "
                  f"slower p50 {p50.ratio or float('nan'):.3f}× {p50.status}/{p50.level}",
                  flush=True)
    finally:
        for p in (busy, same, slow):
            p.kill()
            p.wait()
    load = os.getloadavg()
    n = a.trials
    print(f"\n{n} trials, {a.vus} VUs × {a.duration:g} s per run, service time "
          f"{a.delay * 1e3:g} ms vs {a.delay * 1.2e3:g} ms, {time.monotonic() - t0:.0f} s; "
          f"load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    print(f"A/A comparisons failing: {aa_fail}/{n} ({aa_fail / n:.1%}; goal ≤ 1 %); "
          f"A/A metric statuses {statuses}")
    print(f"20 % slower server caught (latency p50 fail): {caught}/{n} ({caught / n:.0%}; "
          "goal ≥ 95 %)")


if __name__ == "__main__":
    main()
