"""The gate in instruction mode: false alarms, 1 % and 5 % slowdowns caught, seconds per check.

Like benchmarks/gate_accuracy.py, with ``perfgate compare --against HEAD --measure
instructions``:

1. a throwaway git repository holds ``target.py`` with ``work()``, a ~30 µs pure-Python
   function (its loop length calibrated by time), committed;
2. variants 1 % and 5 % slower: extra loop iterations, calibrated until the instruction
   counts say +1.0–1.2 % and +5.0–5.2 %, then verified by timing fast and slow interleaved
   in one process (printed: on a busy machine a 1 % time ratio is itself noisy);
3. each trial is one full CLI check, start-up included; A/A (working tree = commit) and A/B
   (the variant, uncommitted) alternate; exit 1 is an alarm. Each check's JSON gives the
   instruction ratio, the time comparison reported beside it and any disagreement note.

    python benchmarks/instructions_gate.py --trials 100            # the issue's protocol
    python benchmarks/instructions_gate.py --trials 5 --budget 4   # quicker

Prints false alarms (A/A) and detections (A/B 1 %, A/B 5 %) with 95 % Wilson intervals, the
mean wall seconds per check (and how much of it was counting), the CPU seconds of all its
processes (what the check costs on an idle machine of the same speed: the wall time of a
shared machine is mostly waiting), and the load average.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))
from gate_accuracy import FAST, SLOW, _fn, _time_round, fmt, interleaved_ratio, make_repo

from perfgate.bench._instructions import count_instructions


def loop_for(target_s: float) -> int:
    """Loop length that makes FAST take ``target_s`` per call on this machine."""
    n = 100
    while True:
        t = statistics.median(_time_round(_fn(FAST.format(n=n)), 20) for _ in range(30))
        if t >= target_s or n > 10**6:
            return n
        n = int(n * max(1.1, min(10.0, target_s / t)))


def counts_ratio(tmp: Path, fast_src: str, slow_src: str) -> tuple[float, float]:
    (tmp / "cal_fast.py").write_text(fast_src)
    (tmp / "cal_slow.py").write_text(slow_src)
    a = count_instructions("cal_fast:work", root=tmp).value or 0.0
    b = count_instructions("cal_slow:work", root=tmp).value or 0.0
    return b / a, a


def variant(tmp: Path, n: int, slowdown: float) -> tuple[str, float, float]:
    """(slow source, counts ratio, interleaved time ratio) with counts in
    [slowdown, slowdown + 0.2 %]."""
    fast_src = FAST.format(n=n)
    extra = max(1, round(n * (slowdown - 1)))
    ratio = 0.0
    for _ in range(8):
        slow_src = SLOW.format(n=n, extra=extra)
        ratio, _ = counts_ratio(tmp, fast_src, slow_src)
        if slowdown <= ratio <= slowdown + 0.002:
            break
        extra = max(1, round(extra * (slowdown - 1) / max(ratio - 1, 1e-4))
                    + (1 if ratio < slowdown else 0))
    return slow_src, ratio, interleaved_ratio(fast_src, slow_src)


def check(repo: Path, args: argparse.Namespace, i: int) -> tuple[bool, float, dict[str, Any]]:
    out = repo / f"gate-{i}.json"
    cmd = [sys.executable, "-m", "perfgate", "compare", "--against", "HEAD", "target:work",
           "--measure", "instructions", "--json", str(out)]
    if args.budget:
        cmd += ["--budget", str(args.budget)]
    t0 = time.perf_counter()
    r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    proc = subprocess.run(cmd, cwd=repo, capture_output=True, text=True, check=False,
                          env={**os.environ, "COLUMNS": "200"})
    seconds = time.perf_counter() - t0
    r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)
    if proc.returncode not in (0, 1):
        raise RuntimeError(f"perfgate failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    doc = json.loads(out.read_text())
    out.unlink()
    by = {c["metric"]: c for c in doc["comparisons"]}
    g = doc["gate"]
    info = {"ratio": by["instructions"]["ratio"], "status": by["instructions"]["status"],
            "time_ratio": by["time"]["ratio"], "time_status": by["time"]["status"],
            "pairs": g["pairs"], "count_seconds": g["instruction_seconds"],
            "disagreements": g["disagreements"], "cpu_seconds": cpu}
    return proc.returncode == 1, seconds, info


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--trials", type=int, default=100, help="A/A and A/B 1 %% trials each")
    ap.add_argument("--every5", type=int, default=4, help="an A/B 5 %% trial every k trials")
    ap.add_argument("--budget", type=float, default=None,
                    help="perfgate's --budget: seconds for the whole check (default its own)")
    ap.add_argument("--json", type=Path, help="write every trial here")
    ap.add_argument("--jsonl", type=Path, help="append each trial here as it ends")
    args = ap.parse_args()

    trials: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="perfgate-igate-") as tmp_s:
        tmp = Path(tmp_s)
        n = loop_for(30e-6)
        fast_src = FAST.format(n=n)
        t_fast = statistics.median(_time_round(_fn(fast_src), 20) for _ in range(30))
        slow1, c1, t1 = variant(tmp, n, 1.01)
        slow5, c5, t5 = variant(tmp, n, 1.05)
        per_call = counts_ratio(tmp, fast_src, fast_src)[1]
        print(f"target: {t_fast * 1e6:.1f} µs, {per_call:,.0f} instructions per call; "
              f"variants: counts {c1:.4f}× / {c5:.4f}×, interleaved time {t1:.3f}× / "
              f"{t5:.3f}× (load {os.getloadavg()[0]:.1f})", flush=True)
        repo = make_repo(tmp, fast_src)
        for i in range(args.trials):
            kinds = ["A/A", "A/B 1%"] + (["A/B 5%"] if i % args.every5 == 0 else [])
            for kind in kinds:
                current = {"A/A": fast_src, "A/B 1%": slow1, "A/B 5%": slow5}[kind]
                (repo / "target.py").write_text(current)
                alarm, secs, info = check(repo, args, i)
                trials.append({"trial": i, "kind": kind, "alarm": alarm, "seconds": secs,
                               "load": os.getloadavg()[0], **info})
                if args.jsonl:  # one line per check as it ends: a killed run keeps its trials
                    with args.jsonl.open("a", encoding="utf-8") as f:
                        f.write(json.dumps(trials[-1]) + "\n")
                print(f"[{i + 1}/{args.trials}] {kind}: {'ALARM' if alarm else 'ok'} "
                      f"counts {info['ratio']:.4f}× ({info['status']}), time "
                      f"{info['time_ratio']:.3f}× ({info['time_status']}, {info['pairs']} "
                      f"pairs), {secs:.1f} s (counting {info['count_seconds']:.1f} s; "
                      f"CPU {info['cpu_seconds']:.1f} s)"
                      + (f" — {info['disagreements'][0]}" if info["disagreements"] else ""),
                      flush=True)
            (repo / "target.py").write_text(fast_src)
    print("\n| check | alarms | wall seconds per check (of it counting) | CPU seconds per "
          "check (all processes) |\n|---|---|---|---|")
    for kind in ("A/A", "A/B 1%", "A/B 5%"):
        ts = [t for t in trials if t["kind"] == kind]
        if ts:
            print(f"| {kind} | {fmt(sum(t['alarm'] for t in ts), len(ts))} | "
                  f"{statistics.mean(t['seconds'] for t in ts):.1f} "
                  f"({statistics.mean(t['count_seconds'] for t in ts):.1f}) | "
                  f"{statistics.mean(t['cpu_seconds'] for t in ts):.1f} |")
    time_caught = sum(t["time_status"] == "regression" for t in trials if t["kind"] == "A/B 1%")
    print(f"\ntime beside counts, A/B 1 %: time called a regression in {time_caught} of "
          f"{sum(t['kind'] == 'A/B 1%' for t in trials)}; disagreement notes in "
          f"{sum(bool(t['disagreements']) for t in trials)} checks")
    loads = [t["load"] for t in trials]
    print(f"variants: counts {c1:.4f}× / {c5:.4f}×, interleaved time {t1:.3f}× / {t5:.3f}×; "
          f"cpu count {os.cpu_count()}, load average {min(loads):.1f}–{max(loads):.1f} "
          f"(mean {statistics.mean(loads):.1f})")
    if args.json:
        args.json.write_text(json.dumps({"counts_ratio": [c1, c5], "time_ratio": [t1, t5],
                                         "target_seconds": t_fast, "trials": trials},
                                        indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
