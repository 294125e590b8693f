"""`pytest --benchmark-compare-fail`: false failures and detections, perfgate beside
pytest-benchmark, on this machine while a second process loads the other core.

A test file with one ``benchmark`` test of a ~75 µs pure-Python ``work()`` (its size read
from an environment variable), run by pytest in fresh processes:

- perfgate's plugin: ``pytest -p no:benchmark …`` (pytest-benchmark disabled, perfgate
  provides the fixture and the options);
- pytest-benchmark itself: ``pytest -p no:perfgate.benchmark …``;

each with its own ``--benchmark-storage`` folder. Per trial, alternating the tools:

- A/A: the same code, ``--benchmark-autosave --benchmark-compare
  --benchmark-compare-fail=mean:5%`` (compared with the previous saved run, then saved);
- +25 %: the work 25 % larger, ``--benchmark-compare --benchmark-compare-fail=mean:5%``
  against the newest saved base run (not saved).

The first ``--warm`` runs of each tool only save (perfgate's history of run-to-run noise
needs ≥ 5 saved runs).

    python benchmarks/pytest_compare_accuracy.py --trials 30
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TEST = '''
import os

def work(n):
    total = 0
    for i in range(n):
        total += i * i % 7
    return total

def test_work(benchmark):
    benchmark(work, int(os.environ["WORK_N"]))
'''

TOOLS = {"perfgate": ["-p", "no:benchmark"], "pytest-benchmark": ["-p", "no:perfgate.benchmark"]}


def pytest_run(tmp: Path, tool: str, n: int, extra: list[str]) -> int:
    cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *TOOLS[tool],
           "test_work.py", f"--benchmark-storage=file://{tmp / tool}", *extra]
    env = {**os.environ, "WORK_N": str(n)}
    r = subprocess.run(cmd, cwd=tmp, env=env, capture_output=True, text=True, timeout=300,
                       check=False)
    if r.returncode not in (0, 1):
        raise SystemExit(f"{tool}: exit {r.returncode}\n{r.stdout[-2000:]}\n{r.stderr[-2000:]}")
    return r.returncode


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--trials", type=int, default=30)
    ap.add_argument("--warm", type=int, default=6)
    ap.add_argument("--n", type=int, default=1500)
    ap.add_argument("--no-load", action="store_true")
    args = ap.parse_args()
    hog = None if args.no_load else subprocess.Popen([sys.executable, "-c", "while True: pass"])
    fails = {t: {"aa": 0, "slow": 0} for t in TOOLS}
    t0 = time.time()
    try:
        with tempfile.TemporaryDirectory(prefix="perfgate-pytest-compare-") as d:
            tmp = Path(d)
            (tmp / "test_work.py").write_text(TEST)
            for tool in TOOLS:
                for _ in range(args.warm):
                    pytest_run(tmp, tool, args.n, ["--benchmark-autosave"])
            gate = ["--benchmark-compare", "--benchmark-compare-fail=mean:5%"]
            for i in range(args.trials):
                for tool in (TOOLS if i % 2 == 0 else list(TOOLS)[::-1]):
                    fails[tool]["slow"] += pytest_run(tmp, tool, round(args.n * 1.25), gate)
                    fails[tool]["aa"] += pytest_run(tmp, tool, args.n,
                                                    ["--benchmark-autosave", *gate])
                print(f"[{time.time() - t0:4.0f} s] {i + 1} trials: " + "; ".join(
                    f"{t} A/A {f['aa']} failed, +25% {f['slow']} caught"
                    for t, f in fails.items()) + f"; load {os.getloadavg()[0]:.1f}", flush=True)
    finally:
        if hog is not None:
            hog.kill()
            hog.wait()
    print(f"\n{args.trials} trials each, `--benchmark-compare-fail=mean:5%`:")
    for t, f in fails.items():
        print(f"  {t:17s} A/A sessions failed {f['aa']}/{args.trials}, "
              f"+25 % caught {f['slow']}/{args.trials}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
