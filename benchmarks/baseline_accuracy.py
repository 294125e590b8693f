"""Saved-baseline comparisons: false alarms and detections of ``perfgate compare A.json B.json``.

The protocol of issue 13, on this machine while a second process keeps the other core busy
(``python -c 'while True: pass'``, killed by its PID at the end):

1. a ~75 µs pure-Python ``work()`` in a temporary module, and two slower variants (more
   loop iterations: +25 % and +5 %), their ratios verified by timing all three interleaved
   in one process;
2. a sequence of fresh ``perfgate bench MOD:work --json F`` runs — the way a team saves a
   baseline: by default 5 worker processes within the 1 s budget (``--processes 0``: one
   process per file, ``--max-time 0.1``: shorter runs) — alternating base, +5 % and +25 %
   runs so that a noisy period hits every kind alike; every base run is also saved to a
   SQLite store (``--store``), so later trials have a history of the same benchmark on the
   same machine;
3. comparisons, each a full ``perfgate compare BASE CURRENT`` CLI call (in-process, exit
   code 1 = fail):
   - A/A: consecutive base files, without a store (the conservative band) and with the
     store (history noise; the store then holds the runs before the current one);
   - +25 %: a base file against the next +25 % file, without a store;
   - +5 %: a base file against the next +5 % file with ≥ 10 stored base runs, with
     ``--threshold time=2%`` (a gate whose fail level is 5 % misses half of the true 5 %
     slowdowns, whatever its statistics; docs/history.md).

    python benchmarks/baseline_accuracy.py --trials 200
    python benchmarks/baseline_accuracy.py --trials 20 --json out.json   # a quick look

Prints the fail rates with 95 % Wilson intervals and the load average seen.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import signal
import subprocess
import sys
import tempfile
import time
import timeit
from pathlib import Path
from typing import Any

WORK = """\
def work():
    total = 0
    for i in range({n}):
        total += i * i % 7
    return total
"""


def wilson(k: int, n: int) -> str:
    if n == 0:
        return "-"
    z, p = 1.96, k / n
    d = 1 + z * z / n
    c = (p + z * z / (2 * n)) / d
    h = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / d
    return f"{k}/{n} = {100 * p:.1f}% (95% CI {100 * max(0, c - h):.1f}–{100 * min(1, c + h):.1f}%)"


PROCESSES: int | None = None  # --processes: worker processes per saved run (None: default)
MAX_TIME: float | None = None  # --max-time of each saved run (None: perfgate's default)


def bench(tmp: Path, module: str, out: Path | None, store: str | None, py: str) -> None:
    """One fresh ``perfgate bench`` process of ``module:work``, saved as a file, a stored
    run, or both."""
    cmd = [py, "-m", "perfgate", "bench", f"{module}:work", "--no-memory", "--name", "work"]
    if MAX_TIME is not None:
        cmd += ["--max-time", str(MAX_TIME), "--warmup", str(min(0.1, MAX_TIME / 2))]
    if out is not None:
        cmd += ["--json", str(out)]
    if PROCESSES is not None:
        cmd += ["--processes", str(PROCESSES)]
    if store:
        cmd += ["--store", store]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [str(tmp), os.environ.get("PYTHONPATH", "")])}
    subprocess.run(cmd, cwd=tmp, env=env, check=True, capture_output=True, timeout=300)


def compare(a: Path, b: Path, *extra: str) -> int:
    from click.testing import CliRunner

    from perfgate.cli import main

    out = a.with_name(f"cmp-{a.stem}-{b.stem}{'-store' if extra else ''}.json")
    r = CliRunner().invoke(main, ["compare", str(a), str(b), "--json", str(out), *extra])
    if r.exit_code not in (0, 1):
        raise SystemExit(f"compare failed: {r.output}")
    try:
        (c,) = json.loads(out.read_text())["comparisons"]
        WHY.append({"args": [a.name, b.name, *extra], "exit": r.exit_code,
                    "status": c["status"], "ratio": c["ratio"], "ci": c["ci"],
                    "evidence": c["evidence"]})
    except (OSError, ValueError, KeyError):
        pass
    return r.exit_code


WHY: list[dict[str, Any]] = []  # every comparison's verdict, for the --json file


def verify(tmp: Path, n: int) -> dict[str, float]:
    """Ratios of the variants to the base, timed interleaved in one process."""
    sys.path.insert(0, str(tmp))
    import base_mod
    import slow5_mod
    import slow25_mod

    best: dict[str, list[float]] = {"base": [], "slow5": [], "slow25": []}
    order = [("base", base_mod), ("slow5", slow5_mod), ("slow25", slow25_mod)]
    for k in range(30):  # the order alternates: being timed first must favour no one
        for name, mod in (order if k % 2 else order[::-1]):
            best[name].append(min(timeit.repeat(mod.work, number=20, repeat=3)) / 20)
    med = {k: sorted(v)[len(v) // 2] for k, v in best.items()}
    return {"base_us": med["base"] * 1e6, "slow5": med["slow5"] / med["base"],
            "slow25": med["slow25"] / med["base"], "n": n}


def variants(tmp: Path, n: int) -> dict[str, float]:
    """The base ``work()`` and its +5 % and +25 % variants written as modules in ``tmp``,
    their ratios verified interleaved."""
    for name, k in (("base_mod", n), ("slow5_mod", round(n * 1.05)),
                    ("slow25_mod", round(n * 1.25))):
        (tmp / f"{name}.py").write_text(WORK.format(n=k))
    return verify(tmp, n)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--trials", type=int, default=200, help="A/A comparisons (base runs − 1)")
    ap.add_argument("--slow25", type=int, default=60, help="+25 %% trials")
    ap.add_argument("--slow5", type=int, default=100, help="+5 %% trials (with history)")
    ap.add_argument("--n", type=int, default=1500, help="loop iterations of work()")
    ap.add_argument("--no-load", action="store_true", help="do not load the other core")
    ap.add_argument("--processes", type=int,
                    help="worker processes per saved run (perfgate bench --processes; "
                         "default: perfgate's own for a saved run, 5; 0 = one process)")
    ap.add_argument("--max-time", type=float,
                    help="seconds of timed rounds per saved run (default: perfgate's, 1 s)")
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    from perfgate.store import import_file, open_store

    global PROCESSES, MAX_TIME
    PROCESSES, MAX_TIME = args.processes, args.max_time

    py = sys.executable
    hog = None if args.no_load else subprocess.Popen([py, "-c", "while True: pass"])
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # the hog is killed on TERM too
    t0 = time.time()
    loads = []
    try:
        with tempfile.TemporaryDirectory(prefix="perfgate-baseline-") as d:
            tmp = Path(d)
            ratios = variants(tmp, args.n)
            print(f"work() {ratios['base_us']:.1f} µs; variants verified interleaved: "
                  f"{ratios['slow5']:.3f}×, {ratios['slow25']:.3f}×", flush=True)
            store = f"sqlite:///{tmp / 'history.db'}"
            aa_plain: list[int] = []
            aa_store: list[int] = []
            s25: list[int] = []
            s5: list[int] = []
            prev: Path | None = None
            for i in range(args.trials + 1):
                base = tmp / f"base{i}.json"
                # history as it is before this run: the base file is saved after comparing
                bench(tmp, "base_mod", base, None, py)
                if prev is not None:
                    aa_plain.append(compare(prev, base))
                    if i >= 11:
                        aa_store.append(compare(prev, base, "--store", store))
                if i < args.slow25:
                    f = tmp / f"s25_{i}.json"
                    bench(tmp, "slow25_mod", f, None, py)
                    s25.append(compare(base, f))
                if 10 <= i < 10 + args.slow5:
                    f = tmp / f"s5_{i}.json"
                    bench(tmp, "slow5_mod", f, None, py)
                    s5.append(compare(base, f, "--store", store, "--threshold", "time=2%"))
                # the base run joins the history (same machine: same hostname)
                with open_store(store) as st:
                    st.save(import_file(base)[0])
                prev = base
                if i % 10 == 0:
                    loads.append(os.getloadavg()[0])
                    print(f"[{time.time() - t0:5.0f} s] {i} base runs; A/A fails "
                          f"{sum(aa_plain)}/{len(aa_plain)}, with store "
                          f"{sum(aa_store)}/{len(aa_store)}; +25% {sum(s25)}/{len(s25)}; "
                          f"+5% {sum(s5)}/{len(s5)}; load {loads[-1]:.1f}", flush=True)
    finally:
        if hog is not None:
            hog.kill()
            hog.wait()
    res: dict[str, Any] = {
        "processes": PROCESSES, "max_time": MAX_TIME,
        "ratios": ratios, "seconds": time.time() - t0,
        "load_min": min(loads), "load_max": max(loads),
        "aa_no_store": [sum(aa_plain), len(aa_plain)],
        "aa_with_store": [sum(aa_store), len(aa_store)],
        "slow25_no_store": [sum(s25), len(s25)],
        "slow5_with_store_threshold_2pct": [sum(s5), len(s5)],
        "comparisons": WHY,
    }
    print(f"\nA/A, no store (conservative band)      fails: {wilson(*res['aa_no_store'])}")
    print(f"A/A, history noise from the store      fails: {wilson(*res['aa_with_store'])}")
    print(f"+25 % ({ratios['slow25']:.3f}×), no store            fails: "
          f"{wilson(*res['slow25_no_store'])}")
    print(f"+5 % ({ratios['slow5']:.3f}×), ≥10 stored runs, 2 %  fails: "
          f"{wilson(*res['slow5_with_store_threshold_2pct'])}")
    print(f"load average {res['load_min']:.1f}–{res['load_max']:.1f} "
          f"({'other core loaded' if hog else 'no extra load'}), {res['seconds']:.0f} s")
    if args.json:
        args.json.write_text(json.dumps(res, indent=2))


if __name__ == "__main__":
    main()
