"""How good is the regression gate? False alarms, detections and seconds per check.

Measures ``perfgate compare --against`` the way a CI job runs it, beside pytest-benchmark's
``--benchmark-compare-fail``, on the same machine at the same time:

1. a throwaway git repository holds ``target.py`` with ``work()``, a ~25 µs pure-Python
   function, committed;
2. a slower variant is calibrated until it is 5 % slower, the ratio verified by timing both
   interleaved in one process (so drift between processes cannot bias it);
3. each trial is one full check: for A/A the working tree equals the commit, for A/B the
   working tree holds the slower variant (uncommitted, as in a pull request);
   - perfgate: ``python -m perfgate compare --against HEAD target:work --threshold T``;
     exit 1 is an alarm;
   - pytest-benchmark: a baseline run of the committed code (``--benchmark-save``), then
     the working tree with ``--benchmark-compare --benchmark-compare-fail=median:5%``; a
     non-zero exit is an alarm;
4. A/A and A/B trials alternate, so a noisy period hits both kinds alike.

    python benchmarks/gate_accuracy.py --trials 100            # the issue's protocol
    python benchmarks/gate_accuracy.py --trials 3 --json out.json   # a quick check

Prints false alarms (A/A), detections (A/B) with 95 % Wilson intervals, and the mean wall
seconds per check (perfgate: the whole CLI command, start-up included; pytest-benchmark:
the comparing run, and the baseline run beside it).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

FAST = """\
def work():
    total = 0
    for i in range({n}):
        total += i * i % 7
    return total
"""

SLOW = """\
def work():
    total = 0
    for i in range({n}):
        total += i * i % 7
    for i in range({extra}):
        total += i * i % 7
    return total
"""

TEST_FILE = """\
from target import work


def test_work(benchmark):
    benchmark(work)
"""


def _fn(src: str) -> Any:
    ns: dict[str, Any] = {}
    exec(compile(src, "<target>", "exec"), ns)  # our own generated source
    return ns["work"]


def _time_round(fn: Any, reps: int) -> float:
    t0 = time.perf_counter()
    for _ in range(reps):
        fn()
    return (time.perf_counter() - t0) / reps


def interleaved_ratio(fast_src: str, slow_src: str, rounds: int = 400) -> float:
    """Median ratio slow/fast, both timed alternately in this one process."""
    fast, slow = _fn(fast_src), _fn(slow_src)
    reps = 40
    for _ in range(50):
        fast()
        slow()
    ratios = []
    for _ in range(rounds):
        a = _time_round(fast, reps)
        b = _time_round(slow, reps)
        ratios.append(b / a)
    return statistics.median(ratios)


def calibrate(target_s: float = 25e-6, slowdown: float = 1.05) -> tuple[str, str, float, float]:
    """(fast source, slow source, fast time, verified interleaved ratio)."""
    n = 100
    while True:
        t = statistics.median(_time_round(_fn(FAST.format(n=n)), 20) for _ in range(30))
        if t >= target_s or n > 10**6:
            break
        n = int(n * max(1.1, min(10.0, target_s / t)))
    fast_src = FAST.format(n=n)
    extra = max(1, round(n * (slowdown - 1)))
    ratio = 0.0
    for _ in range(8):
        slow_src = SLOW.format(n=n, extra=extra)
        ratio = interleaved_ratio(fast_src, slow_src)
        if abs(ratio - slowdown) <= 0.004:
            break
        extra = max(1, round(extra * (slowdown - 1) / max(ratio - 1, 1e-3)))
    return fast_src, SLOW.format(n=n, extra=extra), t, ratio


def git(repo: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True)


def make_repo(root: Path, fast_src: str) -> Path:
    repo = root / "repo"
    repo.mkdir()
    git(repo, "init", "-q")
    (repo / "target.py").write_text(fast_src)
    (repo / "test_target.py").write_text(TEST_FILE)
    (repo / ".gitignore").write_text(".benchmarks/\n__pycache__/\n.perfgate/\n*.json\n")
    git(repo, "add", ".")
    git(repo, "-c", "user.email=gate@example.com", "-c", "user.name=gate", "commit", "-qm",
        "fast")
    return repo


def perfgate_check(repo: Path, args: argparse.Namespace, i: int) -> tuple[bool, float, Any]:
    out = repo / f"gate-{i}.json"
    cmd = [sys.executable, "-m", "perfgate", "compare", "--against", "HEAD", "target:work",
           "--threshold", f"time={args.threshold}", "--json", str(out)]
    if args.budget:
        cmd += ["--budget", str(args.budget)]
    if args.process_time:
        cmd += ["--process-time", str(args.process_time)]
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, cwd=repo, capture_output=True, text=True, check=False,
                          env={**os.environ, "COLUMNS": "200"})
    seconds = time.perf_counter() - t0
    if proc.returncode not in (0, 1):
        raise RuntimeError(f"perfgate failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    doc = json.loads(out.read_text())
    out.unlink()
    c = doc["comparisons"][0]
    info = {"ratio": c["ratio"], "ci": c["ci"], "status": c["status"],
            "pairs": doc["gate"]["pairs"], "stopped": doc["gate"]["stopped"]}
    return proc.returncode == 1, seconds, info


def pytest_benchmark_check(repo: Path, fast_src: str, current_src: str
                           ) -> tuple[bool, float, float]:
    """(alarm, seconds of the comparing run, seconds of the baseline run)."""
    base = [sys.executable, "-m", "pytest", "-q", "-p", "no:perfgate", "-p", "no:cacheprovider",
            "test_target.py"]
    (repo / "target.py").write_text(fast_src)
    t0 = time.perf_counter()
    subprocess.run([*base, "--benchmark-save=base"], cwd=repo, capture_output=True,
                   check=True)
    t_base = time.perf_counter() - t0
    (repo / "target.py").write_text(current_src)
    t0 = time.perf_counter()
    proc = subprocess.run([*base, "--benchmark-compare", "--benchmark-compare-fail=median:5%"],
                          cwd=repo, capture_output=True, text=True, check=False)
    t_cmp = time.perf_counter() - t0
    subprocess.run(["rm", "-rf", str(repo / ".benchmarks")], check=True)
    if proc.returncode not in (0, 1):
        raise RuntimeError(f"pytest-benchmark failed ({proc.returncode}):\n{proc.stdout}")
    return proc.returncode != 0, t_cmp, t_base


def wilson(k: int, n: int) -> tuple[float, float]:
    if n == 0:
        return 0.0, 1.0
    z = 1.96
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def fmt(k: int, n: int) -> str:
    lo, hi = wilson(k, n)
    return f"{k} of {n} ({100 * k / max(n, 1):.0f} %, 95 % CI {100 * lo:.0f}–{100 * hi:.0f} %)"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--trials", type=int, default=100, help="A/A and A/B trials each")
    ap.add_argument("--threshold", default="2%", help="perfgate's fail threshold for time")
    ap.add_argument("--budget", type=float, default=None,
                    help="perfgate's --budget: seconds for the whole check (default: its own)")
    ap.add_argument("--process-time", type=float, default=None,
                    help="perfgate's --process-time (default: perfgate's own)")
    ap.add_argument("--no-pytest-benchmark", action="store_true")
    ap.add_argument("--json", type=Path, help="write every trial here")
    args = ap.parse_args()

    fast_src, slow_src, t_fast, ratio = calibrate()
    print(f"target: {t_fast * 1e6:.1f} µs per call; slower variant verified "
          f"{ratio:.3f}× (interleaved in one process)", flush=True)
    trials: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="perfgate-accuracy-") as tmp:
        repo = make_repo(Path(tmp), fast_src)
        for i in range(args.trials):
            for kind in ("A/A", "A/B"):
                current = fast_src if kind == "A/A" else slow_src
                (repo / "target.py").write_text(current)
                alarm, secs, info = perfgate_check(repo, args, i)
                row: dict[str, Any] = {"trial": i, "kind": kind, "perfgate_alarm": alarm,
                                       "perfgate_seconds": secs, **info}
                if not args.no_pytest_benchmark:
                    pb_alarm, pb_secs, pb_base = pytest_benchmark_check(repo, fast_src, current)
                    row.update(pb_alarm=pb_alarm, pb_seconds=pb_secs, pb_baseline_seconds=pb_base)
                trials.append(row)
                print(f"[{i + 1}/{args.trials}] {kind}: perfgate "
                      f"{'ALARM' if alarm else 'ok'} {info['ratio']:.3f}× "
                      f"({info['pairs']} pairs, {secs:.1f} s)"
                      + ("" if args.no_pytest_benchmark else
                         f"; pytest-benchmark {'ALARM' if row['pb_alarm'] else 'ok'}"),
                      flush=True)
            (repo / "target.py").write_text(fast_src)
    aa = [t for t in trials if t["kind"] == "A/A"]
    ab = [t for t in trials if t["kind"] == "A/B"]
    print("\n| gate | false alarms (A/A) | 5 % slowdowns caught (A/B) | seconds per check |")
    print("|---|---|---|---|")
    secs = statistics.mean(t["perfgate_seconds"] for t in trials)
    budget = f"{args.budget:g} s" if args.budget else "default"
    print(f"| perfgate compare --against (threshold {args.threshold}, budget {budget}) | {fmt(sum(t['perfgate_alarm'] for t in aa), len(aa))} | "
          f"{fmt(sum(t['perfgate_alarm'] for t in ab), len(ab))} | {secs:.1f} |")
    if not args.no_pytest_benchmark:
        pb = statistics.mean(t["pb_seconds"] for t in trials)
        pbb = statistics.mean(t["pb_baseline_seconds"] for t in trials)
        print(f"| pytest-benchmark --benchmark-compare-fail=median:5% | "
              f"{fmt(sum(t['pb_alarm'] for t in aa), len(aa))} | "
              f"{fmt(sum(t['pb_alarm'] for t in ab), len(ab))} | {pb:.1f} "
              f"(+{pbb:.1f} baseline) |")
    print(f"\nslower variant: {ratio:.3f}× verified interleaved; cpu count {os.cpu_count()}, "
          f"load average {os.getloadavg()[0]:.2f} at the end")
    if args.json:
        args.json.write_text(json.dumps({"ratio": ratio, "target_seconds": t_fast,
                                         "trials": trials}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
