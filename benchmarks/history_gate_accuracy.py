"""The nightly history gate on real runs: how soon `perfgate history --check` fails after a
5 % slowdown lands, and how often it fails when nothing changed.

Protocol (a second process loops on the other core, as in baseline_accuracy.py): a ~70 µs
pure-Python ``work()`` and a variant 5 % slower (verified by timing both interleaved);
``--history`` runs of the base saved to a SQLite store with ``perfgate bench --store`` (as
a nightly job would: perfgate's defaults, 5 processes within 1 s; ``--processes 0 --max-time
0.1`` for one short process per run). Then, per trial, a copy of that store
gets ``--after`` more runs — of the slower variant (a regression trial) or of the base (an
A/A trial) — and after each one a full ``perfgate history work --check --threshold
time=2%`` call: exit 1 is a failed gate.

    python benchmarks/history_gate_accuracy.py --trials 15

Prints, for the regression trials, after how many runs on the new level the gate first
failed (or never, within ``--after``), and for the A/A trials how many of their checks
failed, with 95 % Wilson intervals and the load average.
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))
import baseline_accuracy
from baseline_accuracy import bench, variants, wilson


def copy_db(src: Path, dst: Path) -> None:
    """A consistent copy of a SQLite store in WAL mode (a file copy would lose the pages
    still in the -wal file)."""
    with sqlite3.connect(src) as a, sqlite3.connect(dst) as b:
        a.backup(b)


def check(store: Path) -> int:
    from click.testing import CliRunner

    from perfgate.cli import main

    r = CliRunner().invoke(main, ["history", "work", "--check", "--store",
                                  f"sqlite:///{store}", "--threshold", "time=2%"])
    if r.exit_code not in (0, 1):
        raise SystemExit(f"history --check failed: {r.output}")
    return r.exit_code


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--trials", type=int, default=15, help="trials of each kind")
    ap.add_argument("--history", type=int, default=15, help="base runs stored first")
    ap.add_argument("--after", type=int, default=5, help="runs appended per trial")
    ap.add_argument("--n", type=int, default=1500, help="loop iterations of work()")
    ap.add_argument("--processes", type=int, help="worker processes per run (default 5)")
    ap.add_argument("--max-time", type=float, help="seconds of timed rounds per run (1)")
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    baseline_accuracy.PROCESSES, baseline_accuracy.MAX_TIME = args.processes, args.max_time
    hog = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    t0 = time.time()
    first_fail: list[int | None] = []
    aa: list[int] = []
    try:
        with tempfile.TemporaryDirectory(prefix="perfgate-history-gate-") as d:
            tmp = Path(d)
            ratios = variants(tmp, args.n)
            print(f"work() {ratios['base_us']:.1f} µs; +5 % variant verified interleaved: "
                  f"{ratios['slow5']:.3f}×", flush=True)
            history = tmp / "history.db"
            for _ in range(args.history):
                bench(tmp, "base_mod", None, f"sqlite:///{history}", sys.executable)
            for t in range(args.trials):
                for kind in ("slow5_mod", "base_mod"):
                    store = tmp / f"trial-{t}-{kind}.db"
                    copy_db(history, store)
                    codes = []
                    for _ in range(args.after):
                        bench(tmp, kind, None, f"sqlite:///{store}", sys.executable)
                        codes.append(check(store))
                    if kind == "slow5_mod":
                        first_fail.append(codes.index(1) + 1 if 1 in codes else None)
                    else:
                        aa.extend(codes)
                print(f"[{time.time() - t0:5.0f} s] trial {t + 1}: first fail after "
                      f"{first_fail[-1]} run(s) on +5 %; A/A fails {sum(aa)}/{len(aa)}; "
                      f"load {os.getloadavg()[0]:.1f}", flush=True)
    finally:
        hog.kill()
        hog.wait()
    caught = {k: sum(1 for f in first_fail if f is not None and f <= k)
              for k in range(1, args.after + 1)}
    print()
    for k, c in caught.items():
        print(f"+5 % ({ratios['slow5']:.3f}×) caught within {k} run(s): "
              f"{wilson(c, len(first_fail))}")
    print(f"A/A checks that failed: {wilson(sum(aa), len(aa))}")
    print(f"{args.history} stored base runs first; {time.time() - t0:.0f} s; load average "
          f"{os.getloadavg()[0]:.1f}")
    if args.json:
        res: dict[str, Any] = {"processes": args.processes, "max_time": args.max_time,
                               "ratios": ratios, "first_fail": first_fail, "aa": aa,
                               "caught_within": caught}
        args.json.write_text(json.dumps(res, indent=2))


if __name__ == "__main__":
    main()
